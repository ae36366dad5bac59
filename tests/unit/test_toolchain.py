from __future__ import annotations

from pathlib import Path

import pytest

from tooling.build.toolchain import (
    ROUTE_BUILD_STD,
    ROUTE_RUSTUP,
    ROUTE_RUSTUP_ADD,
    ROUTE_SYSROOT,
    RustInstall,
    SystemFacts,
    builder_for,
    readiness,
    resolve,
    std_targets_in,
)
from tooling.errors import ToolchainError
from tooling.targets import get_target

RUSTUP = RustInstall(
    rustc=Path("/home/dev/.rustup/toolchains/stable/bin/rustc"),
    cargo=Path("/home/dev/.rustup/toolchains/stable/bin/cargo"),
    version="1.95.0",
    sysroot=Path("/home/dev/.rustup/toolchains/stable"),
    std_targets=frozenset({"x86_64-unknown-linux-gnu"}),
    has_rust_src=False,
    rustup_toolchain="stable-x86_64-unknown-linux-gnu",
)
DEBIAN = RustInstall(
    rustc=Path("/usr/bin/rustc"),
    cargo=Path("/usr/bin/cargo"),
    version="1.96.0",
    sysroot=Path("/usr"),
    std_targets=frozenset({"x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"}),
    has_rust_src=True,
)


def machine(
    *installs: RustInstall, rustup_add: dict[str, bool] | None = None, host_os: str = "linux", xwin: bool = False
) -> SystemFacts:
    return SystemFacts(host_os, "x86_64", installs, rustup_add or {}, xwin)


def test_active_rustup_toolchain_with_the_std_comes_first() -> None:
    chosen = resolve(get_target("x86_64-unknown-linux-gnu"), machine(RUSTUP, DEBIAN))
    assert (chosen.route, chosen.rustc, chosen.build_std) == (ROUTE_RUSTUP, RUSTUP.rustc, False)


def test_rustup_target_add_when_it_worked() -> None:
    facts = machine(RUSTUP, DEBIAN, rustup_add={"aarch64-unknown-linux-gnu": True})
    chosen = resolve(get_target("aarch64-unknown-linux-gnu"), facts)
    assert (chosen.route, chosen.cargo) == (ROUTE_RUSTUP_ADD, RUSTUP.cargo)


def test_other_sysroot_with_the_std_when_rustup_cannot_download() -> None:
    facts = machine(RUSTUP, DEBIAN, rustup_add={"aarch64-unknown-linux-gnu": False})
    chosen = resolve(get_target("aarch64-unknown-linux-gnu"), facts)
    assert (chosen.route, chosen.rustc, chosen.cargo, chosen.build_std) == (
        ROUTE_SYSROOT,
        DEBIAN.rustc,
        DEBIAN.cargo,
        False,
    )


def test_build_std_uses_the_rustc_whose_sources_are_installed() -> None:
    facts = machine(RUSTUP, DEBIAN, rustup_add={"x86_64-unknown-linux-musl": False})
    chosen = resolve(get_target("x86_64-unknown-linux-musl"), facts)
    assert (chosen.route, chosen.rustc, chosen.build_std) == (ROUTE_BUILD_STD, DEBIAN.rustc, True)


def test_build_std_with_rustup_rust_src() -> None:
    with_src = RustInstall(**{**RUSTUP.__dict__, "has_rust_src": True})
    chosen = resolve(get_target("aarch64-apple-darwin"), machine(with_src))
    assert (chosen.route, chosen.rustc) == (ROUTE_BUILD_STD, with_src.rustc)


def test_no_route_lists_every_remedy() -> None:
    with pytest.raises(ToolchainError, match="no Rust standard library for aarch64-unknown-linux-gnu") as caught:
        resolve(get_target("aarch64-unknown-linux-gnu"), machine(RUSTUP))
    text = str(caught.value)
    assert "rustup target add aarch64-unknown-linux-gnu" in text
    assert "tool.release.rustc" in text
    assert "libstd-rust-web-dev:arm64" in text
    assert "rust-src" in text


def test_no_rust_at_all() -> None:
    with pytest.raises(ToolchainError, match="no Rust standard library for x86_64-apple-darwin"):
        resolve(get_target("x86_64-apple-darwin"), machine())


def test_msvc_on_linux_without_xwin_cache_says_where_to_build() -> None:
    with pytest.raises(ToolchainError, match="Microsoft's C runtime") as caught:
        resolve(get_target("x86_64-pc-windows-msvc"), machine(RUSTUP, DEBIAN))
    text = str(caught.value)
    assert "windows-latest" in text
    assert "nox -s build-x86_64-pc-windows-msvc" in text
    assert "cargo-xwin" in text


def test_msvc_on_linux_with_xwin_ready_uses_cargo_xwin() -> None:
    facts = machine(RUSTUP, rustup_add={"x86_64-pc-windows-msvc": True}, xwin=True)
    chosen = resolve(get_target("x86_64-pc-windows-msvc"), facts)
    assert (chosen.builder, chosen.route) == ("cargo-xwin", ROUTE_RUSTUP_ADD)


def test_msvc_on_a_windows_runner_uses_plain_cargo() -> None:
    windows_rustup = RustInstall(**{**RUSTUP.__dict__, "std_targets": frozenset({"x86_64-pc-windows-msvc"})})
    chosen = resolve(get_target("x86_64-pc-windows-msvc"), machine(windows_rustup, host_os="windows"))
    assert (chosen.builder, chosen.route) == ("cargo", ROUTE_RUSTUP)


def test_builder_for_keeps_zigbuild_everywhere() -> None:
    assert builder_for(get_target("aarch64-apple-darwin"), "windows") == "cargo-zigbuild"
    assert builder_for(get_target("x86_64-pc-windows-msvc"), "linux") == "cargo-xwin"


def test_readiness_rows_for_doctor() -> None:
    rows = readiness(
        [get_target("aarch64-unknown-linux-gnu"), get_target("x86_64-pc-windows-msvc")], machine(RUSTUP, DEBIAN)
    )
    assert [(r.triple, r.ready) for r in rows] == [
        ("aarch64-unknown-linux-gnu", True),
        ("x86_64-pc-windows-msvc", False),
    ]
    assert "sysroot std" in rows[0].how and "/usr/bin/rustc" in rows[0].how
    assert "Microsoft" in rows[1].missing


def test_std_targets_in_reads_the_sysroot_layout(tmp_path: Path) -> None:
    (tmp_path / "lib/rustlib/aarch64-unknown-linux-gnu/lib").mkdir(parents=True)
    (tmp_path / "lib/rustlib/aarch64-unknown-linux-gnu/lib/libstd-abc123.rlib").write_bytes(b"")
    (tmp_path / "lib/rustlib/x86_64-apple-darwin/lib").mkdir(parents=True)  # empty: no std
    (tmp_path / "lib/rustlib/src").mkdir(parents=True)
    assert std_targets_in(tmp_path) == {"aarch64-unknown-linux-gnu"}
