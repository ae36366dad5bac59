"""Per-target folders that CI build jobs uploaded, imported into dist/<triple>/ with every hash checked."""

from __future__ import annotations

import shutil
from pathlib import Path

from tooling import manifest
from tooling.errors import ManifestError
from tooling.manifest import Manifest


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


def import_prebuilt(dist: Path, folder: Path) -> Manifest:
    """Copy one build job's target folder into dist/<triple>/, checking every file's hash."""
    partial = manifest.read(folder / manifest.MANIFEST_NAME)
    triples = {a.target for a in partial.artifacts}
    if len(triples) != 1 or None in triples:
        raise ManifestError(
            f"{folder}: a prebuilt folder must hold exactly one target, found {sorted(map(str, triples))}"
        )
    triple = str(triples.pop())
    destination = dist / triple
    destination.mkdir(parents=True, exist_ok=True)
    for artifact in partial.artifacts:
        relative = Path(artifact.path).relative_to(triple)
        source = folder / relative
        if not source.is_file() or manifest.sha256_file(source) != artifact.sha256:
            raise ManifestError(
                f"{folder}: {relative} is missing or differs from its manifest entry",
                hint="download the build job's artifact again",
            )
        if source.resolve() != (destination / relative).resolve():
            shutil.copyfile(source, destination / relative)
    if folder.resolve() != destination.resolve():
        shutil.copyfile(folder / manifest.MANIFEST_NAME, destination / manifest.MANIFEST_NAME)
    return partial
