"""The CycloneDX SBOM built from `cargo metadata` JSON and Cargo.lock (synthetic inputs, no cargo)."""

from __future__ import annotations

import json
from typing import Any

from tooling.artifacts import sbom

REG = sbom.CRATES_IO
GIT = "git+https://example.invalid/repo.git?rev=abc#abc123"


def pkg(name: str, version: str, source: str | None = REG, license: str | None = "MIT") -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "id": f"{source or 'path+file:///src'}#{name}@{version}",
        "source": source,
        "license": license,
        "repository": f"https://example.invalid/{name}",
        "description": f"the {name} crate",
    }


def dep(package: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
    return {"name": package["name"], "pkg": package["id"], "dep_kinds": [{"kind": kind, "target": None}]}


APP = pkg("app", "1.0.0", source=None, license="MIT OR Apache-2.0")
CLAP = pkg("clap", "4.5.0")
CC = pkg("cc", "1.0.0", license="MIT/Apache-2.0")
GITDEP = pkg("gitdep", "0.1.0", source=GIT, license=None)
TESTONLY = pkg("testonly", "2.0.0")
UNUSED = pkg("unused", "9.9.9")

METADATA = {
    "packages": [APP, CLAP, CC, GITDEP, TESTONLY, UNUSED],
    "resolve": {
        "root": APP["id"],
        "nodes": [
            {"id": APP["id"], "deps": [dep(CLAP), dep(CC, "build"), dep(TESTONLY, "dev")]},
            {"id": CLAP["id"], "deps": [dep(GITDEP)]},
            {"id": CC["id"], "deps": []},
            {"id": GITDEP["id"], "deps": []},
            {"id": TESTONLY["id"], "deps": []},
            {"id": UNUSED["id"], "deps": []},
        ],
    },
}
LOCK = {
    "version": 3,
    "package": [
        {"name": "app", "version": "1.0.0"},
        {"name": "clap", "version": "4.5.0", "source": REG, "checksum": "ab" * 32},
        {"name": "cc", "version": "1.0.0", "source": REG, "checksum": "cd" * 32},
        {"name": "gitdep", "version": "0.1.0", "source": GIT},
    ],
}


def rendered(epoch: int = 1_700_000_000) -> dict[str, Any]:
    text = sbom.render(sbom.build_bom(METADATA, LOCK, epoch=epoch, lock_digest="f" * 64))
    data: dict[str, Any] = json.loads(text)
    return data


def test_components_are_the_resolved_graph_without_dev_dependencies() -> None:
    data = rendered()
    root = data["metadata"]["component"]
    assert root["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    names = sorted(c["name"] for c in data["components"])
    assert names == ["cc", "clap", "gitdep"]  # not testonly (dev), not unused (unreachable)
    assert data["metadata"]["component"]["name"] == "app"
    assert data["metadata"]["component"]["type"] == "application"


def test_purls_licenses_and_checksums() -> None:
    by_name = {c["name"]: c for c in rendered()["components"]}
    assert by_name["clap"]["purl"] == "pkg:cargo/clap@4.5.0"
    assert by_name["clap"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert by_name["clap"]["licenses"] == [{"license": {"id": "MIT"}}]  # a single SPDX id
    assert by_name["cc"]["licenses"] == [{"license": {"name": "MIT/Apache-2.0"}}]  # not SPDX: kept by name
    assert by_name["gitdep"]["purl"].startswith("pkg:cargo/gitdep@0.1.0?vcs_url=")
    assert "hashes" not in by_name["gitdep"]  # git sources have no registry checksum


def test_dependency_edges_follow_the_graph() -> None:
    edges = {d["ref"]: sorted(d.get("dependsOn", [])) for d in rendered()["dependencies"]}
    root = rendered()["metadata"]["component"]["bom-ref"]
    assert edges[root] == ["pkg:cargo/cc@1.0.0", "pkg:cargo/clap@4.5.0"]
    [only] = edges["pkg:cargo/clap@4.5.0"]
    assert only.startswith("pkg:cargo/gitdep@0.1.0?vcs_url=")
    assert "pkg:cargo/testonly@2.0.0" not in edges


def test_same_inputs_same_bytes_and_the_epoch_is_the_timestamp() -> None:
    one = sbom.render(sbom.build_bom(METADATA, LOCK, epoch=1_700_000_000, lock_digest="f" * 64))
    two = sbom.render(sbom.build_bom(METADATA, LOCK, epoch=1_700_000_000, lock_digest="f" * 64))
    assert one == two
    assert json.loads(one)["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")
    other_lock = sbom.render(sbom.build_bom(METADATA, LOCK, epoch=1_700_000_000, lock_digest="e" * 64))
    assert json.loads(other_lock)["serialNumber"] != json.loads(one)["serialNumber"]


def test_output_validates_against_the_cyclonedx_schema() -> None:
    text = sbom.render(sbom.build_bom(METADATA, LOCK, epoch=0, lock_digest="0" * 64))
    assert sbom.schema_errors(text) == []
    broken = json.loads(text)
    broken["components"][0]["type"] = "spaceship"
    errors = sbom.schema_errors(json.dumps(broken))
    assert errors and "components/0/type" in errors[0]


def test_lock_v1_checksums_in_metadata_table() -> None:
    lock = {"metadata": {f"checksum clap 4.5.0 ({REG})": "12" * 32, f"checksum app 1.0.0 ({REG})": "<none>"}}
    assert sbom.lock_checksums(lock) == {("clap", "4.5.0"): "12" * 32}


def test_file_name() -> None:
    assert sbom.sbom_file_name("crcsum", "0.1.0") == "crcsum-0.1.0.cdx.json"
