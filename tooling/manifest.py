"""dist/manifest.json: the record of every artifact, shared by every step.

Paths are relative to the dist directory. A build job writes a partial
manifest (dist/<triple>/manifest.json); `merge` combines partial manifests
and refuses two different files claiming the same path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooling.errors import ManifestError
from tooling.files import write_atomic

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Artifact:
    """One file in dist/."""

    path: str  # relative to the dist directory, with forward slashes
    kind: str  # binary | archive | checksum | signature | sbom | package ...
    target: str | None
    size: int
    sha256: str
    step: str  # the step that made it: build, archive, checksum, sign ...
    signatures: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    name: str
    version: str
    artifacts: list[Artifact] = field(default_factory=list)

    def add(self, artifact: Artifact) -> None:
        """Add or replace the entry for artifact.path."""
        self.artifacts = [a for a in self.artifacts if a.path != artifact.path]
        self.artifacts.append(artifact)
        self.artifacts.sort(key=lambda a: a.path)

    def to_json(self) -> str:
        data = {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "version": self.version,
            "artifacts": [asdict(a) for a in self.artifacts],
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "manifest") -> Manifest:
        try:
            data = json.loads(text)
            artifacts = [Artifact(**{**a, "signatures": tuple(a.get("signatures", ()))}) for a in data["artifacts"]]
            return cls(data["name"], data["version"], artifacts)
        except (ValueError, KeyError, TypeError) as error:
            raise ManifestError(f"{source} is not a valid manifest: {error}") from error


def sha256_file(path: Path) -> str:
    """Streamed SHA-256 of a file (never reads it whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_file(
    dist: Path, path: Path, *, kind: str, target: str | None, step: str, facts: dict[str, Any] | None = None
) -> Artifact:
    """An Artifact for a file inside `dist`, with its size and hash measured now."""
    return Artifact(
        path=path.relative_to(dist).as_posix(),
        kind=kind,
        target=target,
        size=path.stat().st_size,
        sha256=sha256_file(path),
        step=step,
        facts=dict(facts or {}),
    )


def read(path: Path) -> Manifest:
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError as error:
        raise ManifestError(f"no manifest at {path}", hint="run the build step first") from error


def write(path: Path, manifest: Manifest) -> None:
    """Write atomically: a crash leaves the old manifest or the new one, never half."""
    write_atomic(path, manifest.to_json())


def merge(manifests: Iterable[Manifest]) -> Manifest:
    """One manifest holding every artifact; conflicting entries are an error."""
    merged: Manifest | None = None
    by_path: dict[str, Artifact] = {}
    for manifest in manifests:
        if merged is None:
            merged = Manifest(manifest.name, manifest.version)
        elif (manifest.name, manifest.version) != (merged.name, merged.version):
            raise ManifestError(
                f"cannot merge manifests of {merged.name} {merged.version} and {manifest.name} {manifest.version}"
            )
        for artifact in manifest.artifacts:
            known = by_path.get(artifact.path)
            if known and known.sha256 != artifact.sha256:
                raise ManifestError(
                    f"two manifests list {artifact.path} with different contents "
                    f"({known.sha256[:12]}... and {artifact.sha256[:12]}...)",
                    hint="rebuild the conflicting target, or remove the stale partial manifest",
                )
            by_path[artifact.path] = artifact
    if merged is None:
        raise ManifestError("no manifests to merge")
    for artifact in by_path.values():
        merged.add(artifact)
    return merged
