"""Described machines for the pure toolchain, doctor and plan tests: the Rust installs they hold."""

from __future__ import annotations

from pathlib import Path

from tooling.build.toolchain import RustInstall

# rustup's stable toolchain with only the host's std, as on a fresh laptop or CI runner.
RUSTUP = RustInstall(
    rustc=Path("/home/dev/.rustup/toolchains/stable/bin/rustc"),
    cargo=Path("/home/dev/.rustup/toolchains/stable/bin/cargo"),
    version="1.95.0",
    sysroot=Path("/home/dev/.rustup/toolchains/stable"),
    std_targets=frozenset({"x86_64-unknown-linux-gnu"}),
    has_rust_src=False,
    rustup_toolchain="stable-x86_64-unknown-linux-gnu",
)
# Debian's rustc-web with libstd-rust-web-dev:arm64 and rust-web-src.
DEBIAN = RustInstall(
    rustc=Path("/usr/bin/rustc"),
    cargo=Path("/usr/bin/cargo"),
    version="1.96.0",
    sysroot=Path("/usr"),
    std_targets=frozenset({"x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"}),
    has_rust_src=True,
)
