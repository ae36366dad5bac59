"""[tool.release] in pyproject.toml: read, validate, and complete from Cargo.toml.

Every mistake becomes one ConfigError naming the key and the fix. What the
crate's Cargo.toml already states (name, version, binaries, description,
license, homepage, authors) is taken from there unless the table overrides it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.crate import read_crate, read_toml
from tooling.errors import ConfigError, TargetError
from tooling.targets import ARCHIVE_FORMATS, Target, get_target, select_targets

CONFIG_ENV = "RELEASE_CONFIG"  # path of another pyproject.toml / release.toml
DIST_ENV = "RELEASE_DIST_DIR"  # where artifacts go (tests and CI jobs use it)

_VERSION_PAIR = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True)
class PackageMetadata:
    """What package managers need to describe the tool."""

    description: str
    homepage: str
    license: str
    maintainer: str
    repository: str


@dataclass(frozen=True)
class ReleaseConfig:
    """The validated release configuration of one crate."""

    root: Path
    crate_manifest: Path
    name: str
    version: str
    binaries: tuple[str, ...]
    targets: tuple[Target, ...]
    glibc: str
    macos_deployment_target: Mapping[str, str]
    profile: str
    features: tuple[str, ...]
    no_default_features: bool
    all_features: bool
    dist_dir: Path
    rustc: tuple[Path, ...]
    archive_unix: str
    archive_windows: str
    include: tuple[str, ...]
    package: PackageMetadata
    smoke_args: tuple[str, ...] = ("--version",)
    smoke_expect: tuple[str, ...] = ("{version}",)
    # Sub-tables owned and validated by the modules that use them.
    sign: Mapping[str, Any] = field(default_factory=dict)  # tooling.sign
    versioning: Mapping[str, Any] = field(default_factory=dict)  # tooling.version

    @property
    def crate_dir(self) -> Path:
        return self.crate_manifest.parent

    def macos_min(self, target: Target) -> str | None:
        """MACOSX_DEPLOYMENT_TARGET for `target` (None for non-macOS targets)."""
        if not target.is_macos:
            return None
        return self.macos_deployment_target.get(target.triple, target.macos_min)

    def archive_format(self, target: Target) -> str:
        return self.archive_windows if target.is_windows else self.archive_unix


# --- the schema: one row per key --------------------------------------------


@dataclass(frozen=True)
class Key:
    """One allowed key: its type check, what it should look like, and its default."""

    check: Callable[[Any], bool]
    expected: str
    default: Any


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_str_table(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


KEYS: dict[str, Key] = {
    "crate": Key(_is_str, 'a path to Cargo.toml, e.g. "sample/Cargo.toml"', "Cargo.toml"),
    "binaries": Key(_is_str_list, 'a list of binary names, e.g. ["mytool"]', None),
    "targets": Key(_is_str_list, 'a list of triples or patterns, e.g. ["*-linux-*"]', ["*"]),
    "glibc": Key(_is_str, 'a glibc version string, e.g. "2.17"', "2.17"),
    "macos-deployment-target": Key(
        _is_str_table, 'a table of triple = version, e.g. {"aarch64-apple-darwin" = "11.0"}', {}
    ),
    "profile": Key(_is_str, 'a cargo profile name, e.g. "release"', "release"),
    "features": Key(_is_str_list, 'a list of cargo features, e.g. ["tls"]', []),
    "no-default-features": Key(_is_bool, "true or false", False),
    "all-features": Key(_is_bool, "true or false", False),
    "dist-dir": Key(_is_str, 'a directory, e.g. "dist"', "dist"),
    "rustc": Key(_is_str_list, 'a list of rustc paths, e.g. ["/usr/bin/rustc"]', []),
    "archive": Key(_is_str_table, '{ unix = "tar.gz", windows = "zip" }', {}),
    "include": Key(
        _is_str_list, 'a list of files or globs, e.g. ["README.md", "LICENSE*"]', ["README*", "LICENSE*", "CHANGELOG*"]
    ),
    "smoke-args": Key(_is_str_list, 'the arguments of the smoke run, e.g. ["--version"]', ["--version"]),
    "smoke-expect": Key(_is_str_list, 'strings its output must contain, e.g. ["{version}", "{triple}"]', ["{version}"]),
    "package": Key(lambda v: isinstance(v, dict), "a table (see [tool.release.package])", {}),
    "sign": Key(lambda v: isinstance(v, dict), "a table (see [tool.release.sign])", {}),
    "versioning": Key(lambda v: isinstance(v, dict), "a table (see [tool.release.versioning])", {}),
}

PACKAGE_KEYS = ("description", "homepage", "license", "maintainer", "repository")
ARCHIVE_KEYS = ("unix", "windows")


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _unknown_key(section: str, key: str, allowed: list[str] | tuple[str, ...]) -> ConfigError:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(
        f"unknown key {section}.{key}",
        hint=hint + "allowed keys: " + ", ".join(allowed),
    )


def validate_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """Check every key's name and type; return the table with defaults filled in."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            raise _unknown_key("tool.release", key, list(KEYS))
        if not KEYS[key].check(value):
            raise ConfigError(f"tool.release.{key} must be {KEYS[key].expected}, not {_type_name(value)} ({value!r})")
        values[key] = value
    for key, spec in KEYS.items():
        values.setdefault(key, spec.default)
    for key in values["package"]:
        if key not in PACKAGE_KEYS:
            raise _unknown_key("tool.release.package", key, PACKAGE_KEYS)
        if not isinstance(values["package"][key], str):
            raise ConfigError(f"tool.release.package.{key} must be a string")
    for key, value in values["archive"].items():
        if key not in ARCHIVE_KEYS:
            raise _unknown_key("tool.release.archive", key, ARCHIVE_KEYS)
        if value not in ARCHIVE_FORMATS:
            raise ConfigError(
                f"tool.release.archive.{key} = {value!r} is not an archive format",
                hint="use one of " + ", ".join(ARCHIVE_FORMATS),
            )
    if not _VERSION_PAIR.match(values["glibc"]):
        raise ConfigError(
            f"tool.release.glibc = {values['glibc']!r} is not a glibc version",
            hint='write it as MAJOR.MINOR, e.g. glibc = "2.17"',
        )
    for template in values["smoke-expect"]:
        try:
            template.format(version="", triple="")
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(
                f"tool.release.smoke-expect: {template!r} has an unknown placeholder ({error})",
                hint="the placeholders are {version} and {triple}",
            ) from error
    for triple, version in values["macos-deployment-target"].items():
        _check_triple("tool.release.macos-deployment-target", triple)
        if not get_target(triple).is_macos:
            raise ConfigError(f"tool.release.macos-deployment-target.{triple}: not a macOS target")
        if not _VERSION_PAIR.match(version):
            raise ConfigError(
                f"tool.release.macos-deployment-target.{triple} = {version!r} is not a macOS version",
                hint='write it as MAJOR.MINOR, e.g. "11.0"',
            )
    return values


def _check_triple(key: str, triple: str) -> None:
    try:
        get_target(triple)
    except TargetError as error:
        raise ConfigError(f"{key}: {error.message}", hint=error.hint) from error


# --- putting it together -----------------------------------------------------


def build_config(table: Mapping[str, Any], root: Path, environ: Mapping[str, str]) -> ReleaseConfig:
    """Validate `table` ([tool.release]) found in `root` and complete it from Cargo.toml."""
    values = validate_table(table)
    manifest = (root / values["crate"]).resolve()
    if manifest.is_dir():
        manifest = manifest / "Cargo.toml"
    if not manifest.is_file():
        raise ConfigError(
            f"tool.release.crate: no Cargo.toml at {manifest}",
            hint="set tool.release.crate to the path of your crate's Cargo.toml, relative to pyproject.toml",
        )
    crate = read_crate(manifest)
    binaries = tuple(values["binaries"] or crate.binaries)
    if not binaries:
        raise ConfigError(
            f"{manifest} declares no binary",
            hint="add a [[bin]] target or src/main.rs, or list tool.release.binaries",
        )
    missing = [name for name in binaries if name not in crate.binaries]
    if missing:
        raise ConfigError(
            f"tool.release.binaries: {', '.join(missing)} not a binary of crate {crate.name!r}",
            hint="the crate's binaries are: " + (", ".join(crate.binaries) or "(none)"),
        )
    try:
        targets = select_targets(values["targets"])
    except TargetError as error:
        raise ConfigError(f"tool.release.targets: {error.message}", hint=error.hint) from error
    meta = values["package"]
    package = PackageMetadata(
        description=meta.get("description", crate.description),
        homepage=meta.get("homepage", crate.homepage or crate.repository),
        license=meta.get("license", crate.license),
        maintainer=meta.get("maintainer", crate.authors[0] if crate.authors else ""),
        repository=meta.get("repository", crate.repository),
    )
    dist = Path(environ.get(DIST_ENV) or root / values["dist-dir"])
    return ReleaseConfig(
        root=root,
        crate_manifest=manifest,
        name=crate.name,
        version=crate.version,
        binaries=binaries,
        targets=targets,
        glibc=values["glibc"],
        macos_deployment_target=dict(values["macos-deployment-target"]),
        profile=values["profile"],
        features=tuple(values["features"]),
        no_default_features=values["no-default-features"],
        all_features=values["all-features"],
        dist_dir=dist.resolve(),
        rustc=tuple(Path(p) for p in values["rustc"]),
        archive_unix=values["archive"].get("unix", "tar.gz"),
        archive_windows=values["archive"].get("windows", "zip"),
        include=tuple(values["include"]),
        package=package,
        smoke_args=tuple(values["smoke-args"]),
        smoke_expect=tuple(values["smoke-expect"]),
        sign=dict(values["sign"]),
        versioning=dict(values["versioning"]),
    )


def find_config_file(start: Path, environ: Mapping[str, str]) -> Path:
    """$RELEASE_CONFIG, else the nearest pyproject.toml with [tool.release]."""
    if environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={path}: no such file")
        return path
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "release" in read_toml(candidate, "pyproject.toml").get("tool", {}):
            return candidate
    raise ConfigError(
        f"no pyproject.toml with a [tool.release] table in {start} or above",
        hint=f"run from the project folder, or set {CONFIG_ENV} to the file",
    )


def load_config(start: Path | None = None, environ: Mapping[str, str] | None = None) -> ReleaseConfig:
    """Find, read and validate the release configuration."""
    env = os.environ if environ is None else environ
    path = find_config_file((start or Path.cwd()).resolve(), env)
    data = read_toml(path, "configuration file")
    table = data.get("tool", {}).get("release")
    if not isinstance(table, dict):
        raise ConfigError(f"{path} has no [tool.release] table")
    return build_config(table, path.parent.resolve(), env)
