"""[tool.release.versioning]: read and validate the versioning settings.

Every mistake is one ConfigError naming `tool.release.versioning.<key>`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver

from tooling.errors import ConfigError


@dataclass(frozen=True)
class VersioningConfig:
    """How versions, tags, branches and changelogs are handled."""

    tag_prefix: str = "v"
    sign_tags: bool = False
    signing_key: str = ""
    main_branch: str = "main"
    release_branches: str = "release/{major}.{minor}"
    acknowledged_breaking: tuple[str, ...] = ()
    changelog: str = ""  # empty: CHANGELOG.md beside the crate's Cargo.toml
    cliff_config: str = ""  # empty: the project's cliff.toml, else the packaged default
    templates: str = ""  # a folder whose *.j2 files override the packaged templates
    migrations_dir: str = ""  # empty: docs/migrations in the repository (see versioning.project)
    checksums_file: str = "SHA256SUMS"
    signature_file: str = "SHA256SUMS.asc"
    commit_types: tuple[str, ...] = ()  # empty: tooling.commits.TYPES
    commit_lint_since: str = ""  # a commit: it and its ancestors predate the rules and are not linted


_KEYS: dict[str, tuple[type, str]] = {
    "tag-prefix": (str, 'a string, e.g. "v"'),
    "sign-tags": (bool, "true or false"),
    "signing-key": (str, 'a GPG key id, e.g. "0xA1B2C3D4"'),
    "main-branch": (str, 'a branch name, e.g. "main"'),
    "release-branches": (str, 'a pattern with {major} and {minor}, e.g. "release/{major}.{minor}"'),
    "acknowledged-breaking": (list, 'a list of versions whose breaking changes are accepted, e.g. ["1.5.0"]'),
    "changelog": (str, 'a path, e.g. "CHANGELOG.md"'),
    "cliff-config": (str, 'a path to a git-cliff configuration, e.g. "cliff.toml"'),
    "templates": (str, 'a folder of Jinja2 templates, e.g. "packaging/templates"'),
    "migrations-dir": (str, 'a folder, e.g. "docs/migrations"'),
    "checksums-file": (str, 'the checksum file name of a release, e.g. "SHA256SUMS"'),
    "signature-file": (str, 'its detached signature, e.g. "SHA256SUMS.asc"'),
    "commit-types": (list, 'a list of allowed commit types, e.g. ["feat", "fix"]'),
    "commit-lint-since": (str, "the last commit written before the rules were adopted (a full commit id)"),
}


def parse_versioning(table: Mapping[str, Any]) -> VersioningConfig:
    """Validate the raw [tool.release.versioning] table."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(key, list(_KEYS), n=1)
            raise ConfigError(
                f"unknown key tool.release.versioning.{key}",
                hint=(f"did you mean {close[0]!r}? " if close else "") + "allowed keys: " + ", ".join(_KEYS),
            )
        kind, expected = _KEYS[key]
        if isinstance(value, list) and kind is list and all(isinstance(item, str) for item in value):
            values[key.replace("-", "_")] = tuple(value)
        elif kind is not list and isinstance(value, kind):
            values[key.replace("-", "_")] = value
        else:
            raise ConfigError(
                f"tool.release.versioning.{key} must be {expected}, not {value!r}",
                hint=f"write {key} as {expected}",
            )
    pattern = values.get("release_branches", VersioningConfig.release_branches)
    try:
        pattern.format(major=1, minor=2)
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"tool.release.versioning.release-branches = {pattern!r} has an unknown placeholder ({error})",
            hint='the placeholders are {major} and {minor}, e.g. "release/{major}.{minor}"',
        ) from error
    if "{major}" not in pattern or "{minor}" not in pattern:
        raise ConfigError(
            f"tool.release.versioning.release-branches = {pattern!r} must contain {{major}} and {{minor}}",
            hint='e.g. "release/{major}.{minor}"',
        )
    for version in values.get("acknowledged_breaking", ()):
        try:
            semver.Version.parse(version)
        except ValueError as error:
            raise ConfigError(
                f"tool.release.versioning.acknowledged-breaking: {version!r} is not a semantic version",
                hint='list the versions whose breaking changes you accept, e.g. ["1.5.0"]',
            ) from error
    if not values.get("sign_tags", False) and values.get("signing_key"):
        raise ConfigError(
            "tool.release.versioning.signing-key is set but sign-tags is false",
            hint="set sign-tags = true to sign release tags, or remove signing-key",
        )
    return VersioningConfig(**values)


def resolve_file(config_root: Path, configured: str, own: Path, tooling_default: Path) -> Path:
    """A configured path (relative to the config's folder), else the project's `own` file, else the default."""
    if configured:
        path = config_root / configured
        if not path.exists():
            raise ConfigError(
                f"{path} does not exist (configured in tool.release.versioning)",
                hint="paths in [tool.release.versioning] are relative to the config file: fix the path or remove it",
            )
        return path
    return own if own.exists() else tooling_default
