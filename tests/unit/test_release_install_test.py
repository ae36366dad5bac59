"""The install tests' decisions: which archive or .deb is checked how, the commands, and a dry run that does nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tooling import manifest, proc
from tooling.config import ReleaseConfig, build_config
from tooling.errors import InstallTestError
from tooling.release import install_test as it
from tooling.release.install_test import InstallCheck, PlannedCheck, ReleaseArchive
from tooling.targets import get_target

X86_MUSL = "x86_64-unknown-linux-musl"
X86_GNU = "x86_64-unknown-linux-gnu"
ARM_MUSL = "aarch64-unknown-linux-musl"
ARM_GNU = "aarch64-unknown-linux-gnu"
MAC_ARM = "aarch64-apple-darwin"
MAC_X86 = "x86_64-apple-darwin"
WIN_GNU = "x86_64-pc-windows-gnu"
SEVEN = (X86_GNU, ARM_GNU, X86_MUSL, ARM_MUSL, MAC_X86, MAC_ARM, WIN_GNU)
BOTH_QEMU = frozenset({"aarch64"})
NO_QEMU: frozenset[str] = frozenset()


def archive(triple: str) -> ReleaseArchive:
    suffix = "zip" if "windows" in triple else "tar.gz"
    return ReleaseArchive(get_target(triple), f"crcsum-0.1.0-{triple}.{suffix}")


def archives(*triples: str) -> list[ReleaseArchive]:
    return [archive(triple) for triple in triples]


def by_what(checks: list[PlannedCheck]) -> dict[str, PlannedCheck]:
    return {check.what: check for check in checks}


# --- how a build runs here -------------------------------------------------------------------------


def test_this_machines_architecture_runs_natively() -> None:
    assert it.run_how(get_target(X86_MUSL), "linux", "x86_64", NO_QEMU) == (it.NATIVE, "")
    assert it.run_how(get_target(ARM_GNU), "linux", "aarch64", NO_QEMU) == (it.NATIVE, "")


def test_another_linux_architecture_runs_under_qemu_when_it_is_installed() -> None:
    assert it.run_how(get_target(ARM_MUSL), "linux", "x86_64", BOTH_QEMU) == (it.QEMU, "")
    how, why = it.run_how(get_target(ARM_MUSL), "linux", "x86_64", NO_QEMU)
    assert how == it.SKIPPED and "qemu-aarch64 is not installed" in why


@pytest.mark.parametrize("triple", [MAC_ARM, MAC_X86, WIN_GNU])
def test_macos_and_windows_builds_are_skipped_with_the_reason(triple: str) -> None:
    how, why = it.run_how(get_target(triple), "linux", "x86_64", BOTH_QEMU)
    assert how == it.SKIPPED
    assert "structural checks only, no runner here" in why


def test_a_mac_runs_its_own_build_natively_and_no_linux_one() -> None:
    assert it.run_how(get_target(MAC_ARM), "macos", "aarch64", BOTH_QEMU) == (it.NATIVE, "")
    assert it.run_how(get_target(ARM_MUSL), "macos", "aarch64", BOTH_QEMU)[0] == it.SKIPPED


# --- which build install.sh installs --------------------------------------------------------------


def test_install_sh_picks_musl_before_gnu_as_the_script_does() -> None:
    release = archives(*SEVEN)
    assert it.install_sh_pick(release, "linux", "x86_64") == archive(X86_MUSL)
    assert it.install_sh_pick(release, "linux", "aarch64") == archive(ARM_MUSL)
    assert it.install_sh_pick(release, "macos", "aarch64") == archive(MAC_ARM)


def test_install_sh_picks_gnu_when_the_release_has_no_musl() -> None:
    assert it.install_sh_pick(archives(X86_GNU, ARM_MUSL), "linux", "x86_64") == archive(X86_GNU)
    assert it.install_sh_pick(archives(X86_GNU), "linux", "aarch64") is None
    assert it.install_sh_pick(archives(WIN_GNU), "windows", "x86_64") is None


# --- the archive checks -------------------------------------------------------------------------------


def test_every_archive_gets_one_check_and_none_is_dropped() -> None:
    planned = it.plan_archive_checks(
        archives(*SEVEN), has_install_sh=True, host_os="linux", host_arch="x86_64", qemu_arches=BOTH_QEMU
    )
    assert sorted(check.file for check in planned) == sorted(item.file for item in archives(*SEVEN))
    checks = by_what(planned)
    assert {what: (c.kind, c.how) for what, c in checks.items()} == {
        f"install.sh {X86_MUSL}": (it.KIND_INSTALL_SH, it.NATIVE),
        f"install.sh {ARM_MUSL}": (it.KIND_INSTALL_SH, it.QEMU),
        f"archive {X86_GNU}": (it.KIND_ARCHIVE, it.NATIVE),
        f"archive {ARM_GNU}": (it.KIND_ARCHIVE, it.QEMU),
        f"install.sh {MAC_X86}": (it.KIND_INSTALL_SH, it.SKIPPED),
        f"install.sh {MAC_ARM}": (it.KIND_INSTALL_SH, it.SKIPPED),
        f"archive {WIN_GNU}": (it.KIND_ARCHIVE, it.SKIPPED),
    }
    assert f"install.sh installs {X86_MUSL}" in checks[f"archive {X86_GNU}"].detail
    assert "no runner here" in checks[f"install.sh {MAC_ARM}"].detail


def test_only_another_architectures_install_sh_gets_a_fake_uname() -> None:
    planned = it.plan_archive_checks(
        archives(*SEVEN), has_install_sh=True, host_os="linux", host_arch="x86_64", qemu_arches=BOTH_QEMU
    )
    machines = {check.what: check.machine for check in planned if check.machine}
    assert machines == {f"install.sh {ARM_MUSL}": "aarch64"}


def test_without_qemu_the_aarch64_builds_are_listed_as_skipped() -> None:
    planned = by_what(
        it.plan_archive_checks(
            archives(X86_MUSL, ARM_MUSL), has_install_sh=True, host_os="linux", host_arch="x86_64", qemu_arches=NO_QEMU
        )
    )
    arm = planned[f"install.sh {ARM_MUSL}"]
    assert (arm.how, arm.machine) == (it.SKIPPED, "")
    assert "qemu-aarch64" in arm.detail
    assert planned[f"install.sh {X86_MUSL}"].how == it.NATIVE


def test_without_install_sh_every_archive_is_a_manual_download() -> None:
    planned = it.plan_archive_checks(
        archives(X86_MUSL, X86_GNU), has_install_sh=False, host_os="linux", host_arch="x86_64", qemu_arches=NO_QEMU
    )
    assert [(c.what, c.kind, c.how) for c in planned] == [
        (f"archive {X86_MUSL}", it.KIND_ARCHIVE, it.NATIVE),
        (f"archive {X86_GNU}", it.KIND_ARCHIVE, it.NATIVE),
    ]
    assert all("install.sh" not in c.detail for c in planned)


# --- the .deb checks -------------------------------------------------------------------------------------


def test_deb_architecture_comes_from_the_file_name() -> None:
    assert it.deb_arch_of("crcsum_0.1.0_amd64.deb") == "amd64"
    assert it.deb_arch_of("my-tool_1.2.0~rc.1_arm64.deb") == "arm64"


def test_a_deb_carries_the_build_of_its_architecture_and_the_channels_libc() -> None:
    release = archives(*SEVEN)
    assert it.deb_target("amd64", "musl", release) == get_target(X86_MUSL)
    assert it.deb_target("arm64", "gnu", release) == get_target(ARM_GNU)
    assert it.deb_target("arm64", "musl", archives(X86_MUSL)) is None
    assert it.deb_target("riscv64", "musl", release) is None


def test_deb_checks_run_natively_and_under_qemu() -> None:
    planned = it.plan_deb_checks(
        ["packages/deb/crcsum_0.1.0_amd64.deb", "packages/deb/crcsum_0.1.0_arm64.deb"],
        libc="musl",
        archives=archives(*SEVEN),
        host_os="linux",
        host_arch="x86_64",
        qemu_arches=BOTH_QEMU,
        has_dpkg=True,
    )
    assert [(c.what, c.kind, c.how, c.target) for c in planned] == [
        ("deb amd64", it.KIND_DEB, it.NATIVE, get_target(X86_MUSL)),
        ("deb arm64", it.KIND_DEB, it.QEMU, get_target(ARM_MUSL)),
    ]


def test_deb_checks_without_dpkg_or_a_matching_build_are_skipped_with_why() -> None:
    files = ["packages/deb/crcsum_0.1.0_amd64.deb", "packages/deb/crcsum_0.1.0_arm64.deb"]
    common: dict[str, Any] = {"libc": "musl", "host_os": "linux", "host_arch": "x86_64", "qemu_arches": BOTH_QEMU}
    no_dpkg = it.plan_deb_checks(files, archives=archives(*SEVEN), has_dpkg=False, **common)
    assert [(c.how, "dpkg is not installed" in c.detail) for c in no_dpkg] == [(it.SKIPPED, True)] * 2
    no_arm = it.plan_deb_checks(files, archives=archives(X86_MUSL), has_dpkg=True, **common)
    assert [c.how for c in no_arm] == [it.NATIVE, it.SKIPPED]
    assert "no linux musl build for arm64" in no_arm[1].detail


# --- commands and messages ----------------------------------------------------------------------------------


def test_install_sh_runs_with_sh_into_the_destination_from_the_mirror() -> None:
    argv = it.install_sh_argv(Path("/d/install.sh"), Path("/t/dest"), "http://127.0.0.1:8000")
    assert argv == ["sh", "/d/install.sh", "--to", "/t/dest", "--base-url", "http://127.0.0.1:8000"]


def test_install_sh_env_keeps_proxies_off_the_loopback_and_puts_the_fake_uname_first() -> None:
    plain = it.install_sh_env(Path("/t/home"), Path("/t/tmp"), None, "/usr/bin:/bin")
    assert plain == {"HOME": "/t/home", "TMPDIR": "/t/tmp", "no_proxy": it.NO_PROXY, "NO_PROXY": it.NO_PROXY}
    assert "127.0.0.1" in it.NO_PROXY.split(",")
    faked = it.install_sh_env(Path("/t/home"), Path("/t/tmp"), Path("/t/bin"), "/usr/bin:/bin")
    assert faked["PATH"] == "/t/bin:/usr/bin:/bin"


def test_fake_uname_answers_the_machine_and_passes_the_rest_on() -> None:
    script = it.fake_uname_script("aarch64", "/usr/bin/uname")
    assert script.startswith("#!/bin/sh\n")
    assert "-m) echo aarch64 ;;" in script
    assert 'exec /usr/bin/uname "$@"' in script


def test_dpkg_installs_into_its_own_root_without_root_or_dependencies() -> None:
    argv = it.dpkg_install_argv(Path("/t/root"), Path("/d/packages/deb/x_1_amd64.deb"))
    assert argv == [
        "dpkg",
        "--root=/t/root",
        "--force-not-root",
        "--log=/t/root/dpkg.log",
        "--force-depends",
        "--install",
        "/d/packages/deb/x_1_amd64.deb",
    ]


def test_output_tail_keeps_the_last_non_blank_lines() -> None:
    text = "\n".join(f"line {n}" for n in range(30)) + "\n\n"
    tail = it.output_tail(text, lines=3)
    assert tail == "  line 27\n  line 28\n  line 29"
    assert it.output_tail("") == "  (no output)"


def test_a_dry_run_row_says_it_would_run_and_how() -> None:
    check = PlannedCheck(it.KIND_DEB, "deb arm64", "packages/deb/x_1_arm64.deb", get_target(ARM_MUSL), it.QEMU, "d")
    assert it.would_run(check) == InstallCheck("deb arm64", it.WOULD_RUN, "d; runs it under qemu-user")
    skipped = dataclasses.replace(check, how=it.SKIPPED, detail="why")
    assert it.would_run(skipped) == InstallCheck("deb arm64", it.SKIPPED, "why")


# --- the whole step in a dry run (no process starts in unit tests) ----------------------------------------


def write_dist(dist: Path, triples: tuple[str, ...], *, install_sh: bool = True) -> None:
    """A release folder: archives recorded in manifest.json, SHA256SUMS, install.sh, two .debs."""
    dist.mkdir(parents=True)
    record = manifest.Manifest("crcsum", "0.1.0")
    for item in archives(*triples):
        (dist / item.file).write_bytes(item.file.encode())
        digest = hashlib.sha256(item.file.encode()).hexdigest()
        record.add(manifest.Artifact(item.file, "archive", item.target.triple, len(item.file), digest, "archive"))
    manifest.write(dist / "manifest.json", record)
    if install_sh:
        (dist / "install.sh").write_text("#!/bin/sh\nexit 1\n")
    (dist / "packages" / "deb").mkdir(parents=True)
    for arch in ("amd64", "arm64"):
        (dist / "packages" / "deb" / f"crcsum_0.1.0_{arch}.deb").write_bytes(b"!<arch>\n")


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., ReleaseConfig]:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "crcsum"\nversion = "0.1.0"\n[[bin]]\nname = "crcsum"\npath = "src/main.rs"\n'
    )

    def make(**table: Any) -> ReleaseConfig:
        config = build_config({"crate": "Cargo.toml", **table}, tmp_path, {})
        return dataclasses.replace(config, dist_dir=tmp_path / "dist")

    return make


@pytest.fixture
def linux_x86_64_with_qemu_and_dpkg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(it, "host_platform", lambda: ("linux", "x86_64"))
    found = {"qemu-aarch64": "/usr/bin/qemu-aarch64", "dpkg": "/usr/bin/dpkg"}
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: found.get(name))


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.usefixtures("linux_x86_64_with_qemu_and_dpkg")
def test_dry_run_serves_installs_and_runs_nothing_and_lists_every_check(
    make_config: Callable[..., ReleaseConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(**{"install-scripts": True})
    write_dist(config.dist_dir, SEVEN)
    before = tree(config.dist_dir)

    def no_server(folder: Path) -> None:
        raise AssertionError("a dry run serves nothing")

    monkeypatch.setattr(it, "serve", no_server)
    rows = it.run_install_tests(config, proc.Runner(dry_run=True))
    assert tree(config.dist_dir) == before
    hows = {row.what: row.how for row in rows}
    assert hows == {
        f"install.sh {X86_MUSL}": it.WOULD_RUN,
        f"install.sh {ARM_MUSL}": it.WOULD_RUN,
        f"archive {X86_GNU}": it.WOULD_RUN,
        f"archive {ARM_GNU}": it.WOULD_RUN,
        f"install.sh {MAC_X86}": it.SKIPPED,
        f"install.sh {MAC_ARM}": it.SKIPPED,
        f"archive {WIN_GNU}": it.SKIPPED,
        "deb amd64": it.WOULD_RUN,
        "deb arm64": it.WOULD_RUN,
    }
    by = {row.what: row.detail for row in rows}
    assert by[f"install.sh {ARM_MUSL}"].endswith("runs it under qemu-user")
    assert by["deb amd64"].endswith("runs it natively")


@pytest.mark.usefixtures("linux_x86_64_with_qemu_and_dpkg")
def test_a_missing_install_sh_that_the_config_promises_is_an_install_test_error(
    make_config: Callable[..., ReleaseConfig],
) -> None:
    config = make_config(**{"install-scripts": True})
    write_dist(config.dist_dir, (X86_MUSL,), install_sh=False)
    with pytest.raises(InstallTestError) as caught:
        it.run_install_tests(config, proc.Runner(dry_run=True))
    assert "install.sh" in caught.value.message and caught.value.hint


@pytest.mark.usefixtures("linux_x86_64_with_qemu_and_dpkg")
def test_an_empty_deb_folder_of_a_configured_channel_is_listed_not_dropped(
    make_config: Callable[..., ReleaseConfig],
) -> None:
    config = make_config(**{"install-scripts": True})
    write_dist(config.dist_dir, (X86_MUSL,))
    for package in (config.dist_dir / "packages" / "deb").iterdir():
        package.unlink()
    config = dataclasses.replace(config, packages={**config.packages, "channels": ["deb"]})
    rows = it.run_install_tests(config, proc.Runner(dry_run=True))
    assert InstallCheck("deb", it.SKIPPED, "dist/packages/deb holds no .deb") in rows


def test_release_archives_are_the_manifests_archives_in_order() -> None:
    record = manifest.Manifest("crcsum", "0.1.0")
    for path, kind, target in (
        ("a.tar.gz", "archive", ARM_MUSL),
        ("SHA256SUMS", "checksum", None),
        ("b.zip", "archive", WIN_GNU),
    ):
        record.add(manifest.Artifact(path, kind, target, 1, "0" * 64, "archive"))
    assert it.release_archives(record) == [
        ReleaseArchive(get_target(ARM_MUSL), "a.tar.gz"),
        ReleaseArchive(get_target(WIN_GNU), "b.zip"),
    ]
