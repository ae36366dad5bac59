"""`invoke publish`: a finished, verified dist/ attached to the GitHub release of its tag, then published.

Nothing is uploaded that did not pass the same checks as `invoke verify`:
the folder matches its plan (every target, channel and install script), every
file its manifest and SHA256SUMS, and every signature the plan asked for
verifies. The files attached are the release files at the top of dist/: the
archives, the SBOM, the install scripts, SHA256SUMS with the `.sha256` files,
and the signatures. Package channels' files (dist/packages/) are not: their
channels publish them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling import proc, ui
from tooling.artifacts import dist, sign, steps, verify
from tooling.config import ReleaseConfig
from tooling.config_schema import PUBLISHER_NAMES
from tooling.errors import ConfigError, GitStateError, PublishError, ReleaseError
from tooling.git import GitRepo
from tooling.manifest import Manifest
from tooling.publish import channels
from tooling.publish.releases import DEFAULT_JOBS, LocalAsset, PublishResult, publish_release
from tooling.publish.retry import DEFAULT_BUDGET_SECONDS

# The kinds of file a GitHub release carries (the top of dist/ only).
ATTACHED_KINDS = ("archive", "sbom", "installer", "checksum", "signature")


def release_files(record: Manifest, dist_dir: Path) -> list[LocalAsset]:
    """Every file of the manifest a release attaches, in name order (pure apart from joining paths)."""
    return [
        LocalAsset(dist_dir / a.path, a.path, a.size, a.sha256)
        for a in sorted(record.artifacts, key=lambda a: a.path)
        if a.kind in ATTACHED_KINDS and "/" not in a.path
    ]


def release_commit(config: ReleaseConfig, runner: proc.Runner) -> str:
    """The full sha of HEAD in the crate's repository: the commit the release tag must point at."""
    repo = GitRepo.discover(config.crate_dir, runner)
    sha = repo.commit_sha("HEAD")
    if sha is None:
        raise GitStateError(f"{repo.root} has no commit", hint="commit and tag the release first (invoke bump)")
    return sha


def check_release_folder(config: ReleaseConfig, *, unsigned: bool, environ: Mapping[str, str]) -> Manifest:
    """The manifest of a dist/ that is complete and verified; an unsigned one only with `unsigned`."""
    plan = steps.recorded_plan(config.dist_dir)
    if not plan.sign_backends and not unsigned:
        raise ConfigError(
            f"{config.dist_dir} was made unsigned; a public release should carry signatures",
            hint="make it with signing keys (invoke package), or pass --unsigned to publish it as it is",
        )
    steps.check_against_plan(config.dist_dir, plan, allow_partial=False)
    settings = sign.sign_settings(config.sign, environ, config.root, plan.sign_backends)
    verify.check_or_raise(config.dist_dir, settings, check_signatures=bool(plan.sign_backends))
    return dist.load(config.dist_dir)


GITHUB = "github"  # the GitHub release: always first, every channel's downloads point at it
DONE = (channels.PUBLISHED, channels.UNCHANGED)
DONE_EARLIER = "done earlier"  # the state shown for a step an earlier run finished
SUMMARY_COLUMNS = ["channel", "state", "detail", "where"]


def chosen_steps(configured: Sequence[str], only: Sequence[str], skip: Sequence[str]) -> tuple[str, ...]:
    """The GitHub release and the configured channels, narrowed by --only and --skip (pure)."""
    steps = (GITHUB, *[name for name in PUBLISHER_NAMES if name in configured])
    for option, names in (("--only", only), ("--skip", skip)):
        strangers = [name for name in names if name not in steps]
        if strangers:
            raise ConfigError(
                f"{option} {', '.join(strangers)}: not a step of this release's publish",
                hint="steps: " + ", ".join(steps) + " (channels come from tool.release.publish.channels)",
            )
    return tuple(name for name in steps if (not only or name in only) and name not in skip)


def check_github_first(steps: Sequence[str], published: Mapping[str, Mapping[str, str]], *, dry_run: bool) -> None:
    """Channels without the GitHub release in this run need it done before (pure); PublishError else.

    Every channel's downloads point at the release: it must be published (this run, or an earlier one
    as dist/manifest.json records) before any channel is pushed. A dry run pushes nothing and may look.
    """
    pushed = [name for name in steps if name != GITHUB]
    if dry_run or not pushed or GITHUB in steps or published.get(GITHUB, {}).get("state") in DONE:
        return
    raise PublishError(
        f"cannot publish {', '.join(pushed)} before the GitHub release: dist/manifest.json records no published "
        "release, and every channel's downloads point at it",
        hint="run `invoke publish` with the github step (without --skip github, or with --only github) first",
    )


def _github_done(outcomes: Mapping[str, channels.Outcome], dry_run: bool) -> bool:
    """May channels be pushed after the GitHub step's outcome in this run (pure)?"""
    state = outcomes[GITHUB].state
    return state != "failed" if dry_run else state in (*DONE, DONE_EARLIER)


def _channel_files(config: ReleaseConfig, channel: str) -> Path:
    """What a channel pushes: dist/packages/<channel>/ as the packages step made it (cargo: the crate)."""
    if channel == "cargo":
        return config.crate_dir
    folder = config.dist_dir / "packages" / channel
    if not folder.is_dir():
        raise ConfigError(
            f"{channel} is to be published, and {folder} does not exist",
            hint=f"add {channel} to tool.release.packages.channels and make the packages (invoke package)",
        )
    return folder


def _github_outcome(result: PublishResult) -> channels.Outcome:
    if result.dry_run:
        return channels.Outcome(channels.WOULD_PUBLISH, "checked; nothing sent (dry run)", result.url)
    if result.already_published:
        return channels.Outcome(channels.UNCHANGED, "published before, with these files", result.url)
    kind = "prerelease" if result.prerelease else ("latest release" if result.latest else "release")
    return channels.Outcome(channels.PUBLISHED, f"published as {kind}", result.url)


def run_publish(
    config: ReleaseConfig,
    *,
    notes: str | None,
    replace: bool,
    unsigned: bool,
    jobs: int,
    runner: proc.Runner,
    environ: Mapping[str, str],
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
) -> dict[str, channels.Outcome]:
    """Check dist/, publish the GitHub release, then push every configured channel; each step's outcome.

    A channel that fails does not undo or stop the others (all run, the first
    error is raised after the summary); without the GitHub release, whose
    downloads they point at, no channel is pushed: it must be done in this
    run or recorded as done by an earlier one (a dry run only looks, and
    looks at every channel). What each step achieved is
    kept in dist/manifest.json, so a re-run only does what is missing
    (--only runs a step again even when it was done).
    """
    from tooling.versioning.commands import release_notes

    record = check_release_folder(config, unsigned=unsigned, environ=environ)
    steps = chosen_steps(config.publish.get("channels", ()), only, skip)
    check_github_first(steps, record.published, dry_run=runner.dry_run)
    folders = {name: _channel_files(config, name) for name in steps if name != GITHUB}
    tag = str(config.versioning.get("tag-prefix", "v")) + config.version
    outcomes: dict[str, channels.Outcome] = {}
    failures: list[ReleaseError] = []
    with dist.guarded(config.dist_dir, runner):
        for step in steps:
            earlier = record.published.get(step, {})
            if earlier.get("state") in DONE and step not in only:
                outcomes[step] = channels.Outcome(DONE_EARLIER, earlier.get("detail", ""), earlier.get("url", ""))
                continue
            if step != GITHUB and GITHUB in steps and not _github_done(outcomes, runner.dry_run):
                outcomes[step] = channels.Outcome("not tried", "the GitHub release is not published")
                continue
            try:
                if step == GITHUB:
                    body = notes if notes is not None else release_notes(config, config.version, runner)
                    result = publish_release(
                        assets=release_files(record, config.dist_dir),
                        tag=tag,
                        version=config.version,
                        commit=release_commit(config, runner),
                        notes=body,
                        repository=config.package.repository or None,
                        environ=environ,
                        runner=runner,
                        replace=replace,
                        jobs=jobs or DEFAULT_JOBS,
                        budget_seconds=budget_seconds,
                    )
                    outcome = _github_outcome(result)
                else:
                    outcome = _push_channel(config, step, folders[step], tag, environ, runner)
            except ReleaseError as error:
                failures.append(error)
                outcomes[step] = channels.Outcome("failed", error.message.splitlines()[0])
                continue
            outcomes[step] = outcome
            if not runner.dry_run:
                record.published[step] = {"state": outcome.state, "detail": outcome.detail, "url": outcome.url}
                dist.save(config.dist_dir, record)
    ui.summary(
        f"{config.name} {config.version}: published",
        SUMMARY_COLUMNS,
        [[name, o.state, o.detail, o.url or "-"] for name, o in outcomes.items()],
    )
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise PublishError(
            f"{len(failures)} publish steps failed:\n" + "\n".join(f"  {f.message.splitlines()[0]}" for f in failures),
            hint="fix each one and run `invoke publish` again: the steps that succeeded are not repeated",
        )
    return outcomes


def _push_channel(
    config: ReleaseConfig, channel: str, files: Path, tag: str, environ: Mapping[str, str], runner: proc.Runner
) -> channels.Outcome:
    """One channel's publisher, in a scratch folder of its own."""
    publisher = channels.load(channel)
    with tempfile.TemporaryDirectory(prefix=f"release-publish-{channel}-") as scratch:
        job = channels.ChannelJob(
            channel=channel,
            files=files,
            config=config,
            settings=config.publish[channel],
            tag=tag,
            environ=environ,
            runner=runner,
            scratch=Path(scratch),
        )
        with ui.group(f"publish {channel}"):
            return publisher(job)


def read_notes(path: str | None) -> str | None:
    """The notes file given with --notes, or None to render them from git history."""
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the notes file {path}: {error}", hint="pass a UTF-8 text file") from error


def check_budget(raw: str | None) -> float:
    """--retry-budget in seconds: a positive number (default: retry.DEFAULT_BUDGET_SECONDS)."""
    if raw is None:
        return DEFAULT_BUDGET_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"--retry-budget {raw!r} is not a positive number of seconds", hint="e.g. --retry-budget 300")
    return value
