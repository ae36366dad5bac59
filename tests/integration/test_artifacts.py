"""`invoke package` end to end on fake binaries: real tar, sha256sum, shasum, gpg, minisign and cargo metadata.

The fake binaries carry just enough of an ELF or PE header to pass the
re-verification the archive step runs (format and architecture), and the
folder carries the marker a build job leaves, so the chain may write there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifact_fixtures import fake_binary_config, release_dist
from tests.conftest import ROOT, require_tool
from tests.integration.signing_keys import PASSPHRASE, make_gpg_home, make_minisign_keys, signing_env
from tooling.artifacts import fence, sbom
from tooling.errors import PlanError
from tooling.plan import LOCK_NAME

pytestmark = pytest.mark.integration

TRIPLES = ["x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"]
LINUX_ARCHIVE = "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz"
WINDOWS_ARCHIVE = "crcsum-0.1.0-x86_64-pc-windows-msvc.zip"
SBOM = "crcsum-0.1.0.cdx.json"


# The project's config for fake binaries: no completions, man page or package channels to make from them.
CONFIG = fake_binary_config(Path(tempfile.mkdtemp(prefix="fake-binary-config-")))


def invoke(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real `invoke` command line, run in the project like a maintainer would."""
    program = shutil.which("invoke") or str(Path(sys.executable).parent / "invoke")
    environment = {**os.environ, "RELEASE_CONFIG": str(CONFIG), **(env or {})}
    result = subprocess.run([program, *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"invoke {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """One signed release folder made by `invoke package`, and the environment that signed it."""
    for tool in ("gpg", "gpgconf", "minisign", "cargo"):
        require_tool(tool)
    folder = tmp_path_factory.mktemp("signed")
    dist = release_dist(folder / "dist", TRIPLES)
    keys = make_minisign_keys(folder)
    for home in make_gpg_home():
        env = {**signing_env(home, keys), "SOURCE_DATE_EPOCH": "1700000000"}
        result = invoke("package", "--dist", str(dist), "--skip-build", "--allow-partial", env=env)
        assert PASSPHRASE not in result.stdout + result.stderr
        yield dist, env


def test_package_yields_every_release_file(signed: tuple[Path, dict[str, str]]) -> None:
    dist, _ = signed
    names = sorted(p.name for p in dist.iterdir() if p.is_file())
    expected = ["SHA256SUMS", "SHA256SUMS.asc", "SHA256SUMS.minisig", "manifest.json", "plan.json"]
    expected += [fence.MARKER_NAME, LOCK_NAME]  # the tool's own: the folder is the tool's, and who holds it
    for archive in (LINUX_ARCHIVE, WINDOWS_ARCHIVE):
        expected += [archive, f"{archive}.asc", f"{archive}.minisig", f"{archive}.sha256"]
    expected += [SBOM, f"{SBOM}.sha256"]
    assert names == sorted(expected)


def test_gnu_sha256sum_and_shasum_accept_the_checksum_files(signed: tuple[Path, dict[str, str]]) -> None:
    dist, _ = signed
    sha256sum = require_tool("sha256sum")
    shasum = require_tool("shasum")
    for sums in ["SHA256SUMS", *(p.name for p in dist.glob("*.sha256"))]:
        gnu = subprocess.run([sha256sum, "--strict", "-c", sums], cwd=dist, capture_output=True, text=True, check=True)
        assert gnu.stdout.count(": OK") == len((dist / sums).read_text().splitlines())
        subprocess.run([shasum, "-a", "256", "-c", sums], cwd=dist, capture_output=True, check=True)
    listed = (dist / "SHA256SUMS").read_text()
    assert LINUX_ARCHIVE in listed and WINDOWS_ARCHIVE in listed and SBOM in listed


def test_gpg_and_minisign_verify_the_signatures(signed: tuple[Path, dict[str, str]]) -> None:
    dist, env = signed
    for name in ("SHA256SUMS", LINUX_ARCHIVE, WINDOWS_ARCHIVE):
        subprocess.run(
            ["gpg", "--batch", "--verify", f"{name}.asc", name],
            cwd=dist,
            env={**os.environ, **env},
            capture_output=True,
            check=True,
        )
        subprocess.run(
            ["minisign", "-Vm", name, "-p", env["RELEASE_MINISIGN_PUBLIC_KEY"]],
            cwd=dist,
            capture_output=True,
            check=True,
        )


def test_archives_hold_one_folder_with_normalised_entries(signed: tuple[Path, dict[str, str]]) -> None:
    dist, _ = signed
    listing = subprocess.run(
        [require_tool("tar"), "--list", "--verbose", "--numeric-owner", "--full-time", "-zf", LINUX_ARCHIVE],
        cwd=dist,
        env={**os.environ, "TZ": "UTC"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    top = LINUX_ARCHIVE.removesuffix(".tar.gz")
    assert [line.split()[-1] for line in listing] == [
        f"{top}/",
        f"{top}/CHANGELOG.md",
        f"{top}/LICENSE",
        f"{top}/README.md",
        f"{top}/crcsum",
    ]
    for line in listing:
        mode, owner = line.split()[:2]
        assert owner == "0/0"
        assert mode in ("drwxr-xr-x", "-rw-r--r--", "-rwxr-xr-x")
        assert "2023-11-14 22:13:20" in line  # SOURCE_DATE_EPOCH, shown in UTC
    with tarfile.open(dist / LINUX_ARCHIVE) as tar:
        binary = tar.extractfile(f"{top}/crcsum")
        assert binary is not None and binary.read() == (dist / TRIPLES[0] / "crcsum").read_bytes()
    with zipfile.ZipFile(dist / WINDOWS_ARCHIVE) as archive:
        names = archive.namelist()
        assert f"{WINDOWS_ARCHIVE.removesuffix('.zip')}/crcsum.exe" in names
        assert archive.testzip() is None


def test_sbom_is_valid_cyclonedx_of_the_sample_crate(signed: tuple[Path, dict[str, str]]) -> None:
    dist, _ = signed
    text = (dist / SBOM).read_text()
    assert sbom.schema_errors(text) == []
    data = json.loads(text)
    assert data["metadata"]["component"]["name"] == "crcsum"
    lock = (ROOT / "sample" / "Cargo.lock").read_text()
    clap = next(c for c in data["components"] if c["name"] == "clap")
    assert clap["purl"] == f"pkg:cargo/clap@{clap['version']}"
    assert clap["hashes"][0]["content"] in lock  # the checksum comes from Cargo.lock


def test_manifest_records_every_file_with_its_step(signed: tuple[Path, dict[str, str]]) -> None:
    dist, _ = signed
    record = json.loads((dist / "manifest.json").read_text())
    by_path = {a["path"]: a for a in record["artifacts"]}
    on_disk = {p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file()}
    bookkeeping = ("manifest.json", "plan.json", fence.MARKER_NAME, LOCK_NAME)
    assert set(by_path) == {p for p in on_disk if not p.endswith(bookkeeping)}
    assert by_path[LINUX_ARCHIVE]["step"] == "archive"
    assert sorted(by_path[LINUX_ARCHIVE]["signatures"]) == [f"{LINUX_ARCHIVE}.asc", f"{LINUX_ARCHIVE}.minisig"]
    assert by_path["SHA256SUMS.asc"]["step"] == by_path["SHA256SUMS.minisig"]["step"] == "sign"
    assert by_path["SHA256SUMS.asc"]["kind"] == "signature"
    assert by_path[SBOM]["step"] == "sbom"
    assert by_path[f"{TRIPLES[1]}/crcsum.exe"]["step"] == "build"
    for artifact in record["artifacts"]:
        assert artifact["size"] == (dist / artifact["path"]).stat().st_size


def test_verify_names_a_flipped_byte_a_missing_and_an_extra_file(
    signed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    dist, env = signed
    copy = tmp_path / "dist"
    shutil.copytree(dist, copy)
    assert invoke("verify", "--dist", str(copy), "--allow-partial", env=env).returncode == 0

    archive = copy / LINUX_ARCHIVE
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    result = invoke("verify", "--dist", str(copy), "--allow-partial", env=env, check=False)
    assert result.returncode != 0
    assert LINUX_ARCHIVE in result.stderr
    assert "Traceback" not in result.stderr

    archive.unlink()
    (copy / "surprise.txt").write_text("not released")
    result = invoke("verify", "--dist", str(copy), "--allow-partial", env=env, check=False)
    assert result.returncode != 0
    assert f"{LINUX_ARCHIVE}: missing" in result.stderr
    assert "surprise.txt: extra file" in result.stderr


def test_two_clean_runs_give_identical_sha256sums(tmp_path: Path) -> None:
    require_tool("cargo")
    env = {"SOURCE_DATE_EPOCH": ""}  # the release commit's time, as in a real release
    sums = []
    for run in ("one", "two"):
        dist = release_dist(tmp_path / run, TRIPLES)
        for path in dist.rglob("*"):
            os.utime(path, (1_000_000 * len(run) + len(sums), 1_000_000))  # different file times per run
        invoke("clean", "--dist", str(dist), "--keep-builds")
        invoke("package", "--dist", str(dist), "--skip-build", "--unsigned", "--allow-partial", env=env)
        sums.append((dist / "SHA256SUMS").read_text())
    assert sums[0] == sums[1]
    commit_time = subprocess.run(
        ["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    record = json.loads((tmp_path / "two" / "manifest.json").read_text())
    archive = next(a for a in record["artifacts"] if a["kind"] == "archive")
    assert archive["facts"]["source_date_epoch"] == int(commit_time)


def test_package_refuses_a_release_that_lacks_planned_targets(tmp_path: Path) -> None:
    """One of eight targets built: nothing is signed, the missing targets are named, exit code PlanError."""
    dist = release_dist(tmp_path / "dist", TRIPLES[:1])
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    result = invoke("package", "--dist", str(dist), "--skip-build", "--unsigned", env=env, check=False)
    assert result.returncode == PlanError.exit_code, result.stderr[-3000:]
    assert "does not match its release plan" in result.stderr
    assert "target aarch64-apple-darwin (here): not built or imported" in result.stderr
    assert "target x86_64-pc-windows-msvc (ci): not built or imported" in result.stderr
    assert "--allow-partial" in result.stderr and "Traceback" not in result.stderr
    # The plan written first says what a complete release holds.
    plan = json.loads((dist / "plan.json").read_text())
    assert len(plan["targets"]) == 8

    unplanned = dist / "stray.bin"
    unplanned.write_bytes(b"x")
    result = invoke("verify", "--dist", str(dist), "--allow-partial", "--no-signatures", env=env, check=False)
    assert result.returncode != 0 and "stray.bin" in result.stderr


def test_sbom_needs_no_build(tmp_path: Path) -> None:
    """`invoke sbom` on an empty dist/ describes the locked dependencies instead of saying nothing was built."""
    require_tool("cargo")
    dist = tmp_path / "dist"
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    result = invoke("sbom", "--dist", str(dist), env=env)
    assert result.returncode == 0
    assert (dist / SBOM).is_file()
    record = json.loads((dist / "manifest.json").read_text())
    assert [a["path"] for a in record["artifacts"]] == [SBOM]
