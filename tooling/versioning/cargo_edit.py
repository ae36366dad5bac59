"""Set the crate's version in Cargo.toml and Cargo.lock with tomlkit, keeping formatting and comments.

The text-to-text functions are pure; `set_crate_version` reads and writes the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from tooling.crate import find_lock_file, find_workspace_manifest
from tooling.errors import ConfigError, VersionError
from tooling.files import write_atomic


def _load(text: str, what: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as error:
        raise ConfigError(f"{what} is not valid TOML: {error}") from error


def inherits_version(manifest_text: str) -> bool:
    """Does [package] say `version.workspace = true`?"""
    package: Any = _load(manifest_text, "Cargo.toml").get("package", {})
    version = package.get("version")
    return isinstance(version, dict) and version.get("workspace") is True


def set_manifest_version(manifest_text: str, version: str, *, workspace: bool = False) -> str:
    """Cargo.toml text with [package].version (or [workspace.package].version) set to `version`."""
    document = _load(manifest_text, "Cargo.toml")
    table: Any = document.get("workspace", {}).get("package") if workspace else document.get("package")
    where = "[workspace.package]" if workspace else "[package]"
    if table is None or "version" not in table:
        raise VersionError(f"Cargo.toml has no {where} version to bump", hint=f'add version = "..." to {where}')
    if not workspace and isinstance(table["version"], dict):
        raise VersionError("the package inherits its version from the workspace; bump the workspace instead")
    table["version"] = version
    return tomlkit.dumps(document)


def set_lock_version(lock_text: str, name: str, old: str, new: str) -> str:
    """Cargo.lock text with the local package `name` (no `source`) moved from `old` to `new`; others untouched."""
    document = _load(lock_text, "Cargo.lock")
    packages: Any = document.get("package", [])
    found = False
    for package in packages:
        if package.get("name") == name and "source" not in package and package.get("version") in (old, new):
            package["version"] = new
            found = True
    if not found:
        raise VersionError(
            f"Cargo.lock has no entry for {name} {old}",
            hint="run `cargo generate-lockfile` (or any cargo build) so the lock file matches Cargo.toml",
        )
    return tomlkit.dumps(document)


@dataclass(frozen=True)
class VersionFiles:
    """The files a bump changes: the manifest holding the version, and the lock file (if any)."""

    manifest: Path
    workspace: bool
    lock: Path | None


def version_files(crate_manifest: Path) -> VersionFiles:
    """Where the version of the crate is written."""
    workspace_manifest = find_workspace_manifest(crate_manifest)
    inherits = inherits_version(crate_manifest.read_text(encoding="utf-8"))
    if inherits and workspace_manifest is None:
        raise VersionError(f"{crate_manifest} inherits its version, but no enclosing workspace was found")
    manifest = workspace_manifest if inherits and workspace_manifest else crate_manifest
    return VersionFiles(manifest, inherits, find_lock_file(crate_manifest))


def set_crate_version(crate_manifest: Path, name: str, old: str, new: str) -> list[Path]:
    """Write `new` into Cargo.toml and Cargo.lock; returns the files changed."""
    files = version_files(crate_manifest)
    # Both new texts first: a lock file that cannot be edited leaves Cargo.toml untouched too.
    edits = {
        files.manifest: set_manifest_version(files.manifest.read_text(encoding="utf-8"), new, workspace=files.workspace)
    }
    if files.lock:
        edits[files.lock] = set_lock_version(files.lock.read_text(encoding="utf-8"), name, old, new)
    for path, text in edits.items():
        write_atomic(path, text)
    return list(edits)
