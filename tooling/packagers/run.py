"""The packages step: every planned channel checked, rendered and built into dist/packages/<channel>/.

Order matters for what a failure leaves behind: every channel is checked
and rendered (pure) before anything is written, so a bad field stops the step
with dist/ untouched. Each channel is then made in a staging folder beside
its destination and swapped in only when its build succeeded; the manifest
records the new files (kind "package") and forgets the channel's old ones.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling import manifest, proc, ui
from tooling.artifacts import dist, fence
from tooling.config import ReleaseConfig
from tooling.errors import CommandError
from tooling.manifest import Manifest
from tooling.packagers import registry
from tooling.packagers.base import BuildJob, Channel, Release, Settings, archives_for
from tooling.packagers.release import planned_platforms, release_from

PACKAGES_DIR = "packages"
STAGING_SUFFIX = ".staging"
KIND = "package"


@dataclass(frozen=True)
class Prepared:
    """One channel ready to write: its release narrowed to its archives, and its rendered files."""

    channel: Channel
    settings: Settings
    release: Release
    files: dict[str, bytes]


def channel_folder(dist_dir: Path, name: str) -> Path:
    """dist/packages/<name>, checked to stay inside dist/ (a linked packages/ folder is refused)."""
    return fence.inside(dist_dir, f"{PACKAGES_DIR}/{name}", "the package channels' folder")


def _remove_unmade(dist_dir: Path, made: set[str]) -> None:
    """Remove dist/packages/<channel>/ of every channel not made this time (never following a link)."""
    packages = fence.inside(dist_dir, PACKAGES_DIR, "the package channels' folder")
    if not packages.is_dir():
        return
    for old in sorted(packages.iterdir()):
        if old.is_symlink():
            old.unlink()  # the tool makes no links; removing one never touches what it points to
        elif old.is_dir() and old.name not in made:
            shutil.rmtree(old)


def prepare(
    config: ReleaseConfig,
    record: Manifest,
    channels: Sequence[str],
    planned_triples: Sequence[str],
    *,
    epoch: int,
    allow_partial: bool,
) -> list[Prepared]:
    """Check and render every channel (pure apart from reading templates); PackageError before any write."""
    release = release_from(config, record, epoch)
    planned = planned_platforms(planned_triples)
    prepared = []
    for name in channels:
        channel = registry.load(name)
        settings = config.packages[name]
        archives = archives_for(channel, release.archives, planned, settings, allow_partial=allow_partial)
        if not archives:
            # Only with allow_partial: a local trial without any of the channel's platforms.
            ui.warn(f"{name}: left out: dist/ has no archive for any of its platforms (--allow-partial)")
            continue
        narrowed = dataclasses.replace(release, archives=archives)
        channel.check(narrowed, settings)
        prepared.append(Prepared(channel, settings, narrowed, channel.render(narrowed, settings)))
    return prepared


def missing_tools(prepared: Sequence[Prepared]) -> list[str]:
    """`tool (channel)` for every build tool that is not on PATH."""
    return [
        f"{tool} ({item.channel.name})"
        for item in prepared
        if item.channel.build is not None
        for tool in item.channel.tools
        if shutil.which(tool) is None
    ]


def _write_rendered(folder: Path, files: dict[str, bytes]) -> None:
    for relative, content in sorted(files.items()):
        path = fence.inside(folder, relative, f"rendered file {relative}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _swap_in(staging: Path, destination: Path) -> None:
    """Replace `destination` by `staging` (the old folder is removed only after the new one is in place)."""
    old = destination.with_name(destination.name + ".old" + STAGING_SUFFIX)
    if old.is_symlink():
        old.unlink()
    elif old.exists():
        shutil.rmtree(old)
    if destination.exists():
        destination.rename(old)
    staging.rename(destination)
    if old.exists():
        shutil.rmtree(old)


def make_channel(item: Prepared, dist_dir: Path, runner: proc.Runner) -> list[Path]:
    """Write, build and swap in one channel's folder; the files it holds."""
    destination = channel_folder(dist_dir, item.channel.name)
    staging = channel_folder(dist_dir, item.channel.name + STAGING_SUFFIX)
    if staging.is_symlink():
        staging.unlink()
    elif staging.exists():
        shutil.rmtree(staging)  # left by a run that was stopped
    staging.mkdir(parents=True)
    try:
        _write_rendered(staging, item.files)
        if item.channel.build is not None:
            with tempfile.TemporaryDirectory(prefix=f"release-{item.channel.name}-") as scratch:
                job = BuildJob(item.release, item.settings, staging, dist_dir, runner, Path(scratch))
                item.channel.build(job)
        _swap_in(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(p for p in destination.rglob("*") if p.is_file())


def make_packages(
    config: ReleaseConfig,
    record: Manifest,
    channels: Sequence[str],
    planned_triples: Sequence[str],
    runner: proc.Runner,
    *,
    epoch: int,
    allow_partial: bool,
) -> Manifest:
    """Make every channel into dist/packages/ and record its files; the updated manifest (also saved)."""
    dist_dir = config.dist_dir
    prepared = prepare(config, record, channels, planned_triples, epoch=epoch, allow_partial=allow_partial)
    absent = missing_tools(prepared)
    if absent:
        raise CommandError(
            "the package channels need tools this machine lacks: " + ", ".join(absent),
            hint="install them (on Debian see .ci/install-deps), or leave those channels out of "
            "tool.release.packages.channels",
        )
    # Channels not made this time (turned off, or left out of a partial trial) leave no stale files behind.
    made = {item.channel.name for item in prepared}
    dist.remove_artifacts(dist_dir, record, lambda a: a.kind == KIND and a.path.split("/")[1] not in made)
    _remove_unmade(dist_dir, made)
    for item in prepared:
        name = item.channel.name
        with ui.group(f"package {name}: {item.channel.summary}"):
            files = make_channel(item, dist_dir, runner)
        record.artifacts = [a for a in record.artifacts if not a.path.startswith(f"{PACKAGES_DIR}/{name}/")]
        for path in files:
            # The channel named in facts lets later steps (publish) find its files without parsing paths.
            record.add(
                manifest.describe_file(dist_dir, path, kind=KIND, target=None, step="packages", facts={"channel": name})
            )
        dist.save(dist_dir, record)
        ui.say(f"{name}: {len(files)} file(s) in {channel_folder(dist_dir, name)}")
    dist.save(dist_dir, record)
    return record
