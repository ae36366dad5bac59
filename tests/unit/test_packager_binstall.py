"""The binstall channel: [package.metadata.binstall] that leads cargo-binstall to each archive and binary.

`binstall_urls` and `binstall_bin_path` fill the table the way cargo-binstall
does (written here from its documentation, independently of the module):
`{ key }` placeholders with optional spaces, `\\{ \\} \\\\` escapes, a
per-target `overrides.<triple>` table over the top-level keys, and for
`{ archive-format }` / `{ archive-suffix }` one candidate URL per extension
of the pkg-fmt, of which it downloads the first that exists.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.packager_fixtures import (
    channel_release,
    channel_settings,
    compare_with_expected,
    fixture_archive,
    fixture_release,
)
from tooling.errors import PackageError
from tooling.packagers import binstall
from tooling.packagers.base import Archive, Release

# cargo-binstall's pkg-fmt values and the file extensions it tries for each, in its order.
EXTENSIONS = {
    "tar": (".tar",),
    "tbz2": (".tbz2", ".tar.bz2", ".tbz", ".tar.bz"),
    "tgz": (".tgz", ".tar.gz"),
    "txz": (".txz", ".tar.xz"),
    "tzstd": (".tzstd", ".tzst", ".tar.zst"),
    "zip": (".zip",),
}


def expand(template: str, values: Mapping[str, str]) -> str:
    """A cargo-binstall template filled from `values`; a key without a value is an error, as there."""
    out: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        if char == "\\" and index + 1 < len(template) and template[index + 1] in "\\{}":
            out.append(template[index + 1])
            index += 2
        elif char == "{":
            end = template.index("}", index)
            key = template[index + 1 : end].strip()
            if key not in values:
                raise KeyError(f"{key!r} has no value in {template!r}")
            out.append(values[key])
            index = end + 1
        elif char == "}":
            raise ValueError(f"unescaped }} in {template!r}")
        else:
            out.append(char)
            index += 1
    return "".join(out)


def for_target(table: Mapping[str, Any], triple: str) -> dict[str, Any]:
    """The table's keys as cargo-binstall sees them for `triple`: overrides.<triple> over the top level."""
    merged = {key: value for key, value in table.items() if key != "overrides"}
    merged.update(table.get("overrides", {}).get(triple, {}))
    return merged


def binstall_urls(table: Mapping[str, Any], *, name: str, version: str, repo: str, triple: str) -> list[str]:
    """Every URL cargo-binstall tries for `triple`."""
    settings = for_target(table, triple)
    values = {
        "name": name,
        "version": version,
        "target": triple,
        "repo": repo.rstrip("/"),
        "binary-ext": ".exe" if "windows" in triple else "",
    }
    return [
        expand(settings["pkg-url"], {**values, "archive-format": ext[1:], "archive-suffix": ext, "format": ext[1:]})
        for ext in EXTENSIONS[settings["pkg-fmt"]]
    ]


def binstall_bin_path(table: Mapping[str, Any], *, name: str, version: str, triple: str, binary: str) -> str:
    """Where cargo-binstall looks for `binary` inside the unpacked archive for `triple`."""
    ext = ".exe" if "windows" in triple else ""
    values = {"name": name, "version": version, "target": triple, "bin": binary, "binary-ext": ext, "format": ext}
    return expand(for_target(table, triple)["bin-dir"], values)


def assert_serves_every_archive(table: Mapping[str, Any], release: Release) -> None:
    """cargo-binstall, given `table`, finds each archive of `release` and the binaries inside it."""
    for archive in release.archives:
        urls = binstall_urls(
            table, name=release.name, version=release.version, repo=release.repository, triple=archive.triple
        )
        assert archive.url in urls, archive.triple
        for binary in release.binaries:
            path = binstall_bin_path(
                table, name=release.name, version=release.version, triple=archive.triple, binary=binary
            )
            assert path in {f"{archive.top}/{member}" for member in archive.files}, (archive.triple, path)


def rendered_table(release: Release) -> dict[str, Any]:
    text = binstall.render(release, channel_settings("binstall"))[binstall.OUTPUT].decode("utf-8")
    table: dict[str, Any] = tomllib.loads(text)["package"]["metadata"]["binstall"]
    return table


def with_archive(release: Release, archive: Archive) -> Release:
    return dataclasses.replace(release, archives=(*release.archives, archive))


# --- rendering ----------------------------------------------------------------------------------


def test_stable_release_matches_expected_file() -> None:
    release = fixture_release()
    rendered = binstall.render(release, channel_settings("binstall"))
    compare_with_expected("binstall", "stable", rendered)
    assert rendered_table(release) == {
        "pkg-url": "{ repo }/releases/download/v{ version }/{ name }-{ version }-{ target }.{ archive-format }",
        "bin-dir": "{ name }-{ version }-{ target }/{ bin }{ binary-ext }",
        "pkg-fmt": "tgz",
        "overrides": {"x86_64-pc-windows-msvc": {"pkg-fmt": "zip"}},
    }


def test_templates_lead_to_every_archive_and_binary_of_the_release() -> None:
    release = fixture_release()
    assert len(release.archives) == 7
    assert_serves_every_archive(rendered_table(release), release)


def test_the_narrowed_release_of_the_packages_step_also_renders() -> None:
    settings = channel_settings("binstall")
    release = channel_release("binstall", settings)
    assert_serves_every_archive(rendered_table(release), release)


def test_both_windows_builds_get_a_zip_override() -> None:
    gnu = dataclasses.replace(
        fixture_archive("x86_64-pc-windows-msvc"),
        triple="x86_64-pc-windows-gnu",
        libc="gnu",
        file="crcsum-1.2.0-x86_64-pc-windows-gnu.zip",
        url="https://example.invalid/crcsum/releases/download/v1.2.0/crcsum-1.2.0-x86_64-pc-windows-gnu.zip",
        top="crcsum-1.2.0-x86_64-pc-windows-gnu",
    )
    release = with_archive(fixture_release(), gnu)
    table = rendered_table(release)
    assert table["overrides"] == {
        "x86_64-pc-windows-gnu": {"pkg-fmt": "zip"},
        "x86_64-pc-windows-msvc": {"pkg-fmt": "zip"},
    }
    assert_serves_every_archive(table, release)


def test_unix_tar_xz_archives_set_txz() -> None:
    release = fixture_release()
    archives = tuple(
        dataclasses.replace(
            a,
            format="tar.xz",
            file=a.file.replace(".tar.gz", ".tar.xz"),
            url=a.url.replace(".tar.gz", ".tar.xz"),
        )
        if a.format == "tar.gz"
        else a
        for a in release.archives
    )
    release = dataclasses.replace(release, archives=archives)
    table = rendered_table(release)
    assert table["pkg-fmt"] == "txz"
    assert_serves_every_archive(table, release)


def test_prerelease_uses_the_same_templates() -> None:
    release = fixture_release("1.3.0-beta.1")
    rendered = binstall.render(release, channel_settings("binstall"))
    compare_with_expected("binstall", "prerelease", rendered)
    table = rendered_table(release)
    assert table == rendered_table(fixture_release())
    assert_serves_every_archive(table, release)


def test_repository_ending_in_git_stays_literal() -> None:
    # cargo-binstall's { repo } keeps ".git", while our download URLs drop it.
    release = fixture_release(repository="https://example.invalid/crcsum.git")
    table = rendered_table(release)
    assert table["pkg-url"].startswith("https://example.invalid/crcsum/releases/download/v{ version }/")
    assert_serves_every_archive(table, release)


def test_custom_download_url_with_the_version_and_braces() -> None:
    release = fixture_release()
    archives = tuple(
        dataclasses.replace(a, url=f"https://cdn.example.invalid/{{crc}}/{release.version}/files/{a.file}?raw=1")
        for a in release.archives
    )
    release = dataclasses.replace(release, archives=archives)
    table = rendered_table(release)
    assert table["pkg-url"] == (
        "https://cdn.example.invalid/\\{crc\\}/{ version }/files/"
        "{ name }-{ version }-{ target }.{ archive-format }?raw=1"
    )
    assert_serves_every_archive(table, release)


def test_check_accepts_the_fixture_release() -> None:
    binstall.check(fixture_release(), channel_settings("binstall"))


def test_channel_covers_every_platform() -> None:
    assert len(binstall.CHANNEL.platforms) == 5
    assert binstall.CHANNEL.build is None


# --- bad inputs ---------------------------------------------------------------------------------


def _moved(release: Release, triple: str, **changes: Any) -> Release:
    return dataclasses.replace(
        release,
        archives=tuple(dataclasses.replace(a, **changes) if a.triple == triple else a for a in release.archives),
    )


BAD_RELEASES: dict[str, tuple[Callable[[Release], Release], str]] = {
    "no version": (lambda r: dataclasses.replace(r, version=""), "version"),
    "no name": (lambda r: dataclasses.replace(r, name=""), "name"),
    "no archives": (lambda r: dataclasses.replace(r, archives=()), "archives"),
    "URL without the file name": (
        lambda r: _moved(r, "x86_64-apple-darwin", url="https://example.invalid/download?id=17"),
        "download-url",
    ),
    "URLs in different patterns": (
        lambda r: _moved(
            r,
            "x86_64-apple-darwin",
            url="https://mirror.example.invalid/crcsum-1.2.0-x86_64-apple-darwin.tar.gz",
        ),
        "download-url",
    ),
    "archive format cargo-binstall cannot unpack": (
        lambda r: _moved(
            r,
            "x86_64-apple-darwin",
            format="7z",
            file="crcsum-1.2.0-x86_64-apple-darwin.7z",
            url="https://example.invalid/crcsum/releases/download/v1.2.0/crcsum-1.2.0-x86_64-apple-darwin.7z",
        ),
        "archives",
    ),
    "archive without the binary": (
        lambda r: _moved(r, "aarch64-apple-darwin", files=("LICENSE", "README.md")),
        "archives",
    ),
    "archive named otherwise": (
        lambda r: _moved(
            r,
            "aarch64-apple-darwin",
            file="crcsum-macos-arm64.tar.gz",
            url="https://example.invalid/crcsum/releases/download/v1.2.0/crcsum-macos-arm64.tar.gz",
        ),
        "archives",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RELEASES))
def test_bad_release_raises_naming_the_field_and_renders_nothing(case: str) -> None:
    change, field = BAD_RELEASES[case]
    release = change(fixture_release())
    settings = channel_settings("binstall")
    with pytest.raises(PackageError, match=f"^binstall: {field}: "):
        binstall.check(release, settings)
    with pytest.raises(PackageError, match=f"^binstall: {field}: "):
        binstall.render(release, settings)


# --- write_metadata -----------------------------------------------------------------------------

TABLE = binstall.metadata(fixture_release())

CARGO_TOML = """\
# The sample crate.
[package]
name = "crcsum"   # as published
version = "1.2.0"
repository = "https://example.invalid/crcsum"

# Prebuilt downloads (kept up to date by the release tool).
[package.metadata.binstall]
pkg-url = "{ repo }/old/{ name }.tgz"   # an old layout
pkg-fmt = "tgz"

[package.metadata.binstall.overrides.x86_64-pc-windows-gnu]
pkg-fmt = "zip"

[package.metadata.docs.rs]
all-features = true

[dependencies]
clap = { version = "4", features = ["derive"] }  # the CLI
"""

EXPECTED = """\
# The sample crate.
[package]
name = "crcsum"   # as published
version = "1.2.0"
repository = "https://example.invalid/crcsum"

# Prebuilt downloads (kept up to date by the release tool).
[package.metadata.binstall]
pkg-url = "{ repo }/releases/download/v{ version }/{ name }-{ version }-{ target }.{ archive-format }"
bin-dir = "{ name }-{ version }-{ target }/{ bin }{ binary-ext }"
pkg-fmt = "tgz"

[package.metadata.binstall.overrides.x86_64-pc-windows-msvc]
pkg-fmt = "zip"

[package.metadata.docs.rs]
all-features = true

[dependencies]
clap = { version = "4", features = ["derive"] }  # the CLI
"""


def test_write_metadata_replaces_the_table_and_keeps_the_rest(tmp_path: Path) -> None:
    cargo_toml = tmp_path / "Cargo.toml"
    cargo_toml.write_text(CARGO_TOML, encoding="utf-8")
    assert binstall.write_metadata(cargo_toml, TABLE) is True
    assert cargo_toml.read_text(encoding="utf-8") == EXPECTED
    assert tomllib.loads(EXPECTED)["package"]["metadata"]["binstall"] == TABLE
    assert [p.name for p in tmp_path.iterdir()] == ["Cargo.toml"]  # no temporary left beside it


def test_second_write_is_a_no_op(tmp_path: Path) -> None:
    cargo_toml = tmp_path / "Cargo.toml"
    cargo_toml.write_text(CARGO_TOML, encoding="utf-8")
    binstall.write_metadata(cargo_toml, TABLE)
    before = cargo_toml.stat()
    assert binstall.write_metadata(cargo_toml, TABLE) is False
    after = cargo_toml.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert cargo_toml.read_text(encoding="utf-8") == EXPECTED


def test_an_equal_table_written_in_another_style_is_left_alone() -> None:
    text = '[package]\nname = "crcsum"\n\n[package.metadata]\nbinstall = { pkg-fmt = "tgz" }\n'
    assert binstall.with_metadata(text, {"pkg-fmt": "tgz"}) == text


ADDED_CASES = {
    "before the next table": (
        '[package]\nname = "crcsum"\nversion = "1.2.0"\n\n[dependencies]\nclap = "4"\n',
        '[package]\nname = "crcsum"\nversion = "1.2.0"\n\n{table}\n[dependencies]\nclap = "4"\n',
    ),
    "at the end": (
        '[package]\nname = "crcsum"\nversion = "1.2.0"\n',
        '[package]\nname = "crcsum"\nversion = "1.2.0"\n\n{table}',
    ),
    "after other metadata": (
        '[package]\nname = "crcsum"\n\n[package.metadata.docs.rs]\nall-features = true\n\n[features]\nx = []\n',
        '[package]\nname = "crcsum"\n\n[package.metadata.docs.rs]\nall-features = true\n\n{table}\n'
        "[features]\nx = []\n",
    ),
}

TABLE_TEXT = (
    "[package.metadata.binstall]\n"
    'pkg-url = "{ repo }/releases/download/v{ version }/{ name }-{ version }-{ target }.{ archive-format }"\n'
    'bin-dir = "{ name }-{ version }-{ target }/{ bin }{ binary-ext }"\n'
    'pkg-fmt = "tgz"\n'
    "\n"
    "[package.metadata.binstall.overrides.x86_64-pc-windows-msvc]\n"
    'pkg-fmt = "zip"\n'
)


@pytest.mark.parametrize("case", sorted(ADDED_CASES))
def test_a_new_table_is_added_in_place(case: str) -> None:
    text, expected = ADDED_CASES[case]
    assert binstall.with_metadata(text, TABLE) == expected.replace("{table}", TABLE_TEXT)


def test_the_rendered_file_is_the_table_written_into_cargo_toml(tmp_path: Path) -> None:
    rendered = binstall.render(fixture_release(), channel_settings("binstall"))[binstall.OUTPUT].decode()
    assert TABLE_TEXT in rendered
    assert tomllib.loads(rendered) == {"package": {"metadata": {"binstall": TABLE}}}


BAD_MANIFESTS = {
    "not TOML": ('[package\nname = "crcsum"\n', "not valid TOML"),
    "a workspace root": ('[workspace]\nmembers = ["crcsum"]\n', "has no \\[package\\] table"),
    "metadata not a table": ('[package]\nname = "crcsum"\nmetadata = 3\n', "package.metadata is not a table"),
    "dotted metadata keys": (
        '[package]\nname = "crcsum"\nmetadata.binstall.pkg-url = "old"\n\n[dependencies]\n',
        "cannot place",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_write_metadata_refuses_a_manifest_it_cannot_edit(tmp_path: Path, case: str) -> None:
    text, message = BAD_MANIFESTS[case]
    cargo_toml = tmp_path / "Cargo.toml"
    cargo_toml.write_text(text, encoding="utf-8")
    with pytest.raises(PackageError, match=f"^binstall: .*{message}"):
        binstall.write_metadata(cargo_toml, TABLE)
    assert cargo_toml.read_text(encoding="utf-8") == text


def test_write_metadata_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match=r"^binstall: cannot read .*Cargo\.toml"):
        binstall.write_metadata(tmp_path / "Cargo.toml", TABLE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("table", "message"),
    [({}, "the table to write is empty"), ({"pkg-url": None}, "binstall.pkg-url: None cannot be written")],
)
def test_write_metadata_refuses_a_bad_table(tmp_path: Path, table: dict[str, Any], message: str) -> None:
    cargo_toml = tmp_path / "Cargo.toml"
    cargo_toml.write_text(CARGO_TOML, encoding="utf-8")
    with pytest.raises(PackageError, match=f"^binstall: {message}"):
        binstall.write_metadata(cargo_toml, table)
    assert cargo_toml.read_text(encoding="utf-8") == CARGO_TOML


# --- the test's own expansion -------------------------------------------------------------------


def test_expand_follows_the_template_rules() -> None:
    assert expand("{name}-{ version }\\{x\\}\\\\", {"name": "a", "version": "1"}) == "a-1{x}\\"
    with pytest.raises(KeyError):
        expand("{ repo }/x", {})
