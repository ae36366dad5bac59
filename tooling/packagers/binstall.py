"""cargo-binstall's [package.metadata.binstall]: where a target's archive is and where the binary sits in it.

cargo-binstall reads this table from the Cargo.toml of the published crate
and fills its templates with its own placeholders: `{ name }`, `{ version }`
(the crate's, without a tag prefix), `{ target }` (the triple), `{ repo }`
(Cargo.toml's repository), `{ archive-format }` (an extension of the
table's `pkg-fmt`, without the dot), `{ bin }` and `{ binary-ext }` (".exe"
for Windows targets). `\\{`, `\\}` and `\\\\` are literal characters.

`pkg-url` is derived from the release's real archive URLs: the file name is
replaced by the placeholders that make it (our archives are
`<name>-<version>-<triple>.<format>`), the version elsewhere in the URL (the
tag) by `{ version }`, and the repository by `{ repo }` where cargo-binstall
gives the same text. Every archive's URL is then rebuilt from the template
and compared, so a table that would send cargo-binstall elsewhere is never
written. `pkg-fmt` is the format most archives use; targets whose archives
differ (zip on Windows) get `[package.metadata.binstall.overrides.<triple>]`.

The channel's output is binstall.toml, the table to paste into Cargo.toml;
`write_metadata` puts it there itself (`invoke binstall-metadata`).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from tooling import proc, ui
from tooling.artifacts.archive import archive_stem
from tooling.config import ReleaseConfig
from tooling.errors import PackageError
from tooling.files import write_atomic
from tooling.packagers import base
from tooling.packagers.base import Archive, Release, Settings
from tooling.packagers.release import planned_release

NAME = "binstall"
OUTPUT = "binstall.toml"

# Our archive formats in cargo-binstall's pkg-fmt words. For { archive-format } cargo-binstall tries each
# extension of the pkg-fmt in turn (tgz: "tgz", "tar.gz"; txz: "txz", "tar.xz"; tzstd: "tzstd", "tzst",
# "tar.zst"; zip: "zip") and takes the first URL that exists, so our own extension is always among them.
PKG_FMT = {"tar.gz": "tgz", "tar.xz": "txz", "tar.zst": "tzstd", "zip": "zip"}

# archive.archive_file_name and archive_stem in cargo-binstall's placeholders.
FILE_TEMPLATE = "{ name }-{ version }-{ target }.{ archive-format }"
BIN_DIR = "{ name }-{ version }-{ target }/{ bin }{ binary-ext }"

_PLACEHOLDER = re.compile(r"\\([\\{}])|\{\s*([A-Za-z0-9_-]+)\s*\}")


# --- the table ------------------------------------------------------------------------------


def metadata(release: Release) -> dict[str, Any]:
    """The [package.metadata.binstall] table serving every archive of `release` (pure).

    Raises PackageError naming the field when cargo-binstall could not find an archive or its binary.
    """
    base.require(NAME, release, "name", "version")
    if not release.archives:
        raise base.fail(NAME, "archives", "the release has no archive", hint="build a target first (invoke build)")
    for archive in release.archives:
        _check_contents(release, archive)
    default, overrides = package_formats(release.archives)
    table: dict[str, Any] = {"pkg-url": pkg_url(release), "bin-dir": BIN_DIR, "pkg-fmt": default}
    if overrides:
        table["overrides"] = {triple: {"pkg-fmt": fmt} for triple, fmt in overrides.items()}
    return table


def package_formats(archives: tuple[Archive, ...]) -> tuple[str, dict[str, str]]:
    """The pkg-fmt most archives use, and {triple: pkg-fmt} of the archives using another (pure)."""
    formats = {}
    for archive in archives:
        if archive.format not in PKG_FMT:
            raise base.fail(
                NAME,
                "archives",
                f"{archive.file} is a {archive.format or 'unknown'} archive, which cargo-binstall cannot unpack",
                hint="use one of " + ", ".join(PKG_FMT) + " in tool.release.archive",
            )
        formats[archive.triple] = PKG_FMT[archive.format]
    counts = Counter(formats.values())
    # Ties go to the alphabetically first name, so a tar format wins over zip.
    default = max(sorted(counts), key=lambda fmt: counts[fmt])
    return default, {triple: fmt for triple, fmt in sorted(formats.items()) if fmt != default}


def pkg_url(release: Release) -> str:
    """The pkg-url template that gives back the URL of each archive of `release` (pure)."""
    templates = {archive.triple: _url_template(release, archive) for archive in release.archives}
    distinct = sorted(set(templates.values()))
    if len(distinct) > 1:
        raise base.fail(
            NAME,
            "download-url",
            "the archives' URLs follow different patterns (" + "; ".join(distinct) + ")",
            hint="cargo-binstall fills one pattern for every target: give all archives one download-url",
        )
    template = distinct[0]
    for archive in release.archives:
        rebuilt = fill(template, _values(release, archive))
        if rebuilt != archive.url:
            raise base.fail(
                NAME,
                "download-url",
                f"the pattern {template!r} gives {rebuilt} for {archive.triple}, not {archive.url}",
                hint="use a download-url whose only varying part is {file} (plus {tag} or {version})",
            )
    return template


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with cargo-binstall's `{ key }` placeholders and `\\` escapes replaced from `values` (pure)."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1)
        return values[match.group(2)]

    return _PLACEHOLDER.sub(one, template)


def repo_placeholder_value(repository: str) -> str | None:
    """The text cargo-binstall puts for { repo }, when it is sure to be `repository` itself; else None (pure).

    cargo-binstall parses the repository URL, keeps a `.git` ending, drops a trailing slash and a
    subfolder path (/tree/<branch>/...), and lowercases the host: only a URL that none of that
    changes is safe to replace by { repo }. Anything else stays literal in pkg-url.
    """
    parts = urlsplit(repository)
    segments = parts.path.split("/")[1:]
    canonical = (
        parts.scheme in ("https", "http")
        and parts.netloc == parts.netloc.lower()
        and bool(segments)
        and all(segments)
        and not parts.path.endswith(".git")
        and not {"tree", "blob", "-"} & set(segments)
        and not (parts.query or parts.fragment)
    )
    return repository if canonical else None


def _check_contents(release: Release, archive: Archive) -> None:
    """PackageError unless `archive` is named and laid out as FILE_TEMPLATE and BIN_DIR say."""
    stem = archive_stem(release.name, release.version, archive.triple)
    if archive.file != f"{stem}.{archive.format}" or archive.top != stem:
        raise base.fail(
            NAME,
            "archives",
            f"{archive.file} (folder {archive.top}) is not named {stem}.{archive.format}",
            hint="rebuild the archives of this version (invoke package)",
        )
    for binary in release.binaries:
        if archive.executable(binary) not in archive.files:
            raise base.fail(
                NAME,
                "archives",
                f"{archive.file} does not hold {archive.top}/{archive.executable(binary)}",
                hint="rebuild the archives of this version (invoke package)",
            )


def _url_template(release: Release, archive: Archive) -> str:
    """archive.url with its file name, version and repository replaced by cargo-binstall's placeholders."""
    cut = archive.url.rfind(archive.file)
    if cut < 0:
        raise base.fail(
            NAME,
            "download-url",
            f"the URL of {archive.file} ({archive.url}) does not contain the file's name",
            hint="cargo-binstall builds each target's URL from the file name: put {file} in download-url",
        )
    head, tail = archive.url[:cut], archive.url[cut + len(archive.file) :]
    prefix = ""
    repo = repo_placeholder_value(release.repository)
    if repo is not None and head.startswith(repo + "/"):
        prefix, head = "{ repo }", head[len(repo) :]
    return prefix + _literal(head, release.version) + FILE_TEMPLATE + _literal(tail, release.version)


def _literal(text: str, version: str) -> str:
    """`text` escaped for a cargo-binstall template, every `version` in it a { version } placeholder."""

    def escape(piece: str) -> str:
        return piece.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")

    return "{ version }".join(escape(piece) for piece in text.split(version))


def _values(release: Release, archive: Archive) -> dict[str, str]:
    """What cargo-binstall puts for each pkg-url placeholder when it fetches `archive`."""
    return {
        "name": release.name,
        "version": release.version,
        "target": archive.triple,
        "archive-format": archive.format,
        "repo": release.repository,
    }


# --- the channel ----------------------------------------------------------------------------


def check(release: Release, settings: Settings) -> None:
    """PackageError for anything the table cannot express (see `metadata`)."""
    metadata(release)


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """binstall.toml: the [package.metadata.binstall] table, ready to paste into Cargo.toml."""
    document = tomlkit.document()
    document.add(tomlkit.comment(f"cargo-binstall metadata for {release.name} {release.version}."))
    document.add(tomlkit.comment("Paste into the crate's Cargo.toml, or let `invoke binstall-metadata` write it."))
    document.add(tomlkit.nl())
    document.add("package", _super_table({"metadata": _super_table({"binstall": _table(metadata(release))})}))
    return {OUTPUT: _single_final_newline(tomlkit.dumps(document)).encode("utf-8")}


CHANNEL = base.Channel(
    name=NAME,
    summary="[package.metadata.binstall] so `cargo binstall` fetches the release's archives",
    platforms=(base.LINUX_X86_64, base.LINUX_AARCH64, base.MACOS_X86_64, base.MACOS_AARCH64, base.WINDOWS_X86_64),
    render=render,
    check=check,
    every_target=True,
)


# --- writing the table into Cargo.toml ------------------------------------------------------


def write_metadata(cargo_toml: Path, table: Mapping[str, Any]) -> bool:
    """Put `table` as [package.metadata.binstall] into `cargo_toml`, atomically; did the file change?

    The rest of the file keeps its formatting and comments; an existing binstall table is replaced.
    A file that already holds an equal table is left alone.
    """
    text = _read(cargo_toml)
    new_text = with_metadata(text, table, source=str(cargo_toml))
    if new_text == text:
        return False
    write_atomic(cargo_toml, new_text)
    return True


def _read(cargo_toml: Path) -> str:
    try:
        return cargo_toml.read_text(encoding="utf-8")
    except OSError as error:
        raise PackageError(
            f"{NAME}: cannot read {cargo_toml}: {error.strerror}", hint="point at the crate's Cargo.toml"
        ) from error


def with_metadata(text: str, table: Mapping[str, Any], *, source: str = "Cargo.toml") -> str:
    """Cargo.toml `text` with [package.metadata.binstall] set to `table` (pure; `text` itself when it already is)."""
    wanted = _plain(table)
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as error:
        raise PackageError(f"{NAME}: {source} is not valid TOML: {error}") from error
    before = tomllib.loads(text)
    package = before.get("package")
    if not isinstance(package, dict):
        raise PackageError(
            f"{NAME}: {source} has no [package] table",
            hint="cargo-binstall reads the crate's own Cargo.toml, not a workspace's: point at the crate",
        )
    existing = package.get("metadata", {})
    if not isinstance(existing, dict):
        raise PackageError(f"{NAME}: {source}: package.metadata is not a table")
    if existing.get("binstall") == wanted:
        return text
    try:
        _place(document, _table(wanted))
        new_text = tomlkit.dumps(document)
        if not text.endswith("\n\n"):
            new_text = _single_final_newline(new_text)  # a table added last ends in a blank line
        after = tomllib.loads(new_text)
    except (TOMLKitError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise _layout_error(source, str(error)) from error
    # tomlkit misplaces tables under dotted keys (package.metadata.x = ...) and in inline tables: only a
    # result holding exactly the old data plus the new table is written.
    expected = {**before, "package": {**package, "metadata": {**existing, "binstall": wanted}}}
    if after != expected:
        raise _layout_error(source, "the edited file would not hold the same data")
    return new_text


def _place(document: tomlkit.TOMLDocument, binstall: Table) -> None:
    package: Any = document["package"]
    if "metadata" in package:
        package["metadata"]["binstall"] = binstall
    else:
        package["metadata"] = _super_table({"binstall": binstall})


def _layout_error(source: str, why: str) -> PackageError:
    return PackageError(
        f"{NAME}: {source}: cannot place [package.metadata.binstall] in this file's layout ({why})",
        hint="write package.metadata as [package.metadata.<name>] tables (not dotted keys or an inline table), "
        "or paste dist/packages/binstall/binstall.toml by hand",
    )


def _plain(value: Any, where: str = "binstall") -> Any:
    """`value` as plain dicts, lists and scalars, or PackageError for what TOML cannot hold."""
    if isinstance(value, Mapping):
        if not value and where == "binstall":
            raise PackageError(f"{NAME}: the table to write is empty")
        return {str(key): _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, where) for item in value]
    if isinstance(value, str | bool | int | float):
        return value
    raise PackageError(f"{NAME}: {where}: {value!r} cannot be written to TOML")


def _table(mapping: Mapping[str, Any], last: bool = True) -> Table:
    """A TOML table of `mapping`: values first, sub-tables after; only-sub-table tables get no header.

    The last leaf table ends with a blank line so a table following it in the file stays apart.
    """
    values = [(key, value) for key, value in mapping.items() if not isinstance(value, Mapping)]
    tables = [(key, value) for key, value in mapping.items() if isinstance(value, Mapping)]
    table = tomlkit.table(is_super_table=not values)
    for key, value in values:
        table.add(key, value)
    for index, (key, value) in enumerate(tables):
        table.add(key, _table(value, last and index == len(tables) - 1))
    if last and not tables:
        table.add(tomlkit.nl())
    return table


def _super_table(children: Mapping[str, Table]) -> Table:
    table = tomlkit.table(is_super_table=True)
    for key, child in children.items():
        table.add(key, child)
    return table


def _single_final_newline(text: str) -> str:
    return text.rstrip("\n") + "\n"


def update_cargo_toml(config: ReleaseConfig, *, check: bool, runner: proc.Runner) -> int:
    """`invoke binstall-metadata`: the table of the configured targets into the crate's Cargo.toml.

    The archives are the ones the release will make (names, formats and URLs
    follow from the config), so the table can be committed before the first
    build. check: exit 1 when Cargo.toml's table differs, writing nothing.
    """
    release = planned_release(config)
    table = metadata(release)  # the channel's own checks, before anything is read or written
    path = config.crate_manifest
    text = _read(path)
    current = with_metadata(text, table, source=str(path))
    if current == text:
        ui.say(f"{path}: [package.metadata.binstall] is up to date")
        return 0
    if check:
        ui.error(f"{path}: [package.metadata.binstall] differs from the release's", "run `invoke binstall-metadata`")
        return 1
    if runner.allows(proc.Effect.LOCAL, f"write [package.metadata.binstall] into {path}"):
        write_metadata(path, table)
        ui.say(f"{path}: wrote [package.metadata.binstall] for {len(release.archives)} target(s)")
    return 0
