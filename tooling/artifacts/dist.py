"""dist/ as the chain sees it: its manifest (made from the build jobs' partial ones), and cleaning it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from tooling import manifest, proc, ui
from tooling.errors import ManifestError
from tooling.manifest import Artifact, Manifest


def top_manifest_path(dist: Path) -> Path:
    return dist / manifest.MANIFEST_NAME


def partial_manifest_paths(dist: Path) -> list[Path]:
    """dist/<triple>/manifest.json written by build jobs."""
    return sorted(p for p in dist.glob(f"*/{manifest.MANIFEST_NAME}") if p.is_file())


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


def load(dist: Path) -> Manifest:
    """dist/manifest.json, made from the partial manifests when it does not exist yet."""
    path = top_manifest_path(dist)
    if path.is_file():
        return manifest.read(path)
    partials = [manifest.read(p) for p in partial_manifest_paths(dist)]
    if not partials:
        raise ManifestError(
            f"nothing built in {dist}: no manifest.json there or in its target folders",
            hint="run `invoke build` (or pass --prebuilt with the CI build jobs' dist folders)",
        )
    return merge_partials(partials, None)


def save(dist: Path, record: Manifest) -> None:
    manifest.write(top_manifest_path(dist), record)


def remove_artifacts(dist: Path, record: Manifest, doomed: Callable[[Artifact], bool]) -> list[str]:
    """Delete the files of matching entries and drop the entries; the removed paths."""
    removed = []
    for artifact in list(record.artifacts):
        if doomed(artifact):
            (dist / artifact.path).unlink(missing_ok=True)
            removed.append(artifact.path)
    record.artifacts = [a for a in record.artifacts if a.path not in removed]
    return removed


def merge_manifests(dist: Path, inputs: Sequence[Path], runner: proc.Runner) -> Manifest:
    """Merge partial manifests (default: dist/*/manifest.json) into dist/manifest.json."""
    paths = list(inputs) or partial_manifest_paths(dist)
    if not paths:
        raise ManifestError(f"no partial manifests found in {dist}/*/", hint="pass --input for each manifest")
    previous = manifest.read(top_manifest_path(dist)) if top_manifest_path(dist).is_file() else None
    merged = merge_partials([manifest.read(p) for p in paths], previous)
    if runner.allows(proc.Effect.LOCAL, f"write {top_manifest_path(dist)}"):
        manifest.write(top_manifest_path(dist), merged)
    return merged


def clean(dist: Path, keep_builds: bool, runner: proc.Runner) -> list[Path]:
    """Remove dist/ (with keep_builds: all but the per-target build folders); what was (or would be) removed."""
    if not dist.exists():
        return []
    doomed = [
        entry
        for entry in sorted(dist.iterdir())
        if not (keep_builds and entry.is_dir() and (entry / manifest.MANIFEST_NAME).is_file())
    ]
    if not runner.allows(proc.Effect.LOCAL, f"delete {len(doomed)} entries of {dist}"):
        for entry in doomed:
            ui.say(f"would delete {entry}")
        return doomed
    for entry in doomed:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    if not keep_builds:
        dist.rmdir()
    return doomed
