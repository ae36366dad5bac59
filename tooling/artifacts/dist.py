"""dist/ as the chain sees it: its manifest (made from the build jobs' partial ones), its ownership, its lock, cleaning.

The tool owns a dist folder it made: `claim` creates it with a marker file
(fence.MARKER_NAME), or accepts one that has the marker (or is empty), and
refuses any other. `clean` deletes only a folder with the marker. `locked`
holds dist/.lock (an advisory lock, freed by the system when the process
ends, so a crashed run never leaves a stale lock) so that two runs never
write one dist/ at once; `guarded` does both for a whole run. Every path read
from a manifest goes through `fence.inside` before a file is opened or deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tooling import manifest, proc, ui
from tooling.artifacts import fence
from tooling.errors import BuildError, FenceError, ManifestError
from tooling.files import sweep_temporaries, write_atomic
from tooling.layout import LOCK_NAME, PLAN_NAME, STATE_NAME
from tooling.manifest import Artifact, Manifest

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig

# What a run that made dist/ may leave behind when it fails before making anything: it then removes them.
_RUN_BOOKKEEPING = frozenset({fence.MARKER_NAME, LOCK_NAME, PLAN_NAME, STATE_NAME})


def top_manifest_path(dist: Path) -> Path:
    return dist / manifest.MANIFEST_NAME


def partial_manifest_paths(dist: Path) -> list[Path]:
    """dist/<triple>/manifest.json written by build jobs."""
    return sorted(p for p in dist.glob(f"*/{manifest.MANIFEST_NAME}") if p.is_file())


def read_partial(path: Path, folder: str | None) -> Manifest:
    """A build job's manifest, which must list only binaries in its own target's folder.

    folder: the dist/<folder>/ it was found in (its target must match), or None
    for a manifest named on the command line.
    """
    partial = manifest.read(path)
    problems = fence.partial_problems([(a.path, a.target, a.kind) for a in partial.artifacts], folder)
    if problems:
        raise ManifestError(
            f"{path} is not a build job's manifest:\n" + "\n".join(f"  {problem}" for problem in problems),
            hint="a build job's folder holds <triple>/<binary> and its manifest.json; make it again with "
            "`nox -s build-<triple>`",
        )
    return partial


def merge_partials(partials: Sequence[Manifest], previous: Manifest | None) -> Manifest:
    """Build entries from the partial manifests, plus what later steps recorded before (pure).

    Binary entries of `previous` are dropped: the partial manifests are the
    truth about builds. Conflicts between partials are an error (manifest.merge).
    """
    merged = manifest.merge(partials)
    if previous is not None:
        if (previous.name, previous.version) != (merged.name, merged.version):
            return merged  # an old release's leftovers: later steps make everything again
        for artifact in previous.artifacts:
            if artifact.step != "build" and all(a.path != artifact.path for a in merged.artifacts):
                merged.add(artifact)
    return merged


def read_partials(dist: Path) -> list[Manifest]:
    """Every dist/<triple>/manifest.json, each checked by read_partial."""
    return [read_partial(path, path.parent.name) for path in partial_manifest_paths(dist)]


def load(dist: Path) -> Manifest:
    """dist/manifest.json, made from the partial manifests when it does not exist yet."""
    path = top_manifest_path(dist)
    if path.is_file():
        return manifest.read(path)
    partials = read_partials(dist)
    if not partials:
        raise ManifestError(
            f"nothing built in {dist}: no manifest.json there or in its target folders",
            hint="run `invoke build` (or pass --prebuilt with the CI build jobs' dist folders)",
        )
    return merge_partials(partials, None)


def save(dist: Path, record: Manifest) -> None:
    manifest.write(top_manifest_path(dist), record)


def remove_artifacts(dist: Path, record: Manifest, doomed: Callable[[Artifact], bool]) -> list[str]:
    """Delete the files of matching entries and drop the entries; the removed paths.

    Every path is checked to stay inside dist/ before anything is deleted.
    """
    chosen = [a for a in record.artifacts if doomed(a)]
    files = [fence.inside(dist, a.path, f"{top_manifest_path(dist)}: {a.path}") for a in chosen]
    for file in files:
        file.unlink(missing_ok=True)
    removed = [a.path for a in chosen]
    record.artifacts = [a for a in record.artifacts if a.path not in removed]
    return removed


# --- ownership: the marker and the lock ----------------------------------------------------


def is_marked(dist: Path) -> bool:
    """Does `dist` carry the tool's marker (a regular file, not a link)?"""
    marker = dist / fence.MARKER_NAME
    return marker.is_file() and not marker.is_symlink()


def _entries(dist: Path) -> list[str]:
    try:
        return [entry.name for entry in dist.iterdir()]
    except OSError as error:
        raise BuildError(f"cannot read {dist}: {error.strerror or error}", hint="check its permissions") from error


def claim(dist: Path, runner: proc.Runner) -> bool:
    """Make sure the tool may write into `dist`: create it with its marker, or find it marked or empty.

    A folder holding anything without the marker is refused (FenceError). A
    dry run only checks. True when this call created the folder.
    """
    if dist.exists() or dist.is_symlink():
        if not dist.is_dir():
            raise FenceError(
                f"refusing to use {dist} as the dist folder: it is not a folder",
                hint="point --dist (or tool.release.dist-dir) at a folder",
            )
        if is_marked(dist):
            return False
        fence.check_writable(dist, _entries(dist), marked=False)
        created = False
    else:
        created = True
    if not runner.allows(proc.Effect.LOCAL, f"create {dist} and mark it as the tool's ({fence.MARKER_NAME})"):
        return False
    try:
        dist.mkdir(parents=True, exist_ok=True)
        write_atomic(dist / fence.MARKER_NAME, fence.MARKER_TEXT)
    except OSError as error:
        raise BuildError(
            f"cannot create the dist folder {dist}: {error.strerror or error}",
            hint="check the permissions of its parent folder, or choose another with --dist",
        ) from error
    return created


# The dist folders this process holds the lock of, with how many nested holders each has.
_held: dict[Path, int] = {}


def _try_lock(descriptor: int) -> bool:
    """Take the exclusive lock of an open file without waiting; False when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(descriptor, 0, os.SEEK_SET)  # msvcrt locks bytes from the current position
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(descriptor: int) -> str:
    """The pid the lock's holder wrote into the file, or a word saying it is not known."""
    try:
        os.lseek(descriptor, 0, os.SEEK_SET)
        text = os.read(descriptor, 64).decode("ascii", errors="replace").strip()
    except OSError:  # on Windows the holder's lock also keeps others from reading
        text = ""
    return text if text.isdigit() else "unknown"


@contextmanager
def locked(dist: Path) -> Iterator[None]:
    """Hold dist/.lock for the block: a second run on the same folder fails at once, naming this run's pid.

    Nested holders in this process share the lock (a step inside a chain run,
    clean inside a task that already holds it).
    """
    key = dist.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path = dist / LOCK_NAME
    try:
        # O_NOFOLLOW: a link planted at dist/.lock must not make us write elsewhere.
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as error:
        raise FenceError(
            f"cannot open the lock file {path}: {error.strerror or error}",
            hint="remove it if it is a link or a folder, and check the permissions of the dist folder",
        ) from error
    try:
        if not _try_lock(descriptor):
            pid = _holder(descriptor)
            raise FenceError(
                f"another run (pid {pid}) is using {dist}: it holds {path}",
                hint=f"wait for that run to finish, or stop it (kill {pid}); the lock frees itself when it ends"
                if pid.isdigit()
                else "wait for the other run to finish; the lock frees itself when it ends",
            )
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
            os.ftruncate(descriptor, 0)  # the lock itself goes with the close below
    finally:
        os.close(descriptor)


def _forget(dist: Path) -> None:
    """Remove a dist folder this run made, when it holds nothing but the run's bookkeeping.

    Best effort: it runs while another error is on its way out, which must not be hidden.
    """
    try:
        names = {entry.name for entry in dist.iterdir()}
        if not names <= _RUN_BOOKKEEPING:
            return
        for name in names:
            (dist / name).unlink(missing_ok=True)
        dist.rmdir()
    except OSError:
        pass


@contextmanager
def guarded(dist: Path, runner: proc.Runner) -> Iterator[None]:
    """Claim `dist` and hold its lock for the block; a dry run only checks that it may be written.

    When this run created the folder and fails before making anything in it,
    the folder is removed again, so a refused input leaves no trace. Half-written
    files (`*.tmp`) a killed run left behind are removed first: with the lock
    held, none of them can belong to a run still at work.
    """
    if runner.dry_run:
        claim(dist, runner)
        sweep_temporaries(dist, runner)  # shown as `would remove ...`, nothing removed
        yield
        return
    created = claim(dist, runner)
    with locked(dist):
        sweep_temporaries(dist, runner)
        try:
            yield
        except BaseException:
            if created:
                _forget(dist)
            raise


# --- commands ---------------------------------------------------------------------------------


def merge_manifests(dist: Path, inputs: Sequence[Path], runner: proc.Runner) -> Manifest:
    """Merge partial manifests (default: dist/*/manifest.json) into dist/manifest.json."""
    with guarded(dist, runner):
        partials = [read_partial(path, None) for path in inputs] if inputs else read_partials(dist)
        if not partials:
            raise ManifestError(f"no partial manifests found in {dist}/*/", hint="pass --input for each manifest")
        previous = manifest.read(top_manifest_path(dist)) if top_manifest_path(dist).is_file() else None
        merged = merge_partials(partials, previous)
        if runner.allows(proc.Effect.LOCAL, f"write {top_manifest_path(dist)}"):
            manifest.write(top_manifest_path(dist), merged)
        return merged


def _remove(entry: Path) -> None:
    # Links are removed, never followed: a link in dist/ may point at anything.
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def clean(dist: Path, keep_builds: bool, runner: proc.Runner) -> list[Path]:
    """Remove dist/ (with keep_builds: all but the per-target build folders); what was (or would be) removed.

    Only a folder carrying the tool's marker is touched, and never one that
    holds a project (Cargo.toml, .git, pyproject.toml).
    """
    if not dist.exists() and not dist.is_symlink():
        return []
    present = [mark for mark in fence.PROJECT_MARKS if (dist / mark).exists()]
    fence.check_dist_dir(dist, {}, present)
    fence.check_deletable(dist, is_marked(dist))
    doomed = [
        entry
        for entry in sorted(dist.iterdir())
        if entry.name not in (fence.MARKER_NAME, LOCK_NAME)
        and not (keep_builds and entry.is_dir() and (entry / manifest.MANIFEST_NAME).is_file())
    ]
    if not runner.allows(proc.Effect.LOCAL, f"delete {len(doomed)} entries of {dist}"):
        for entry in doomed:
            ui.say(f"would delete {entry}")
        return doomed
    with locked(dist):
        try:
            for entry in doomed:
                _remove(entry)
            if not keep_builds:
                (dist / fence.MARKER_NAME).unlink()
                (dist / LOCK_NAME).unlink(missing_ok=True)
                dist.rmdir()
        except OSError as error:
            raise BuildError(
                f"cannot delete {error.filename or dist}: {error.strerror or error}",
                hint="check the permissions of the dist folder; `invoke clean` can be run again",
            ) from error
    return doomed


# --- which folder ---------------------------------------------------------------------------


def protected_folders(config: ReleaseConfig) -> dict[str, Path]:
    """Folders the dist folder must neither be nor contain: the project, the crate, the home folder."""
    folders = {"the project root": config.root.resolve(), "the crate's folder": config.crate_dir.resolve()}
    with contextlib.suppress(RuntimeError):  # no HOME: nothing to protect there
        folders["your home folder"] = Path.home().resolve()
    return folders


def with_dist(config: ReleaseConfig, dist: str | None) -> ReleaseConfig:
    """The config with its dist directory replaced (from --dist), checked to be a folder of its own.

    Every task passes through here, so a dist-dir of "", ".", the crate or a
    repository is refused before anything reads or writes it.
    """
    chosen = Path(dist).resolve() if dist else config.dist_dir.resolve()
    present = [mark for mark in fence.PROJECT_MARKS if (chosen / mark).exists()]
    fence.check_dist_dir(chosen, protected_folders(config), present)
    return dataclasses.replace(config, dist_dir=chosen)
