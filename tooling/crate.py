"""The crate being shipped: what cargo knows about it, its workspace and its lock file.

`crate_facts` asks `cargo metadata --no-deps` (read-only, no network), so every
binary cargo builds is known, src/bin/*.rs and autobins included, with
workspace inheritance resolved by cargo itself; `facts_from_metadata` is the
pure part. `read_crate` reads the Cargo.toml first, so a broken manifest gets
a precise message before cargo is asked. This is also the one place that
knows where a workspace member's Cargo.lock is.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling import proc
from tooling.errors import CommandError, ConfigError


@dataclass(frozen=True)
class CrateFacts:
    """What cargo says about the package, with workspace inheritance resolved."""

    name: str
    version: str
    binaries: tuple[str, ...]
    description: str
    homepage: str
    license: str
    authors: tuple[str, ...]
    repository: str
    manifest: Path | None = None  # the package's own Cargo.toml (a workspace member's, when chosen by name)
    rust_version: str | None = None  # the package's `rust-version`, if it declares one
    workspace_root: Path | None = None
    members: tuple[str, ...] = ()  # names of the workspace's member packages


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


def check_manifest(manifest: Path) -> dict[str, Any]:
    """The crate's Cargo.toml as TOML, with a precise message for what cargo would only call a parse error."""
    data = read_toml(manifest, "the crate's Cargo.toml")
    package = data.get("package")
    if package is None and "workspace" not in data:
        raise ConfigError(
            f"{manifest} has no [package] table",
            hint="tool.release.crate must point at the Cargo.toml of the binary crate, or of its workspace",
        )
    if isinstance(package, dict):
        crate_name = package.get("name")
        if not isinstance(crate_name, str) or not crate_name:
            problem = "has no name" if crate_name is None else f"name must be a non-empty string, not {crate_name!r}"
            raise ConfigError(
                f"{manifest}: [package] {problem}",
                hint='cargo needs it too: add name = "<crate name>" to [package]',
            )
    return data


def read_crate(manifest: Path, package: str | None = None) -> CrateFacts:
    """What cargo knows about the crate at `manifest` (or the workspace member named `package`)."""
    check_manifest(manifest)
    return facts_from_metadata(cargo_metadata(manifest), manifest, package)


def metadata_argv(manifest: Path) -> list[str]:
    """`cargo metadata` for the workspace holding `manifest`: no dependencies, so no network and no lock change."""
    return ["cargo", "metadata", "--no-deps", "--format-version", "1", "--manifest-path", str(manifest)]


def ask_cargo(argv: Sequence[str], manifest: Path, *, refused: str, hint: str) -> dict[str, Any]:
    """The JSON a read-only cargo query prints; a ConfigError when cargo is missing or refuses.

    refused: the start of the message when cargo exits non-zero (its last lines follow).
    """
    try:
        result = proc.read(argv, check=False)
    except CommandError as error:  # cargo is not installed
        raise ConfigError(
            f"cannot ask cargo about {manifest}: {error.message}",
            hint="install Rust (cargo) and make sure it is on PATH",
        ) from error
    if not result.ok:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise ConfigError(f"{refused}: " + " ".join(lines[-3:]), hint=hint)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def cargo_metadata(manifest: Path) -> dict[str, Any]:
    """What cargo knows about the workspace holding `manifest` (a read-only query)."""
    return ask_cargo(
        metadata_argv(manifest),
        manifest,
        refused=f"cargo cannot read {manifest}",
        hint="fix the manifest until `cargo metadata --no-deps` accepts it",
    )


def _binary_packages(packages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in packages if any("bin" in target.get("kind", ()) for target in p.get("targets", ()))]


def facts_from_metadata(metadata: dict[str, Any], manifest: Path, package: str | None = None) -> CrateFacts:
    """The facts of one package of `cargo metadata` output (pure).

    The package is the one named `package`; else the one whose Cargo.toml is
    `manifest`; else, for a virtual workspace, its only member with binaries.
    """
    members = set(metadata.get("workspace_members", ()))
    packages = [p for p in metadata.get("packages", ()) if p.get("id") in members] or list(metadata.get("packages", ()))
    names = tuple(sorted(str(p["name"]) for p in packages))
    if package is not None:
        chosen = [p for p in packages if p["name"] == package]
        if not chosen:
            raise ConfigError(
                f"tool.release.package = {package!r} is not a package of the workspace at {manifest.parent}",
                hint="its packages are: " + (", ".join(names) or "(none)"),
            )
    else:
        chosen = [p for p in packages if Path(p["manifest_path"]).resolve() == manifest.resolve()]
        if not chosen:
            with_binaries = _binary_packages(packages)
            if not with_binaries:
                raise ConfigError(
                    f"{manifest} has no [package] table, and no package of its workspace has a binary",
                    hint="tool.release.crate must point at the Cargo.toml of a binary crate, "
                    "not a virtual workspace without one",
                )
            if len(with_binaries) > 1:
                listed = ", ".join(sorted(p["name"] for p in with_binaries))
                raise ConfigError(
                    f"{manifest} has no [package] table, and its workspace has {len(with_binaries)} packages "
                    f"with binaries: {listed}",
                    hint='choose one with package = "<name>" in [tool.release]',
                )
            chosen = with_binaries
    found = chosen[0]
    binaries = tuple(str(t["name"]) for t in found.get("targets", ()) if "bin" in t.get("kind", ()))
    root = metadata.get("workspace_root")
    return CrateFacts(
        name=str(found["name"]),
        version=str(found.get("version") or "0.0.0"),
        binaries=binaries,
        description=str(found.get("description") or ""),
        homepage=str(found.get("homepage") or ""),
        license=str(found.get("license") or ""),
        authors=tuple(str(a) for a in found.get("authors") or ()),
        repository=str(found.get("repository") or ""),
        manifest=Path(found["manifest_path"]),
        rust_version=found.get("rust_version"),
        workspace_root=Path(root) if root else None,
        members=names,
    )
