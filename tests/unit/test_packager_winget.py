"""The winget channel: the three manifests rendered from the fixture release, the schemas' rules, bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import require_schemas
from tests.packager_fixtures import (
    channel_release,
    channel_settings,
    compare_with_expected,
    fixture_archive,
    fixture_release,
)
from tooling.errors import PackageError
from tooling.packagers import base, registry, winget
from tooling.packagers.base import Release

WINDOWS = "x86_64-pc-windows-msvc"
IDENTIFIER = "Crcsum.Crcsum"
SCHEMA_FILES = {
    "version": "manifest.version.1.10.0.json",
    "installer": "manifest.installer.1.10.0.json",
    "defaultLocale": "manifest.defaultLocale.1.10.0.json",
}


def package(release: Release, **settings: Any) -> dict[str, bytes]:
    """What the packages step does for this channel: check, then render (nothing when check fails)."""
    table = channel_settings("winget", **{"identifier": IDENTIFIER, **settings})
    narrowed = channel_release("winget", table, release)
    winget.CHANNEL.check(narrowed, table)
    return winget.CHANNEL.render(narrowed, table)


def schema(manifest_type: str) -> dict[str, Any]:
    text = (require_schemas() / "winget" / "1.10.0" / SCHEMA_FILES[manifest_type]).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def schema_errors(data: dict[str, Any]) -> list[str]:
    """Every error of the official 1.10.0 schema of data's ManifestType (draft-07, formats checked)."""
    validator = jsonschema.Draft7Validator(
        schema(data["ManifestType"]), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def manifests(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """{ManifestType: loaded YAML} of the rendered files."""
    loaded = [yaml.safe_load(content) for content in files.values()]
    return {data["ManifestType"]: data for data in loaded}


# --- the fixture release, compared with the expected files -------------------------------------


def test_stable_release_renders_the_expected_manifests() -> None:
    files = package(fixture_release())
    compare_with_expected("winget", "stable", files)
    folder = "manifests/c/Crcsum/Crcsum/1.2.0"
    assert sorted(files) == [
        f"{folder}/Crcsum.Crcsum.installer.yaml",
        f"{folder}/Crcsum.Crcsum.locale.en-US.yaml",
        f"{folder}/Crcsum.Crcsum.yaml",
    ]


def test_separate_prerelease_is_its_own_package() -> None:
    files = package(fixture_release("1.3.0-beta.1"), prerelease="separate", publisher="Ann Example", locale="de-DE")
    compare_with_expected("winget", "prerelease", files)
    folder = "manifests/c/Crcsum/Crcsum/Beta/1.3.0-beta.1"
    assert sorted(files) == [
        f"{folder}/Crcsum.Crcsum.Beta.installer.yaml",
        f"{folder}/Crcsum.Crcsum.Beta.locale.de-DE.yaml",
        f"{folder}/Crcsum.Crcsum.Beta.yaml",
    ]
    assert {data["PackageIdentifier"] for data in manifests(files).values()} == {"Crcsum.Crcsum.Beta"}


def test_a_prerelease_is_skipped_by_default() -> None:
    packages = {"channels": ["winget"], "winget": channel_settings("winget", identifier=IDENTIFIER)}
    assert registry.planned_channels(packages, "1.3.0-beta.1") == ()
    assert registry.planned_channels(packages, "1.3.0") == ("winget",)


@pytest.mark.parametrize(
    ("version", "settings"),
    [("1.2.0", {}), ("1.3.0-beta.1", {"prerelease": "separate"}), ("1.2.0", {"locale": "pt-BR"})],
)
def test_every_file_is_valid_against_its_official_schema(version: str, settings: dict[str, str]) -> None:
    files = package(fixture_release(version), **settings)
    for name, content in files.items():
        data = yaml.safe_load(content)
        assert schema_errors(data) == [], name
        # The first line names the schema of the file's type (aka.ms links ignore case).
        first = content.decode().splitlines()[0]
        assert first.lower() == f"# yaml-language-server: $schema={schema(data['ManifestType'])['$id']}".lower()


def test_the_schema_check_catches_a_broken_manifest() -> None:
    # So that the schema tests can fail: a lower-case letter too many in the hash, no URL scheme.
    installer = manifests(package(fixture_release()))["installer"]
    installer["Installers"][0].update(InstallerSha256="x" + "0" * 63, InstallerUrl="example.invalid/a.zip")
    assert len(schema_errors(installer)) == 2


def test_the_installer_is_the_zip_of_portable_executables() -> None:
    installer = manifests(package(fixture_release(binaries=("crcsum", "crcdiff"))))["installer"]
    archive = fixture_archive(WINDOWS)
    assert (installer["InstallerType"], installer["NestedInstallerType"]) == ("zip", "portable")
    assert installer["Installers"] == [
        {
            "Architecture": "x64",
            "NestedInstallerFiles": [
                {"RelativeFilePath": f"{archive.top}\\crcsum.exe", "PortableCommandAlias": "crcsum"},
                {"RelativeFilePath": f"{archive.top}\\crcdiff.exe", "PortableCommandAlias": "crcdiff"},
            ],
            "InstallerUrl": archive.url,
            "InstallerSha256": archive.sha256.upper(),
        }
    ]


def test_the_version_manifest_names_the_default_locale() -> None:
    found = manifests(package(fixture_release(), locale="de-DE"))
    assert found["version"]["DefaultLocale"] == found["defaultLocale"]["PackageLocale"] == "de-DE"
    assert {data["PackageVersion"] for data in found.values()} == {"1.2.0"}
    assert {data["ManifestVersion"] for data in found.values()} == {"1.10.0"}


def test_the_locale_manifest_holds_the_release_metadata() -> None:
    locale = manifests(package(fixture_release()))["defaultLocale"]
    assert locale["Publisher"] == "Crcsum Maintainers"  # the maintainer without the e-mail address
    assert (locale["PackageName"], locale["License"]) == ("crcsum", "MIT")
    assert locale["ShortDescription"] == "Print CRC-32 checksums of files, computed by a small C routine"
    assert locale["PackageUrl"] == "https://example.invalid/crcsum"
    assert locale["ReleaseNotesUrl"] == "https://example.invalid/crcsum/releases/tag/v1.2.0"
    assert "PublisherUrl" not in locale  # the repository has no owner part


def test_the_publisher_setting_wins_over_the_maintainer() -> None:
    locale = manifests(package(fixture_release(), publisher="Ann Example"))["defaultLocale"]
    assert locale["Publisher"] == "Ann Example"


def test_on_a_forge_the_owner_page_is_the_publisher_url() -> None:
    repo = "https://github.com/owner/crcsum"
    archive = dataclasses.replace(fixture_archive(WINDOWS), url=f"{repo}/releases/download/v1.2.0/a.zip")
    locale = manifests(package(fixture_release(repository=repo + ".git", archives=(archive,))))["defaultLocale"]
    assert locale["PublisherUrl"] == "https://github.com/owner"
    assert locale["ReleaseNotesUrl"] == f"{repo}/releases/tag/v1.2.0"


def test_urls_that_are_not_known_are_left_out() -> None:
    archive = dataclasses.replace(fixture_archive(WINDOWS), url=f"https://downloads.example.invalid/{WINDOWS}.zip")
    files = package(fixture_release(homepage="", archives=(archive,)))
    locale = manifests(files)["defaultLocale"]
    assert "ReleaseNotesUrl" not in locale and "PublisherUrl" not in locale
    assert locale["PackageUrl"] == "https://example.invalid/crcsum"  # the repository stands in for the homepage
    assert schema_errors(locale) == []


def test_an_identifier_of_more_parts_makes_more_folders() -> None:
    files = package(fixture_release(), identifier="ann.Tools.Crcsum")
    assert {str(PurePosixPath(name).parent) for name in files} == {"manifests/a/ann/Tools/Crcsum/1.2.0"}


def test_the_channel_serves_windows_x86_64_only() -> None:
    assert registry.load("winget") is winget.CHANNEL
    assert winget.CHANNEL.platforms == (base.WINDOWS_X86_64,)


# --- the schemas' patterns, as the channel checks them ---------------------------------------------

IDENTIFIERS = [
    "Crcsum.Crcsum",
    "Ann.Tools.Crcsum",
    "A.B.C.D.E.F.G.H",
    "A.B.C.D.E.F.G.H.I",
    "Crcsum",
    "Crcsum..Tool",
    ".Crcsum",
    "Crcsum Tool.X",
    "Crcsum/Tool.X",
    "Crc:sum.X",
    "Crcsum.Tool\u00e9",
    "A" * 32 + ".B",
    "A" * 33 + ".B",
    "Crcsum.Beta-1",
]


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_identifier_check_agrees_with_the_schema(identifier: str) -> None:
    pattern = schema("version")["properties"]["PackageIdentifier"]
    by_schema = not list(jsonschema.Draft7Validator(pattern).iter_errors(identifier))
    by_channel = len(identifier) <= winget.IDENTIFIER_MAX and bool(winget.IDENTIFIER.fullmatch(identifier))
    assert by_channel == by_schema


@pytest.mark.parametrize("locale", ["en-US", "de", "zh-Hant-TW", "x-klingon", "english", "en_US", "e", ""])
def test_locale_check_agrees_with_the_schema(locale: str) -> None:
    pattern = schema("version")["properties"]["DefaultLocale"]
    by_schema = not list(jsonschema.Draft7Validator(pattern).iter_errors(locale))
    assert (len(locale) <= winget.LOCALE_MAX and bool(winget.LOCALE.fullmatch(locale))) == by_schema


@pytest.mark.parametrize("version", ["1.2.0", "1.3.0-beta.1", "1.2.0+build.5", "1.2.0/x", "1.2:0", 'a"b'])
def test_version_check_agrees_with_the_schema(version: str) -> None:
    pattern = schema("version")["properties"]["PackageVersion"]
    by_schema = not list(jsonschema.Draft7Validator(pattern).iter_errors(version))
    assert bool(winget.PACKAGE_VERSION.fullmatch(version)) == by_schema


# --- bad input --------------------------------------------------------------------------------


def test_a_missing_identifier_says_how_to_set_it() -> None:
    with pytest.raises(PackageError, match=r"^winget: identifier: ") as raised:
        package(fixture_release(), identifier="")
    assert "[tool.release.packages.winget]" in raised.value.hint
    assert "identifier = " in raised.value.hint


@pytest.mark.parametrize(
    ("changes", "settings", "field"),
    [
        ({}, {"identifier": "Crcsum"}, "identifier"),
        ({}, {"identifier": "Crcsum Tool.X"}, "identifier"),
        ({}, {"identifier": "A" * 33 + ".Crcsum"}, "identifier"),
        # The prerelease's .Beta makes a ninth part.
        ({"version": "1.3.0-beta.1"}, {"identifier": "A.B.C.D.E.F.G.H", "prerelease": "separate"}, "identifier"),
        ({"version": "1.2.0/1"}, {}, "version"),
        ({}, {"locale": "english"}, "locale"),
        ({"maintainer": ""}, {}, "publisher"),
        ({}, {"publisher": "A"}, "publisher"),
        ({"name": "c"}, {}, "name"),
        ({"license": ""}, {}, "license"),
        ({"license": "GP"}, {}, "license"),
        ({"description": ""}, {}, "description"),
        ({"description": "x" * 257}, {}, "description"),
        ({"binaries": ("c" * 41,)}, {}, "binaries"),
        ({"homepage": "ftp://example.invalid/crcsum"}, {}, "homepage"),
    ],
)
def test_bad_input_names_the_channel_and_the_field(
    changes: dict[str, Any], settings: dict[str, str], field: str
) -> None:
    with pytest.raises(PackageError, match=rf"^winget: {field}: "):
        package(fixture_release(**changes), **settings)


def test_a_download_url_winget_cannot_fetch_is_refused() -> None:
    archive = dataclasses.replace(fixture_archive(WINDOWS), url=f"file:///srv/{WINDOWS}.zip")
    with pytest.raises(PackageError, match=r"^winget: download-url: "):
        package(fixture_release(archives=(archive,)))


def test_a_release_without_a_windows_archive_is_refused() -> None:
    with pytest.raises(PackageError, match=r"^winget: archives: "):
        package(fixture_release(triples=("x86_64-apple-darwin",)))
