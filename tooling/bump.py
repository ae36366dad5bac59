"""The versioning commands: bump, changelog, notes, commit lint, CLI comparison, tag check.

Each command gathers facts (git, git-cliff, binaries), decides with the pure
functions of version, commits, branching and clisurface, and only then acts;
all writes of a bump happen in `apply_bump`.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import semver

from tooling import proc, ui
from tooling.branching import check_branch, check_release_tag
from tooling.cache import cache_dir
from tooling.cargoversion import set_crate_version
from tooling.changelog import ReleaseData, release_data, render_section, write_changelog
from tooling.clisurface import SurfaceChange, breaking_changes, capture_surface, diff_surfaces
from tooling.commits import TYPES, ConventionalCommit, LintProblem, lint_commits
from tooling.config import ReleaseConfig
from tooling.errors import GitStateError, ReleaseError, VersionError
from tooling.gitrepo import GitRepo
from tooling.notes import NotesInput, TargetAsset, migration_path, render_migration, render_notes, template_dirs
from tooling.version import (
    PARTS,
    Part,
    ReleaseTag,
    is_major_bump,
    latest_stable,
    next_version,
    parse_version,
    part_from_commits,
    previous_release,
    release_tags,
)
from tooling.versioning import TOOLING_ROOT, VersioningConfig, parse_versioning, resolve_file


@dataclass(frozen=True)
class Project:
    """The configuration and repository every versioning command works on."""

    config: ReleaseConfig
    versioning: VersioningConfig
    repo: GitRepo
    cliff_config: Path
    templates: tuple[Path, ...]

    @classmethod
    def load(cls, config: ReleaseConfig) -> Project:
        versioning = parse_versioning(config.versioning)
        repo = GitRepo.discover(config.root)
        cliff = resolve_file(config.root, versioning.cliff_config, "cliff.toml", TOOLING_ROOT / "cliff.toml")
        return cls(config, versioning, repo, cliff, tuple(template_dirs(config.root, versioning.templates)))

    @property
    def changelog_path(self) -> Path:
        if self.versioning.changelog:
            return self.config.root / self.versioning.changelog
        return self.config.crate_dir / "CHANGELOG.md"

    def tag_name(self, version: semver.Version | str) -> str:
        return f"{self.versioning.tag_prefix}{version}"

    def tags(self) -> list[ReleaseTag]:
        """Release tags reachable from HEAD, in semver order."""
        if not self.repo.has_commits():
            return []
        return release_tags(self.repo.tags(merged_into="HEAD"), self.versioning.tag_prefix)

    def notes_input(
        self, version: str, previous: str | None, cli: Sequence[SurfaceChange] = (), guide: str | None = None
    ) -> NotesInput:
        config = self.config
        return NotesInput(
            name=config.name,
            version=version,
            previous=previous,
            binaries=config.binaries,
            repository=config.package.repository or config.package.homepage,
            targets=tuple(TargetAsset(t.triple, config.archive_format(t)) for t in config.targets),
            checksums_file=self.versioning.checksums_file,
            signature_file=self.versioning.signature_file,
            tag=self.tag_name(version),
            cli_changes=tuple(cli),
            migration_guide=guide,
        )


# --- bump ----------------------------------------------------------------------


@dataclass
class BumpPlan:
    """What a bump will do, and what stands in its way."""

    current: semver.Version
    new: semver.Version
    part: Part | None
    reason: str
    tag: str
    previous: ReleaseTag | None
    commits: list[ConventionalCommit]
    data: ReleaseData
    cli_changes: list[SurfaceChange] = field(default_factory=list)
    refusals: list[ReleaseError] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return any(c.breaking for c in self.commits) or bool(breaking_changes(self.cli_changes))


def breaking_gate(
    previous: semver.Version,
    new: semver.Version,
    commits: Sequence[ConventionalCommit],
    cli_changes: Sequence[SurfaceChange],
    acknowledged: Sequence[str],
) -> None:
    """VersionError when `new` ships breaking changes without a major bump (from 1.0 on) and no acknowledgement."""
    if new.major < 1 or is_major_bump(previous, new) or str(new) in acknowledged:
        return
    reasons = [f"commit {c.sha[:7]}: {c.subject}" for c in commits if c.breaking]
    reasons += [change.describe() for change in breaking_changes(cli_changes)]
    if not reasons:
        return
    raise VersionError(
        f"{new} contains breaking changes but is not a major release after {previous}:\n    " + "\n    ".join(reasons),
        hint=f'bump with --part major ({previous.major + 1}.0.0), or accept them by adding "{new}" to '
        "tool.release.versioning.acknowledged-breaking",
    )


def plan_bump(
    project: Project,
    *,
    part: Part | None = None,
    pre: str | None = None,
    auto: bool = False,
    cli_old: Path | None = None,
    cli_new: Path | None = None,
) -> BumpPlan:
    """Decide the next version and collect every reason to refuse it (refusals are not raised here)."""
    if auto and part:
        raise VersionError("--auto and --part exclude each other", hint="--auto derives the part from the commits")
    if not project.repo.has_commits():
        raise GitStateError("the repository has no commits yet", hint="commit the crate first")
    versioning = project.versioning
    current = parse_version(project.config.version)
    tags = project.tags()
    reason = f"--part {part}" if part else ""
    if auto:
        base = latest_stable(tags)
        since_base = [c.parsed() for c in project.repo.log(base.name if base else None)]
        part = part_from_commits(since_base, current)
        where = f"since {base.name}" if base else "in the whole history (no release tag yet)"
        if part is None:
            part = "patch"
            reason = f"no feat, fix, perf or breaking commits {where}: patch"
        else:
            kind = {
                "major": "a breaking change",
                "minor": "a feature" if not any(c.breaking for c in since_base) else "a breaking change below 1.0",
                "patch": "a fix",
            }[part]
            reason = f"{kind} {where}: {part}"
    if pre:
        reason = (reason + ", " if reason else "") + f"--pre {pre}"
    new = next_version(current, part, pre)
    previous = previous_release(tags, new)
    raw = project.repo.log(previous.name if previous else None)
    commits = [c.parsed() for c in raw]
    tag = project.tag_name(new)
    data = release_data(project.repo, project.cliff_config, tag=tag, since=previous.name if previous else None)
    cli_changes: list[SurfaceChange] = []
    if cli_old and cli_new:
        cli_changes = compare_cli(cli_old, cli_new, project.config.binaries[0])
    plan = BumpPlan(current, new, part, reason, tag, previous, commits, data, cli_changes)
    dirty = project.repo.dirty_paths()
    if dirty:
        plan.refusals.append(
            GitStateError(
                "the working tree has uncommitted changes: "
                + ", ".join(dirty[:8])
                + (" ..." if len(dirty) > 8 else ""),
                hint="commit or stash them first; a release commit holds only the version bump and changelog",
            )
        )
    if project.repo.has_tag(tag):
        plan.refusals.append(
            GitStateError(
                f"tag {tag} already exists",
                hint=f"{new} was released already; bump again, or delete the tag if it was made by mistake",
            )
        )
    try:
        check_branch(project.repo.current_branch(), current, new, versioning)
    except GitStateError as error:
        plan.refusals.append(error)
    try:
        breaking_gate(
            previous.version if previous else current, new, commits, cli_changes, versioning.acknowledged_breaking
        )
    except VersionError as error:
        plan.refusals.append(error)
    return plan


def bump_notes(project: Project, plan: BumpPlan) -> tuple[str, str | None, Path | None]:
    """(release notes, migration guide text, its path) for a planned bump."""
    previous = str(plan.previous.version) if plan.previous else None
    guide_path = None
    guide_text = None
    if plan.breaking:
        guide_path = migration_path(
            project.config.root, project.versioning.migrations_dir, previous or str(plan.current), str(plan.new)
        )
        guide_rel = guide_path.relative_to(project.config.root).as_posix()
        info = project.notes_input(str(plan.new), previous, plan.cli_changes, guide_rel)
        guide_text = render_migration(project.templates, plan.data, info)
    else:
        info = project.notes_input(str(plan.new), previous, plan.cli_changes)
    return render_notes(project.templates, plan.data, info), guide_text, guide_path


def apply_bump(project: Project, plan: BumpPlan) -> list[Path]:
    """Write Cargo.toml, Cargo.lock, CHANGELOG.md (and a migration guide), commit, tag. Returns the files."""
    if plan.refusals:
        raise plan.refusals[0]
    config = project.config
    _notes, guide_text, guide_path = bump_notes(project, plan)
    files = set_crate_version(config.crate_manifest, config.name, str(plan.current), str(plan.new))
    section = render_section(plan.data, project.cliff_config)
    write_changelog(project.changelog_path, str(plan.new), section)
    files.append(project.changelog_path)
    if guide_text is not None and guide_path is not None:
        guide_path.parent.mkdir(parents=True, exist_ok=True)
        guide_path.write_text(guide_text, encoding="utf-8")
        files.append(guide_path)
    project.repo.commit(files, f"chore(release): {plan.tag}")
    versioning = project.versioning
    project.repo.create_tag(
        plan.tag, f"{config.name} {plan.new}", sign=versioning.sign_tags, key=versioning.signing_key or None
    )
    return files


def run_bump(
    config: ReleaseConfig,
    *,
    part: str | None,
    pre: str | None,
    auto: bool,
    dry_run: bool,
    cli_old: Path | None = None,
    cli_new: Path | None = None,
) -> int:
    """`invoke bump`: print the plan; under dry-run print the notes, else apply it."""
    chosen = next((p for p in PARTS if p == part), None)
    if part is not None and chosen is None:
        raise VersionError(f"--part {part!r} is not a bump part", hint="use --part major, minor or patch")
    if (cli_old is None) != (cli_new is None):
        raise VersionError("--cli-old and --cli-new go together", hint="pass both binaries, or neither")
    project = Project.load(config)
    plan = plan_bump(project, part=chosen, pre=pre, auto=auto, cli_old=cli_old, cli_new=cli_new)
    previous = plan.previous.name if plan.previous else "(no earlier release)"
    rows = [
        ["current version", str(plan.current)],
        ["next version", str(plan.new)],
        ["why", plan.reason],
        ["compared with", previous],
        ["commits", str(len(plan.commits))],
        ["breaking", "yes" if plan.breaking else "no"],
    ]
    if dry_run:
        notes, guide, guide_path = bump_notes(project, plan)
        print(f"next version: {plan.new}")
        print(notes)
        if guide is not None and guide_path is not None:
            print(f"<!-- migration guide: {guide_path.relative_to(config.root)} -->")
            print(guide)
        for refusal in plan.refusals:
            ui.warn(f"a real bump would refuse: {refusal}")
        ui.summary(f"{config.name}: bump (dry run, nothing changed)", ["", ""], rows)
        return 0
    files = apply_bump(project, plan)
    rows.append(["files", ", ".join(str(f.relative_to(project.repo.root)) for f in files)])
    rows.append(["tag", plan.tag + (" (signed)" if project.versioning.sign_tags else "")])
    ui.summary(f"{config.name}: bumped to {plan.new}", ["", ""], rows)
    return 0


# --- the other versioning commands -------------------------------------------------


def _version_range(project: Project, version: str | None) -> tuple[str, str | None, str]:
    """(version, previous tag, until ref): an existing tag's range, or the commits since the last release."""
    tags = project.tags()
    if version is None:
        current = parse_version(project.config.version)
        tag = project.tag_name(current)
        if not project.repo.has_tag(tag):
            previous = previous_release(tags, current)
            return str(current), previous.name if previous else None, "HEAD"
        version = str(current)
    parsed = parse_version(version, prefix=project.versioning.tag_prefix)
    tag = project.tag_name(parsed)
    previous = previous_release(tags, parsed)
    until = tag if project.repo.has_tag(tag) else "HEAD"
    return str(parsed), previous.name if previous else None, until


def run_changelog(config: ReleaseConfig, version: str | None, *, stdout: bool) -> int:
    """`invoke changelog`: (re)generate the CHANGELOG.md section of one version."""
    project = Project.load(config)
    version, since, until = _version_range(project, version)
    data = release_data(project.repo, project.cliff_config, tag=project.tag_name(version), since=since, until=until)
    section = render_section(data, project.cliff_config)
    if stdout or proc.is_dry_run():
        sys.stdout.write(section)
        return 0
    changed = write_changelog(project.changelog_path, version, section)
    ui.console.print(f"{project.changelog_path}: {version} {'updated' if changed else 'already up to date'}")
    return 0


def run_notes(config: ReleaseConfig, version: str | None, output: Path | None) -> int:
    """`invoke notes`: release notes of one version to stdout or a file."""
    project = Project.load(config)
    version, since, until = _version_range(project, version)
    data = release_data(project.repo, project.cliff_config, tag=project.tag_name(version), since=since, until=until)
    previous = since.removeprefix(project.versioning.tag_prefix) if since else None
    guide = migration_path(config.root, project.versioning.migrations_dir, previous or "", version)
    guide_rel = guide.relative_to(config.root).as_posix() if previous and guide.exists() else None
    notes = render_notes(project.templates, data, project.notes_input(version, previous, (), guide_rel))
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(notes, encoding="utf-8")
        ui.console.print(f"wrote {output}")
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


def compare_cli(old: Path, new: Path, program: str) -> list[SurfaceChange]:
    """Every CLI difference between two binaries, from their --help output."""
    return diff_surfaces(capture_surface(old), capture_surface(new), program)


def build_at_ref(project: Project, ref: str, target_dir: Path) -> Path:
    """Build the crate's first binary as it was at `ref` (host target, debug), in a temporary worktree."""
    config = project.config
    binary = config.binaries[0]
    with tempfile.TemporaryDirectory(prefix="release-ref-") as tmp:
        worktree = Path(tmp) / "src"
        project.repo.worktree_add(worktree, ref)
        try:
            manifest = worktree / config.crate_manifest.relative_to(project.repo.root)
            proc.run(
                ["cargo", "build", "--manifest-path", str(manifest), "--bin", binary],
                env={"CARGO_TARGET_DIR": str(target_dir)},
                mutates=False,
            )
        finally:
            project.repo.worktree_remove(worktree)
    built = target_dir / "debug" / binary
    keep = target_dir / f"{binary}-{ref.replace('/', '_')}"
    built.replace(keep)
    return keep


def run_cli_diff(config: ReleaseConfig, old: str, new: str | None, *, write_guide: bool) -> int:
    """`invoke cli-diff`: compare two binaries (paths or git refs) and apply the breaking-change gate."""
    project = Project.load(config)
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
    if write_guide and breaking_changes(changes):
        version, since, until = _version_range(project, None)
        data = release_data(project.repo, project.cliff_config, tag=project.tag_name(version), since=since, until=until)
        prev = str(previous.version) if previous else "previous"
        path = migration_path(config.root, project.versioning.migrations_dir, prev, version)
        text = render_migration(project.templates, data, project.notes_input(version, prev, changes))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        ui.console.print(f"wrote {path}")
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
