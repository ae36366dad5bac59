"""Real cross-builds of the sample crate through `nox -s build-<triple>`.

Each target is built once per test run (see conftest.cross_dist) and then
checked with tools independent of our own inspection code where one exists
(binutils' readelf, LLVM's objdump, qemu-user, wine).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import BUILDABLE_HERE, ROOT, require_tool, run_nox
from tooling import proc
from tooling.build.binary import read_facts, verify
from tooling.config import load_config
from tooling.errors import VerificationError
from tooling.manifest import read, sha256_file
from tooling.targets import get_target

pytestmark = pytest.mark.integration

CONFIG = load_config()
VERSION_LINE = "crcsum {version} ({triple})"


def binary_of(dist: Path, triple: str) -> Path:
    return dist / get_target(triple).executable("crcsum")


@pytest.mark.parametrize("triple", BUILDABLE_HERE)
def test_build_leaves_a_verified_binary_and_partial_manifest(cross_dist: Callable[[str], Path], triple: str) -> None:
    dist = cross_dist(triple)
    binary = binary_of(dist, triple)
    assert binary.is_file()
    assert binary.stat().st_mode & 0o111, "binary must be executable"
    manifest = read(dist / "manifest.json")
    assert (manifest.name, manifest.version) == ("crcsum", CONFIG.version)
    [entry] = manifest.artifacts
    assert entry.path == f"{triple}/{binary.name}"
    assert (entry.kind, entry.target, entry.step) == ("binary", triple, "build")
    assert entry.sha256 == sha256_file(binary)
    assert entry.size == binary.stat().st_size
    target = get_target(triple)
    assert entry.facts["arch"] == target.arch
    assert entry.facts["smoke"].startswith(target.smoke)
    # And our own verifier agrees when run again on the shipped file.
    verify(binary, target, CONFIG)


GNU = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu")


@pytest.mark.parametrize("triple", GNU)
def test_gnu_symbol_versions_stay_at_or_below_the_floor(cross_dist: Callable[[str], Path], triple: str) -> None:
    readelf = require_tool("readelf", "binutils")
    binary = binary_of(cross_dist(triple), triple)
    text = subprocess.run(
        [readelf, "--version-info", "--wide", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    versions = set(re.findall(r"GLIBC_(\d+(?:\.\d+)+)", text))
    assert versions, "a dynamically linked gnu binary must require some glibc symbol versions"
    floor = tuple(int(p) for p in CONFIG.glibc.split("."))
    newest = max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))
    assert tuple(int(p) for p in newest.split(".")) <= floor, f"GLIBC_{newest} is newer than the floor {CONFIG.glibc}"


def test_a_lower_floor_than_the_binary_needs_fails_verification(cross_dist: Callable[[str], Path]) -> None:
    binary = binary_of(cross_dist("x86_64-unknown-linux-gnu"), "x86_64-unknown-linux-gnu")
    strict = CONFIG.__class__(**{**CONFIG.__dict__, "glibc": "2.2"})
    with pytest.raises(VerificationError, match=r"glibc floor: expected no symbol version newer than GLIBC_2\.2"):
        verify(binary, get_target("x86_64-unknown-linux-gnu"), strict)


@pytest.mark.parametrize("triple", ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"])
def test_musl_binaries_are_static(cross_dist: Callable[[str], Path], triple: str) -> None:
    readelf = require_tool("readelf", "binutils")
    binary = binary_of(cross_dist(triple), triple)
    headers = subprocess.run(
        [readelf, "--program-headers", "--dynamic", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    assert "INTERP" not in headers
    assert "NEEDED" not in headers


@pytest.mark.parametrize("triple", ["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"])
def test_aarch64_linux_runs_under_qemu(cross_dist: Callable[[str], Path], triple: str) -> None:
    qemu = require_tool("qemu-aarch64", "qemu-user")
    binary = binary_of(cross_dist(triple), triple)
    result = subprocess.run([qemu, str(binary), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == VERSION_LINE.format(version=CONFIG.version, triple=triple)
    checked = subprocess.run([qemu, str(binary)], input="123456789", capture_output=True, text=True, check=True)
    assert checked.stdout.split()[0] == "cbf43926", "the C routine must compute the standard CRC-32 check value"


@pytest.mark.parametrize("triple", ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"])
def test_native_binaries_run(cross_dist: Callable[[str], Path], triple: str) -> None:
    binary = binary_of(cross_dist(triple), triple)
    result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == VERSION_LINE.format(version=CONFIG.version, triple=triple)


def test_windows_gnu_runs_under_wine(cross_dist: Callable[[str], Path]) -> None:
    from tooling.build.smoke import SHIM_DLL, build_wine_shim, find_wine
    from tooling.build.zig import zig_path
    from tooling.cache import cache_dir

    require_tool("wine", "Debian's wine")
    wine = find_wine()
    assert wine is not None
    binary = binary_of(cross_dist("x86_64-pc-windows-gnu"), "x86_64-pc-windows-gnu")
    assert not (binary.parent / SHIM_DLL).exists(), "the wine shim must never land in dist/"
    with tempfile.TemporaryDirectory() as sandbox:
        exe = Path(sandbox) / binary.name
        exe.write_bytes(binary.read_bytes())
        (Path(sandbox) / SHIM_DLL).write_bytes(build_wine_shim(zig_path(), cache_dir(), proc.Runner()).read_bytes())
        env = {
            **os.environ,
            "WINEPREFIX": str(cache_dir() / "wine-prefix"),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
        }
        result = subprocess.run(
            [wine, str(exe), "--version"], capture_output=True, text=True, env=env, cwd=sandbox, check=True, timeout=300
        )
    assert result.stdout.strip() == VERSION_LINE.format(version=CONFIG.version, triple="x86_64-pc-windows-gnu")


@pytest.mark.parametrize(
    ("triple", "cpu", "minos", "signed"),
    [
        ("aarch64-apple-darwin", "ARM64", "11.0", True),
        ("x86_64-apple-darwin", "X86_64", "10.12", None),
    ],
)
def test_macos_binaries_structure(
    cross_dist: Callable[[str], Path], triple: str, cpu: str, minos: str, signed: bool | None
) -> None:
    objdump = require_tool("llvm-objdump", "LLVM, to read Mach-O load commands independently")
    binary = binary_of(cross_dist(triple), triple)
    headers = subprocess.run(
        [objdump, "--macho", "--private-headers", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(rf"MH_MAGIC_64\s+{cpu}", headers), headers[:400]
    found = re.findall(r"(?:minos|version) (\d+\.\d+)", headers)
    assert minos in found, f"expected minimum macOS {minos}, load commands say {found}"
    if signed:
        assert "LC_CODE_SIGNATURE" in headers
    assert read_facts(binary).macos_minos == minos


def test_msvc_stops_with_a_clear_message(tmp_path: Path) -> None:
    result = run_nox("build-x86_64-pc-windows-msvc", tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Microsoft's C runtime" in output
    assert "windows-latest" in output and "cargo-xwin" in output
    assert "Traceback" not in output
    assert not (tmp_path / "x86_64-pc-windows-msvc").exists()


def test_doctor_lists_every_target() -> None:
    result = run_nox("doctor", Path(tempfile.gettempdir()))
    assert result.returncode == 0, result.stderr[-2000:]
    output = result.stdout + result.stderr
    for triple in (*BUILDABLE_HERE, "x86_64-pc-windows-msvc"):
        assert triple in output


def test_ci_matrix_session_prints_json() -> None:
    result = run_nox("ci-matrix", Path(tempfile.gettempdir()))
    assert result.returncode == 0, result.stderr[-2000:]
    matrix = json.loads(result.stdout.strip().splitlines()[-1])
    assert {row["target"] for row in matrix["include"]} >= set(BUILDABLE_HERE)


def test_a_failed_check_leaves_nothing_in_dist(tmp_path: Path) -> None:
    """The smoke run expects text the binary does not print: exit 5, a clear message, empty dist/."""
    require_tool("cargo")
    config = tmp_path / "pyproject.toml"
    config.write_text(
        "[tool.release]\n"
        f'crate = "{ROOT / "sample" / "Cargo.toml"}"\n'
        'smoke-expect = ["{version}", "built by nobody"]\n',
        encoding="utf-8",
    )
    dist = tmp_path / "dist"
    env = {**os.environ, "RELEASE_CONFIG": str(config), "RELEASE_DIST_DIR": str(dist)}
    result = subprocess.run(
        [sys.executable, "-m", "tooling", "build", "--target", "x86_64-unknown-linux-gnu"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == VerificationError.exit_code, result.stderr[-2000:]
    assert "smoke test (native) of crcsum for x86_64-unknown-linux-gnu failed" in result.stderr
    assert "built by nobody" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (dist / "x86_64-unknown-linux-gnu").exists()
