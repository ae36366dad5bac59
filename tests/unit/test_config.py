from __future__ import annotations

import importlib.util
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import in_ci
from tooling import cli
from tooling.artifacts import archive
from tooling.config import (
    COMPRESSION_LEVELS,
    GLIBC_NEWEST,
    archive_formats,
    build_config,
    check_compression_level,
    load_config,
)
from tooling.epoch import epoch_from_env
from tooling.errors import ConfigError
from tooling.targets import ARCHIVE_FORMATS, get_target

CARGO_TOML = """
[package]
name = "taskguard"
version = "1.4.0"
description = "Guards tasks"
license = "MIT"
homepage = "https://example.invalid/taskguard"
authors = ["Tess Guard <tess@example.invalid>"]

[[bin]]
name = "taskguard"
path = "src/main.rs"

[[bin]]
name = "tg-helper"
path = "src/helper.rs"
"""


@pytest.fixture
def crate(tmp_path: Path) -> Path:
    (tmp_path / "crate").mkdir()
    (tmp_path / "crate" / "Cargo.toml").write_text(CARGO_TOML)
    return tmp_path


def config_of(root: Path, **table: Any) -> Any:
    return build_config({"crate": "crate/Cargo.toml", **table}, root, {})


def test_defaults_come_from_cargo_toml(crate: Path) -> None:
    config = config_of(crate)
    assert (config.name, config.version) == ("taskguard", "1.4.0")
    assert config.binaries == ("taskguard", "tg-helper")
    assert config.glibc == "2.17"
    assert config.profile == "release"
    assert len(config.targets) >= 8
    assert config.package.maintainer == "Tess Guard <tess@example.invalid>"
    assert config.package.license == "MIT"
    assert config.package.homepage == "https://example.invalid/taskguard"
    assert config.dist_dir == (crate / "dist").resolve()


def test_table_overrides_cargo_metadata(crate: Path) -> None:
    config = config_of(crate, binaries=["taskguard"], package={"description": "Other words"}, glibc="2.28")
    assert config.binaries == ("taskguard",)
    assert config.package.description == "Other words"
    assert config.glibc == "2.28"


def test_dist_dir_from_environment(crate: Path, tmp_path: Path) -> None:
    config = build_config({"crate": "crate/Cargo.toml"}, crate, {"RELEASE_DIST_DIR": str(tmp_path / "out")})
    assert config.dist_dir == (tmp_path / "out").resolve()


def test_macos_minimum_defaults_and_override(crate: Path) -> None:
    config = config_of(crate, **{"macos-deployment-target": {"aarch64-apple-darwin": "12.0"}})
    by_triple = {t.triple: t for t in config.targets}
    assert config.macos_min(by_triple["aarch64-apple-darwin"]) == "12.0"
    assert config.macos_min(by_triple["x86_64-apple-darwin"]) == "10.12"
    assert config.macos_min(by_triple["x86_64-unknown-linux-gnu"]) is None


# --- every error path: one ConfigError naming the key and the fix -------------

ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({"tragets": ["*"]}, r"unknown key tool\.release\.tragets", "did you mean 'targets'"),
    ({"glibc": 2.17}, r"tool\.release\.glibc must be a string, not a number", "not a number"),
    ({"glibc": "two"}, r"tool\.release\.glibc = 'two' is not a glibc version", "MAJOR.MINOR"),
    ({"targets": "x86_64-unknown-linux-gnu"}, r"tool\.release\.targets must be a list", "not a string"),
    ({"targets": ["sparc-sun-solaris"]}, r"tool\.release\.targets: target pattern 'sparc-sun-solaris'", "known"),
    ({"binaries": ["nope"]}, r"tool\.release\.binaries: nope not a binary of crate 'taskguard'", "taskguard"),
    ({"no-default-features": "yes"}, r"tool\.release\.no-default-features must be true or false", "string"),
    ({"features": [1]}, r"tool\.release\.features must be a list of strings", "list"),
    ({"archive": {"unix": "rar"}}, r"tool\.release\.archive\.unix: 'rar' is not one of tar\.gz, tar\.xz", "tar.gz"),
    ({"archive": {"mac": "zip"}}, r"unknown key tool\.release\.archive\.mac", "unix, windows"),
    ({"package": {"homepag": "x"}}, r"unknown key tool\.release\.package\.homepag", "did you mean 'homepage'"),
    ({"package": {"license": 3}}, r"tool\.release\.package\.license must be a string", ""),
    (
        {"macos-deployment-target": {"x86_64-unknown-linux-gnu": "11.0"}},
        r"macos-deployment-target\.x86_64-unknown-linux-gnu: not a macOS target",
        "",
    ),
    (
        {"macos-deployment-target": {"aarch64-apple-darwn": "11.0"}},
        r"tool\.release\.macos-deployment-target: unknown target triple 'aarch64-apple-darwn'",
        "aarch64-apple-darwin",
    ),
    (
        {"macos-deployment-target": {"aarch64-apple-darwin": "eleven"}},
        r"aarch64-apple-darwin = 'eleven' is not a macOS version",
        "",
    ),
    ({"smoke-expect": ["{version} {arch}"]}, r"smoke-expect: '\{version\} \{arch\}' has an unknown placeholder", ""),
    ({"crate": "missing/Cargo.toml"}, r"tool\.release\.crate: no Cargo\.toml at .*missing", "relative to pyproject"),
]


@pytest.mark.parametrize(("table", "message", "hint"), ERRORS)
def test_config_errors_name_the_key_and_the_fix(crate: Path, table: dict[str, Any], message: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        build_config({"crate": "crate/Cargo.toml", **table}, crate, {})
    assert hint in str(caught.value)


def test_crate_without_package_table(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["a"]\n')
    with pytest.raises(ConfigError, match="has no \\[package\\] table") as caught:
        build_config({"crate": "Cargo.toml"}, tmp_path, {})
    assert "virtual workspace" in str(caught.value)


def test_crate_without_binary(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "lib-only"\nversion = "0.1.0"\n')
    with pytest.raises(ConfigError, match="declares no binary") as caught:
        build_config({"crate": "Cargo.toml"}, tmp_path, {})
    assert "[[bin]]" in str(caught.value)


def test_invalid_toml_in_cargo_manifest(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text("[package\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        build_config({"crate": "Cargo.toml"}, tmp_path, {})


def test_missing_release_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ConfigError, match=r"no pyproject\.toml with a \[tool\.release\] table"):
        load_config(tmp_path, {})


def test_release_config_env_pointing_nowhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"RELEASE_CONFIG=.*no such file"):
        load_config(tmp_path, {"RELEASE_CONFIG": str(tmp_path / "absent.toml")})


def test_cli_reports_config_error_without_traceback(
    crate: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (crate / "pyproject.toml").write_text('[tool.release]\ncrate = "crate/Cargo.toml"\nglibc = "new"\n')
    monkeypatch.chdir(crate)
    monkeypatch.delenv("RELEASE_CONFIG", raising=False)
    code = cli.main(["ci-matrix"])
    err = capsys.readouterr().err
    assert code == ConfigError.exit_code == 2
    assert "tool.release.glibc = 'new' is not a glibc version" in err
    assert "Traceback" not in err


# --- glibc floors: only what zig can target ------------------------------------


@pytest.mark.parametrize("floor", ["2.17", "2.28", "2.44"])
def test_glibc_floors_in_the_supported_range_are_accepted(crate: Path, floor: str) -> None:
    assert config_of(crate, glibc=floor).glibc == floor


@pytest.mark.parametrize(
    ("floor", "why"),
    [
        ("2.71", "newer than any glibc the pinned zig can target"),  # a typo of 2.17
        ("2.99", "newer than any glibc the pinned zig can target"),
        ("2.45", "newer than any glibc the pinned zig can target"),
        ("3.0", "newer than any glibc the pinned zig can target"),
        ("2.16", "older than Rust's standard library supports"),
        ("1.9", "older than Rust's standard library supports"),
    ],
)
def test_glibc_floors_outside_the_range_are_refused_with_the_range(crate: Path, floor: str, why: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"tool.release.glibc = {floor!r} is outside")) as caught:
        config_of(crate, glibc=floor)
    assert why in caught.value.message
    assert caught.value.hint is not None and "2.17 to 2.44" in caught.value.hint


@pytest.mark.parametrize("floor", ["2.017", "2", "2.17.1", " 2.17", ""])
def test_glibc_must_be_written_major_minor(crate: Path, floor: str) -> None:
    with pytest.raises(ConfigError, match="is not a glibc version") as caught:
        config_of(crate, glibc=floor)
    assert "2.17 to 2.44" in str(caught.value)


def newest_glibc_in_abilists(data: bytes) -> tuple[int, int, int]:
    """The last version of zig's lib/libc/glibc/abilists.

    Layout: one byte = number of libraries, that many NUL-terminated names,
    one byte = number of versions, then (major, minor, patch) bytes per version.
    """
    offset = 1
    for _ in range(data[0]):
        offset = data.index(b"\0", offset) + 1
    count = data[offset]
    start = offset + 1 + 3 * (count - 1)
    major, minor, patch = data[start : start + 3]
    return major, minor, patch


def test_abilists_parser_reads_the_documented_layout() -> None:
    data = bytes([2]) + b"c\0m\0" + bytes([3, 2, 0, 0, 2, 17, 0, 2, 44, 0]) + b"symbols follow"
    assert newest_glibc_in_abilists(data) == (2, 44, 0)


def test_glibc_newest_matches_the_pinned_ziglang_wheel() -> None:
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        if in_ci():
            pytest.fail("the ziglang wheel is not installed; CI must install it to check GLIBC_NEWEST")
        pytest.skip("ziglang is not installed here, so GLIBC_NEWEST cannot be compared with its abilists")
    abilists = Path(spec.submodule_search_locations[0]) / "lib" / "libc" / "glibc" / "abilists"
    major, minor, _patch = newest_glibc_in_abilists(abilists.read_bytes())
    assert (major, minor) == GLIBC_NEWEST, "update tooling.config.GLIBC_NEWEST to the pinned ziglang's newest glibc"


# --- macOS minimums -------------------------------------------------------------


def test_macos_minimum_below_rusts_floor_is_refused(crate: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("'10.9' is older than Rust supports")) as caught:
        config_of(crate, **{"macos-deployment-target": {"aarch64-apple-darwin": "10.9"}})
    assert caught.value.hint == 'set "11.0" or newer'
    config = config_of(crate, **{"macos-deployment-target": {"x86_64-apple-darwin": "10.12"}})
    assert config.macos_deployment_target == {"x86_64-apple-darwin": "10.12"}


# --- target selection ------------------------------------------------------------


def test_an_empty_target_list_is_refused(crate: Path) -> None:
    with pytest.raises(ConfigError, match=r"tool\.release\.targets: no target pattern given") as caught:
        config_of(crate, targets=[])
    assert '"*"' in str(caught.value.hint)


def test_exclusions_that_leave_nothing_are_refused_naming_the_patterns(crate: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("'*-linux-*', '!*-linux-*' select no target")):
        config_of(crate, targets=["*-linux-*", "!*-linux-*"])


# --- files that are not what they should be --------------------------------------


def test_pyproject_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.release]\ncrate = "caf\xe9/Cargo.toml"\n')
    for environ in ({}, {"RELEASE_CONFIG": str(tmp_path / "pyproject.toml")}):
        with pytest.raises(ConfigError, match=r"is not UTF-8 text: .*pyproject\.toml \(byte 0xe9 at offset 27\)") as e:
            load_config(tmp_path, environ)
        assert e.value.hint is not None and "UTF-8" in e.value.hint


def test_cargo_toml_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_bytes(b'[package]\nname = "x"\ndescription = "\xff"\n')
    with pytest.raises(ConfigError, match=r"Cargo\.toml .*is not UTF-8 text"):
        build_config({"crate": "Cargo.toml"}, tmp_path, {})


@pytest.mark.parametrize(
    ("package", "problem"),
    [('version = "1.0.0"', "has no name"), ('name = 3\nversion = "1.0.0"', "name must be a non-empty string")],
)
def test_package_without_a_name(tmp_path: Path, package: str, problem: str) -> None:
    (tmp_path / "Cargo.toml").write_text(f"[package]\n{package}\n")
    with pytest.raises(ConfigError, match=re.escape(f"[package] {problem}")) as caught:
        build_config({"crate": "Cargo.toml"}, tmp_path, {})
    assert caught.value.hint is not None and 'add name = "<crate name>"' in caught.value.hint


def test_broken_toml_gets_a_hint(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.release\n")
    with pytest.raises(ConfigError, match="is not valid TOML") as caught:
        load_config(tmp_path, {"RELEASE_CONFIG": str(tmp_path / "pyproject.toml")})
    assert caught.value.hint is not None and "TOML syntax" in caught.value.hint


def test_every_config_error_has_a_hint(crate: Path) -> None:
    for table, _message, _hint in ERRORS:
        with pytest.raises(ConfigError) as caught:
            build_config({"crate": "crate/Cargo.toml", **table}, crate, {})
        assert caught.value.hint, f"{table}: {caught.value.message} has no hint"


def test_versioning_table_is_validated_with_the_config(crate: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key tool\.release\.versioning\.sign-tag") as caught:
        config_of(crate, versioning={"sign-tag": True})
    assert "did you mean 'sign-tags'" in str(caught.value.hint)


# --- the chain's --level ----------------------------------------------------------


def test_archive_formats_of_a_run(crate: Path) -> None:
    config = config_of(crate, targets=["x86_64-unknown-linux-gnu", "x86_64-pc-windows-gnu"])
    assert archive_formats(config, config.targets) == {
        "tar.gz": ("x86_64-unknown-linux-gnu",),
        "zip": ("x86_64-pc-windows-gnu",),
    }
    assert archive_formats(config, config.targets, "tar.zst")["tar.zst"] == ("x86_64-unknown-linux-gnu",)


def test_every_archive_format_has_a_level_range() -> None:
    assert set(COMPRESSION_LEVELS) == set(ARCHIVE_FORMATS)


@pytest.mark.parametrize(
    ("raw", "formats", "expected"),
    [("6", {"tar.gz": ("a",), "zip": ("b",)}, 6), (19, {"tar.zst": ("a",)}, 19), ("0", {"tar.xz": ("a",)}, 0)],
)
def test_levels_every_format_accepts(raw: str | int, formats: dict[str, tuple[str, ...]], expected: int) -> None:
    assert check_compression_level(raw, formats) == expected


@pytest.mark.parametrize(
    ("raw", "formats", "message"),
    [
        ("abc", {"tar.gz": ("a",)}, "--level 'abc' is not a whole number"),
        ("6.5", {"tar.gz": ("a",)}, "--level '6.5' is not a whole number"),
        ("99", {"tar.gz": ("x86_64-unknown-linux-gnu",)}, "--level 99 is out of range for tar.gz archives"),
        ("-1", {"tar.xz": ("a",)}, "--level -1 is out of range for tar.xz archives"),
        ("19", {"tar.zst": ("a",), "zip": ("x86_64-pc-windows-gnu",)}, "(x86_64-pc-windows-gnu): zip takes 0-9"),
        ("0", {"tar.zst": ("a",)}, "tar.zst takes 1-19"),
    ],
)
def test_levels_out_of_range_name_every_formats_range(
    raw: str, formats: dict[str, tuple[str, ...]], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        check_compression_level(raw, formats)
    assert caught.value.hint is not None and "tar.gz 0-9, tar.xz 0-9, tar.zst 1-19, zip 0-9" in caught.value.hint


# --- the release time (SOURCE_DATE_EPOCH) and zip's date range ---------------------


def test_source_date_epoch_checks() -> None:
    assert epoch_from_env({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    assert epoch_from_env({}) is None
    with pytest.raises(ConfigError, match="is not a number of seconds"):
        epoch_from_env({"SOURCE_DATE_EPOCH": "yesterday"})
    with pytest.raises(ConfigError, match="after the year 9999") as caught:
        epoch_from_env({"SOURCE_DATE_EPOCH": "1700000000000000"})
    assert "not milliseconds" in str(caught.value.hint)


def test_zip_refuses_dates_after_2107_and_clamps_before_1980(tmp_path: Path) -> None:
    binary = tmp_path / "tool.exe"
    binary.write_bytes(b"MZ")
    plan = archive.plan_archive(
        name="tool",
        version="1.0.0",
        target=get_target("x86_64-pc-windows-gnu"),
        fmt="zip",
        binaries=[binary],
        extra_files=[],
        extra_base=tmp_path,
    )
    destination = tmp_path / "dist" / plan.file_name
    with pytest.raises(ConfigError, match="is after 2107-12-31, the last date a zip archive can store") as caught:
        archive.write_archive(plan, destination, epoch=99_999_999_999)
    assert "not milliseconds" in str(caught.value.hint)
    assert not destination.exists() and not list(destination.parent.glob("*.tmp"))
    archive.write_archive(plan, destination, epoch=4_354_819_199)  # 2107-12-31T23:59:59Z still fits
    archive.write_archive(plan, destination, epoch=0)  # before 1980: clamped, like other reproducible zips
    with zipfile.ZipFile(destination) as written:
        assert written.infolist()[0].date_time == (1980, 1, 1, 0, 0, 0)


def test_rust_version_and_toolchain_file_make_the_rustc_requirement(crate: Path) -> None:
    manifest = crate / "crate" / "Cargo.toml"
    manifest.write_text(CARGO_TOML.replace('version = "1.4.0"', 'version = "1.4.0"\nrust-version = "1.96"'))
    assert config_of(crate).rust_requirement.describe() == "rust-version 1.96 (Cargo.toml)"
    (crate / "crate" / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.96.0-x86_64-unknown-linux-gnu"\n')
    requirement = config_of(crate).rust_requirement
    assert (requirement.rust_version, requirement.channel) == ("1.96", "1.96.0")


def test_a_toolchain_file_rustup_would_refuse_is_a_config_error(crate: Path) -> None:
    (crate / "crate" / "rust-toolchain").write_text("newest\n")
    with pytest.raises(ConfigError, match="'newest' is not a toolchain channel"):
        config_of(crate)


# --- [tool.release.target."<triple or pattern>"] ----------------------------------------


def test_target_settings_merge_every_matching_table_in_order(crate: Path) -> None:
    config = config_of(
        crate,
        features=["cli"],
        **{"smoke-args": ["--version"]},
        target={
            "*-linux-*": {"features": ["vendored"], "env": {"A": "1", "B": "1"}, "allowed-libraries": ["libz.so.1"]},
            "aarch64-*": {"env": {"B": "2"}, "smoke-args": ["-V"], "smoke-expect": ["{binary} {version}"]},
        },
    )
    arm = config.target_settings(get_target("aarch64-unknown-linux-gnu"))
    assert arm.features == ("cli", "vendored")
    assert dict(arm.env) == {"A": "1", "B": "2"}
    assert (arm.smoke_args, arm.smoke_expect) == (("-V",), ("{binary} {version}",))
    assert arm.allowed_libraries == ("libz.so.1",)
    mac = config.target_settings(get_target("aarch64-apple-darwin"))
    assert (mac.features, dict(mac.env), mac.allowed_libraries) == (("cli",), {"B": "2"}, ())
    assert mac.smoke_args == ("-V",)
    windows = config.target_settings(get_target("x86_64-pc-windows-gnu"))
    assert (windows.smoke_args, windows.smoke_expect) == (("--version",), ("{name}", "{version}"))


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"*-linux-gnux": {}}, "target pattern '\\*-linux-gnux' matches no known target"),
        ({"!*-msvc": {}}, '"!" cannot'),
        ({"*-linux-*": "vendored"}, 'tool.release.target."\\*-linux-\\*" must be a table'),
        ({"*-linux-*": {"featurs": []}}, 'unknown key tool.release.target."\\*-linux-\\*".featurs'),
        ({"*-linux-*": {"env": {"RUSTFLAGS": "-g"}}}, "env.RUSTFLAGS is set by the tool"),
        ({"*-linux-*": {"env": {"MY VAR": "1"}}}, "'MY VAR' is not an environment variable name"),
        ({"*-linux-*": {"smoke-expect": ["{ver}"]}}, "unknown placeholder"),
    ],
)
def test_target_table_mistakes_name_the_table(crate: Path, target: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_of(crate, target=target)


def test_smoke_expect_knows_the_name_placeholders(crate: Path) -> None:
    assert config_of(crate, **{"smoke-expect": ["{name} {crate} {binary} {version} {triple}"]})


def test_jobs_must_be_a_whole_number() -> None:
    from tooling.config import check_jobs

    assert (check_jobs(None), check_jobs("0"), check_jobs(" 3 "), check_jobs(2)) == (0, 0, 3, 2)
    for bad in ("abc", "-1", "1.5", ""):
        with pytest.raises(ConfigError, match="is not a number of parallel jobs"):
            check_jobs(bad)
