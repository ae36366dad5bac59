"""Release notes and migration guides, rendered with Jinja2 from the changelog data.

The default templates ship in tooling/resources/templates/; a project overrides any of them by
putting a file of the same name in tool.release.versioning.templates (or in
its own packaging/templates/).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from tooling import resources
from tooling.errors import ConfigError
from tooling.versioning.changelog import Change, ReleaseData
from tooling.versioning.cli_surface import SurfaceChange

DEFAULT_TEMPLATES = resources.resource_path("templates")
NOTES_TEMPLATE = "release-notes.md.j2"
MIGRATION_TEMPLATE = "migration.md.j2"
MAX_HIGHLIGHTS = 5


@dataclass(frozen=True)
class TargetAsset:
    triple: str
    archive: str


@dataclass(frozen=True)
class NotesInput:
    """Everything the templates see besides the commits."""

    name: str
    version: str
    previous: str | None  # the version this release is compared with
    binaries: tuple[str, ...]
    repository: str
    targets: tuple[TargetAsset, ...]
    checksums_file: str
    signature_file: str
    tag: str
    cli_changes: tuple[SurfaceChange, ...] = ()
    migration_guide: str | None = None  # path of the guide, relative to the repository
    extra: dict[str, Any] = field(default_factory=dict)


def template_dirs(config_root: Path, configured: str, base: Path) -> list[Path]:
    """Search order: the configured folder (relative to the config), `base`/packaging/templates, the defaults."""
    dirs = []
    if configured:
        path = config_root / configured
        if not path.is_dir():
            raise ConfigError(
                f"tool.release.versioning.templates: {path} is not a folder",
                hint="point it at a folder holding release-notes.md.j2 and/or migration.md.j2",
            )
        dirs.append(path)
    own = base / "packaging" / "templates"
    if own.is_dir() and own.resolve() != DEFAULT_TEMPLATES:
        dirs.append(own)
    dirs.append(DEFAULT_TEMPLATES)
    return dirs


def environment(dirs: Sequence[Path]) -> jinja2.Environment:
    """Markdown output, so no HTML escaping; undefined names are errors, not blanks."""
    env = jinja2.Environment(  # noqa: S701 - renders Markdown, not HTML
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["isodate"] = lambda ts: datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")
    return env


def highlights(changes: Sequence[Change]) -> list[Change]:
    """Breaking changes first, then new features; at most MAX_HIGHLIGHTS."""
    ordered = [c for c in changes if c.breaking] + [c for c in changes if not c.breaking and c.group == "Added"]
    return ordered[:MAX_HIGHLIGHTS]


def notes_context(data: ReleaseData, info: NotesInput) -> dict[str, Any]:
    """The variables of the release-notes and migration templates."""
    from tooling.versioning.versions import parse_version

    version = parse_version(info.version)
    return {
        "name": info.name,
        "version": info.version,
        "tag": info.tag,
        "previous": info.previous,
        "prerelease": version.prerelease is not None,
        "date": data.timestamp,
        "highlights": highlights(data.changes),
        "groups": data.groups(),
        "breaking": data.breaking,
        "cli_changes": [c for c in info.cli_changes if c.breaking],
        "cli_additions": [c for c in info.cli_changes if not c.breaking],
        "contributors": data.contributors,
        "binaries": info.binaries,
        "repository": info.repository.removesuffix(".git"),
        "targets": info.targets,
        "checksums_file": info.checksums_file,
        "signature_file": info.signature_file,
        "migration_guide": info.migration_guide,
        **info.extra,
    }


def render(dirs: Sequence[Path], template: str, context: dict[str, Any]) -> str:
    """Render one template; a broken override is a ConfigError naming the file."""
    try:
        text = environment(dirs).get_template(template).render(**context)
    except jinja2.TemplateError as error:
        raise ConfigError(
            f"template {template} could not be rendered: {error}",
            hint="compare your override with the packaged default (tooling/resources/templates/)",
        ) from error
    return text.strip() + "\n"


def render_notes(dirs: Sequence[Path], data: ReleaseData, info: NotesInput) -> str:
    return render(dirs, NOTES_TEMPLATE, notes_context(data, info))


def render_migration(dirs: Sequence[Path], data: ReleaseData, info: NotesInput) -> str:
    return render(dirs, MIGRATION_TEMPLATE, notes_context(data, info))


def migration_path(directory: Path, previous: str, new: str) -> Path:
    """<migrations dir>/<from>-to-<to>.md, e.g. docs/migrations/1.4.0-to-2.0.0.md"""
    return directory / f"{previous}-to-{new}.md"
