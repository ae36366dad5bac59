"""Crate facts come from the real `cargo metadata`: src/bin/*.rs, workspace inheritance, member choice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling.config import build_config
from tooling.crate import read_crate
from tooling.errors import ConfigError

pytestmark = pytest.mark.integration


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A virtual workspace: `app` (src/main.rs and src/bin/helper.rs) and `tool` (one [[bin]]), a library `core`."""
    require_tool("cargo")
    write(
        tmp_path / "Cargo.toml",
        '[workspace]\nmembers = ["app", "tool", "core"]\nresolver = "2"\n'
        '[workspace.package]\nversion = "2.0.1"\nlicense = "Apache-2.0"\nrust-version = "1.70"\n',
    )
    write(
        tmp_path / "app" / "Cargo.toml",
        '[package]\nname = "app"\nversion.workspace = true\nlicense.workspace = true\n'
        'rust-version.workspace = true\nedition = "2021"\n',
    )
    write(tmp_path / "app" / "src" / "main.rs", "fn main() {}\n")
    write(tmp_path / "app" / "src" / "bin" / "helper.rs", "fn main() {}\n")
    write(
        tmp_path / "tool" / "Cargo.toml",
        '[package]\nname = "tool"\nversion = "0.3.0"\nedition = "2021"\n[[bin]]\nname = "tl"\npath = "main.rs"\n',
    )
    write(tmp_path / "tool" / "main.rs", "fn main() {}\n")
    write(tmp_path / "core" / "Cargo.toml", '[package]\nname = "core"\nversion = "0.1.0"\nedition = "2021"\n')
    write(tmp_path / "core" / "src" / "lib.rs", "")
    return tmp_path


def test_a_member_gets_every_binary_and_inherited_fields(workspace: Path) -> None:
    facts = read_crate(workspace / "app" / "Cargo.toml")
    assert (facts.name, facts.version, facts.license, facts.rust_version) == ("app", "2.0.1", "Apache-2.0", "1.70")
    assert sorted(facts.binaries) == ["app", "helper"]
    assert facts.members == ("app", "core", "tool")


def test_src_bin_helper_can_be_configured(workspace: Path) -> None:
    config = build_config({"crate": "app/Cargo.toml", "binaries": ["helper"]}, workspace, {})
    assert config.binaries == ("helper",) and config.name == "app"


def test_a_workspace_with_several_binary_packages_needs_a_choice(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="2 packages with binaries: app, tool") as caught:
        build_config({"crate": "Cargo.toml"}, workspace, {})
    assert caught.value.hint is not None and 'package = "<name>"' in caught.value.hint
    config = build_config({"crate": "Cargo.toml", "package": "tool"}, workspace, {})
    assert (config.name, config.version, config.binaries) == ("tool", "0.3.0", ("tl",))
    assert config.crate_manifest == workspace / "tool" / "Cargo.toml"


def test_an_unknown_member_is_named_with_the_choices(workspace: Path) -> None:
    with pytest.raises(ConfigError, match="'tol' is not a package") as caught:
        build_config({"crate": "Cargo.toml", "package": "tol"}, workspace, {})
    assert caught.value.hint == "its packages are: app, core, tool"


def test_a_workspace_with_one_binary_package_needs_no_choice(tmp_path: Path) -> None:
    require_tool("cargo")
    write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["cli", "lib"]\nresolver = "2"\n')
    write(tmp_path / "cli" / "Cargo.toml", '[package]\nname = "cli"\nversion = "1.0.0"\nedition = "2021"\n')
    write(tmp_path / "cli" / "src" / "main.rs", "fn main() {}\n")
    write(tmp_path / "lib" / "Cargo.toml", '[package]\nname = "lib"\nversion = "1.0.0"\nedition = "2021"\n')
    write(tmp_path / "lib" / "src" / "lib.rs", "")
    config = build_config({"crate": "Cargo.toml"}, tmp_path, {})
    assert (config.name, config.binaries) == ("cli", ("cli",))


def test_cargo_refusing_the_manifest_is_one_message(tmp_path: Path) -> None:
    require_tool("cargo")
    write(tmp_path / "Cargo.toml", '[package]\nname = "x"\nversion = "not-semver"\n')
    with pytest.raises(ConfigError, match="cargo cannot read") as caught:
        build_config({"crate": "Cargo.toml"}, tmp_path, {})
    assert caught.value.hint is not None and "cargo metadata" in caught.value.hint


def test_check_validates_and_says_what_each_target_needs() -> None:
    """`python -m tooling check` on this repository's sample: valid, the plan, and the tools still missing (if any)."""
    result = subprocess.run(
        [sys.executable, "-m", "tooling", "check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "crcsum 0.1.0: configuration and crate are valid" in result.stderr
    assert "release plan" in result.stderr and "x86_64-pc-windows-msvc" in result.stderr
    assert "Traceback" not in result.stderr
