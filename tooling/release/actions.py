"""The steps of `invoke release` that act (the gates are in gates.py), and the run's opening checks.

Each returns the one-line detail of the summary table. The artifact steps are
the chain of `invoke package`; publishing is `invoke publish`'s code; what
leaves this machine goes through a runner that is dry in a dry run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling import proc, ui
from tooling.config import ReleaseConfig, config_file, load_config
from tooling.errors import ConfigError, GateError, GitStateError, ReleaseError
from tooling.git import GitRepo
from tooling.plan import ANNOUNCE_DIR
from tooling.release.state import ReleaseState, check_outputs, load_state, save_state, snapshot
from tooling.versioning.project import Project
from tooling.versioning.versions import latest_stable, parse_version, previous_release

if TYPE_CHECKING:
    import semver

    from tooling.release.pipeline import ReleaseOptions, ReleaseRun
    from tooling.versioning.bump import BumpPlan
    from tooling.versioning.cli_surface import SurfaceChange
    from tooling.versioning.commits import ConventionalCommit
    from tooling.versioning.versions import ReleaseTag

TOKEN_ENV = "GITHUB_TOKEN"  # noqa: S105 - the name of the variable, not a secret
# The chain steps (tooling.artifacts.steps) each release step stands for.
CHAIN_STEPS: dict[str, tuple[str, ...]] = {
    "build": ("build",),
    "archive": ("archive",),
    "sbom": ("sbom",),
    "checksum": ("installers", "checksum"),
    "packages": ("packages",),
    "sign": ("sign",),
    "verify": ("package",),
}


# --- opening the run ---------------------------------------------------------------------------


def reload_config(settings_file: Path, dist: Path, environ: Mapping[str, str]) -> ReleaseConfig:
    """The configuration read again (Cargo.toml's version changed), still writing into `dist`."""
    from tooling.config import CONFIG_ENV

    loaded = load_config(settings_file.parent, {**environ, CONFIG_ENV: str(settings_file)})
    return replace(loaded, dist_dir=dist)


def with_binary_version(config: ReleaseConfig, options: ReleaseOptions) -> ReleaseConfig:
    """A promotion's binaries print the prerelease's version: their smoke runs expect that one."""
    return replace(config, binary_version=options.smoke_version) if options.smoke_version else config


def refuse_foreign_state(existing: ReleaseState | None, dist: Path, order: tuple[str, ...]) -> None:
    """A new release never overwrites another one's state or files (pure but for the message)."""
    if existing is None:
        return
    stopped = existing.first_unfinished(order)
    what = "a dry run" if existing.dry_run else ("an unfinished release" if stopped else "the finished release")
    where = f", stopped before {stopped}" if stopped and not existing.dry_run else ""
    raise GateError(
        f"{dist} holds {what} of {existing.name} {existing.version}{where}",
        hint="finish it with `invoke release --resume`, or remove it with `invoke clean` and start again"
        if stopped and not existing.dry_run
        else "remove it with `invoke clean` to start another release",
    )


def start_version(project: Project, options: ReleaseOptions) -> tuple[semver.Version, bool]:
    """(the version to release, whether HEAD already carries its tag)."""

    current = parse_version(project.config.version)
    if options.version is None and options.bump is None and options.pre is None:
        tag = project.tag_name(current)
        sha = project.repo.commit_sha(tag)
        if sha is not None and sha == project.repo.commit_sha("HEAD"):
            return current, True
    plan = _plan(project, options, None)
    return plan.new, False


def _plan(project: Project, options: ReleaseOptions, cli: tuple[Path, Path] | None) -> BumpPlan:
    from tooling.versioning.bump import plan_bump
    from tooling.versioning.versions import PARTS

    auto = options.version is None and options.bump in (None, "auto")
    part = next((name for name in PARTS if name == options.bump), None)
    return plan_bump(
        project,
        part=part,
        pre=options.pre,
        auto=auto,
        cli_old=cli[0] if cli else None,
        cli_new=cli[1] if cli else None,
        version=parse_version(options.version) if options.version else None,
    )


def bump_plan(run: ReleaseRun) -> BumpPlan:
    return _plan(run.project, run.options, run.cli_binaries)


@contextmanager
def open_run(
    config: ReleaseConfig, options: ReleaseOptions, environ: Mapping[str, str], scratch: Path
) -> Iterator[tuple[ReleaseRun, Callable[[ReleaseState], None]]]:
    """The run, new or resumed, with dist/ claimed and locked for its whole length."""
    from tooling.artifacts import dist as dist_folder
    from tooling.release.pipeline import ReleaseRun, step_names

    dist = config.dist_dir
    project = Project.load(config, proc.Runner())
    project.require_full_history("release")
    existing = load_state(dist)
    order = step_names()
    if options.resume:
        if existing is None:
            raise GateError(f"there is no release to resume in {dist}", hint="start one with `invoke release`")
        if existing.dry_run:
            raise GateError(f"{dist} holds a dry run, which cannot be resumed", hint="invoke clean, then release")
        check_outputs(dist, existing)
        check_release_commit(project.repo, existing)
        state = existing
        options = resumed_options(options, state.settings)
        new = parse_version(state.version)
        current = parse_version(config.version)
        existing_tag = bool(state.settings.get("existing_tag", False))
        ui.say(f"resuming the release of {state.name} {state.version} at {state.first_unfinished(order)}")
    else:
        refuse_foreign_state(existing, dist, order)
        leftovers = snapshot(dist) if dist.is_dir() else {}
        if leftovers:
            raise GateError(
                f"{dist} holds files of another run ({', '.join(sorted(leftovers)[:5])} ...)",
                hint="a release starts from an empty dist folder: `invoke clean`, then release",
            )
        current = parse_version(config.version)
        new, existing_tag = start_version(project, options)
        state = ReleaseState(config.name, str(new), project.tag_name(new), dry_run=options.dry_run)
        state.settings = kept_settings(options) | {"existing_tag": existing_tag}
        if existing_tag:
            state.commit = project.repo.commit_sha("HEAD") or ""
    config = with_binary_version(config, options)
    run = ReleaseRun(config, options, project, current, new, state, environ, scratch, existing_tag=existing_tag)
    if options.resume and state.finished("bump"):
        run.current = new  # Cargo.toml carries the release version now
    saved_target_dir = os.environ.get("CARGO_TARGET_DIR")
    with dist_folder.guarded(dist, proc.Runner()):
        try:
            yield run, lambda current_state: save_state(dist, current_state)
        finally:
            if saved_target_dir is None:
                os.environ.pop("CARGO_TARGET_DIR", None)
            else:
                os.environ["CARGO_TARGET_DIR"] = saved_target_dir
            _leave_rehearsal(run)


def kept_settings(options: ReleaseOptions) -> dict[str, Any]:
    """What a resumed run must keep of this one's command line (pure): the files made depend on it."""
    return {
        "unsigned": options.unsigned,
        "from_artifacts": [str(path.resolve()) for path in options.from_artifacts],
        "remote": options.remote,
        "carried": dict(options.carried),
        "smoke_version": options.smoke_version,
    }


def resumed_options(options: ReleaseOptions, settings: Mapping[str, Any]) -> ReleaseOptions:
    """The resuming command line with the recorded choices of the run it finishes (pure)."""
    return replace(
        options,
        unsigned=bool(settings.get("unsigned", options.unsigned)),
        from_artifacts=tuple(Path(p) for p in settings.get("from_artifacts", ())) or options.from_artifacts,
        remote=str(settings.get("remote", options.remote)),
        carried=dict(settings.get("carried") or {}),
        smoke_version=settings.get("smoke_version"),
    )


def check_release_commit(repo: GitRepo, state: ReleaseState) -> None:
    """GitStateError when the recorded release commit and tag are no longer what the run made."""
    if not state.commit:
        return
    tagged = repo.commit_sha(state.tag)
    if tagged is not None and tagged != state.commit:
        raise GitStateError(
            f"tag {state.tag} now points at {tagged[:12]}, not at the release commit {state.commit[:12]}",
            hint="the release cannot be resumed on a moved tag: invoke clean, then release again",
        )


# --- preflight ---------------------------------------------------------------------------------


def preflight(run: ReleaseRun) -> str:
    """Check what later steps need before anything changes: remote, token, signing keys."""
    from tooling.release.pipeline import chosen, steps

    planned = {step.name for step in steps() if chosen(step, run.options)}
    problems: list[str] = []
    remote_needed = "push" in planned or "release-branch" in planned
    if remote_needed and run.options.remote not in run.project.repo.remote_names():
        problems.append(
            f"the repository has no remote {run.options.remote!r} to push the release commit and tag to "
            "(add it, pass --remote NAME, or --skip push)"
        )
    publishing = {"publish-github", "publish-channels"} & planned
    if publishing and not run.dry_run and not run.environ.get(TOKEN_ENV):
        problems.append(f"{TOKEN_ENV} is not set: publishing to GitHub needs a token (or --skip publish-github)")
    if "build" in planned and not run.options.from_artifacts and not run.dry_run:
        problems += elsewhere_targets(run.config)
    if "packages" in planned:
        problems += channel_problems(replace(run.config, version=str(run.new)))
    if problems:
        raise GateError(
            "preflight: the release would fail later:\n  " + "\n  ".join(problems),
            hint="fix these before releasing: nothing was changed",
        )
    kind = "dry run: nothing leaves this machine" if run.dry_run else f"to {run.options.remote}"
    return f"{run.config.name} {run.current} → {run.new} ({kind})"


def elsewhere_targets(config: ReleaseConfig) -> list[str]:
    """The configured targets this machine will not build, each with why (a release needs them all)."""
    from tooling.build.toolchain import probe_system
    from tooling.plan import HERE, plan_release

    plan = plan_release(config, probe_system(config.rustc))
    return [
        f"{target.triple} is not built here ({target.reason}): release from CI's build folders with "
        "--from-artifacts, or take it out of tool.release.targets"
        for target in plan.targets
        if target.where != HERE
    ]


def channel_problems(config: ReleaseConfig) -> list[str]:
    """Planned package channels that no planned archive can serve (e.g. a musl .deb of a gnu-only release).

    Only what the plan decides is checked here; what the archives will hold (a license file, say) is
    checked by the packages step, once they exist.
    """
    from tooling.errors import PackageError
    from tooling.packagers import registry
    from tooling.packagers.base import archives_for
    from tooling.packagers.release import planned_platforms, planned_release

    release = planned_release(config)
    planned = planned_platforms(t.triple for t in config.targets)
    problems = []
    for name in registry.planned_channels(config.packages, config.version):
        try:
            archives_for(registry.load(name), release.archives, planned, config.packages[name], allow_partial=False)
        except PackageError as error:
            problems.append(error.message.splitlines()[0] + (f" ({error.hint})" if error.hint else ""))
    return problems


# --- bump --------------------------------------------------------------------------------------


def bump(run: ReleaseRun) -> str:
    """Version, changelog, commit and tag; in a dry run, the same in a throwaway worktree."""
    if run.existing_tag:
        run.state.commit = run.project.repo.commit_sha("HEAD") or ""
        return f"HEAD is tagged {run.tag}: released as it is"
    from tooling.versioning.bump import apply_bump

    plan = bump_plan(run)
    if plan.new != run.new:
        raise GateError(
            f"the release was planned as {run.new}, but the history now makes it {plan.new}",
            hint="invoke clean and release again",
        )
    settings_file = config_file(run.config, run.environ)
    if run.dry_run:
        return rehearse_bump(run, plan, settings_file)
    files = apply_bump(run.project, plan)
    run.state.commit = run.project.repo.commit_sha("HEAD") or ""
    _switch_config(run, reload_config(settings_file, run.config.dist_dir, run.environ))
    return f"{plan.current} → {plan.new} ({plan.reason}); committed {len(files)} files, tagged {run.tag}"


def _switch_config(run: ReleaseRun, config: ReleaseConfig) -> None:
    run.config = with_binary_version(config, run.options)
    run.project = Project.load(config, proc.Runner())


def rehearse_bump(run: ReleaseRun, plan: BumpPlan, settings_file: Path) -> str:
    """The bump, committed in a worktree of HEAD under the run's scratch folder (no tag: tags are shared)."""
    from tooling.build.plan import default_target_dir
    from tooling.versioning.bump import bump_notes
    from tooling.versioning.cargo_edit import set_crate_version
    from tooling.versioning.changelog import render_section, write_changelog

    repo = run.project.repo
    root = repo.root.resolve()
    if not settings_file.resolve().is_relative_to(root):
        raise GateError(
            f"a dry run rehearses the bump in a worktree, but the configuration {settings_file} is outside "
            f"the repository {root}",
            hint="keep the configuration in the crate's repository, or release without --dry-run",
        )
    worktree = run.scratch / "checkout"
    repo.worktree_add(worktree, "HEAD")
    run.original_config = run.config

    def moved(path: Path) -> Path:
        return worktree / path.resolve().relative_to(root)

    config = run.config
    files = set_crate_version(moved(config.crate_manifest), config.name, str(plan.current), str(plan.new))
    changelog = moved(run.project.changelog_path)
    write_changelog(changelog, str(plan.new), render_section(plan.data, run.project.cliff_config))
    files.append(changelog)
    _notes, guide_text, guide_path = bump_notes(run.project, plan)
    if guide_text is not None and guide_path is not None:
        guide = moved(guide_path)
        guide.parent.mkdir(parents=True, exist_ok=True)
        guide.write_text(guide_text, encoding="utf-8")
        files.append(guide)
    rehearsal = GitRepo(worktree, proc.Runner())
    rehearsal.commit(files, f"chore(release): {plan.tag}")
    # The cargo target folder of the real checkout: only the crate itself is compiled again.
    os.environ.setdefault("CARGO_TARGET_DIR", str(default_target_dir(config)))
    _switch_config(run, reload_config(moved(settings_file), config.dist_dir, run.environ))
    run.state.commit = rehearsal.commit_sha("HEAD") or ""
    return f"{plan.current} → {plan.new} ({plan.reason}); rehearsed in a worktree, no tag made"


def _leave_rehearsal(run: ReleaseRun) -> None:
    if run.original_config is None:
        return
    worktree = run.scratch / "checkout"
    try:
        GitRepo(run.original_config.crate_dir).worktree_remove(worktree)
    except ReleaseError as error:  # best effort: the scratch folder goes anyway
        ui.warn(f"could not remove the rehearsal worktree {worktree}: {error.message}")


# --- the artifact chain ------------------------------------------------------------------------


def chain(name: str) -> Callable[[ReleaseRun], str]:
    """The release step running chain step(s) CHAIN_STEPS[name] of `invoke package`."""

    def action(run: ReleaseRun) -> str:
        from tooling.artifacts import steps as chain_steps
        from tooling.artifacts.dist import load

        unsigned = run.options.unsigned or rehearsal_without_keys(run)
        options = chain_steps.Options(
            prebuilt=tuple(path.resolve() for path in run.options.from_artifacts),
            unsigned=unsigned,
            check_signatures=not unsigned,
            # A rehearsal releases what this machine can build: the targets of other runners are reported missing.
            allow_partial=run.dry_run,
        )
        done = [c for step, cs in CHAIN_STEPS.items() if run.state.finished(step) for c in cs]
        context = chain_steps.ChainRun(run.config, options, proc.Runner(), done=list(done))
        for chain_step in CHAIN_STEPS[name]:
            chain_steps.run_step(chain_step, context)
        if name == "build" and not run.dry_run:
            keep_host_binaries(run)
        if name == "sign" and run.options.unsigned:
            return "nothing signed (--unsigned)"
        if name == "sign" and unsigned:
            return "no signing keys in this environment: a real release signs here (dry run)"
        record = load(run.config.dist_dir)
        kinds = {"build": "binary", "archive": "archive", "sbom": "sbom", "packages": "package", "sign": "signature"}
        kind = kinds.get(name)
        if kind is None:
            return f"{len(record.artifacts)} files in the manifest"
        count = sum(1 for artifact in record.artifacts if artifact.kind == kind)
        return f"{count} {kind} files"

    return action


def rehearsal_without_keys(run: ReleaseRun) -> bool:
    """A dry run where the configured signers have no keys (they live in CI's secrets): it signs nothing."""
    if not run.dry_run:
        return False
    from tooling.artifacts.sign import sign_settings

    settings = sign_settings(run.config.sign, run.environ, run.config.root)
    needs = {
        "gpg": bool(settings.gpg_key),
        "minisign": bool(settings.minisign_key or settings.minisign_key_content),
    }
    return not all(needs.get(backend, True) for backend in settings.backends)


def releases_cache(config: ReleaseConfig, version: str) -> Path:
    from tooling.cache import cache_dir

    return cache_dir() / "releases" / config.name / version


def keep_host_binaries(run: ReleaseRun) -> None:
    """Keep this machine's binaries of the release in the cache: the next release's regression baseline."""
    from tooling.build.regression import host_targets
    from tooling.build.toolchain import host_platform

    host_os, host_arch = host_platform()
    for target in host_targets(run.config.targets, host_os, host_arch):
        folder = run.config.dist_dir / target.triple
        if not folder.is_dir():
            continue
        keep = releases_cache(run.config, str(run.new)) / target.triple
        keep.mkdir(parents=True, exist_ok=True)
        for name in run.config.binaries:
            built = folder / target.executable(name)
            if built.is_file():
                shutil.copy2(built, keep / built.name)


def regression_baseline(run: ReleaseRun) -> Path | None:
    """The previous release's binaries: the configured baseline, else the cache; None for a first release."""
    configured = str(run.config.gates.get("regression-baseline", ""))
    if configured:
        path = (run.config.root / Path(configured).expanduser()).resolve()
        if not path.exists():
            raise ConfigError(
                f"tool.release.gates.regression-baseline: {path} does not exist",
                hint="point it at the previous release's dist/ folder, binaries or archive",
            )
        return path
    previous = previous_release(run.project.tags(), run.new)
    if previous is None:
        return None
    cached = releases_cache(run.config, str(previous.version))
    if cached.is_dir():
        return cached
    # Not released from this machine: its binaries are built from its tag, as `invoke regression` does.
    from tooling.build.baseline import resolve_baseline

    return resolve_baseline(run.config, previous.name, run.environ)


# --- breaking changes --------------------------------------------------------------------------


def breaking_facts(run: ReleaseRun) -> tuple[ReleaseTag | None, list[ConventionalCommit], list[SurfaceChange]]:
    """The previous release, the commits since, and the CLI changes between its binary and HEAD's."""
    from tooling.versioning.cli_surface import compare_cli
    from tooling.versioning.commands import build_at_ref
    from tooling.versioning.commits import parse_commits

    previous = previous_release(run.project.tags(), run.new)
    if previous is None:
        return None, [], []
    commits = parse_commits(run.project.repo.log(previous.name))
    if run.cli_binaries is None:
        from tooling.build.plan import default_target_dir

        # The tool's cargo folder (outside the checkout), kept between releases: the next one builds warm.
        target_dir = default_target_dir(run.config) / "cli-surface"
        with ui.group(f"build {run.config.binaries[0]} at {previous.name} and at HEAD for the CLI comparison"):
            old = build_at_ref(run.project, previous.name, target_dir)
            new = build_at_ref(run.project, "HEAD", target_dir)
        run.cli_binaries = (old, new)
    changes = compare_cli(run.cli_binaries[0], run.cli_binaries[1], run.config.binaries[0])
    return previous, commits, changes


# --- after the artifacts -----------------------------------------------------------------------


def install_test(run: ReleaseRun) -> str:
    """The release installed as users get it; it stays on this machine, so a dry run does it too."""
    from tooling.release.install_test import run_install_tests

    checks = run_install_tests(run.config, proc.Runner())
    skipped = [check for check in checks if check.how == "skipped"]
    ran = len(checks) - len(skipped)
    return f"{ran} installs ran and their binaries passed" + (f", {len(skipped)} not possible here" if skipped else "")


def push(run: ReleaseRun) -> str:
    """The release commit and tag to the remote (converging: what is there already is not pushed again)."""
    repo = run.project.repo
    remote = run.options.remote
    if run.dry_run:
        # The rehearsal's worktree is detached: the branch is the one of the user's checkout.
        checkout = GitRepo(run.original_config.crate_dir) if run.original_config else repo
        shown = checkout.current_branch() or "HEAD"
        ui.say(f"would push {shown} and {run.tag} to {remote} (dry run)")
        return f"would push {shown} and {run.tag} to {remote}"
    there = proc.read(["git", "ls-remote", "--tags", remote, f"refs/tags/{run.tag}"], cwd=repo.root).stdout
    refs = [f"refs/tags/{run.tag}"]
    branch = repo.current_branch()
    if not run.existing_tag and branch:
        refs.insert(0, f"HEAD:refs/heads/{branch}")
    if there.strip() and run.existing_tag:
        return f"{run.tag} is on {remote} already"
    GitRepo(repo.root, run.remote_runner).push(remote, refs)
    return f"pushed {', '.join(refs)} to {remote}"


def release_notes_text(run: ReleaseRun) -> str:
    """The notes of the release, with the steps skipped by name written into them.

    A prerelease's notes cover the changes since the previous prerelease, or, with
    versioning.prerelease-notes = "stable", since the last stable release.
    """
    from tooling.versioning.changelog import release_data
    from tooling.versioning.notes import render_notes

    project = run.project
    previous = previous_release(project.tags(), run.new)
    if run.new.prerelease is not None and project.versioning.prerelease_notes == "stable":
        previous = latest_stable([tag for tag in project.tags() if tag.version < run.new])
    data = release_data(project.repo, project.cliff_config, tag=run.tag, since=previous.name if previous else None)
    previous_version = str(previous.version) if previous else None
    guide = project.migration_path(previous_version or "", str(run.new))
    guide_rel = project.in_repo(guide) if previous_version and guide.exists() else None
    notes = render_notes(project.templates, data, project.notes_input(str(run.new), previous_version, (), guide_rel))
    return notes + skipped_steps_section(run.state.skipped_by_name)


def skipped_steps_section(skipped: Sequence[str]) -> str:
    """What the notes say about steps skipped by name (pure): nobody should learn of a skipped gate by accident."""
    if not skipped:
        return ""
    names = ", ".join(f"`{name}`" for name in skipped)
    return f"\n\n## Skipped checks\n\nThis release was made with these steps skipped by name: {names}.\n"


def _publish(run: ReleaseRun, only: tuple[str, ...], skip: tuple[str, ...]) -> dict[str, Any]:
    from tooling.publish.run import run_publish

    return run_publish(
        run.config,
        notes=release_notes_text(run),
        replace=False,
        unsigned=run.options.unsigned,
        jobs=0,
        runner=run.remote_runner,
        environ=run.environ,
        budget_seconds=run.options.retry_budget,
        only=only,
        skip=skip,
    )


def publish_github(run: ReleaseRun) -> str:
    if run.dry_run and not run.environ.get(TOKEN_ENV):
        from tooling.artifacts.dist import load
        from tooling.publish.run import release_files

        files = release_files(load(run.config.dist_dir), run.config.dist_dir)
        for asset in files:
            ui.say(f"would upload {asset.name} ({asset.size:,} bytes) to the release {run.tag} (dry run)")
        return f"would create {run.tag} with {len(files)} files (dry run, no {TOKEN_ENV}: GitHub not asked)"
    outcomes = _publish(run, ("github",), ())
    outcome = outcomes["github"]
    return f"{outcome.state}: {outcome.detail} {outcome.url}".strip()


def publish_channels(run: ReleaseRun) -> str:
    configured = tuple(run.config.publish.get("channels", ()))
    if not configured:
        return "no channels in tool.release.publish.channels"
    if run.dry_run and not run.environ.get(TOKEN_ENV):
        return "would push " + ", ".join(configured) + " (dry run)"
    outcomes = _publish(run, (), ("github",))
    return ", ".join(f"{name}: {outcome.state}" for name, outcome in outcomes.items())


def release_branch(run: ReleaseRun) -> str:
    """release/X.Y after a major or minor release; after a patch from a release branch, its changelog on main."""
    from tooling.release.branches import (
        create_release_branch,
        main_changelog_followup,
        main_changelog_wanted,
        release_branch_for,
    )
    from tooling.versioning.changelog import release_data, render_section

    versioning = run.project.versioning
    # The branch functions handle a dry run themselves: they say what they would create or push.
    repo = GitRepo(run.project.repo.root, run.remote_runner)
    branch = release_branch_for(run.new, versioning)
    if branch is not None:
        if run.dry_run:  # the rehearsal made no tag to branch from
            return f"would create {branch} at {run.tag} and push it to {run.options.remote}"
        return create_release_branch(repo, branch, run.tag, remote=run.options.remote)
    if main_changelog_wanted(run.new, run.project.repo.current_branch(), versioning):
        data = release_data(run.project.repo, run.project.cliff_config, tag=run.tag, since=run.previous_tag())
        return main_changelog_followup(
            run.config,
            str(run.new),
            render_section(data, run.project.cliff_config),
            mode=versioning.main_changelog,
            remote=run.options.remote,
            runner=run.remote_runner,
        )
    return "not a major or minor release: no new release branch"


def announce(run: ReleaseRun) -> str:
    from tooling.files import write_atomic
    from tooling.release.announce import announcement_input, post_webhook, render_announcements
    from tooling.versioning.changelog import release_data

    previous = run.previous_tag()
    data = release_data(run.project.repo, run.project.cliff_config, tag=run.tag, since=previous)
    highlights = [change.description for _group, changes in data.groups() for change in changes][:5]
    previous_version = str(parse_version(previous, prefix=run.project.versioning.tag_prefix)) if previous else None
    guide = run.project.migration_path(previous_version or "", str(run.new))
    guide_rel = run.project.in_repo(guide) if previous_version and guide.exists() else None
    data_in = announcement_input(
        run.config, version=str(run.new), previous=previous_version, highlights=highlights, migration_guide=guide_rel
    )
    written = render_announcements(run.config, data_in)
    folder = run.config.dist_dir / ANNOUNCE_DIR
    for name, text in written.items():
        write_atomic(folder / name, text)
    posted = post_webhook(run.config, written["post.txt"], run.environ, run.remote_runner)
    return f"{', '.join(f'{ANNOUNCE_DIR}/{name}' for name in written)}; webhook: {posted}"
