"""The Chocolatey channel: files rendered from the fixture release, NuGet versions, the nupkg, bad input."""

from __future__ import annotations

import dataclasses
import io
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tests.conftest import require_schemas
from tests.packager_fixtures import (
    channel_release,
    channel_settings,
    compare_with_expected,
    fixture_archive,
    fixture_release,
)
from tooling import proc
from tooling.errors import PackageError
from tooling.packagers import base, chocolatey, registry
from tooling.packagers.base import BuildJob, Release

WINDOWS = "x86_64-pc-windows-msvc"
NUSPEC = "crcsum.nuspec"
INSTALL = "tools/chocolateyinstall.ps1"
UNINSTALL = "tools/chocolateyuninstall.ps1"
EPOCH = 1_700_000_000


def package(release: Release, **settings: Any) -> dict[str, bytes]:
    """What the packages step does for this channel: check, then render (nothing when check fails)."""
    table = channel_settings("chocolatey", **settings)
    narrowed = channel_release("chocolatey", table, release)
    chocolatey.CHANNEL.check(narrowed, table)
    return chocolatey.CHANNEL.render(narrowed, table)


@cache
def nuspec_schema(namespace: str) -> xmlschema.XMLSchema:
    """NuGet's official nuspec schema for `namespace` (the file is a template: {0} is the namespace)."""
    template = (require_schemas() / "nuget" / "nuspec.xsd").read_text(encoding="utf-8")
    return xmlschema.XMLSchema(template.replace("{0}", namespace))


def nuspec_errors(nuspec: bytes) -> list[str]:
    """Every error of NuGet's schema, in the namespace the nuspec itself declares, for `nuspec`."""
    namespace = ElementTree.fromstring(nuspec).tag.partition("}")[0].lstrip("{")
    return [str(error.reason) for error in nuspec_schema(namespace).iter_errors(nuspec.decode("utf-8"))]


def metadata(files: dict[str, bytes], name: str = NUSPEC) -> dict[str, str]:
    return chocolatey.nuspec_metadata(files[name])


# --- the fixture release, compared with the expected files -------------------------------------


def test_stable_release_renders_the_expected_files() -> None:
    files = package(fixture_release())
    compare_with_expected("chocolatey", "stable", files)
    assert sorted(files) == [NUSPEC, INSTALL, UNINSTALL]
    assert metadata(files)["version"] == "1.2.0"


def test_prerelease_is_marked_in_nugets_semver1_form() -> None:
    files = package(fixture_release("1.2.0-beta.1"))
    compare_with_expected("chocolatey", "prerelease", files)
    assert metadata(files)["version"] == "1.2.0-beta0001"


@pytest.mark.parametrize(
    ("version", "license"),
    [
        ("1.2.0", "MIT"),
        ("1.2.0-beta.1", "MIT OR Apache-2.0"),
        ("2.0.0-rc.1.2", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ],
)
def test_nuspecs_are_valid_against_nugets_schema(version: str, license: str) -> None:
    files = package(fixture_release(version, license=license))
    assert nuspec_errors(files[NUSPEC]) == []
    assert ElementTree.fromstring(files[NUSPEC]).tag == "{" + chocolatey.NUSPEC_NAMESPACE + "}package"


@pytest.mark.parametrize(
    ("pattern", "replacement"),
    [
        (r"\s*<authors>.*</authors>", ""),  # a required element missing
        (r"<tags>", "<docsUrl>https://example.invalid/docs</docsUrl><tags>"),  # Chocolatey's, not in NuGet's schema
        (r"<requireLicenseAcceptance>false", "<requireLicenseAcceptance>no"),  # not a boolean
    ],
)
def test_the_schema_check_catches_a_broken_nuspec(pattern: str, replacement: str) -> None:
    # So that the schema tests can fail.
    nuspec = re.sub(pattern, replacement, package(fixture_release())[NUSPEC].decode(), count=1)
    assert nuspec_errors(nuspec.encode()) != []


def test_the_nuspec_describes_the_crate() -> None:
    found = metadata(package(fixture_release()))
    assert found == {
        "id": "crcsum",
        "version": "1.2.0",
        "title": "crcsum",
        "authors": "Crcsum Maintainers",
        "owners": "Crcsum Maintainers",
        "projectUrl": "https://example.invalid/crcsum",
        "licenseUrl": "https://spdx.org/licenses/MIT.html",
        "requireLicenseAcceptance": "false",
        "description": "Print CRC-32 checksums of files, computed by a small C routine",
        "summary": "Print CRC-32 checksums of files, computed by a small C routine",
        "releaseNotes": "https://example.invalid/crcsum/releases/tag/v1.2.0",
        "tags": "crcsum",
    }


def test_settings_choose_id_authors_and_tags() -> None:
    files = package(fixture_release(), id="crcsum.portable", authors="Ann & Bob", tags=["cli", "crc", "cli"])
    assert sorted(files) == ["crcsum.portable.nuspec", INSTALL, UNINSTALL]
    found = metadata(files, "crcsum.portable.nuspec")
    assert (found["id"], found["authors"], found["tags"]) == ("crcsum.portable", "Ann & Bob", "cli crc crcsum")
    assert found["owners"] == "Crcsum Maintainers"
    assert b"<authors>Ann &amp; Bob</authors>" in files["crcsum.portable.nuspec"]
    assert b"'crcsum.portable'" in files[INSTALL]


def test_the_crate_name_is_lower_cased_for_the_id() -> None:
    files = package(fixture_release(name="CrcSum"))
    assert metadata(files, NUSPEC)["id"] == "crcsum"


def test_text_is_xml_escaped() -> None:
    description = 'Checksums <fast> & "small", it\'s C\nSecond line'
    files = package(fixture_release(description=description))
    assert nuspec_errors(files[NUSPEC]) == []
    assert metadata(files)["description"] == description
    assert metadata(files)["summary"] == 'Checksums <fast> & "small", it\'s C'


def test_a_combined_license_is_an_expression_and_a_single_one_a_url() -> None:
    assert chocolatey.license_fields("MIT") == ("https://spdx.org/licenses/MIT.html", "")
    assert chocolatey.license_fields("GPL-2.0+") == ("https://spdx.org/licenses/GPL-2.0-or-later.html", "")
    assert chocolatey.license_fields("mit or apache-2.0") == ("", "MIT OR Apache-2.0")
    files = package(fixture_release(license="MIT OR Apache-2.0"))
    assert b'<license type="expression">MIT OR Apache-2.0</license>' in files[NUSPEC]
    assert b"licenseUrl" not in files[NUSPEC]


def test_no_release_notes_link_when_downloads_live_outside_the_repository() -> None:
    archive = dataclasses.replace(fixture_archive(WINDOWS), url=f"https://downloads.example.invalid/{WINDOWS}.zip")
    files = package(fixture_release(archives=(archive,)))
    assert "releaseNotes" not in metadata(files)
    assert nuspec_errors(files[NUSPEC]) == []


# --- the scripts -------------------------------------------------------------------------------


def test_the_install_script_downloads_and_checks_the_windows_archive() -> None:
    archive = fixture_archive(WINDOWS)
    script = package(fixture_release())[INSTALL].decode()
    assert "Install-ChocolateyZipPackage @packageArgs" in script
    assert f"Url64bit       = '{archive.url}'" in script
    assert f"Checksum64     = '{archive.sha256}'" in script
    assert "ChecksumType64 = 'sha256'" in script
    assert "PackageName    = 'crcsum'" in script
    assert 'UnzipLocation  = "$(Split-Path -parent $MyInvocation.MyCommand.Definition)"' in script


def test_the_uninstall_script_removes_the_unzipped_top_folder() -> None:
    script = package(fixture_release())[UNINSTALL].decode()
    assert f"'{fixture_archive(WINDOWS).top}'" in script
    assert "Remove-Item -LiteralPath $unzipped -Recurse -Force" in script


def test_powershell_strings_double_every_quote_powershell_knows() -> None:
    assert chocolatey.powershell_string("it's") == "'it''s'"
    assert chocolatey.powershell_string("a\u2019b") == "'a\u2019\u2019b'"
    assert chocolatey.powershell_string("$env:x `n") == "'$env:x `n'"


def test_scripts_with_non_ascii_text_get_a_bom_for_windows_powershell() -> None:
    assert chocolatey.powershell_script(b"ascii") == b"ascii"
    assert chocolatey.powershell_script("caf\u00e9".encode()) == b"\xef\xbb\xbf" + "caf\u00e9".encode()
    archive = dataclasses.replace(fixture_archive(WINDOWS), url="https://example.invalid/d\u00e9p\u00f4t/crcsum.zip")
    files = package(fixture_release(archives=(archive,)))
    assert files[INSTALL].startswith(b"\xef\xbb\xbf")
    assert not files[UNINSTALL].startswith(b"\xef\xbb\xbf")


def test_a_project_template_replaces_the_packaged_one(tmp_path: Path) -> None:
    (tmp_path / "chocolatey").mkdir()
    (tmp_path / "chocolatey" / "chocolateyinstall.ps1.j2").write_text(
        "# own script\nInstall-ChocolateyZipPackage -PackageName {{ ps(id) }} -Url64bit {{ ps(archive.url) }}\n",
        encoding="utf-8",
    )
    files = package(fixture_release(templates=tmp_path))
    url = fixture_archive(WINDOWS).url
    assert (
        files[INSTALL]
        == f"# own script\nInstall-ChocolateyZipPackage -PackageName 'crcsum' -Url64bit '{url}'\n".encode()
    )
    assert files[NUSPEC] == package(fixture_release())[NUSPEC]


# --- versions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.2.0", "1.2.0"),
        ("1.2.0-beta.1", "1.2.0-beta0001"),
        ("1.2.0-beta.10", "1.2.0-beta0010"),
        ("1.2.0-rc", "1.2.0-rc"),
        ("1.2.0-rc.1.2", "1.2.0-rc00010002"),
        ("1.2.0-alpha.beta", "1.2.0-alphabeta"),
        ("1.2.0-preview.9999", "1.2.0-preview9999"),
    ],
)
def test_nuget_versions(version: str, expected: str) -> None:
    assert chocolatey.nuget_version(version) == expected


def test_nuget_prerelease_labels_sort_as_the_semver_versions_do() -> None:
    # NuGet 2.x compares SemVer 1 labels as strings, ignoring case; semver compares numbers as numbers.
    ordered = ["1.2.0-alpha", "1.2.0-alpha.1", "1.2.0-alpha.beta", "1.2.0-beta.2", "1.2.0-beta.10", "1.2.0-rc.1"]
    labels = [chocolatey.nuget_version(v).partition("-")[2].lower() for v in ordered]
    assert labels == sorted(labels)


@pytest.mark.parametrize(
    ("version", "why"),
    [
        ("1.2.0-1", "starts with a digit"),
        ("1.2.0-beta-x.1", "holds a hyphen"),
        ("1.2.0-averyverylongprerelease.1", "longer than 20 characters"),
        ("1.2.0-beta.12345", "a number wider than 4 digits"),
        ("1.2.0+build.5", "build metadata"),
        ("1.2", "not semver"),
    ],
)
def test_versions_nuget_cannot_express_are_refused(version: str, why: str) -> None:
    with pytest.raises(PackageError, match=r"^chocolatey: version: "):
        package(fixture_release(version))


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "settings", "field"),
    [
        ({"homepage": ""}, {}, "homepage"),
        ({"description": ""}, {}, "description"),
        ({"license": ""}, {}, "license"),
        ({"license": "MIT/Apache-2.0"}, {}, "license"),
        ({"license": "Proprietary"}, {}, "license"),
        ({}, {"id": "CrcSum"}, "id"),
        ({}, {"id": "crc sum"}, "id"),
        ({}, {"id": "crc..sum"}, "id"),
        ({}, {"id": "-crcsum"}, "id"),
        ({}, {"id": "c" * 101}, "id"),
        ({"name": "crc+sum"}, {}, "id"),
        ({"maintainer": ""}, {}, "authors"),
        ({}, {"tags": ["command line"]}, "tags"),
        ({}, {"tags": [""]}, "tags"),
    ],
)
def test_bad_input_names_the_field_and_renders_nothing(
    changes: dict[str, Any], settings: dict[str, Any], field: str
) -> None:
    files = None
    with pytest.raises(PackageError, match=rf"^chocolatey: {field}: "):
        files = package(fixture_release(**changes), **settings)
    assert files is None


def test_a_windows_archive_that_is_no_zip_is_refused() -> None:
    archive = dataclasses.replace(fixture_archive(WINDOWS), file="crcsum.tar.gz", format="tar.gz")
    with pytest.raises(PackageError, match=r"^chocolatey: archives: .*zip"):
        package(fixture_release(archives=(archive,)))


def test_the_longest_id_nuget_allows_passes() -> None:
    assert chocolatey.id_problem("c" * 100) is None
    assert chocolatey.id_problem("my_tool-2.cli") is None


# --- the channel -------------------------------------------------------------------------------


def test_the_channel_serves_windows_x86_64_and_builds() -> None:
    assert registry.load("chocolatey") is chocolatey.CHANNEL
    assert chocolatey.CHANNEL.platforms == (base.WINDOWS_X86_64,)
    assert chocolatey.CHANNEL.build is not None


def test_a_prerelease_skips_the_channel_only_when_asked() -> None:
    packages = {"channels": ["chocolatey"], "chocolatey": channel_settings("chocolatey", prerelease="skip")}
    assert registry.planned_channels(packages, "1.3.0-beta.1") == ()
    packages["chocolatey"] = channel_settings("chocolatey")
    assert registry.planned_channels(packages, "1.3.0-beta.1") == ("chocolatey",)


# --- the nupkg ---------------------------------------------------------------------------------


def nupkg(files: dict[str, bytes], epoch: int = EPOCH) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(chocolatey.nupkg_bytes(files, NUSPEC, epoch)))


def test_the_nupkg_holds_the_rendered_files_unchanged_and_the_opc_parts() -> None:
    files = package(fixture_release())
    with nupkg(files) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        properties = [n for n in names if n.startswith("package/services/metadata/core-properties/")]
        assert len(properties) == 1 and re.fullmatch(r".*/[0-9a-f]{32}\.psmdcp", properties[0])
        assert set(names) == {"[Content_Types].xml", "_rels/.rels", *files, *properties}
        for name, content in files.items():
            assert archive.read(name) == content
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_the_content_types_cover_every_part() -> None:
    with nupkg(package(fixture_release())) as archive:
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
        defaults = {e.get("Extension"): e.get("ContentType") for e in types if e.tag.endswith("Default")}
        assert defaults == {
            "nuspec": "application/octet",
            "ps1": "application/octet",
            "psmdcp": "application/vnd.openxmlformats-package.core-properties+xml",
            "rels": "application/vnd.openxmlformats-package.relationships+xml",
        }
        assert all(n.rpartition(".")[2] in defaults for n in archive.namelist() if n != "[Content_Types].xml")


def test_a_part_without_extension_gets_an_override() -> None:
    types = ElementTree.fromstring(chocolatey.content_types(["tools/README", "a.nuspec"]))
    assert [(e.tag.rpartition("}")[2], e.attrib) for e in types] == [
        ("Default", {"Extension": "nuspec", "ContentType": "application/octet"}),
        ("Override", {"PartName": "/tools/README", "ContentType": "application/octet"}),
    ]


def test_the_relationships_name_the_nuspec_and_the_core_properties() -> None:
    with nupkg(package(fixture_release())) as archive:
        rels = {e.get("Type"): e.get("Target") for e in ElementTree.fromstring(archive.read("_rels/.rels"))}
        assert rels[chocolatey.MANIFEST_RELATIONSHIP] == "/" + NUSPEC
        assert rels[chocolatey.CORE_PROPERTIES_RELATIONSHIP].lstrip("/") in archive.namelist()


def test_the_core_properties_repeat_the_nuspec_escaped() -> None:
    files = package(fixture_release(description="CRC & <more>"), authors="Ann & Bob")
    with nupkg(files) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".psmdcp")]
        found = {e.tag.rpartition("}")[2]: e.text for e in ElementTree.fromstring(archive.read(name))}
    assert found == {
        "creator": "Ann & Bob",
        "description": "CRC & <more>",
        "identifier": "crcsum",
        "version": "1.2.0",
        "keywords": "crcsum",
        "title": "crcsum",
        "lastModifiedBy": "release-tooling",
    }


def test_the_nupkg_is_the_same_for_the_same_input_only() -> None:
    files = package(fixture_release())
    first = chocolatey.nupkg_bytes(files, NUSPEC, EPOCH)
    assert chocolatey.nupkg_bytes(dict(reversed(files.items())), NUSPEC, EPOCH) == first
    assert chocolatey.nupkg_bytes(files, NUSPEC, EPOCH + 2) != first
    changed = {**files, INSTALL: files[INSTALL] + b"\n"}
    with nupkg(changed) as one, nupkg(files) as other:
        # The core-properties part is named after the content, so a changed package is a different package.
        assert set(one.namelist()) != set(other.namelist())


def test_times_before_1980_are_clamped() -> None:
    with nupkg(package(fixture_release()), epoch=0) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_part_names_that_would_need_encoding_are_refused() -> None:
    files = {**package(fixture_release()), "tools/a b.ps1": b""}
    with pytest.raises(PackageError, match="cannot be a part"):
        chocolatey.nupkg_bytes(files, NUSPEC, EPOCH)


def _job(tmp_path: Path, *, dry_run: bool = False) -> BuildJob:
    settings = channel_settings("chocolatey")
    release = channel_release("chocolatey", settings)
    folder = tmp_path / "chocolatey"
    for name, content in chocolatey.render(release, settings).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return BuildJob(release, settings, folder, tmp_path, proc.Runner(dry_run=dry_run), tmp_path / "scratch")


def test_build_writes_the_nupkg_beside_the_rendered_files(tmp_path: Path) -> None:
    job = _job(tmp_path)
    assert chocolatey.CHANNEL.build is not None
    chocolatey.CHANNEL.build(job)
    written = sorted(p.relative_to(job.folder).as_posix() for p in job.folder.rglob("*") if p.is_file())
    assert written == ["crcsum.1.2.0.nupkg", NUSPEC, INSTALL, UNINSTALL]
    # The package of exactly the rendered files, at the release's epoch.
    expected = chocolatey.nupkg_bytes(package(fixture_release()), NUSPEC, EPOCH)
    assert (job.folder / "crcsum.1.2.0.nupkg").read_bytes() == expected


def test_build_writes_nothing_in_a_dry_run(tmp_path: Path) -> None:
    job = _job(tmp_path, dry_run=True)
    assert chocolatey.CHANNEL.build is not None
    chocolatey.CHANNEL.build(job)
    assert not list(job.folder.glob("*.nupkg"))
