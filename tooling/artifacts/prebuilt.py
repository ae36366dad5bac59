"""Per-target folders that CI build jobs uploaded, imported into dist/<triple>/ with every file checked.

A build job's folder is input from elsewhere (a pull request can run one), so
before anything is copied its manifest is checked like any partial manifest
(one target of the target table, binaries in `<triple>/<file name>` only),
each file must be a regular file inside the folder whose hash matches, and
the caller's `check` (the binary verification) passes. Only then is each file
copied to a temporary name beside its destination, hashed again, and renamed
into place, so a failed import (a bad file, a full disk) replaces nothing.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tooling import manifest
from tooling.artifacts import fence
from tooling.artifacts.dist import read_partial
from tooling.errors import BuildError, ManifestError
from tooling.files import atomic_output
from tooling.manifest import Artifact, Manifest
from tooling.targets import Target, get_target

# Checks one binary for its target (tooling.build.binary.verify with the config); raises on a problem.
BinaryCheck = Callable[[Path, Target], object]


@dataclass(frozen=True)
class Incoming:
    """One file of a build job's folder, checked, and where it goes in dist/."""

    source: Path
    destination: Path
    artifact: Artifact


def find_prebuilt(source: Path) -> list[Path]:
    """Per-target folders (each with a manifest.json) at or directly under `source`."""
    if (source / manifest.MANIFEST_NAME).is_file():
        return [source]
    found = sorted(p.parent for p in source.glob(f"*/{manifest.MANIFEST_NAME}"))
    if not found:
        raise ManifestError(
            f"--prebuilt {source}: no manifest.json there or in its subfolders",
            hint="pass the dist/<triple>/ folder a build job uploaded",
        )
    return found


def _source_problem(folder: Path, name: str, expected: Artifact) -> str | None:
    """Why the file `name` of a build job's folder cannot be imported, or None."""
    path = folder / name
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return f"{name} is missing"
    if not stat.S_ISREG(mode):
        return f"{name} is not a regular file (a link or a folder)"
    if manifest.sha256_file(path) != expected.sha256:
        return f"{name} differs from its manifest entry (sha256)"
    return None


def check_prebuilt(dist: Path, folder: Path, check: BinaryCheck | None = None) -> tuple[Manifest, list[Incoming]]:
    """Read and check one build job's folder without changing anything; its manifest and the files to copy."""
    partial = read_partial(folder / manifest.MANIFEST_NAME, None)
    triples = {a.target for a in partial.artifacts}
    if len(triples) != 1:
        raise ManifestError(
            f"{folder}: a prebuilt folder must hold exactly one target, found {sorted(map(str, triples))}",
            hint="pass each build job's dist/<triple>/ folder separately",
        )
    triple = fence.check_triple(triples.pop(), str(folder / manifest.MANIFEST_NAME))
    target = get_target(triple)
    incoming = []
    problems = []
    for artifact in partial.artifacts:
        name = artifact.path.partition("/")[2]
        problem = _source_problem(folder, name, artifact)
        if problem:
            problems.append(problem)
            continue
        if check is not None:
            check(folder / name, target)
        destination = fence.inside(dist, artifact.path, f"{folder / manifest.MANIFEST_NAME}: {artifact.path}")
        incoming.append(Incoming(folder / name, destination, artifact))
    if problems:
        raise ManifestError(
            f"{folder}: " + "; ".join(problems),
            hint="download the build job's artifact again (or rebuild it with `nox -s build-<triple>`)",
        )
    return partial, incoming


def _copy_checked(item: Incoming) -> None:
    """Copy one file beside its destination, check the copy's hash, then rename it into place."""
    if item.source.resolve() == item.destination.resolve():
        return  # importing dist/<triple>/ into itself
    with atomic_output(item.destination) as temporary:
        shutil.copyfile(item.source, temporary)
        if manifest.sha256_file(temporary) != item.artifact.sha256:
            raise ManifestError(
                f"{item.source} changed while it was copied", hint="import the build job's folder again"
            )
        temporary.chmod(0o755)


def import_prebuilt(dist: Path, folder: Path, check: BinaryCheck | None = None) -> Manifest:
    """Copy one build job's target folder into dist/<triple>/ after checking every file (see the module docstring)."""
    partial, incoming = check_prebuilt(dist, folder, check)
    install(dist, folder, partial, incoming)
    return partial


def install(dist: Path, folder: Path, partial: Manifest, incoming: list[Incoming]) -> None:
    """Copy the files check_prebuilt accepted into dist/<triple>/, and write the partial manifest last."""
    triple = str(partial.artifacts[0].target)
    own_manifest = fence.inside(dist, f"{triple}/{manifest.MANIFEST_NAME}")
    try:
        for item in incoming:
            _copy_checked(item)
        if (folder / manifest.MANIFEST_NAME).resolve() != own_manifest.resolve():
            # Written by us from the checked entries, never copied: the build job's text is not trusted.
            manifest.write(own_manifest, partial)
    except OSError as error:
        raise BuildError(
            f"cannot import {folder} into {dist}: {error.strerror or error}"
            + (f" ({error.filename})" if error.filename else ""),
            hint="check free space and permissions of the dist folder, then import again",
        ) from error
