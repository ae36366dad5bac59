from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tooling import cli
from tooling.config import build_config, load_config
from tooling.crate import read_crate
from tooling.errors import ConfigError

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


def test_workspace_inherited_version(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[workspace]\nmembers = ["app"]\n[workspace.package]\nversion = "2.0.1"\nlicense = "Apache-2.0"\n'
    )
    (tmp_path / "app" / "src").mkdir(parents=True)
    (tmp_path / "app" / "src" / "main.rs").write_text("fn main() {}\n")
    (tmp_path / "app" / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion.workspace = true\nlicense.workspace = true\n'
    )
    facts = read_crate(tmp_path / "app" / "Cargo.toml")
    assert (facts.version, facts.license, facts.binaries) == ("2.0.1", "Apache-2.0", ("app",))


# --- every error path: one ConfigError naming the key and the fix -------------

ERRORS = [
    ({"tragets": ["*"]}, r"unknown key tool\.release\.tragets", "did you mean 'targets'"),
    ({"glibc": 2.17}, r"tool\.release\.glibc must be a glibc version string", "not a number"),
    ({"glibc": "two"}, r"tool\.release\.glibc = 'two' is not a glibc version", "MAJOR.MINOR"),
    ({"targets": "x86_64-unknown-linux-gnu"}, r"tool\.release\.targets must be a list", "not a string"),
    ({"targets": ["sparc-sun-solaris"]}, r"tool\.release\.targets: target pattern 'sparc-sun-solaris'", "known"),
    ({"binaries": ["nope"]}, r"tool\.release\.binaries: nope not a binary of crate 'taskguard'", "taskguard"),
    ({"no-default-features": "yes"}, r"tool\.release\.no-default-features must be true or false", "string"),
    ({"features": [1]}, r"tool\.release\.features must be a list of cargo features", "list"),
    ({"archive": {"unix": "rar"}}, r"tool\.release\.archive\.unix = 'rar' is not an archive format", "tar.gz"),
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
