"""The other versioning commands: changelog, notes, commit lint, CLI comparison, tag check.

Each one reads the repository through versioning.project, decides with the
pure modules beside it, and writes at most one file.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tooling import proc, ui
from tooling.cache import cache_dir
from tooling.config import ReleaseConfig
from tooling.errors import VersionError
from tooling.files import write_atomic
from tooling.versioning.branching import check_release_tag
from tooling.versioning.bump import breaking_gate
from tooling.versioning.changelog import release_data, render_section, write_changelog
from tooling.versioning.cli_surface import breaking_changes, compare_cli
from tooling.versioning.commits import TYPES, LintProblem, lint_commits
from tooling.versioning.notes import migration_path, render_migration, render_notes
from tooling.versioning.project import Project, version_range
from tooling.versioning.settings import parse_versioning
from tooling.versioning.versions import parse_version, previous_release


def run_changelog(config: ReleaseConfig, version: str | None, *, stdout: bool, runner: proc.Runner) -> int:
    """`invoke changelog`: (re)generate the CHANGELOG.md section of one version (a dry run prints it)."""
    project = Project.load(config, runner)
    version, since, until = version_range(project, version)
    data = release_data(project.repo, project.cliff_config, tag=project.tag_name(version), since=since, until=until)
    section = render_section(data, project.cliff_config)
    if stdout or not runner.allows(proc.Effect.LOCAL, f"write the {version} section of {project.changelog_path}"):
        sys.stdout.write(section)
        return 0
    changed = write_changelog(project.changelog_path, version, section)
    ui.say(f"{project.changelog_path}: {version} {'updated' if changed else 'already up to date'}")
    return 0


def run_notes(config: ReleaseConfig, version: str | None, output: Path | None, runner: proc.Runner) -> int:
    """`invoke notes`: release notes of one version to stdout or a file (a dry run prints them)."""
    project = Project.load(config, runner)
    version, since, until = version_range(project, version)
    data = release_data(project.repo, project.cliff_config, tag=project.tag_name(version), since=since, until=until)
    previous = since.removeprefix(project.versioning.tag_prefix) if since else None
    guide = migration_path(config.root, project.versioning.migrations_dir, previous or "", version)
    guide_rel = guide.relative_to(config.root).as_posix() if previous and guide.exists() else None
    notes = render_notes(project.templates, data, project.notes_input(version, previous, (), guide_rel))
    if output and runner.allows(proc.Effect.LOCAL, f"write {output}"):
        write_atomic(output, notes)
        ui.say(f"wrote {output}")
    else:
        sys.stdout.write(notes)
    return 0


def run_commit_lint(config: ReleaseConfig, since: str | None) -> int:
    """`invoke commit-lint`: check the commits since the last tag; 0 when all are conventional."""
    project = Project.load(config)
    if since is None:
        tags = project.tags()
        last = tags[-1] if tags else None
        since = last.name if last else None
    raw = project.repo.log(since)
    types = project.versioning.commit_types or TYPES
    problems = lint_commits(((c.sha, c.message) for c in raw), types=types)
    print(format_lint_report(problems, len(raw), since))
    return 0 if not problems else VersionError.exit_code


def format_lint_report(problems: Sequence[LintProblem], checked: int, since: str | None) -> str:
    """A plain-text report: every offending commit with its problems, then a count."""
    where = f"since {since}" if since else "in the whole history"
    lines = []
    for problem in problems:
        lines.append(f"{problem.sha[:7]} {problem.subject}")
        lines += [f"    - {text}" for text in problem.problems]
    if problems:
        lines.append(f"{len(problems)} of {checked} commits {where} break the conventional-commit rules.")
        lines.append('Fix with `git rebase -i` (reword) before merging; the form is "type(scope): description".')
    else:
        lines.append(f"all {checked} commits {where} follow the conventional-commit rules.")
    return "\n".join(lines)


def build_at_ref(project: Project, ref: str, target_dir: Path) -> Path:
    """Build the crate's first binary as it was at `ref` (host target, debug), in a temporary worktree."""
    config = project.config
    binary = config.binaries[0]
    with tempfile.TemporaryDirectory(prefix="release-ref-") as tmp:
        worktree = Path(tmp) / "src"
        project.repo.worktree_add(worktree, ref)
        try:
            manifest = worktree / config.crate_manifest.relative_to(project.repo.root)
            # Writes only the tool's cache (a private target dir): nothing a dry run promises to keep.
            proc.read(
                ["cargo", "build", "--manifest-path", str(manifest), "--bin", binary],
                env={"CARGO_TARGET_DIR": str(target_dir)},
                capture=False,
                echo=True,
            )
        finally:
            project.repo.worktree_remove(worktree)
    built = target_dir / "debug" / binary
    keep = target_dir / f"{binary}-{ref.replace('/', '_')}"
    built.replace(keep)
    return keep


def run_cli_diff(config: ReleaseConfig, old: str, new: str | None, *, write_guide: bool, runner: proc.Runner) -> int:
    """`invoke cli-diff`: compare two binaries (paths or git refs) and apply the breaking-change gate."""
    project = Project.load(config, runner)
    cache = cache_dir() / "cli-surface-target"

    def binary(spec: str) -> Path:
        path = Path(spec)
        return path if path.is_file() else build_at_ref(project, spec, cache)

    old_bin = binary(old)
    new_bin = binary(new) if new else build_at_ref(project, "HEAD", cache)
    changes = compare_cli(old_bin, new_bin, config.binaries[0])
    rows = [[c.kind, c.command, c.describe(), "yes" if c.breaking else "no"] for c in changes]
    ui.summary(
        f"{config.name}: CLI changes", ["kind", "command", "change", "breaking"], rows or [["-", "-", "none", "-"]]
    )
    tags = project.tags()
    current = parse_version(config.version)
    previous = previous_release(tags, current)
    if write_guide and breaking_changes(changes) and runner.allows(proc.Effect.LOCAL, "write a migration guide"):
        version, since, until = version_range(project, None)
        data = release_data(project.repo, project.cliff_config, tag=project.tag_name(version), since=since, until=until)
        prev = str(previous.version) if previous else "previous"
        path = migration_path(config.root, project.versioning.migrations_dir, prev, version)
        text = render_migration(project.templates, data, project.notes_input(version, prev, changes))
        write_atomic(path, text)
        ui.say(f"wrote {path}")
    breaking_gate(
        previous.version if previous else current, current, [], changes, project.versioning.acknowledged_breaking
    )
    return 0


def run_check_tag(config: ReleaseConfig, tag: str) -> int:
    """`invoke check-tag`: does this pushed tag trigger a release of Cargo.toml's version?"""
    versioning = parse_versioning(config.versioning)
    version = check_release_tag(tag, config.version, versioning)
    print(f"{tag}: releases {config.name} {version}")
    return 0
