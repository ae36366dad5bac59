"""The install tests of `invoke release` over a real release folder (the session fixture `package_dist`).

What the release relies on: install.sh, served from dist/ on a loopback
server, installs the musl build for x86_64 natively and for aarch64 (a fake
`uname -m`) under qemu-user, and the installed binaries pass their smoke
runs; the gnu archives check out as manual downloads; both .debs install with
dpkg into empty roots and their binaries run; macOS and Windows builds are
listed as skipped with the reason; dist/ is left as it was; a dry run runs
nothing; and a tampered archive or package stops the step with an
InstallTestError naming the install and what its command said.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling import manifest, proc
from tooling.artifacts.checksum import SUMS_NAME
from tooling.config import ReleaseConfig, load_config
from tooling.errors import InstallTestError
from tooling.release import install_test as it

pytestmark = pytest.mark.integration

X86_MUSL = "x86_64-unknown-linux-musl"
X86_GNU = "x86_64-unknown-linux-gnu"
ARM_MUSL = "aarch64-unknown-linux-musl"
ARM_GNU = "aarch64-unknown-linux-gnu"


def config_for(dist: Path) -> ReleaseConfig:
    return dataclasses.replace(load_config(ROOT), dist_dir=dist)


def require_install_tools() -> None:
    for tool in ("sh", "dpkg", "qemu-aarch64"):
        require_tool(tool, "the install tests")
    if not (shutil.which("curl") or shutil.which("wget")):
        require_tool("curl", "install.sh downloads with curl or wget")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def copy_release(dist: Path, into: Path) -> Path:
    """The files the install tests read (manifest, SHA256SUMS, install.sh, archives, .debs) copied into `into`."""
    record = manifest.read(dist / "manifest.json")
    names = ["manifest.json", SUMS_NAME, "install.sh"]
    names += [a.path for a in record.artifacts if a.kind == "archive"]
    names += [p.relative_to(dist).as_posix() for p in (dist / it.DEB_FOLDER).glob("*.deb")]
    for name in names:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / name, into / name)
    return into


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_installs_every_runnable_build_and_package_and_runs_it(package_dist: Path) -> None:
    require_install_tools()
    before = snapshot(package_dist)
    rows = it.run_install_tests(config_for(package_dist), proc.Runner())
    found = {row.what: row for row in rows}
    version = load_config(ROOT).version
    for what, how, triple in (
        (f"install.sh {X86_MUSL}", it.NATIVE, X86_MUSL),
        (f"install.sh {ARM_MUSL}", it.QEMU, ARM_MUSL),
        (f"archive {X86_GNU}", it.NATIVE, X86_GNU),
        (f"archive {ARM_GNU}", it.QEMU, ARM_GNU),
        ("deb amd64", it.NATIVE, X86_MUSL),
        ("deb arm64", it.QEMU, ARM_MUSL),
    ):
        row = found[what]
        assert row.how == how, row
        # The installed binary printed its own version and triple (the sample's smoke expectations).
        assert f"crcsum {version} ({triple})" in row.detail, row
    assert f"install.sh installed {ARM_MUSL}" in found[f"install.sh {ARM_MUSL}"].detail
    skipped = {row.what: row.detail for row in rows if row.how == it.SKIPPED}
    assert set(skipped) == {
        "install.sh x86_64-apple-darwin",
        "install.sh aarch64-apple-darwin",
        "archive x86_64-pc-windows-gnu",
    }
    assert all("no runner here" in why for why in skipped.values())
    archives = {a.target for a in manifest.read(package_dist / "manifest.json").artifacts if a.kind == "archive"}
    assert {what.split()[-1] for what in found if not what.startswith("deb")} == archives, "no archive is dropped"
    assert snapshot(package_dist) == before, "dist/ is only read"


def test_a_dry_run_lists_the_same_checks_and_runs_none(package_dist: Path, capfd: pytest.CaptureFixture[str]) -> None:
    require_install_tools()
    rows = it.run_install_tests(config_for(package_dist), proc.Runner(dry_run=True))
    assert {row.how for row in rows} == {it.WOULD_RUN, it.SKIPPED}
    assert {row.what for row in rows if row.how == it.WOULD_RUN} == {
        f"install.sh {X86_MUSL}",
        f"install.sh {ARM_MUSL}",
        f"archive {X86_GNU}",
        f"archive {ARM_GNU}",
        "deb amd64",
        "deb arm64",
    }
    assert "+ " not in capfd.readouterr().err, "no command was started or echoed"


@pytest.mark.parametrize(
    ("file", "what", "said"),
    [
        (f"crcsum-{{version}}-{X86_MUSL}.tar.gz", f"install.sh {X86_MUSL}", "checksum mismatch for crcsum-"),
        (f"crcsum-{{version}}-{X86_GNU}.tar.gz", f"archive {X86_GNU}", "a user's sha256sum -c would refuse it"),
        ("packages/deb/crcsum_{version}_amd64.deb", "deb amd64", "dpkg could not install crcsum_"),
    ],
)
def test_a_tampered_file_stops_the_step_naming_the_install(
    package_dist: Path, tmp_path: Path, file: str, what: str, said: str
) -> None:
    require_install_tools()
    dist = copy_release(package_dist, tmp_path / "dist")
    tampered = file.format(version=load_config(ROOT).version)
    flip_a_byte(dist / tampered)
    with pytest.raises(InstallTestError) as caught:
        it.run_install_tests(config_for(dist), proc.Runner())
    message = caught.value.message
    assert message.startswith(f"{what}: "), message
    assert said in message
    assert caught.value.hint and "invoke package" in caught.value.hint


def test_an_installed_binary_failing_its_smoke_run_stops_the_step(package_dist: Path) -> None:
    require_install_tools()
    config = dataclasses.replace(config_for(package_dist), smoke_expect=("crcsum {version} from elsewhere",))
    with pytest.raises(InstallTestError) as caught:
        it.run_install_tests(config, proc.Runner())
    message = caught.value.message
    assert "the installed crcsum failed its run" in message and "from elsewhere" in message
    assert message.split(":")[0] in {
        f"install.sh {X86_MUSL} (native)",
        f"install.sh {ARM_MUSL} (qemu)",
        f"archive {X86_GNU} (native)",
        f"archive {ARM_GNU} (qemu)",
    }
    assert caught.value.hint and "got: " in caught.value.hint, "the hint shows what the binary printed"
