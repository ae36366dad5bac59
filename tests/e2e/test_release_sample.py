"""A whole release of the sample crate: the real cross-builds of every target this
machine can build, packaged, checksummed and signed by `invoke package`, then
checked with the tools a user would use (sha256sum, gpg, minisign, tar, qemu)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import BUILDABLE_HERE, ROOT, require_tool, run_nox
from tests.integration.signing_keys import PASSPHRASE, make_gpg_home, make_minisign_keys, signing_env
from tooling.config import load_config
from tooling.targets import get_target

pytestmark = pytest.mark.e2e

CONFIG = load_config()
PREFIX = f"{CONFIG.name}-{CONFIG.version}"


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    program = shutil.which("invoke") or str(Path(sys.executable).parent / "invoke")
    return subprocess.run(
        [program, *args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False
    )


def archive_name(triple: str) -> str:
    return f"{PREFIX}-{triple}.{CONFIG.archive_format(get_target(triple))}"


@pytest.fixture(scope="module")
def release(
    cross_dist: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, dict[str, str]]]:
    for tool in ("gpg", "minisign", "cargo"):
        require_tool(tool)
    build_dirs = [cross_dist(triple) for triple in BUILDABLE_HERE]
    folder = tmp_path_factory.mktemp("release")
    keys = make_minisign_keys(folder)
    for home in make_gpg_home():
        env = signing_env(home, keys)
        # MSVC is built on a Windows runner in CI: this machine packages the other seven. Both signers, with
        # the test's keys (this repository's own release signs with minisign only).
        args = [
            "package",
            "--dist",
            str(folder / "dist"),
            "--allow-partial",
            "--backend",
            "gpg",
            "--backend",
            "minisign",
        ]
        for build_dir in build_dirs:
            args += ["--prebuilt", str(build_dir)]
        result = invoke(*args, env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
        assert PASSPHRASE not in result.stdout + result.stderr
        yield folder / "dist", env


def test_every_built_target_has_its_archive_checksum_and_signatures(release: tuple[Path, dict[str, str]]) -> None:
    dist, _ = release
    for triple in BUILDABLE_HERE:
        name = archive_name(triple)
        for suffix in ("", ".sha256", ".asc", ".minisig"):
            assert (dist / f"{name}{suffix}").is_file(), f"{name}{suffix} missing"
    for name in ("SHA256SUMS", "SHA256SUMS.asc", "SHA256SUMS.minisig", "manifest.json", f"{PREFIX}.cdx.json"):
        assert (dist / name).is_file(), name


def test_users_can_check_checksums_and_signatures(release: tuple[Path, dict[str, str]]) -> None:
    dist, env = release
    sums = subprocess.run(
        [require_tool("sha256sum"), "--strict", "-c", "SHA256SUMS"],
        cwd=dist,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for triple in BUILDABLE_HERE:
        assert f"{archive_name(triple)}: OK" in sums
    subprocess.run(
        ["gpg", "--batch", "--verify", "SHA256SUMS.asc", "SHA256SUMS"],
        cwd=dist,
        env={**os.environ, **env},
        capture_output=True,
        check=True,
    )
    subprocess.run(
        ["minisign", "-Vm", "SHA256SUMS", "-p", env["RELEASE_MINISIGN_PUBLIC_KEY"]],
        cwd=dist,
        capture_output=True,
        check=True,
    )
    verified = invoke("verify", "--dist", str(dist), "--allow-partial", env=env)
    assert verified.returncode == 0, verified.stderr[-3000:]


def test_archived_binaries_still_run(release: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    dist, _ = release
    qemu = require_tool("qemu-aarch64", "qemu-user")
    triple = "aarch64-unknown-linux-musl"
    with tarfile.open(dist / archive_name(triple)) as archive:
        archive.extractall(tmp_path, filter="data")
    binary = tmp_path / f"{PREFIX}-{triple}" / "crcsum"
    assert binary.stat().st_mode & 0o777 == 0o755
    result = subprocess.run([qemu, str(binary), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"crcsum {CONFIG.version} ({triple})"
    with zipfile.ZipFile(dist / archive_name("x86_64-pc-windows-gnu")) as archive:
        assert f"{PREFIX}-x86_64-pc-windows-gnu/crcsum.exe" in archive.namelist()


def test_one_flipped_byte_is_found_and_named(release: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    dist, env = release
    copy = tmp_path / "dist"
    shutil.copytree(dist, copy)
    victim = copy / archive_name("aarch64-unknown-linux-gnu")
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    result = invoke("verify", "--dist", str(copy), "--allow-partial", env=env)
    assert result.returncode != 0
    assert victim.name in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_two_clean_builds_of_one_commit_give_identical_sha256sums(tmp_path: Path) -> None:
    """Fresh cargo target dirs, fresh dist dirs, the real nox sessions, then archives and checksums."""
    require_tool("cargo")
    sums = []
    for run in ("first", "second"):
        dist = tmp_path / run / "dist"
        fresh_target = {"CARGO_TARGET_DIR": str(tmp_path / run / "target")}
        for triple in ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"):
            built = run_nox(f"build-{triple}", dist, env_extra=fresh_target)
            assert built.returncode == 0, built.stderr[-3000:]
        packaged = invoke("checksum", "--dist", str(dist), "--skip-build")
        assert packaged.returncode == 0, packaged.stderr[-3000:]
        sums.append((dist / "SHA256SUMS").read_bytes())
    assert sums[0] == sums[1]
    assert sums[0].count(b"\n") == 4  # two archives, the SBOM and install.sh (Linux targets only: no install.ps1)
