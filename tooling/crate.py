"""The crate being shipped: facts from its Cargo.toml, its workspace and its lock file.

Read without running cargo, so a config mistake is reported before any tool
starts. Workspace inheritance (`version.workspace = true`) is resolved here,
and this is the one place that knows where a workspace member's Cargo.lock is.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.errors import ConfigError


@dataclass(frozen=True)
class CrateFacts:
    """What Cargo.toml says about the package, with workspace inheritance resolved."""

    name: str
    version: str
    binaries: tuple[str, ...]
    description: str
    homepage: str
    license: str
    authors: tuple[str, ...]
    repository: str


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML file as a dict; a missing or broken file is a ConfigError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"{what} not found: {path}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{what} is not valid TOML: {path}: {error}") from error


def find_workspace_manifest(crate_manifest: Path) -> Path | None:
    """The Cargo.toml of the workspace enclosing the crate (the crate's own when it is the root)."""
    for directory in (crate_manifest.parent, *crate_manifest.parent.parents):
        candidate = directory / "Cargo.toml"
        if candidate.is_file() and "workspace" in read_toml(candidate, "workspace Cargo.toml"):
            return candidate
    return None


def find_lock_file(crate_manifest: Path) -> Path | None:
    """Cargo.lock beside the crate, else at the root of its workspace (where cargo writes it)."""
    own = crate_manifest.parent / "Cargo.lock"
    if own.is_file():
        return own
    workspace = find_workspace_manifest(crate_manifest)
    if workspace is not None and (workspace.parent / "Cargo.lock").is_file():
        return workspace.parent / "Cargo.lock"
    return None


def _workspace_package(manifest: Path) -> dict[str, Any]:
    """The [workspace.package] table of the enclosing workspace, if any."""
    workspace = find_workspace_manifest(manifest)
    if workspace is None:
        return {}
    package: dict[str, Any] = read_toml(workspace, "workspace Cargo.toml")["workspace"].get("package", {})
    return package


def read_crate(manifest: Path) -> CrateFacts:
    """Facts about the package in `manifest`, without running cargo."""
    data = read_toml(manifest, "the crate's Cargo.toml")
    package = data.get("package")
    if not isinstance(package, dict):
        raise ConfigError(
            f"{manifest} has no [package] table",
            hint="tool.release.crate must point at the Cargo.toml of the binary crate, not a virtual workspace",
        )
    crate_name = package.get("name")
    if not isinstance(crate_name, str) or not crate_name:
        problem = "has no name" if crate_name is None else f"name must be a non-empty string, not {crate_name!r}"
        raise ConfigError(
            f"{manifest}: [package] {problem}",
            hint='cargo needs it too: add name = "<crate name>" to [package]',
        )
    workspace: dict[str, Any] | None = None

    def field(name: str, default: Any = "") -> Any:
        nonlocal workspace
        value = package.get(name, default)
        if isinstance(value, dict) and value.get("workspace") is True:
            if workspace is None:
                workspace = _workspace_package(manifest)
            return workspace.get(name, default)
        return value

    binaries = tuple(str(b["name"]) for b in data.get("bin", []) if "name" in b)
    if not binaries and (manifest.parent / "src" / "main.rs").is_file():
        binaries = (crate_name,)
    return CrateFacts(
        name=crate_name,
        version=str(field("version", "0.0.0")),
        binaries=binaries,
        description=str(field("description")),
        homepage=str(field("homepage")),
        license=str(field("license")),
        authors=tuple(field("authors", [])),
        repository=str(field("repository")),
    )
