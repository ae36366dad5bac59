"""The doctor's rows for described machines: which tool each step needs, found or missing, and how to get it."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.machines import DEBIAN, RUSTUP
from tooling import cli, proc, targets
from tooling.build import doctor, native, toolchain
from tooling.build.doctor import FOUND, MISSING, NONE_NEEDED, PLANNED, RELEASE_WIDE, STD, Need
from tooling.build.toolchain import SystemFacts
from tooling.errors import ToolchainError
from tooling.targets import get_target

ADD = ("rustup", "target", "add", "--toolchain", "stable-x86_64-unknown-linux-gnu")


def every_tool(*absent: str) -> dict[str, str | None]:
    """A machine with every tool the doctor knows, except `absent`."""
    names = [*doctor.TOOL_INSTALL, *doctor.SPECIAL_PROBES]
    return {name: None if name in absent else f"/opt/tools/{name}" for name in names}


def laptop(can_add: bool = True, xwin: bool = False) -> SystemFacts:
    """A developer laptop: rustup with the host std, and Debian's rustc-web with arm64 std and rust-src."""
    return SystemFacts("linux", "x86_64", (RUSTUP, DEBIAN), can_add, xwin)


def rows_for(facts: SystemFacts, tools: dict[str, str | None], *triples: str) -> list[Need]:
    chosen = [get_target(t) for t in triples] if triples else list(targets.all_targets())
    return doctor.needs(chosen, facts, tools)


def row(rows: list[Need], triple: str, step: str, tool: str) -> Need:
    matches = [r for r in rows if (r.triple, r.step, r.tool) == (triple, step, tool)]
    assert len(matches) == 1, f"{triple}/{step}/{tool}: {matches}"
    return matches[0]


def tools_of(rows: list[Need], triple: str, step: str) -> list[str]:
    return [r.tool for r in rows if (r.triple, r.step) == (triple, step)]


def test_everything_present_lists_every_target_and_step_with_nothing_missing() -> None:
    rows = rows_for(laptop(xwin=True), every_tool())
    assert doctor.missing(rows) == []
    assert [t.triple for t in targets.all_targets()] == list(
        dict.fromkeys(r.triple for r in rows if r.triple != RELEASE_WIDE)
    )
    # Release binaries of every format are stripped with llvm-objcopy (tooling.build.strip).
    assert tools_of(rows, "x86_64-unknown-linux-gnu", "build") == [STD, "cargo-zigbuild", "zig", "llvm-objcopy"]
    assert tools_of(rows, "aarch64-apple-darwin", "build") == [STD, "cargo-zigbuild", "zig", "llvm-objcopy"]
    assert tools_of(rows, "x86_64-pc-windows-msvc", "build") == [STD, "cargo-xwin", "llvm-objcopy"]
    assert tools_of(rows, "aarch64-unknown-linux-gnu", "smoke") == ["qemu-aarch64", "ld-linux-aarch64.so.1"]
    assert tools_of(rows, "aarch64-unknown-linux-musl", "smoke") == ["qemu-aarch64"]  # static: no loader
    assert tools_of(rows, "x86_64-pc-windows-gnu", "smoke") == ["wine64", "zig"]  # zig builds the shim DLL
    assert row(rows, "x86_64-unknown-linux-gnu", "smoke", "-").status == NONE_NEEDED
    assert "structural" in row(rows, "x86_64-apple-darwin", "smoke", "-").where
    assert [(r.step, r.tool) for r in rows if r.triple == RELEASE_WIDE] == [
        ("sign", "gpg"),
        ("sign", "minisign"),
        ("changelog/notes", "git"),
        ("changelog/notes", "git-cliff"),
        ("verify", "python"),
        ("release gates", "cargo-deny"),
    ]
    assert row(rows, RELEASE_WIDE, "sign", "gpg").where == "/opt/tools/gpg"


def test_the_std_row_names_the_route_resolve_picks() -> None:
    rows = rows_for(laptop(can_add=False), every_tool(), "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu")
    assert row(rows, "x86_64-unknown-linux-gnu", "build", STD).where.startswith("rustup (rustc 1.95.0")
    sysroot = row(rows, "aarch64-unknown-linux-gnu", "build", STD)
    assert (sysroot.status, sysroot.where) == (FOUND, "sysroot std (rustc 1.96.0 at /usr/bin/rustc)")


def test_no_qemu() -> None:
    rows = rows_for(laptop(xwin=True), every_tool("qemu-aarch64"))
    absent = doctor.missing(rows)
    assert {(r.triple, r.tool) for r in absent} == {
        ("aarch64-unknown-linux-gnu", "qemu-aarch64"),
        ("aarch64-unknown-linux-musl", "qemu-aarch64"),
    }
    assert absent[0].install.text() == "apt-get install -y qemu-user"
    assert doctor.install_advice(rows) == ["apt-get install -y qemu-user"]  # once, not per target


def test_a_package_channel_without_its_tool_says_which_debian_package_has_it() -> None:
    tools = every_tool("rpmbuild")
    rows = doctor.needs([], laptop(xwin=True), tools, channel_tools={"rpm": ("rpmbuild",), "deb": ("dpkg-deb",)})
    assert [(r.triple, r.step, r.tool) for r in doctor.missing(rows)] == [(RELEASE_WIDE, "package rpm", "rpmbuild")]
    assert doctor.install_advice(rows) == ["apt-get install -y rpm"]


def test_no_aarch64_loader_enables_the_arm64_architecture_first() -> None:
    rows = rows_for(laptop(), every_tool("ld-linux-aarch64.so.1"))
    loader = row(rows, "aarch64-unknown-linux-gnu", "smoke", "ld-linux-aarch64.so.1")
    assert loader.status == MISSING
    assert loader.install.commands == (
        ("dpkg", "--add-architecture", "arm64"),
        ("apt-get", "update"),
        ("apt-get", "install", "-y", "libc6:arm64"),
    )


def test_no_wine() -> None:
    rows = rows_for(laptop(xwin=True), every_tool("wine64"))
    absent = doctor.missing(rows)
    assert [(r.triple, r.step, r.tool) for r in absent] == [
        ("x86_64-pc-windows-msvc", "smoke", "wine64"),
        ("x86_64-pc-windows-gnu", "smoke", "wine64"),
    ]
    assert doctor.install_advice(rows) == ["apt-get install -y wine wine64"]


def test_no_gpg_is_a_release_wide_gap() -> None:
    rows = rows_for(laptop(), every_tool("gpg"), "x86_64-unknown-linux-gnu")
    assert [(r.triple, r.step, r.tool) for r in doctor.missing(rows)] == [(RELEASE_WIDE, "sign", "gpg")]
    assert doctor.install_advice(rows) == ["apt-get install -y gnupg"]


def test_wheels_are_installed_with_pip() -> None:
    rows = rows_for(laptop(), every_tool("zig", "cargo-zigbuild", "git-cliff"), "x86_64-unknown-linux-gnu")
    assert doctor.install_advice(rows) == ["pip install cargo-zigbuild", "pip install ziglang", "pip install git-cliff"]


def test_msvc_on_linux_without_the_crt_says_where_to_build() -> None:
    rows = rows_for(laptop(), every_tool("cargo-xwin"), "x86_64-pc-windows-msvc")
    std = row(rows, "x86_64-pc-windows-msvc", "build", STD)
    assert std.status == MISSING
    assert "Microsoft's C runtime" in std.where
    assert std.install.commands == ()  # no package brings Microsoft's CRT
    assert "windows-latest" in std.install.text()
    assert row(rows, "x86_64-pc-windows-msvc", "build", "cargo-xwin").install.text() == "pip install cargo-xwin"
    assert doctor.fix_commands(rows) == []


def test_msvc_with_xwin_ready_plans_the_std_through_rustup() -> None:
    rows = rows_for(laptop(xwin=True), every_tool(), "x86_64-pc-windows-msvc")
    assert row(rows, "x86_64-pc-windows-msvc", "build", STD).status == PLANNED
    assert doctor.fix_commands(rows) == [[*ADD, "x86_64-pc-windows-msvc"]]


def test_msvc_on_a_windows_runner_needs_plain_cargo_and_runs_natively() -> None:
    windows_rustup = dataclasses.replace(RUSTUP, std_targets=frozenset({"x86_64-pc-windows-msvc"}))
    facts = SystemFacts("windows", "x86_64", (windows_rustup,), True, False)
    rows = rows_for(facts, every_tool(), "x86_64-pc-windows-msvc")
    assert tools_of(rows, "x86_64-pc-windows-msvc", "build") == [STD, "llvm-objcopy"]
    assert row(rows, "x86_64-pc-windows-msvc", "smoke", "-").where == "runs natively"


def test_fix_commands_are_only_the_planned_rustup_adds() -> None:
    # Missing system tools too: --fix must still not install any of them.
    rows = rows_for(laptop(can_add=True), every_tool("qemu-aarch64", "gpg", "wine64", "cargo-xwin"))
    planned = [r.triple for r in rows if r.status == PLANNED]
    assert "x86_64-unknown-linux-gnu" not in planned  # rustup already has it
    assert "x86_64-pc-windows-msvc" not in planned  # no CRT here: no route at all
    assert doctor.fix_commands(rows) == [[*ADD, triple] for triple in planned]
    assert all(command[:3] == ["rustup", "target", "add"] for command in doctor.fix_commands(rows))


def test_no_fix_commands_when_rustup_may_not_add() -> None:
    rows = rows_for(laptop(can_add=False), every_tool())
    assert doctor.fix_commands(rows) == []
    assert PLANNED not in {r.status for r in rows}


def test_a_planned_add_is_not_missing() -> None:
    rows = rows_for(laptop(can_add=True), every_tool(), "aarch64-apple-darwin")
    assert row(rows, "aarch64-apple-darwin", "build", STD).status == PLANNED
    assert doctor.missing(rows) == []


def test_missing_std_without_rustup_names_debian_packages() -> None:
    facts = SystemFacts("linux", "x86_64", (), False, False)
    rows = rows_for(facts, every_tool(), "aarch64-unknown-linux-gnu", "x86_64-apple-darwin")
    assert row(rows, "aarch64-unknown-linux-gnu", "build", STD).install.commands[-1] == (
        "apt-get",
        "install",
        "-y",
        "rustc-web",
        "libstd-rust-web-dev:arm64",
    )
    assert row(rows, "x86_64-apple-darwin", "build", STD).install.text() == "apt-get install -y rustc-web rust-web-src"
    assert doctor.fix_commands(rows) == []


def test_missing_std_with_rustup_that_may_not_add_suggests_the_add_as_advice() -> None:
    rows = rows_for(SystemFacts("linux", "x86_64", (RUSTUP,), False, False), every_tool(), "aarch64-apple-darwin")
    std = row(rows, "aarch64-apple-darwin", "build", STD)
    assert std.status == MISSING
    assert std.install.commands == ((*ADD, "aarch64-apple-darwin"),)
    assert doctor.fix_commands(rows) == []  # not planned: RELEASE_NO_RUSTUP_ADD forbids it


def test_macos_strip_uses_rustups_rust_objcopy_or_needs_llvm() -> None:
    with_rustup = rows_for(laptop(can_add=True), every_tool("llvm-objcopy"), "aarch64-apple-darwin")
    objcopy = row(with_rustup, "aarch64-apple-darwin", "build", "llvm-objcopy")
    assert (objcopy.status, objcopy.where) == (FOUND, "/opt/tools/rust-objcopy")
    # Debian's rustc (build-std route) has no rust-objcopy: LLVM's is needed.
    with_debian = rows_for(laptop(can_add=False), every_tool("llvm-objcopy"), "aarch64-apple-darwin")
    objcopy = row(with_debian, "aarch64-apple-darwin", "build", "llvm-objcopy")
    assert (objcopy.status, objcopy.install.text()) == (MISSING, "apt-get install -y llvm")


def test_table_names_each_target_and_step_once_and_install_only_where_needed() -> None:
    rows = rows_for(laptop(can_add=True), every_tool("qemu-aarch64"), "aarch64-unknown-linux-gnu")
    table = doctor.table_rows(rows)
    assert [line[:3] for line in table] == [
        ["aarch64-unknown-linux-gnu", "build", STD],
        ["", "", "cargo-zigbuild"],
        ["", "", "zig"],
        ["", "", "llvm-objcopy"],
        ["", "smoke", "qemu-aarch64"],
        ["", "", "ld-linux-aarch64.so.1"],
        [RELEASE_WIDE, "sign", "gpg"],
        ["", "", "minisign"],
        ["", "changelog/notes", "git"],
        ["", "", "git-cliff"],
        ["", "verify", "python"],
        ["", "release gates", "cargo-deny"],
    ]
    assert table[0][3].startswith("planned: rustup target add (rustc 1.95.0")
    assert table[0][4] == "rustup target add --toolchain stable-x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu"
    assert table[1][3:] == ["/opt/tools/cargo-zigbuild", ""]
    assert table[4][3:] == ["missing", "apt-get install -y qemu-user"]
    assert all(len(line) == len(doctor.TABLE_COLUMNS) for line in table)


# --- probing ------------------------------------------------------------------------


def test_find_tools_looks_on_path_beside_python_and_in_known_places(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loader = tmp_path / "usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"
    loader.parent.mkdir(parents=True)
    loader.write_bytes(b"")
    bin_dir = tmp_path / "venv/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "git-cliff").write_bytes(b"")

    def no_zig() -> Path:
        raise ToolchainError("the ziglang package is not installed")

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/gpg" if name == "gpg" else None)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setattr(doctor, "zig_path", no_zig)
    monkeypatch.setitem(
        doctor.TOOL_LOCATIONS, "ld-linux-aarch64.so.1", (str(tmp_path / "lib/ld-linux-aarch64.so.1"), str(loader))
    )
    found = doctor.find_tools(SystemFacts("linux", "x86_64", (), False))
    assert found["gpg"] == "/usr/bin/gpg"
    assert found["git-cliff"] == str(bin_dir / "git-cliff")
    assert found["ld-linux-aarch64.so.1"] == str(loader)
    assert found["python"] == str(bin_dir / "python")
    assert (found["zig"], found["minisign"], found["rust-objcopy"]) == (None, None, None)


def test_find_tools_finds_rust_objcopy_in_the_rustup_toolchain(tmp_path: Path) -> None:
    objcopy = tmp_path / "lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-objcopy"
    objcopy.parent.mkdir(parents=True)
    objcopy.write_bytes(b"")
    facts = SystemFacts("linux", "x86_64", (dataclasses.replace(RUSTUP, sysroot=tmp_path), DEBIAN))
    assert doctor.find_tools(facts)["rust-objcopy"] == str(objcopy)


# --- the command line ------------------------------------------------------------------


def test_doctor_still_accepts_the_retired_no_rustup_add_flag(capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.parser().parse_args(["doctor", "--all", "--no-rustup-add", "--strict", "--fix"])
    assert (args.all, args.strict, args.fix) == (True, True, True)
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["doctor", "--help"])
    assert "--no-rustup-add" not in capsys.readouterr().out


@dataclasses.dataclass(frozen=True)
class RecordingRunner(proc.Runner):
    """Records commands instead of running them."""

    calls: list[tuple[str, ...]] = dataclasses.field(default_factory=list)

    def run(self, argv: Sequence[str], **kwargs: Any) -> proc.Result:
        self.calls.append(tuple(argv))
        return proc.Result(tuple(argv), 0)


def doctor_args(runner: proc.Runner, **flags: bool) -> argparse.Namespace:
    return argparse.Namespace(
        **{"all": True, "strict": False, "fix": False, "no_rustup_add": False, **flags}, runner=runner
    )


def test_doctor_fix_runs_only_the_rustup_adds_then_looks_again(monkeypatch: pytest.MonkeyPatch) -> None:
    before = SystemFacts("linux", "x86_64", (RUSTUP,), True, False)
    after_add = dataclasses.replace(RUSTUP, std_targets=frozenset(t.triple for t in targets.all_targets()))
    after = SystemFacts("linux", "x86_64", (after_add,), True, False)
    looks = iter([before, after])
    monkeypatch.setattr(toolchain, "probe_system", lambda extra_rustc=(): next(looks))
    monkeypatch.setattr(doctor, "find_tools", lambda facts: every_tool("qemu-aarch64", "gpg"))
    monkeypatch.setattr(native, "per_target", lambda manifest, chosen: {})
    runner = RecordingRunner()
    assert cli.cmd_doctor(doctor_args(runner, fix=True)) == 0
    assert runner.calls and all(call[:3] == ("rustup", "target", "add") for call in runner.calls)
    assert next(looks, None) is None, "the doctor looked again after fixing"


def test_doctor_without_fix_runs_nothing_and_strict_fails_on_a_missing_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain, "probe_system", lambda extra_rustc=(): laptop(can_add=True, xwin=True))
    monkeypatch.setattr(doctor, "find_tools", lambda facts: every_tool("minisign"))
    monkeypatch.setattr(native, "per_target", lambda manifest, chosen: {})
    runner = RecordingRunner()
    assert cli.cmd_doctor(doctor_args(runner)) == 0
    assert cli.cmd_doctor(doctor_args(runner, strict=True)) == ToolchainError.exit_code
    assert runner.calls == []


# --- the crate's rustc requirement ------------------------------------------------------


def test_std_row_shows_the_rustc_the_crate_needs_and_why() -> None:
    from tooling.build.requirement import RustRequirement

    rows = doctor.needs([get_target("x86_64-unknown-linux-gnu")], laptop(), every_tool(), RustRequirement("1.96"))
    std = row(rows, "x86_64-unknown-linux-gnu", "build", STD)
    assert std.status == FOUND
    assert "rustc 1.96.0 at /usr/bin/rustc" in std.where
    assert "ruled out: rustc 1.95.0 (rustup stable-x86_64-unknown-linux-gnu)" in std.where


def test_no_rustc_meets_the_crate_suggests_the_toolchain_not_a_std() -> None:
    from tooling.build.requirement import RustRequirement

    rows = doctor.needs([get_target("x86_64-unknown-linux-gnu")], laptop(), every_tool(), RustRequirement("1.97"))
    std = row(rows, "x86_64-unknown-linux-gnu", "build", STD)
    assert std.status == MISSING
    assert "rust-version 1.97" in std.where
    assert std.install.commands == (("rustup", "toolchain", "install", "1.97"),)
    no_rustup = SystemFacts("linux", "x86_64", (DEBIAN,), False, False)
    rows = doctor.needs([get_target("x86_64-unknown-linux-gnu")], no_rustup, every_tool(), RustRequirement("1.97"))
    assert row(rows, "x86_64-unknown-linux-gnu", "build", STD).install.text() == "apt-get install -y rustc-web"
