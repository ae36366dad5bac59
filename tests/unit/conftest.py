"""Unit tests are pure: any attempt to start a process fails the test.

`cargo metadata` is the one process every config load starts; here it is
answered by `fake_cargo_metadata`, which reads Cargo.toml the way cargo
would for the simple crates these tests write (integration tests ask the
real cargo, workspaces and src/bin/ included).
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tooling import crate


def _package(manifest: Path) -> dict[str, Any] | None:
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    package = data.get("package")
    if not isinstance(package, dict):
        return None
    name = str(package["name"])
    bins = [str(b["name"]) for b in data.get("bin", [])]
    if (manifest.parent / "src" / "main.rs").is_file() and name not in bins and not data.get("bin"):
        bins.append(name)
    bins += sorted(p.stem for p in (manifest.parent / "src" / "bin").glob("*.rs") if p.stem not in bins)

    def field(key: str) -> Any:
        value = package.get(key)
        return None if isinstance(value, dict) else value  # workspace inheritance: not modelled here

    return {
        "name": name,
        "version": field("version") or "0.0.0",
        "id": f"path+file://{manifest.parent}#{name}",
        "manifest_path": str(manifest),
        "targets": [{"kind": ["bin"], "name": b} for b in bins],
        **{key: field(key) for key in ("description", "homepage", "license", "repository")},
        "authors": field("authors") or [],
        "rust_version": field("rust-version"),
    }


def fake_cargo_metadata(manifest: Path) -> dict[str, Any]:
    """What `cargo metadata --no-deps` says for a one-package crate or a workspace listing its members."""
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    manifests = [manifest] + [manifest.parent / m / "Cargo.toml" for m in data.get("workspace", {}).get("members", [])]
    packages = [p for p in (_package(m) for m in manifests if m.is_file()) if p]
    return {
        "packages": packages,
        "workspace_members": [p["id"] for p in packages],
        "workspace_root": str(manifest.parent),
    }


@pytest.fixture(autouse=True)
def _forbid_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"unit tests must not start processes: {args[:1]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(crate, "cargo_metadata", fake_cargo_metadata)
