"""dist/manifest.json: the record of every artifact, shared by every step.

Paths are relative to the dist directory. A build job writes a partial
manifest (dist/<triple>/manifest.json); `merge` combines partial manifests
and refuses two different files claiming the same path.

A manifest may come from a CI build job a pull request ran, so reading one
checks every field: each path must be able to name a file inside dist/
(tooling.artifacts.fence), each target must be a row of the target table, each
hash a SHA-256. Steps still resolve a path with `fence.inside` before they
open or delete it, which also catches symbolic links.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooling.artifacts import fence
from tooling.errors import ManifestError
from tooling.files import write_atomic

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
_CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REWRITE_HINT = (
    "the tool writes manifests itself: remove dist/ (invoke clean) and make it again, "
    "or download the build job's folder again"
)


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# Every field of an artifact entry: (required, its test, what it must be).
_FIELDS: dict[str, tuple[bool, Callable[[Any], bool], str]] = {
    "path": (True, lambda v: isinstance(v, str), "a dist-relative path"),
    "kind": (True, lambda v: isinstance(v, str) and bool(v), "a kind such as binary or archive"),
    "target": (True, lambda v: v is None or isinstance(v, str), "a target triple or null"),
    "size": (True, _is_size, "a size in bytes"),
    "sha256": (True, lambda v: isinstance(v, str) and bool(_SHA256.match(v)), "a lowercase SHA-256 hex digest"),
    "step": (True, lambda v: isinstance(v, str), "the step that made the file"),
    "signatures": (False, _is_strings, "a list of signature paths"),
    "facts": (False, lambda v: isinstance(v, dict), "an object"),
}


def _artifact_from_dict(value: Any, where: str) -> Artifact:
    """One entry of "artifacts", every field checked; ManifestError or FenceError naming `where`."""
    if not isinstance(value, dict):
        raise ManifestError(f"{where} is not an object", hint=_REWRITE_HINT)
    unknown = sorted(key for key in value if key not in _FIELDS)
    if unknown:
        raise ManifestError(f"{where} has unknown field(s) {', '.join(unknown)}", hint=_REWRITE_HINT)
    for key, (required, test, expected) in _FIELDS.items():
        if key not in value:
            if required:
                raise ManifestError(f"{where} lacks {key!r}", hint=_REWRITE_HINT)
        elif not test(value[key]):
            raise ManifestError(f"{where}.{key} must be {expected}, not {value[key]!r}", hint=_REWRITE_HINT)
    path = fence.check_relative(value["path"], where)
    signatures = tuple(fence.check_relative(s, f"{where}.signatures") for s in value.get("signatures", ()))
    target = None if value["target"] is None else fence.check_triple(value["target"], where)
    return Artifact(
        path=path,
        kind=value["kind"],
        target=target,
        size=value["size"],
        sha256=value["sha256"],
        step=value["step"],
        signatures=signatures,
        facts=dict(value.get("facts", {})),
    )


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
    # Where `invoke publish` pushed this release: channel -> {"state", "detail", "url"}.
    published: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, artifact: Artifact) -> None:
        """Add or replace the entry for artifact.path."""
        self.artifacts = [a for a in self.artifacts if a.path != artifact.path]
        self.artifacts.append(artifact)
        self.artifacts.sort(key=lambda a: a.path)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "version": self.version,
            "artifacts": [asdict(a) for a in self.artifacts],
        }
        if self.published:  # absent until a publish: a folder's manifest stays as the chain wrote it
            data["published"] = self.published
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "manifest") -> Manifest:
        """The manifest in `text`, every entry checked (see the module docstring); errors name `source`."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ManifestError(f"{source} is not a valid manifest: not JSON ({error})", hint=_REWRITE_HINT) from None
        if not isinstance(data, dict):
            raise ManifestError(f"{source} is not a valid manifest: not a JSON object", hint=_REWRITE_HINT)
        for key in ("name", "version"):
            if not isinstance(data.get(key), str):
                raise ManifestError(f"{source} is not a valid manifest: {key!r} must be a string", hint=_REWRITE_HINT)
        entries = data.get("artifacts")
        if not isinstance(entries, list):
            raise ManifestError(f"{source} is not a valid manifest: 'artifacts' must be a list", hint=_REWRITE_HINT)
        artifacts = [_artifact_from_dict(entry, f"{source}: artifacts[{i}]") for i, entry in enumerate(entries)]
        published = data.get("published", {})
        if not isinstance(published, dict) or not all(
            isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in published.values()
        ):
            raise ManifestError(f"{source}: 'published' must map channels to tables of strings", hint=_REWRITE_HINT)
        paths = [a.path for a in artifacts]
        if len(set(paths)) != len(paths):
            twice = sorted({p for p in paths if paths.count(p) > 1})
            raise ManifestError(f"{source} lists {', '.join(twice)} twice", hint=_REWRITE_HINT)
        return cls(data["name"], data["version"], artifacts, {k: dict(v) for k, v in published.items()})


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
    """The manifest at `path`, checked entry by entry (Manifest.from_json)."""
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError as error:
        raise ManifestError(f"no manifest at {path}", hint="run the build step first") from error
    except UnicodeDecodeError as error:
        raise ManifestError(f"{path} is not UTF-8 JSON: {error}", hint="invoke clean, then rerun") from error
    except OSError as error:
        # A folder where the file should be, or no permission to read it.
        raise ManifestError(
            f"cannot read the manifest {path}: {error.strerror or error}", hint="check the file and its permissions"
        ) from error


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
