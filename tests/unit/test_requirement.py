"""The crate's rustc requirement: rust-version and rust-toolchain(.toml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.build.requirement import (
    ANY_RUSTC,
    RustRequirement,
    find_toolchain_file,
    parse_channel,
    read_requirement,
    rustc_kind,
    toolchain_file_channel,
)
from tooling.errors import ConfigError


@pytest.mark.parametrize(
    ("version", "kind"),
    [("1.96.0", "stable"), ("1.97.0-nightly", "nightly"), ("1.96.0-beta.3", "beta"), ("1.90.0-dev", "nightly")],
)
def test_rustc_kind(version: str, kind: str) -> None:
    assert rustc_kind(version) == kind


@pytest.mark.parametrize(
    ("rust_version", "channel", "version", "fits"),
    [
        ("1.96", None, "1.96.0", True),
        ("1.96", None, "1.95.0", False),
        ("1.96.1", None, "1.96.0", False),
        ("1.96", None, "1.97.0-nightly", True),  # cargo compares the numbers only
        (None, "1.96", "1.96.2", True),
        (None, "1.96", "1.97.0", False),
        (None, "1.96.0", "1.96.1", False),
        (None, "stable", "1.95.0", True),
        (None, "stable", "1.97.0-nightly", False),
        (None, "nightly", "1.97.0-nightly", True),
        (None, "nightly-2026-05-19", "1.95.0", False),
        ("1.90", "1.96", "1.96.0", True),
        (None, None, "anything", True),
    ],
)
def test_problem_is_none_exactly_when_the_rustc_fits(
    rust_version: str | None, channel: str | None, version: str, fits: bool
) -> None:
    assert (RustRequirement(rust_version, channel).problem(version) is None) is fits


def test_problem_says_what_is_wrong() -> None:
    assert RustRequirement("1.96").problem("1.95.0") == "rustc 1.95.0 is older than rust-version 1.96"


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("1.96", "1.96"),
        (" 1.96.0 ", "1.96.0"),
        ("stable", "stable"),
        ("nightly-2026-05-19", "nightly-2026-05-19"),
        ("1.96-x86_64-unknown-linux-gnu", "1.96"),
        ("stable-x86_64-unknown-linux-gnu", "stable"),
    ],
)
def test_parse_channel_drops_the_host(text: str, channel: str) -> None:
    assert parse_channel(text, "rust-toolchain.toml") == channel


def test_parse_channel_rejects_what_rustup_would_not_know() -> None:
    with pytest.raises(ConfigError, match="'latest' is not a toolchain channel"):
        parse_channel("latest", "rust-toolchain.toml")


def test_toml_and_legacy_files(tmp_path: Path) -> None:
    toml = tmp_path / "rust-toolchain.toml"
    toml.write_text('[toolchain]\nchannel = "1.96"\ncomponents = ["rustfmt"]\n', encoding="utf-8")
    assert toolchain_file_channel(toml) == "1.96"
    legacy = tmp_path / "rust-toolchain"
    legacy.write_text("# pinned\nnightly-2026-05-19\n", encoding="utf-8")
    assert toolchain_file_channel(legacy) == "nightly-2026-05-19"
    legacy.write_text('[toolchain]\ncomponents = ["rustfmt"]\n', encoding="utf-8")
    assert toolchain_file_channel(legacy) is None  # no channel: nothing asked


def test_the_crate_folder_wins_over_the_workspace_root(tmp_path: Path) -> None:
    member = tmp_path / "crates" / "tool"
    member.mkdir(parents=True)
    (tmp_path / "rust-toolchain").write_text("1.95\n", encoding="utf-8")
    assert find_toolchain_file(member, tmp_path) == tmp_path / "rust-toolchain"
    (member / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.96"\n', encoding="utf-8")
    assert find_toolchain_file(member, tmp_path) == member / "rust-toolchain.toml"
    requirement = read_requirement("1.90", member, tmp_path)
    assert (requirement.rust_version, requirement.channel) == ("1.90", "1.96")
    assert "rust-toolchain.toml" in requirement.describe()


def test_nothing_outside_the_workspace_counts(tmp_path: Path) -> None:
    (tmp_path / "rust-toolchain").write_text("1.95\n", encoding="utf-8")
    crate = tmp_path / "crate"
    crate.mkdir()
    assert read_requirement(None, crate, crate) == ANY_RUSTC


def test_install_command_names_what_the_crate_asks() -> None:
    assert RustRequirement("1.96").install_command() == "rustup toolchain install 1.96"
    assert RustRequirement("1.90", "1.96.0").install_command() == "rustup toolchain install 1.96.0"
