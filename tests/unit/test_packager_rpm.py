"""The rpm channel's pure parts: the spec and rpmlint settings it renders, its version form, its checks, its command."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.packager_fixtures import channel_release, channel_settings, compare_with_expected, fixture_release
from tooling.errors import PackageError
from tooling.packagers import registry, rpm
from tooling.packagers.base import Archive, Release

LINUX_TRIPLES = (
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
)


def rendered(crate_release: Release, **values: Any) -> dict[str, bytes]:
    settings = channel_settings("rpm", **values)
    narrowed = channel_release("rpm", settings, crate_release)
    rpm.check(narrowed, settings)
    return rpm.render(narrowed, settings)


def spec_text(files: dict[str, bytes]) -> str:
    return files["crcsum.spec"].decode()


def without_extras(archive: Archive) -> Archive:
    """The archive without completions and man pages, as a project that configures none ships it."""
    return dataclasses.replace(archive, files=tuple(f for f in archive.files if "/" not in f))


# --- rendering ---------------------------------------------------------------------------------------


def test_stable_release_renders_the_expected_spec_and_lint_settings() -> None:
    files = rendered(fixture_release())
    compare_with_expected("rpm", "stable", files)
    spec = spec_text(files)
    # The musl archives (the default) are the sources, one per architecture.
    assert "%ifarch x86_64\nSource0:        https://example.invalid/crcsum/releases/download/v1.2.0/" in spec
    assert "crcsum-1.2.0-aarch64-unknown-linux-musl.tar.gz\n%global archive_top " in spec
    assert "install -D -m 0644 complete/_crcsum %{buildroot}%{_datadir}/zsh/site-functions/_crcsum" in spec
    assert "%{_mandir}/man1/crcsum.1*\n" in spec
    assert "* Tue Nov 14 2023 Crcsum Maintainers <maintainers@example.invalid> - 1.2.0-1\n" in spec
    assert "statically-linked-binary /usr/bin/crcsum" in files["crcsum.rpmlint.toml"].decode()


def test_prerelease_version_sorts_before_the_release_with_a_tilde() -> None:
    files = rendered(fixture_release("1.2.0-beta.1"))
    compare_with_expected("rpm", "prerelease", files)
    spec = spec_text(files)
    assert "\nVersion:        1.2.0~beta.1\n" in spec
    assert "- 1.2.0~beta.1-1\n" in spec
    assert "/v1.2.0-beta.1/crcsum-1.2.0-beta.1-x86_64-unknown-linux-musl.tar.gz" in spec


def test_gnu_build_without_completions_or_man_page() -> None:
    release = fixture_release(triples=LINUX_TRIPLES)
    release = dataclasses.replace(release, archives=tuple(without_extras(a) for a in release.archives))
    files = rendered(release, linux_libc="gnu", release="3", group="Applications/Text")
    compare_with_expected("rpm", "gnu-without-extras", files)
    spec = spec_text(files)
    assert "-unknown-linux-gnu.tar.gz" in spec and "musl" not in spec
    for absent in ("complete/", "man/", "gzip", "%{_mandir}", "%{_datadir}"):
        assert absent not in spec
    assert "\nRelease:        3\n" in spec and "\nGroup:          Applications/Text\n" in spec
    # A dynamic gnu binary is not static: no filter for it.
    assert "statically-linked-binary" not in files["crcsum.rpmlint.toml"].decode()


def test_only_the_architectures_with_an_archive_are_listed() -> None:
    release = fixture_release(triples=("x86_64-unknown-linux-musl", "x86_64-apple-darwin"))
    spec = spec_text(rendered(release))
    assert "\nExclusiveArch:  x86_64\n" in spec
    assert "aarch64" not in spec


def test_a_project_template_replaces_the_spec(tmp_path: Path) -> None:
    (tmp_path / "rpm").mkdir()
    (tmp_path / "rpm" / "spec.j2").write_text("Name: {{ name }}\nVersion: {{ version }}\n", encoding="utf-8")
    files = rendered(fixture_release("1.2.0-rc.2", templates=tmp_path))
    assert files["crcsum.spec"] == b"Name: crcsum\nVersion: 1.2.0~rc.2\n"
    assert files["crcsum.rpmlint.toml"].startswith(b"# rpmlint settings")


def test_free_text_is_escaped_for_rpm_and_wrapped_for_rpmlint() -> None:
    description = (
        "Checks 100% of the bytes. It reads every file named on the command line, computes its CRC-32 with a "
        "small C routine and prints one line per file"
    )
    spec = spec_text(rendered(fixture_release(description=description)))
    assert "\nSummary:        Checks 100%% of the bytes\n" in spec
    body = spec.split("%description\n", 1)[1].split("\n\n%prep", 1)[0]
    # rpm turns %% back into %; rpmlint wants lines of at most 79 characters; a full stop is added.
    assert body == (
        "Checks 100%% of the bytes. It reads every file named on the command line,\n"
        "computes its CRC-32 with a small C routine and prints one line per file."
    )


def test_the_channel_is_registered() -> None:
    channel = registry.load("rpm")
    assert channel is rpm.CHANNEL
    assert channel.platforms == (("linux", "x86_64"), ("linux", "aarch64"))
    assert channel.tools == ("rpmbuild",)


# --- versions and names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("semver", "expected"),
    [
        ("1.2.0", "1.2.0"),
        ("1.2.0-beta.1", "1.2.0~beta.1"),
        ("0.9.0-rc.10", "0.9.0~rc.10"),
        ("1.2.0+build.5", "1.2.0+build.5"),
        ("2.0.0-alpha.1+exp.sha.5114f85", "2.0.0~alpha.1+exp.sha.5114f85"),
    ],
)
def test_rpm_version(semver: str, expected: str) -> None:
    assert rpm.rpm_version(semver) == expected


@pytest.mark.parametrize("semver", ["1.2.0-rc-1", "1.2.0+build-7", "1.2", "v1.2.0"])
def test_versions_rpm_cannot_hold_are_refused(semver: str) -> None:
    with pytest.raises(PackageError, match=r"^rpm: version: "):
        rpm.rpm_version(semver)


def test_output_files_are_the_spec_the_lint_settings_and_one_rpm_per_architecture() -> None:
    settings = channel_settings("rpm", release="2")
    release = channel_release("rpm", settings, fixture_release("1.2.0-beta.1"))
    assert rpm.output_files(release, settings) == (
        "crcsum-1.2.0~beta.1-2.aarch64.rpm",
        "crcsum-1.2.0~beta.1-2.x86_64.rpm",
        "crcsum.rpmlint.toml",
        "crcsum.spec",
    )


@pytest.mark.parametrize(
    ("description", "summary"),
    [
        ("print CRC-32 checksums.", "Print CRC-32 checksums"),
        ("Fast. Small. Simple.", "Fast"),
        ("First line\nsecond line", "First line"),
        (
            "A tool whose one-line description goes on and on well past the width that rpmlint accepts for summaries",
            "A tool whose one-line description goes on and on well past the width that",
        ),
    ],
)
def test_summary(description: str, summary: str) -> None:
    assert rpm.summary(description) == summary
    assert len(rpm.summary(description)) <= rpm.LINE_LIMIT


def test_changelog_date_is_the_epochs_utc_day_in_english() -> None:
    assert rpm.changelog_date(1_700_000_000) == "Tue Nov 14 2023"
    assert rpm.changelog_date(0) == "Thu Jan 01 1970"


def test_source_url_names_the_file_when_the_url_does_not() -> None:
    archive = fixture_release().archives[2]
    assert rpm.source_url(archive) == archive.url
    odd = dataclasses.replace(archive, url="https://example.invalid/download?id=7&name=x%20y")
    assert rpm.source_url(odd) == f"https://example.invalid/download?id=7&name=x%%20y#/{archive.file}"


# --- bad inputs ------------------------------------------------------------------------------------------


BAD_RELEASES = [
    ("description", {"description": ""}),
    ("license", {"license": ""}),
    ("license", {"license": "Sometimes-Free"}),
    ("homepage", {"homepage": ""}),
    ("homepage", {"homepage": "example.invalid/crcsum"}),
    ("maintainer", {"maintainer": ""}),
    ("name", {"name": "crc sum"}),
    ("binaries", {"binaries": ("crc/sum",)}),
    ("version", {"version": "1.2.0-rc-1"}),
]


@pytest.mark.parametrize(("field", "changes"), BAD_RELEASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_RELEASES)])
def test_bad_release_fields_are_refused_naming_the_field(field: str, changes: dict[str, Any]) -> None:
    settings = channel_settings("rpm")
    release = dataclasses.replace(channel_release("rpm", settings), **changes)
    with pytest.raises(PackageError, match=rf"^rpm: {field}: "):
        rpm.check(release, settings)


@pytest.mark.parametrize(("field", "value"), [("release", "1-2"), ("release", ""), ("group", "Applications\nSystem")])
def test_bad_settings_are_refused_naming_the_setting(field: str, value: str) -> None:
    settings = {**channel_settings("rpm"), field: value}
    with pytest.raises(PackageError, match=rf"^rpm: {field}: "):
        rpm.check(channel_release("rpm", settings), settings)


def test_render_refuses_what_check_refuses() -> None:
    # The packages step checks first; render alone must not write a spec rpmbuild would reject either.
    settings = channel_settings("rpm")
    release = dataclasses.replace(channel_release("rpm", settings), license="Sometimes-Free")
    with pytest.raises(PackageError, match=r"^rpm: license: "):
        rpm.render(release, settings)


# --- the build command -----------------------------------------------------------------------------------


def test_rpmbuild_command_is_reproducible_and_stays_in_its_folder() -> None:
    top = Path("/scratch/rpmbuild-aarch64")
    argv = rpm.rpmbuild_command(Path("/dist/crcsum.spec"), "aarch64", top, Path("/scratch/SOURCES"), "A <a@b.c>")
    assert argv[:5] == ["rpmbuild", "-bb", "--quiet", "--target", "aarch64"]
    assert argv[-1] == "/dist/crcsum.spec"
    defines = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--define"}
    assert {
        "_topdir /scratch/rpmbuild-aarch64",
        "_sourcedir /scratch/SOURCES",
        "_tmppath /scratch/rpmbuild-aarch64/tmp",
        "packager A <a@b.c>",
        "_buildhost reproducible",
        "use_source_date_epoch_as_buildtime 1",
        "clamp_mtime_to_source_date_epoch 1",
        "source_date_epoch_from_changelog 0",
        "_binary_payload w9.gzdio",
    } == defines


def test_build_environment_carries_the_epoch_and_hides_personal_macros() -> None:
    assert rpm.build_environment(1_700_000_000, Path("/scratch")) == {
        "SOURCE_DATE_EPOCH": "1700000000",
        "HOME": "/scratch",
        "LC_ALL": "C",
        "TZ": "UTC",
    }
