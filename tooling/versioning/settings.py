"""[tool.release.versioning]: read and validate the versioning settings.

Every mistake is one ConfigError naming `tool.release.versioning.<key>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver

from tooling import config_schema
from tooling.config_schema import check_table
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
    prerelease_notes: str = "prerelease"  # a prerelease's notes start at the previous prerelease, or at the last stable
    main_changelog: str = "commit"  # a patch from a release branch: commit its changelog section on main, or "print"
    commit_lint_since: str = ""  # a commit: it and its ancestors predate the rules and are not linted


def parse_versioning(table: Mapping[str, Any]) -> VersioningConfig:
    """Validate the raw [tool.release.versioning] table."""
    # Names and kinds come from the one definition of the configuration; the rules below need more.
    values: dict[str, Any] = {
        key.replace("-", "_"): tuple(value) if isinstance(value, list) else value
        for key, value in check_table(config_schema.VERSIONING, table).items()
        if key in table
    }
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
