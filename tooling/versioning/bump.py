"""`invoke bump`: decide the next version (pure plan with every refusal), then write, commit and tag.

The plan gathers facts (git, git-cliff, binaries) and decides with the pure
functions of versions, commits, branching and cli_surface; all writes happen
in `apply_bump`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import semver

from tooling import proc, ui
from tooling.config import ReleaseConfig
from tooling.errors import GitStateError, ReleaseError, VersionError
from tooling.files import write_atomic
from tooling.versioning.branching import check_branch
from tooling.versioning.cargo_edit import set_crate_version
from tooling.versioning.changelog import ReleaseData, release_data, render_section, write_changelog
from tooling.versioning.cli_surface import SurfaceChange, breaking_changes, check_cli_binary, compare_cli
from tooling.versioning.commits import ConventionalCommit, parse_commits
from tooling.versioning.notes import render_migration, render_notes
from tooling.versioning.project import Project
from tooling.versioning.versions import (
    PARTS,
    Part,
    ReleaseTag,
    is_major_bump,
    latest_stable,
    next_version,
    parse_version,
    part_from_commits,
    previous_release,
)


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
    version: semver.Version | None = None,
) -> BumpPlan:
    """Decide the next version and collect every reason to refuse it (refusals are not raised here).

    version: the release version itself (`invoke release --version`), instead of a part to bump.
    """
    if version is not None and (auto or part or pre):
        raise VersionError("--version names the release; --bump and --pre compute one", hint="pass one of them")
    if auto and part:
        raise VersionError("--auto and --part exclude each other", hint="--auto derives the part from the commits")
    if not project.repo.has_commits():
        raise GitStateError("the repository has no commits yet", hint="commit the crate first")
    # Raised, not listed as a refusal: even a dry run's answer would be wrong.
    project.require_full_history("bump")
    versioning = project.versioning
    current = parse_version(project.config.version)
    tags = project.tags()
    reason = f"--part {part}" if part else ""
    if auto:
        base = latest_stable(tags)
        since_base = parse_commits(project.repo.log(base.name if base else None))
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
    if version is not None:
        if version <= current:
            raise VersionError(
                f"--version {version} is not newer than Cargo.toml's {current}",
                hint="name a higher version, or use --bump to compute the next one",
            )
        new, reason = version, f"--version {version}"
    else:
        new = next_version(current, part, pre)
    previous = previous_release(tags, new)
    raw = project.repo.log(previous.name if previous else None)
    commits = parse_commits(raw)
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
    outside = project.outside_repo([project.changelog_path, project.migrations_dir])
    if outside:
        plan.refusals.append(
            GitStateError(
                f"{', '.join(str(path) for path in outside)} is outside the crate's repository {project.repo.root}, "
                "so the release commit could not hold it",
                hint="set tool.release.versioning.changelog and migrations-dir (relative to the config file) "
                "to paths inside the repository",
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
        guide_path = project.migration_path(previous or str(plan.current), str(plan.new))
        info = project.notes_input(str(plan.new), previous, plan.cli_changes, project.in_repo(guide_path))
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
        write_atomic(guide_path, guide_text)
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
    if cli_old is not None and cli_new is not None:
        check_cli_binary(cli_old, "--cli-old")
        check_cli_binary(cli_new, "--cli-new")
    project = Project.load(config, proc.Runner(dry_run=dry_run))
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
            print(f"<!-- migration guide: {project.in_repo(guide_path)} -->")
            print(guide)
        for refusal in plan.refusals:
            ui.warn(f"a real bump would refuse: {refusal}")
        ui.summary(f"{config.name}: bump (dry run, nothing changed)", ["", ""], rows)
        return 0
    files = apply_bump(project, plan)
    rows.append(["files", ", ".join(project.in_repo(f) for f in files)])
    rows.append(["tag", plan.tag + (" (signed)" if project.versioning.sign_tags else "")])
    ui.summary(f"{config.name}: bumped to {plan.new}", ["", ""], rows)
    return 0
