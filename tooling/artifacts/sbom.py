"""The software bill of materials: CycloneDX JSON of the crate's resolved dependency graph.

`cargo metadata` gives the resolved graph and each package's license and
links; Cargo.lock gives the SHA-256 of every downloaded .crate. `build_bom`
turns both into a cyclonedx-python-lib Bom (pure); `render` serialises it.
The serial number is derived from the crate and its lock file, and the
timestamp is SOURCE_DATE_EPOCH, so two runs on one commit give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL

from tooling import proc
from tooling.crate import find_lock_file
from tooling.errors import BuildError, ConfigError
from tooling.files import write_atomic

SCHEMA = SchemaVersion.V1_6
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
CRATES_IO_SPARSE = "sparse+https://index.crates.io/"


def sbom_file_name(name: str, version: str) -> str:
    """`<name>-<version>.cdx.json`, the SBOM's name in the release."""
    return f"{name}-{version}.cdx.json"


def metadata_argv(cargo: str, manifest: Path) -> list[str]:
    """`cargo metadata` for the whole resolved graph, refusing to change Cargo.lock."""
    return [cargo, "metadata", "--format-version", "1", "--locked", "--manifest-path", str(manifest)]


def lock_checksums(lock: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """{(name, version): sha256 of the .crate} from a parsed Cargo.lock (versions 1 to 4)."""
    sums: dict[tuple[str, str], str] = {}
    for package in lock.get("package", []):
        if "checksum" in package:
            sums[(package["name"], package["version"])] = package["checksum"]
    # Lock format 1 kept the checksums in a [metadata] table.
    for key, value in lock.get("metadata", {}).items():
        parts = key.split(" ")
        if key.startswith("checksum ") and len(parts) >= 3 and value != "<none>":
            sums.setdefault((parts[1], parts[2]), value)
    return sums


def purl_for(package: Mapping[str, Any]) -> PackageURL:
    """The package URL: pkg:cargo/<name>@<version>, qualified for git and other registries."""
    source = package.get("source") or ""
    qualifiers: dict[str, str] = {}
    if source.startswith("git+"):
        qualifiers["vcs_url"] = source
    elif source and source not in (CRATES_IO, CRATES_IO_SPARSE):
        qualifiers["repository_url"] = source.split("+", 1)[-1]
    return PackageURL(type="cargo", name=package["name"], version=package["version"], qualifiers=qualifiers or None)


def _component(package: Mapping[str, Any], checksums: Mapping[tuple[str, str], str], kind: ComponentType) -> Component:
    factory = LicenseFactory()
    licenses: list[LicenseExpression] = []
    raw_license = package.get("license")
    if raw_license:
        made = factory.make_from_string(raw_license)
        if isinstance(made, LicenseExpression):
            licenses.append(made)
        else:
            # "MIT/Apache-2.0" (old crates) is no SPDX expression; keep it as a named license.
            licenses = [made]  # type: ignore[list-item]
    references = []
    for field, ref_type in (
        ("repository", ExternalReferenceType.VCS),
        ("homepage", ExternalReferenceType.WEBSITE),
        ("documentation", ExternalReferenceType.DOCUMENTATION),
    ):
        if package.get(field):
            references.append(ExternalReference(type=ref_type, url=XsUri(package[field])))
    purl = purl_for(package)
    checksum = checksums.get((package["name"], package["version"]))
    return Component(
        name=package["name"],
        version=package["version"],
        type=kind,
        bom_ref=purl.to_string(),
        purl=purl,
        description=package.get("description") or None,
        licenses=licenses,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=checksum)] if checksum else [],
        external_references=references,
    )


def _runtime_dependencies(node: Mapping[str, Any]) -> list[str]:
    """Ids a node depends on for building or running; dev-dependencies never ship."""
    ids: list[str] = []
    for dep in node.get("deps", []):
        kinds = [k.get("kind") for k in dep.get("dep_kinds", [{"kind": None}])]
        if any(kind != "dev" for kind in kinds):
            ids.append(dep["pkg"])
    if not node.get("deps") and node.get("dependencies"):
        ids = list(node["dependencies"])  # cargo before 1.41 had no `deps`
    return ids


def build_bom(metadata: Mapping[str, Any], lock: Mapping[str, Any], *, epoch: int, lock_digest: str) -> Bom:
    """The Bom for the root package of `metadata` (`cargo metadata` JSON) and its resolved graph."""
    resolve = metadata.get("resolve") or {}
    root_id = resolve.get("root")
    if not root_id:
        raise ConfigError(
            "cargo metadata has no root package", hint="point tool.release.crate at a package, not a workspace"
        )
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in resolve.get("nodes", [])}
    checksums = lock_checksums(lock)

    # Walk from the root so only what the crate really pulls in is listed.
    reachable: list[str] = []
    pending = [root_id]
    seen = {root_id}
    while pending:
        current = pending.pop()
        reachable.append(current)
        for dep in _runtime_dependencies(nodes.get(current, {})):
            if dep not in seen:
                seen.add(dep)
                pending.append(dep)

    root = packages[root_id]
    components = {
        pid: _component(packages[pid], checksums, ComponentType.LIBRARY) for pid in reachable if pid != root_id
    }
    root_component = _component(root, checksums, ComponentType.APPLICATION)
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"{purl_for(root).to_string()}#{lock_digest}")
    bom = Bom(serial_number=serial, components=components.values())
    bom.metadata.component = root_component
    bom.metadata.timestamp = datetime.fromtimestamp(epoch, tz=UTC)
    every = {root_id: root_component, **components}
    for pid in sorted(reachable):
        deps = [every[d] for d in _runtime_dependencies(nodes.get(pid, {})) if d in every]
        bom.register_dependency(every[pid], deps)
    return bom


def render(bom: Bom) -> str:
    """CycloneDX 1.6 JSON, pretty-printed, ending in a newline."""
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    # Round-trip through json with sorted keys: a stable byte layout across library releases.
    return json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def schema_errors(text: str) -> list[str]:
    """Every way `text` breaks the CycloneDX 1.6 JSON schema (empty when valid)."""
    # Imported here: the schema validator's URI grammar costs most of a second, only the sbom step needs it.
    from cyclonedx.validation.json import JsonStrictValidator

    found = JsonStrictValidator(SCHEMA).validate_str(text, all_errors=True)
    if found is None:
        return []
    errors = list(found) if isinstance(found, Iterable) else [found]
    messages = []
    for error in errors:
        # The full jsonschema error quotes the whole schema; its path and message suffice.
        detail = getattr(error, "data", None)
        where = "/".join(str(p) for p in getattr(detail, "absolute_path", ())) or "(document)"
        messages.append(f"{where}: {getattr(detail, 'message', str(error))}")
    return messages


def generate(manifest: Path, destination: Path, *, epoch: int, cargo: str = "cargo") -> Path:
    """Run `cargo metadata` on the crate, write the validated SBOM to `destination`."""
    lock_path = find_lock_file(manifest)
    if lock_path is None:
        raise ConfigError(
            f"no Cargo.lock for {manifest}", hint="commit Cargo.lock: a release must pin its dependencies"
        )
    lock_bytes = lock_path.read_bytes()
    result = proc.read(metadata_argv(cargo, manifest), echo=True)
    try:
        metadata = json.loads(result.stdout)
    except ValueError as error:
        raise BuildError(f"cargo metadata printed something that is not JSON: {error}") from error
    bom = build_bom(
        metadata,
        tomllib.loads(lock_bytes.decode("utf-8")),
        epoch=epoch,
        lock_digest=hashlib.sha256(lock_bytes).hexdigest(),
    )
    text = render(bom)
    problems = schema_errors(text)
    if problems:
        raise BuildError(
            f"the SBOM for {manifest.parent.name} breaks the CycloneDX schema: {problems[0]}",
            hint="this is a bug in tooling/sbom.py; please report it with the crate's Cargo.toml",
        )
    destination.parent.mkdir(parents=True, exist_ok=True)

    write_atomic(destination, text)
    return destination
