"""The Scoop channel: the manifest rendered from the fixture release, its checkver and autoupdate, bad input."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import jsonschema
import pytest

from tests.conftest import require_schemas
from tests.packager_fixtures import (
    channel_release,
    channel_settings,
    compare_with_expected,
    fixture_archive,
    fixture_release,
)
from tooling.errors import PackageError
from tooling.packagers import base, registry, scoop
from tooling.packagers.base import Release

WINDOWS = "x86_64-pc-windows-msvc"


def package(release: Release, **settings: Any) -> dict[str, bytes]:
    """What the packages step does for this channel: check, then render (nothing when check fails)."""
    table = channel_settings("scoop", **settings)
    narrowed = channel_release("scoop", table, release)
    scoop.CHANNEL.check(narrowed, table)
    return scoop.CHANNEL.render(narrowed, table)


def manifest_of(files: dict[str, bytes]) -> dict[str, Any]:
    (content,) = files.values()
    data: dict[str, Any] = json.loads(content)
    return data


def schema_errors(data: dict[str, Any]) -> list[str]:
    """Every error of Scoop's official schema (draft-07, formats checked) for `data`."""
    schema = json.loads((require_schemas() / "scoop" / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def substitute(text: str, version: str) -> str:
    return text.replace("$version", version)


# --- the fixture release, compared with the expected files -------------------------------------


def test_stable_release_renders_the_expected_manifest() -> None:
    files = package(fixture_release())
    compare_with_expected("scoop", "stable", files)
    assert list(files) == ["crcsum.json"]


def test_prerelease_goes_to_its_own_manifest_named_after_its_track() -> None:
    files = package(fixture_release("1.3.0-beta.1"))
    compare_with_expected("scoop", "prerelease", files)
    assert list(files) == ["crcsum-beta.json"]
    assert manifest_of(files)["version"] == "1.3.0-beta.1"


@pytest.mark.parametrize("version", ["1.2.0", "1.3.0-beta.1", "2.0.0-rc.2"])
def test_renders_are_valid_against_scoops_schema(version: str) -> None:
    assert schema_errors(manifest_of(package(fixture_release(version)))) == []


def test_the_schema_check_catches_a_broken_manifest() -> None:
    # So that the schema tests above can fail: a wrong hash, a URL holding a variable, an unknown key.
    data = manifest_of(package(fixture_release()))
    data["architecture"]["64bit"].update(hash="abc", url="https://example.invalid/$version.zip")
    data["unknown"] = True
    assert len(schema_errors(data)) == 3


def test_the_manifest_installs_the_windows_archive() -> None:
    data = manifest_of(package(fixture_release()))
    archive = fixture_archive(WINDOWS)
    assert data["architecture"] == {"64bit": {"url": archive.url, "hash": archive.sha256, "extract_dir": archive.top}}
    assert data["bin"] == "crcsum.exe"
    assert (data["version"], data["license"], data["homepage"]) == ("1.2.0", "MIT", "https://example.invalid/crcsum")


def test_every_binary_gets_a_shim() -> None:
    data = manifest_of(package(fixture_release(binaries=("crcsum", "crcdiff"))))
    assert data["bin"] == ["crcsum.exe", "crcdiff.exe"]


def test_the_channel_serves_windows_x86_64_only() -> None:
    assert registry.load("scoop") is scoop.CHANNEL
    assert scoop.CHANNEL.platforms == (base.WINDOWS_X86_64,)


def test_a_prerelease_skips_the_channel_when_asked() -> None:
    packages = {"channels": ["scoop"], "scoop": channel_settings("scoop", prerelease="skip")}
    assert registry.planned_channels(packages, "1.3.0-beta.1") == ()
    assert registry.planned_channels(packages, "1.3.0") == ("scoop",)


# --- autoupdate -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.2.0", "1.3.0-beta.1"])
def test_autoupdate_gives_the_next_releases_url_and_folder(version: str) -> None:
    data = manifest_of(package(fixture_release(version)))
    update = data["autoupdate"]["architecture"]["64bit"]
    # For the release itself it gives back what the manifest holds ...
    assert substitute(update["url"], version) == data["architecture"]["64bit"]["url"]
    assert substitute(update["extract_dir"], version) == data["architecture"]["64bit"]["extract_dir"]
    # ... and for a later one, where that release's archive will be.
    later = fixture_archive(WINDOWS, "2.0.0")
    assert (substitute(update["url"], "2.0.0"), substitute(update["extract_dir"], "2.0.0")) == (later.url, later.top)


def test_autoupdate_reads_the_hash_from_the_sums_beside_the_archive() -> None:
    data = manifest_of(package(fixture_release()))
    assert data["autoupdate"]["hash"] == {"url": "$baseurl/SHA256SUMS"}
    base_url = data["architecture"]["64bit"]["url"].rpartition("/")[0]
    assert f"{base_url}/SHA256SUMS" == fixture_release().sums_url


def test_autoupdate_names_the_sums_url_when_it_lives_elsewhere() -> None:
    release = fixture_release(sums_url="https://sums.example.invalid/crcsum/1.2.0/SHA256SUMS")
    data = manifest_of(package(release))
    assert data["autoupdate"]["hash"] == {"url": "https://sums.example.invalid/crcsum/$version/SHA256SUMS"}
    assert schema_errors(data) == []


# --- checkver ---------------------------------------------------------------------------------

# What the pages checkver reads contain: links to release tags, newest first.
RELEASES_LIST = """
<a href="/owner/crcsum/releases/tag/v1.4.0-rc.1">1.4.0-rc.1</a>
<a href="/owner/crcsum/releases/tag/v1.3.0-beta.2">1.3.0-beta.2</a>
<a href="/owner/crcsum/releases/tag/v1.3.0">1.3.0</a>
<a href="/owner/crcsum/releases/tag/v1.3.0-beta.1">1.3.0-beta.1</a>
"""
LATEST_PAGE = '<meta property="og:url" content="https://example.invalid/crcsum/releases/tag/v1.3.0">'


def first_match(regex: str, page: str) -> str:
    """The version Scoop's checkver takes: group 1 of the first match (these regexes mean the same in .NET)."""
    found = re.search(regex, page)
    assert found, f"{regex!r} matches nothing"
    return found.group(1)


def test_stable_checkver_reads_the_latest_release_page_of_the_forge() -> None:
    found = manifest_of(package(fixture_release()))["checkver"]
    assert found["url"] == "https://example.invalid/crcsum/releases/latest"
    assert first_match(found["regex"], LATEST_PAGE) == "1.3.0"


def test_prerelease_checkver_finds_the_newest_release_of_its_track() -> None:
    found = manifest_of(package(fixture_release("1.3.0-beta.1")))["checkver"]
    assert found["url"] == "https://example.invalid/crcsum/releases"
    assert first_match(found["regex"], RELEASES_LIST) == "1.3.0-beta.2"


def test_checkver_uses_the_tag_prefix() -> None:
    release = fixture_release(tag="crcsum-v1.2.0")
    found = manifest_of(package(release))["checkver"]
    assert first_match(found["regex"], LATEST_PAGE.replace("tag/v", "tag/crcsum-v")) == "1.3.0"
    assert re.search(found["regex"], LATEST_PAGE) is None


def _on_github(tag_prefix: str = "v") -> Release:
    repo = "https://github.com/owner/crcsum"
    archive = dataclasses.replace(
        fixture_archive(WINDOWS), url=f"{repo}/releases/download/{tag_prefix}1.2.0/crcsum-1.2.0-{WINDOWS}.zip"
    )
    return fixture_release(repository=repo + ".git", tag=f"{tag_prefix}1.2.0", archives=(archive,))


def test_checkver_uses_scoops_github_mode_on_github() -> None:
    assert manifest_of(package(_on_github()))["checkver"] == {"github": "https://github.com/owner/crcsum"}


def test_github_mode_gets_a_regex_for_a_tag_prefix_it_does_not_know() -> None:
    found = manifest_of(package(_on_github("crcsum-v")))["checkver"]
    assert found["github"] == "https://github.com/owner/crcsum"
    assert first_match(found["regex"], "/owner/crcsum/releases/tag/crcsum-v1.3.0") == "1.3.0"


def test_no_checkver_or_autoupdate_when_downloads_live_outside_the_repository() -> None:
    # No page is known to announce new releases there; a guessed checkver would fail in the bucket's update job.
    archive = dataclasses.replace(fixture_archive(WINDOWS), url=f"https://downloads.example.invalid/{WINDOWS}.zip")
    data = manifest_of(package(fixture_release(archives=(archive,))))
    assert "checkver" not in data and "autoupdate" not in data
    assert schema_errors(data) == []


def test_no_checkver_without_a_repository() -> None:
    data = manifest_of(package(fixture_release(repository="")))
    assert "checkver" not in data and "autoupdate" not in data


# --- license ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "written"),
    [
        ("MIT", "MIT"),
        ("mit", "MIT"),
        ("MIT OR Apache-2.0", "MIT|Apache-2.0"),
        ("MIT AND Zlib", "MIT,Zlib"),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0"),
        ("(MIT OR Apache-2.0) AND BSD-3-Clause", "(MIT OR Apache-2.0) AND BSD-3-Clause"),
    ],
)
def test_license_is_written_in_scoops_notation(expression: str, written: str) -> None:
    data = manifest_of(package(fixture_release(license=expression)))
    assert data["license"] == written
    assert schema_errors(data) == []


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"description": ""}, "description"),
        ({"homepage": ""}, "homepage"),
        ({"license": ""}, "license"),
        ({"license": "MIT/Apache-2.0"}, "license"),
        ({"license": "Made-Up-License"}, "license"),
        ({"license": "MIT OR"}, "license"),
        ({"version": "1.2.0 beta"}, "version"),
        ({"version": "1.2.0~beta"}, "version"),
    ],
)
def test_bad_input_names_the_channel_and_the_field(changes: dict[str, str], field: str) -> None:
    with pytest.raises(PackageError, match=rf"^scoop: {field}: ") as raised:
        package(fixture_release(**changes))
    assert raised.value.hint


def test_a_release_without_a_windows_archive_is_refused() -> None:
    with pytest.raises(PackageError, match=r"^scoop: archives: "):
        package(fixture_release(triples=("x86_64-unknown-linux-gnu",)))
