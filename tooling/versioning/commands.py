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
from tooling.errors import ConfigError, GitStateError, VersionError
from tooling.files import write_atomic
from tooling.versioning.branching import check_release_tag
from tooling.versioning.bump import breaking_gate
from tooling.versioning.changelog import ReleaseData, release_data, render_section, write_changelog
from tooling.versioning.cli_surface import breaking_changes, check_cli_binary, compare_cli
from tooling.versioning.commits import TYPES, LintProblem, lint_commits
from tooling.versioning.notes import render_migration, render_notes
from tooling.versioning.project import Project, version_range
from tooling.versioning.settings import parse_versioning
from tooling.versioning.versions import VersionRange, parse_version, previous_release


def _range_note(project: Project, span: VersionRange, what: str) -> None:
    """Say on stderr which commits an unreleased version's `what` covers, so nobody mistakes it for a release."""
    if span.unreleased:
        since = f"since {span.previous.name}" if span.previous else "in the whole history"
        ui.say(f"{span.tag} is not tagged yet: {what} of the commits {since} up to HEAD")


def _version_data(
    config: ReleaseConfig, version: str | None, runner: proc.Runner, *, unreleased: bool, command: str, what: str
) -> tuple[Project, VersionRange, ReleaseData]:
    """The repository, the version's commit range and git-cliff's data of it, for `changelog` and `notes`."""
    project = Project.load(config, runner)
    project.require_full_history(command)
    span = version_range(project, version, unreleased=unreleased)
    _range_note(project, span, what)
    since = span.previous.name if span.previous else None
    return project, span, release_data(project.repo, project.cliff_config, tag=span.tag, since=since, until=span.until)


def run_changelog(
    config: ReleaseConfig, version: str | None, *, stdout: bool, runner: proc.Runner, unreleased: bool = False
) -> int:
    """`invoke changelog`: (re)generate the CHANGELOG.md section of one version (a dry run prints it)."""
    project, span, data = _version_data(
        config, version, runner, unreleased=unreleased, command="changelog", what="the section"
    )
    section = render_section(data, project.cliff_config)
    name = str(span.version)
    if stdout or not runner.allows(proc.Effect.LOCAL, f"write the {name} section of {project.changelog_path}"):
        sys.stdout.write(section)
        return 0
    changed = write_changelog(project.changelog_path, name, section)
    ui.say(f"{project.changelog_path}: {name} {'updated' if changed else 'already up to date'}")
    return 0


def release_notes(config: ReleaseConfig, version: str | None, runner: proc.Runner, *, unreleased: bool = False) -> str:
    """The release notes of one version (from git history and the notes template)."""
    project, span, data = _version_data(config, version, runner, unreleased=unreleased, command="notes", what="notes")
    name = str(span.version)
    previous = str(span.previous.version) if span.previous else None
    guide = project.migration_path(previous or "", name)
    guide_rel = project.in_repo(guide) if previous and guide.exists() else None
    return render_notes(project.templates, data, project.notes_input(name, previous, (), guide_rel))


def run_notes(
    config: ReleaseConfig, version: str | None, output: Path | None, runner: proc.Runner, *, unreleased: bool = False
) -> int:
    """`invoke notes`: release notes of one version to stdout or a file (a dry run prints them)."""
    notes = release_notes(config, version, runner, unreleased=unreleased)
    if output and runner.allows(proc.Effect.LOCAL, f"write {output}"):
        write_atomic(output, notes)
        ui.say(f"wrote {output}")
    else:
        sys.stdout.write(notes)
    return 0


def lint_exemption(project: Project) -> str | None:
    """The commit id of tool.release.versioning.commit-lint-since (None when unset), or a ConfigError."""
    configured = project.versioning.commit_lint_since
    if not configured:
        return None
    sha = project.repo.commit_sha(configured)
    if sha is None:
        raise ConfigError(
            f"tool.release.versioning.commit-lint-since = {configured!r} names no commit in {project.repo.root}",
            hint="set it to the full id of the last commit written before the rules were adopted, or remove it",
        )
    return sha


def run_commit_lint(config: ReleaseConfig, since: str | None) -> int:
    """`invoke commit-lint`: check the commits since the last tag; 0 when all are conventional.

    Commits up to tool.release.versioning.commit-lint-since are exempt: they
    were written before the project adopted the rules, and history is not rewritten.
    """
    project = Project.load(config)
    project.require_full_history("commit-lint")
    if since is None:
        tags = project.tags()
        last = tags[-1] if tags else None
        since = last.name if last else None
    elif project.repo.commit_sha(since) is None:
        raise GitStateError(f"--since {since!r} names no commit", hint="pass a tag, branch or commit id")
    exempt = lint_exemption(project)
    raw = project.repo.log(since, exclude=[exempt] if exempt else [])
    types = project.versioning.commit_types or TYPES
    problems = lint_commits(((c.sha, c.message) for c in raw), types=types)
    print(format_lint_report(problems, len(raw), since, exempt))
    return 0 if not problems else VersionError.exit_code


def format_lint_report(
    problems: Sequence[LintProblem], checked: int, since: str | None, exempt: str | None = None
) -> str:
    """A plain-text report: every offending commit with its problems, then a count."""
    bounds = ([f"since {since}"] if since else []) + ([f"after {exempt[:7]} (commit-lint-since)"] if exempt else [])
    where = " and ".join(bounds) or "in the whole history"
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


def cli_source(project: Project, spec: str, option: str) -> Path | str:
    """What `spec` names: a binary to run (a Path), or a commit to build (its id); else a VersionError."""
    path = Path(spec)
    if path.exists():
        return check_cli_binary(path, option)
    sha = project.repo.commit_sha(spec)
    if sha is None:
        raise VersionError(
            f"{option} {spec!r} is neither a binary nor a git ref",
            hint="pass the path of a built binary, or a tag such as v1.3.0 (`git tag` lists them)",
        )
    return spec


def run_cli_diff(config: ReleaseConfig, old: str, new: str | None, *, write_guide: bool, runner: proc.Runner) -> int:
    """`invoke cli-diff`: compare two binaries (paths or git refs) and apply the breaking-change gate."""
    project = Project.load(config, runner)
    # Even between two binaries it reads history: the previous release is the latest tag before this version.
    project.require_full_history("cli-diff")
    # Both sides are checked before either is built: a typo must not cost a build first.
    old_source = cli_source(project, old, "--old")
    new_source = cli_source(project, new, "--new") if new else "HEAD"
    cache = cache_dir() / "cli-surface-target"

    def binary(source: Path | str) -> Path:
        return source if isinstance(source, Path) else build_at_ref(project, source, cache)

    old_bin, new_bin = binary(old_source), binary(new_source)
    changes = compare_cli(old_bin, new_bin, config.binaries[0])
    rows = [[c.kind, c.command, c.describe(), "yes" if c.breaking else "no"] for c in changes]
    ui.summary(
        f"{config.name}: CLI changes", ["kind", "command", "change", "breaking"], rows or [["-", "-", "none", "-"]]
    )
    tags = project.tags()
    current = parse_version(config.version)
    previous = previous_release(tags, current)
    if write_guide and breaking_changes(changes) and runner.allows(proc.Effect.LOCAL, "write a migration guide"):
        span = version_range(project, None)
        since = span.previous.name if span.previous else None
        data = release_data(project.repo, project.cliff_config, tag=span.tag, since=since, until=span.until)
        prev = str(previous.version) if previous else "previous"
        path = project.migration_path(prev, str(span.version))
        text = render_migration(project.templates, data, project.notes_input(str(span.version), prev, changes))
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
