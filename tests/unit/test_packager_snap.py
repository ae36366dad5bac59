"""The snap channel: snapcraft.yaml and meta/snap.yaml from a release, snapd's rules, the checks before writing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import require_schemas
from tests.packager_fixtures import channel_release, channel_settings, compare_with_expected, fixture_release
from tooling.errors import PackageError
from tooling.packagers import snap
from tooling.packagers.base import Release


def narrowed(release: Release | None = None, **settings: Any) -> tuple[Release, dict[str, Any]]:
    table = channel_settings("snap", **settings)
    return channel_release("snap", table, release), table


def rendered(release: Release | None = None, **settings: Any) -> dict[str, bytes]:
    """Check and render `release` (default: the fixture release) as the packages step does."""
    chosen, table = narrowed(release, **settings)
    snap.check(chosen, table)
    return snap.render(chosen, table)


def snapcraft(release: Release | None = None, **settings: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(rendered(release, **settings)["snapcraft.yaml"])
    return data


def without_extras(release: Release) -> Release:
    """`release` with archives that hold no completions and no man page."""
    archives = tuple(
        dataclasses.replace(a, files=tuple(f for f in a.files if not f.startswith(("complete/", "man/"))))
        for a in release.archives
    )
    return dataclasses.replace(release, archives=archives)


def schema_validator() -> Draft202012Validator:
    schema = json.loads((require_schemas() / "snapcraft" / "snapcraft.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


# --- rendering --------------------------------------------------------------------------------


def test_stable_release_renders_only_snapcraft_yaml() -> None:
    files = rendered()
    assert list(files) == ["snapcraft.yaml"]  # the .snap files come from build
    compare_with_expected("snap", "stable", files)


def test_stable_snapcraft_yaml_says_what_a_snapcraft_user_needs() -> None:
    data = snapcraft()
    assert (data["name"], data["version"], data["base"], data["grade"]) == ("crcsum", "1.2.0", "core22", "stable")
    assert data["confinement"] == "strict" and data["license"] == "MIT"
    assert data["architectures"] == [
        {"build-on": ["amd64", "arm64"], "build-for": ["amd64"]},
        {"build-on": ["amd64", "arm64"], "build-for": ["arm64"]},
    ]
    assert data["apps"] == {"crcsum": {"command": "bin/crcsum", "plugs": ["home"], "completer": "complete/crcsum.bash"}}
    part = data["parts"]["crcsum"]
    assert part["plugin"] == "dump" and part["source-type"] == "tar"
    musl = {a.arch: a for a in channel_release("snap", channel_settings("snap")).archives}
    assert part["source"] == [{"to amd64": musl["x86_64"].url}, {"to arm64": musl["aarch64"].url}]
    assert part["source-checksum"] == [
        {"to amd64": "sha256/" + musl["x86_64"].sha256},
        {"to arm64": "sha256/" + musl["aarch64"].sha256},
    ]
    assert part["organize"] == {"crcsum": "bin/crcsum"}
    assert part["prime"] == ["LICENSE", "bin/crcsum", "complete/crcsum.bash"]


def test_gnu_setting_takes_the_gnu_archives() -> None:
    part = snapcraft(linux_libc="gnu")["parts"]["crcsum"]
    assert all("linux-gnu" in next(iter(entry.values())) for entry in part["source"])


def test_prerelease_is_marked_devel() -> None:
    files = rendered(fixture_release("1.2.0-beta.1"))
    compare_with_expected("snap", "prerelease", files)
    data = yaml.safe_load(files["snapcraft.yaml"])
    assert data["grade"] == "devel" and data["version"] == "1.2.0-beta.1"


def test_release_without_completions_has_no_completer() -> None:
    files = rendered(without_extras(fixture_release()))
    compare_with_expected("snap", "no-completions", files)
    data = yaml.safe_load(files["snapcraft.yaml"])
    assert data["apps"]["crcsum"] == {"command": "bin/crcsum", "plugs": ["home"]}
    assert data["parts"]["crcsum"]["prime"] == ["LICENSE", "bin/crcsum"]


def test_core24_uses_platforms_instead_of_architectures() -> None:
    files = rendered(base="core24", summary="CRC-32 sums", plugs=["home", "removable-media"], confinement="classic")
    compare_with_expected("snap", "core24", files)
    data = yaml.safe_load(files["snapcraft.yaml"])
    assert "architectures" not in data
    assert data["platforms"] == {
        "amd64": {"build-on": ["amd64", "arm64"], "build-for": ["amd64"]},
        "arm64": {"build-on": ["amd64", "arm64"], "build-for": ["arm64"]},
    }
    assert data["summary"] == "CRC-32 sums" and data["confinement"] == "classic"
    assert data["apps"]["crcsum"]["plugs"] == ["home", "removable-media"]


def test_name_setting_names_the_snap_and_its_part() -> None:
    data = snapcraft(name="crc-tools")
    assert data["name"] == "crc-tools" and list(data["parts"]) == ["crc-tools"]
    assert list(data["apps"]) == ["crcsum"]


def test_one_architecture_only_when_the_release_plans_one() -> None:
    data = snapcraft(fixture_release(triples=("x86_64-unknown-linux-musl",)))
    assert [entry["build-for"] for entry in data["architectures"]] == [["amd64"]]
    assert [next(iter(entry)) for entry in data["parts"]["crcsum"]["source"]] == ["to amd64"]


@pytest.mark.parametrize(
    ("release", "settings"),
    [
        (fixture_release(), {}),
        (fixture_release("1.2.0-beta.1"), {}),
        (without_extras(fixture_release()), {}),
        (fixture_release(), {"base": "core24"}),
        (fixture_release(), {"base": "core24", "plugs": []}),
        (fixture_release(description='Sums: "quoted", # not a comment\nsecond line ü'), {"summary": "x"}),
    ],
)
def test_snapcraft_yaml_is_valid_against_the_official_schema(release: Release, settings: dict[str, Any]) -> None:
    data = yaml.safe_load(rendered(release, **settings)["snapcraft.yaml"])
    errors = [error.message for error in schema_validator().iter_errors(data)]
    assert errors == []


def test_schema_check_rejects_the_wrong_architecture_form_for_the_base() -> None:
    """The schema test has teeth: core24 has no `architectures`, core22 no `platforms`."""
    data = snapcraft()
    data["base"] = "core24"
    assert list(schema_validator().iter_errors(data))


def test_template_override_from_the_project(tmp_path: Path) -> None:
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "snapcraft.yaml.j2").write_text("name: {{ q(name) }}\ngrade: {{ grade }}\n", encoding="utf-8")
    files = rendered(fixture_release(templates=tmp_path))
    assert files == {"snapcraft.yaml": b'name: "crcsum"\ngrade: stable\n'}


# --- meta/snap.yaml and the tree -----------------------------------------------------------------


def test_snap_yaml_of_each_architecture() -> None:
    release, table = narrowed()
    by_arch = {snap.snap_arch(a): snap.snap_yaml(release, table, a) for a in release.archives}
    assert sorted(by_arch) == ["amd64", "arm64"]
    amd64 = by_arch["amd64"]
    assert amd64 == {
        "name": "crcsum",
        "version": "1.2.0",
        "summary": "Print CRC-32 checksums of files, computed by a small C routine",
        "description": "Print CRC-32 checksums of files, computed by a small C routine",
        "license": "MIT",
        "base": "core22",
        "confinement": "strict",
        "grade": "stable",
        "architectures": ["amd64"],
        "apps": {"crcsum": {"command": "bin/crcsum", "plugs": ["home"], "completer": "complete/crcsum.bash"}},
    }
    assert by_arch["arm64"]["architectures"] == ["arm64"]
    assert snap.snap_yaml_problems(amd64) == []
    assert yaml.safe_load(snap.yaml_document(amd64)) == amd64


def test_snap_file_names_and_tree() -> None:
    release, table = narrowed()
    names = [snap.snap_file_name(release, table, a) for a in release.archives]
    assert names == ["crcsum_1.2.0_amd64.snap", "crcsum_1.2.0_arm64.snap"]
    assert snap.tree_paths(release) == [
        "LICENSE",
        "bin",
        "bin/crcsum",
        "complete",
        "complete/crcsum.bash",
        "meta",
        "meta/snap.yaml",
    ]
    assert snap.tree_paths(without_extras(release)) == ["LICENSE", "bin", "bin/crcsum", "meta", "meta/snap.yaml"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Crcsum"}, "name"),
        ({"version": "1.2.0-"}, "version"),
        ({"summary": "x" * 79}, "summary"),
        ({"summary": "two\nlines"}, "summary"),
        ({"grade": "beta"}, "grade"),
        ({"confinement": "loose"}, "confinement"),
        ({"base": "core18"}, "base"),
        ({"license": "MIT/Apache"}, "license"),
        ({"architectures": ["i386"]}, "architectures"),
        ({"apps": {}}, "apps"),
        ({"apps": {"a_b": {"command": "bin/a"}}}, "apps.a_b"),
        ({"apps": {"a": {"command": "/usr/bin/a"}}}, "apps.a: command"),
        ({"apps": {"a": {"command": "bin/a", "completer": "../x"}}}, "apps.a: completer"),
        ({"apps": {"a": {"command": "bin/a", "plugs": ["Home"]}}}, "apps.a: plugs"),
    ],
)
def test_snap_yaml_rules_catch_each_broken_field(change: dict[str, Any], field: str) -> None:
    release, table = narrowed()
    data = {**snap.snap_yaml(release, table, release.archives[0]), **change}
    problems = snap.snap_yaml_problems(data)
    assert len(problems) == 1 and problems[0].startswith(field), problems


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'quote " and \\ backslash',
        "new\nline\ttab",
        "- looks: like yaml #",
        "null",
        "yes",
        "ü € 😀",
        "a\u2028b",
    ],
)
def test_yaml_strings_read_back_unchanged(text: str) -> None:
    assert yaml.safe_load("key: " + snap.yaml_string(text)) == {"key": text}


def test_mksquashfs_takes_times_from_the_environment_not_options(tmp_path: Path) -> None:
    # mksquashfs refuses -mkfs-time/-all-time when SOURCE_DATE_EPOCH is set (a release run sets it).
    argv = snap.mksquashfs_command(tmp_path / "tree", tmp_path / "x.snap")
    assert argv[:3] == ["mksquashfs", str(tmp_path / "tree"), str(tmp_path / "x.snap")]
    assert {"-noappend", "-all-root", "-no-xattrs", "-no-fragments"} <= set(argv)
    assert argv[argv.index("-comp") + 1] == "xz"
    assert not {"-mkfs-time", "-all-time", "-fstime"} & set(argv)


# --- names and versions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["crcsum", "a", "x1", "crc-sum", "1password", "a" * 40, "0-a"])
def test_valid_snap_names(name: str) -> None:
    assert snap.name_problems(name) == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "1 to 40"),
        ("a" * 41, "1 to 40"),
        ("Crcsum", "lower-case"),
        ("crc_sum", "lower-case"),
        ("123", "one letter"),
        ("-crc", "start or end"),
        ("crc-", "start or end"),
        ("crc--sum", "two hyphens"),
    ],
)
def test_invalid_snap_names(name: str, problem: str) -> None:
    assert any(problem in p for p in snap.name_problems(name))


@pytest.mark.parametrize("version", ["1.2.0", "1.2.0-beta.1", "1.2.0+build.5", "0.1~git", "1"])
def test_valid_snap_versions(version: str) -> None:
    assert snap.version_problems(version) == []


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("", "1 to 32"),
        ("1.2.3-" + "a" * 27, "1 to 32"),
        ("1.2.0:1", "only letters"),
        ("1.2.0_1", "only letters"),
        ("1.2.0-", "start and end"),
        (".1.2", "start and end"),
    ],
)
def test_invalid_snap_versions(version: str, problem: str) -> None:
    assert any(problem in p for p in snap.version_problems(version))


# --- bad input: PackageError naming the field, before anything is rendered -------------------------


def _zst(release: Release) -> Release:
    archives = tuple(dataclasses.replace(a, format="tar.zst", file=a.file + ".zst") for a in release.archives)
    return dataclasses.replace(release, archives=archives)


@pytest.mark.parametrize(
    ("release", "settings", "field"),
    [
        (fixture_release(), {"name": "Crc_Sum"}, "name"),
        (fixture_release(), {"name": "crc--sum"}, "name"),
        (fixture_release(name="crc__sum"), {}, "name"),
        (fixture_release("1.2.0-alpha.1234567890.1234567890"), {}, "version"),
        (fixture_release(), {"summary": "s" * 79}, "summary"),
        (fixture_release(description="d" * 79), {}, "summary"),
        (fixture_release(description=""), {}, "description"),
        (fixture_release(description="d" * 4097), {"summary": "short"}, "description"),
        (fixture_release(license="MIT/Apache-2.0"), {}, "license"),
        (fixture_release(binaries=("crc_sum",)), {}, "binaries"),
        (fixture_release(), {"plugs": ["Home"]}, "plugs"),
        (_zst(fixture_release()), {}, "archives"),
    ],
)
def test_bad_input_is_refused_naming_the_field(release: Release, settings: dict[str, Any], field: str) -> None:
    chosen, table = narrowed(release, **settings)
    with pytest.raises(PackageError) as caught:
        snap.check(chosen, table)
    assert caught.value.message.startswith(f"snap: {field}: ")


def test_a_release_without_license_leaves_it_out() -> None:
    data = snapcraft(fixture_release(license=""))
    assert "license" not in data
    release, table = narrowed(fixture_release(license=""))
    meta = snap.snap_yaml(release, table, release.archives[0])
    assert "license" not in meta and snap.snap_yaml_problems(meta) == []


def test_the_default_snap_name_is_the_crate_name_in_snap_store_form() -> None:
    assert snap.snap_name(fixture_release(name="Crc_Sum"), channel_settings("snap")) == "crc-sum"
    assert snap.snap_name(fixture_release(), channel_settings("snap", name="crc")) == "crc"
