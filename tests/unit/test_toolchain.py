from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.machines import DEBIAN, RUSTUP
from tooling import proc
from tooling.build import toolchain
from tooling.build.requirement import RustRequirement
from tooling.build.toolchain import (
    NO_RUSTUP_ADD_ENV,
    ROUTE_BUILD_STD,
    ROUTE_RUSTUP,
    ROUTE_RUSTUP_ADD,
    ROUTE_SYSROOT,
    RustInstall,
    SystemFacts,
    builder_for,
    install_std,
    probe_system,
    readiness,
    resolve,
    rustup_add_allowed,
    std_targets_in,
)
from tooling.errors import CommandError, ToolchainError
from tooling.targets import get_target


def machine(*installs: RustInstall, can_add: bool = False, host_os: str = "linux", xwin: bool = False) -> SystemFacts:
    return SystemFacts(host_os, "x86_64", installs, can_add, xwin)


def test_active_rustup_toolchain_with_the_std_comes_first() -> None:
    chosen = resolve(get_target("x86_64-unknown-linux-gnu"), machine(RUSTUP, DEBIAN))
    assert (chosen.route, chosen.rustc, chosen.build_std) == (ROUTE_RUSTUP, RUSTUP.rustc, False)


def test_rustup_target_add_is_planned_when_rustup_may_add() -> None:
    facts = machine(RUSTUP, DEBIAN, can_add=True)
    chosen = resolve(get_target("aarch64-unknown-linux-gnu"), facts)
    assert (chosen.route, chosen.cargo) == (ROUTE_RUSTUP_ADD, RUSTUP.cargo)
    assert chosen.rustup_toolchain == RUSTUP.rustup_toolchain  # what install_std adds to


def test_a_std_rustup_already_has_needs_no_add() -> None:
    chosen = resolve(get_target("x86_64-unknown-linux-gnu"), machine(RUSTUP, can_add=True))
    assert chosen.route == ROUTE_RUSTUP


def test_other_sysroot_with_the_std_when_rustup_cannot_download() -> None:
    facts = machine(RUSTUP, DEBIAN, can_add=False)
    chosen = resolve(get_target("aarch64-unknown-linux-gnu"), facts)
    assert (chosen.route, chosen.rustc, chosen.cargo, chosen.build_std) == (
        ROUTE_SYSROOT,
        DEBIAN.rustc,
        DEBIAN.cargo,
        False,
    )


def test_build_std_uses_the_rustc_whose_sources_are_installed() -> None:
    facts = machine(RUSTUP, DEBIAN, can_add=False)
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
    facts = machine(RUSTUP, can_add=True, xwin=True)
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


# --- probing is read-only ---------------------------------------------------------


def fake_commands(sysroot: Path, calls: list[tuple[str, ...]]) -> Any:
    """A stand-in for proc's one subprocess call: answers rustup and rustc probes, records every argv."""

    def execute(argv: tuple[str, ...], **kwargs: Any) -> proc.Result:
        calls.append(argv)
        if argv[:3] == ("rustup", "show", "active-toolchain"):
            return proc.Result(argv, 0, "stable-x86_64-unknown-linux-gnu (default)\n")
        if argv[:3] == ("rustup", "toolchain", "list"):
            return proc.Result(argv, 0, "stable-x86_64-unknown-linux-gnu (active, default)\n")
        if argv[1:] == ("-V",):
            return proc.Result(argv, 0, "rustc 1.95.0 (0123abcd 2026-01-01)\n")
        if argv[1:] == ("--print", "sysroot"):
            return proc.Result(argv, 0, f"{sysroot}\n")
        raise AssertionError(f"unexpected command {argv}")

    return execute


@pytest.fixture
def rustup_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, ...]]:
    """A machine with rustup (stable, host std only) and nothing else; returns the argv log."""
    (tmp_path / "lib/rustlib/x86_64-unknown-linux-gnu/lib").mkdir(parents=True)
    (tmp_path / "lib/rustlib/x86_64-unknown-linux-gnu/lib/libstd-0.rlib").write_bytes(b"")
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(proc, "_execute", fake_commands(tmp_path, calls))
    monkeypatch.setattr(shutil, "which", lambda name: f"/fake/bin/{name}" if name == "rustup" else None)
    monkeypatch.setattr(toolchain, "SYSTEM_RUSTC_CANDIDATES", ())
    monkeypatch.delenv(NO_RUSTUP_ADD_ENV, raising=False)
    return calls


def test_probe_system_never_runs_rustup_target_add(rustup_machine: list[tuple[str, ...]]) -> None:
    facts = probe_system()
    assert facts.rustup_can_add
    assert facts.installs[0].std_targets == {"x86_64-unknown-linux-gnu"}
    assert rustup_machine, "the probe asked rustup and rustc"
    assert not [argv for argv in rustup_machine if "add" in argv or "install" in argv]
    # A target it lacks is planned through rustup, not installed while looking.
    assert resolve(get_target("aarch64-apple-darwin"), facts).route == ROUTE_RUSTUP_ADD


def test_no_rustup_add_env_makes_rustup_add_unplannable(
    rustup_machine: list[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NO_RUSTUP_ADD_ENV, "1")
    facts = probe_system()
    assert not facts.rustup_can_add
    with pytest.raises(ToolchainError, match="no Rust standard library for aarch64-apple-darwin"):
        resolve(get_target("aarch64-apple-darwin"), facts)


@pytest.mark.parametrize(
    ("value", "allowed"), [("", True), ("0", True), ("1", False), ("true", False), ("YES", False), (" yes ", False)]
)
def test_rustup_add_allowed_reads_the_switch(value: str, allowed: bool) -> None:
    assert rustup_add_allowed({NO_RUSTUP_ADD_ENV: value}) is allowed


def test_probe_without_rustup_cannot_plan_an_add(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(toolchain, "SYSTEM_RUSTC_CANDIDATES", ())
    facts = probe_system()
    assert (facts.installs, facts.rustup_can_add) == ((), False)


# --- install_std: the build-time effect of the planned add ------------------------------


@dataclasses.dataclass(frozen=True)
class RecordingRunner(proc.Runner):
    """A runner that records commands and answers with a fixed exit code instead of running them."""

    calls: list[tuple[str, ...]] = dataclasses.field(default_factory=list)
    returncode: int = 0
    stderr: str = ""

    def run(self, argv: Sequence[str], **kwargs: Any) -> proc.Result:
        self.calls.append(tuple(argv))
        return proc.Result(tuple(argv), self.returncode, stderr=self.stderr)


def planned(triple: str = "aarch64-unknown-linux-gnu") -> toolchain.Toolchain:
    return resolve(get_target(triple), machine(RUSTUP, DEBIAN, can_add=True))


def test_install_std_adds_the_planned_target_to_the_rustup_toolchain() -> None:
    runner = RecordingRunner()
    install_std(planned(), runner)
    assert runner.calls == [
        ("rustup", "target", "add", "--toolchain", "stable-x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu")
    ]


@pytest.mark.parametrize("can_add", [False, True])
def test_install_std_is_a_no_op_for_routes_that_need_no_download(can_add: bool) -> None:
    runner = RecordingRunner()
    for triple in ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl"):
        chosen = resolve(get_target(triple), machine(RUSTUP, DEBIAN, can_add=can_add))
        if chosen.route != ROUTE_RUSTUP_ADD:
            install_std(chosen, runner)
    assert runner.calls == []


def test_install_std_failure_explains_the_other_routes() -> None:
    runner = RecordingRunner(returncode=1, stderr="info: downloading\nerror: could not download file\n")
    with pytest.raises(ToolchainError, match="could not download file") as caught:
        install_std(planned(), runner)
    text = str(caught.value)
    assert f"{NO_RUSTUP_ADD_ENV}=1" in text
    assert "libstd-rust-web-dev:arm64" in text
    assert "rust-src" in text


def test_install_std_turns_a_missing_rustup_into_a_toolchain_error() -> None:
    class Vanished(RecordingRunner):
        def run(self, argv: Sequence[str], **kwargs: Any) -> proc.Result:
            raise CommandError("cannot run 'rustup': it is not installed or not on PATH")

    with pytest.raises(ToolchainError, match="not installed"):
        install_std(planned(), Vanished())


def test_install_std_in_a_dry_run_only_shows_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    install_std(planned(), proc.Runner(dry_run=True))  # the autouse fixture fails the test if it starts rustup
    assert "rustup target add --toolchain stable-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu" in (
        capsys.readouterr().err
    )


# --- the crate's rust-version and rust-toolchain choose among the rustcs ---------------

NIGHTLY = RustInstall(
    rustc=Path("/home/dev/.rustup/toolchains/nightly/bin/rustc"),
    cargo=Path("/home/dev/.rustup/toolchains/nightly/bin/cargo"),
    version="1.97.0-nightly",
    sysroot=Path("/home/dev/.rustup/toolchains/nightly"),
    std_targets=frozenset({"x86_64-unknown-linux-gnu"}),
    has_rust_src=False,
    rustup_toolchain="nightly-x86_64-unknown-linux-gnu",
)
NEEDS_196 = RustRequirement("1.96")


def test_rust_version_above_rustup_default_chooses_debians_rustc() -> None:
    chosen = resolve(get_target("x86_64-unknown-linux-gnu"), machine(RUSTUP, NIGHTLY, DEBIAN), NEEDS_196)
    assert (chosen.route, chosen.rustc, chosen.version) == (ROUTE_SYSROOT, DEBIAN.rustc, "1.96.0")
    # The nightly is new enough, but a release is built with a stable rustc when one fits.
    assert "rust-version 1.96 (Cargo.toml)" in chosen.how
    assert "ruled out: rustc 1.95.0 (rustup stable-x86_64-unknown-linux-gnu)" in chosen.how


def test_rust_version_filters_the_planned_rustup_add_too() -> None:
    chosen = resolve(get_target("aarch64-unknown-linux-gnu"), machine(RUSTUP, DEBIAN, can_add=True), NEEDS_196)
    assert (chosen.route, chosen.rustc) == (ROUTE_SYSROOT, DEBIAN.rustc)


def test_build_std_only_with_a_rustc_that_fits() -> None:
    with_src = dataclasses.replace(RUSTUP, has_rust_src=True)
    with pytest.raises(ToolchainError, match="no rustc on this machine satisfies"):
        resolve(get_target("x86_64-unknown-linux-musl"), machine(with_src), NEEDS_196)
    chosen = resolve(get_target("x86_64-unknown-linux-musl"), machine(with_src, DEBIAN), NEEDS_196)
    assert (chosen.route, chosen.rustc) == (ROUTE_BUILD_STD, DEBIAN.rustc)


def test_a_nightly_channel_chooses_the_nightly() -> None:
    chosen = resolve(
        get_target("x86_64-unknown-linux-gnu"), machine(RUSTUP, NIGHTLY, DEBIAN), RustRequirement(None, "nightly")
    )
    assert chosen.rustup_toolchain == NIGHTLY.rustup_toolchain


def test_without_a_requirement_stable_wins_over_nightly() -> None:
    chosen = resolve(get_target("x86_64-unknown-linux-gnu"), machine(NIGHTLY, RUSTUP))
    assert chosen.rustup_toolchain == RUSTUP.rustup_toolchain
    assert chosen.reason == ""
    # A nightly is still used when it is the only rustc there is.
    assert resolve(get_target("x86_64-unknown-linux-gnu"), machine(NIGHTLY)).rustc == NIGHTLY.rustc


def test_a_pinned_channel_picks_that_rustup_toolchain() -> None:
    pinned = dataclasses.replace(RUSTUP, version="1.94.1", rustup_toolchain="1.94-x86_64-unknown-linux-gnu")
    chosen = resolve(
        get_target("x86_64-unknown-linux-gnu"), machine(RUSTUP, pinned, DEBIAN), RustRequirement(None, "1.94")
    )
    assert (chosen.route, chosen.rustup_toolchain) == (ROUTE_RUSTUP, pinned.rustup_toolchain)


def test_no_rustc_fits_names_the_requirement_what_was_found_and_the_fixes() -> None:
    with pytest.raises(ToolchainError) as caught:
        resolve(get_target("x86_64-unknown-linux-gnu"), machine(RUSTUP), RustRequirement("1.97"))
    text = str(caught.value)
    assert "rust-version 1.97 (Cargo.toml)" in text
    assert "rustc 1.95.0 (rustup stable-x86_64-unknown-linux-gnu): rustc 1.95.0 is older than rust-version 1.97" in text
    assert "rustup toolchain install 1.97" in text
    assert "apt-get install rustc-web" in text


def test_readiness_shows_the_reason() -> None:
    (row,) = readiness([get_target("x86_64-unknown-linux-gnu")], machine(RUSTUP, DEBIAN), NEEDS_196)
    assert row.ready and "ruled out: rustc 1.95.0" in row.how


def test_rustup_toolchain_names_reads_the_listing() -> None:
    assert toolchain.rustup_toolchain_names("stable-x86_64 (active, default)\nnightly-x86_64\n1.95.0-x86_64\n") == [
        "stable-x86_64",
        "nightly-x86_64",
        "1.95.0-x86_64",
    ]
    assert toolchain.rustup_toolchain_names("no installed toolchains\n") == []
