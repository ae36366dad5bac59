"""The packages step as users meet it: completions and man pages in every archive, channels recorded in the
manifest and the plan, a second clean run byte-identical, `invoke binstall-metadata`, and bad input refused
with one message naming the channel and the field before any package file is written."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.artifact_fixtures import give_header, make_dist
from tests.bad_input import Sandbox, assert_refused, digest_tree
from tests.conftest import ROOT, require_tool
from tooling.artifacts import fence
from tooling.config_schema import CHANNEL_NAMES
from tooling.errors import ConfigError, PackageError
from tooling.targets import get_target

pytestmark = pytest.mark.integration

HOST = "x86_64-unknown-linux-musl"
MUSL = (HOST, "aarch64-unknown-linux-musl")
WINDOWS = "x86_64-pc-windows-gnu"
SHELL_FILES = ("complete/crcsum.bash", "complete/_crcsum", "complete/crcsum.fish", "complete/_crcsum.ps1")


def members(path: Path) -> dict[str, bytes]:
    """{name: content} of the files in a release archive, without its top folder."""
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as handle:
            return {
                i.filename.split("/", 1)[1]: handle.read(i) for i in handle.infolist() if not i.filename.endswith("/")
            }
    with tarfile.open(path) as handle:
        return {
            m.name.split("/", 1)[1]: handle.extractfile(m).read()  # type: ignore[union-attr]
            for m in handle.getmembers()
            if m.isfile()
        }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the release folder the packages step made ------------------------------------------------


def test_every_archive_ships_the_completions_and_man_page_the_host_binary_prints(package_dist: Path) -> None:
    record = json.loads((package_dist / "manifest.json").read_text())
    archives = [a for a in record["artifacts"] if a["kind"] == "archive"]
    assert len(archives) >= 7
    host = package_dist / HOST / "crcsum"
    for shell, path in zip(("bash", "zsh", "fish", "powershell"), SHELL_FILES, strict=True):
        printed = subprocess.run([host, "completions", shell], capture_output=True, check=True).stdout
        assert printed.strip(), shell
        for entry in archives:
            assert members(package_dist / entry["path"])[path] == printed, f"{entry['path']}: {path}"
    page = subprocess.run([host, "man"], capture_output=True, check=True).stdout
    assert page.startswith(b".ie") or b".TH crcsum 1" in page
    for entry in archives:
        assert members(package_dist / entry["path"])["man/crcsum.1"] == page


def test_the_plan_and_the_manifest_name_every_channel_and_its_files(package_dist: Path) -> None:
    plan = json.loads((package_dist / "plan.json").read_text())
    assert plan["packages"] == list(CHANNEL_NAMES)
    record = json.loads((package_dist / "manifest.json").read_text())
    packages = [a for a in record["artifacts"] if a["kind"] == "package"]
    assert {a["facts"]["channel"] for a in packages} == set(CHANNEL_NAMES)
    on_disk = {p.relative_to(package_dist).as_posix() for p in (package_dist / "packages").rglob("*") if p.is_file()}
    assert {a["path"] for a in packages} == on_disk
    for entry in packages:
        assert entry["path"].startswith(f"packages/{entry['facts']['channel']}/")
        assert sha256(package_dist / entry["path"]) == entry["sha256"]


def test_verify_accepts_the_packages_and_names_one_changed_afterwards(package_dist: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(package_dist, copy)
    invoke = [str(Path(shutil.which("invoke") or "invoke")), "verify", "--dist", str(copy), "--allow-partial"]
    ok = subprocess.run([*invoke, "--no-signatures"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    formula = copy / "packages" / "homebrew" / "Formula" / "crcsum.rb"
    formula.write_text(formula.read_text().replace("sha256", "sha256 ", 1))
    changed = subprocess.run([*invoke, "--no-signatures"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert changed.returncode != 0
    assert "packages/homebrew/Formula/crcsum.rb" in changed.stdout + changed.stderr


def test_a_second_clean_run_makes_byte_identical_packages(package_dist: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(package_dist, copy)
    shutil.rmtree(copy / "packages")
    before = {k: v for k, v in digest_tree(package_dist / "packages").items() if v != "dir"}
    argv = [str(Path(shutil.which("invoke") or "invoke")), "packages", "--dist", str(copy)]
    result = subprocess.run(
        [*argv, "--skip-build", "--allow-partial", "--unsigned"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = {k: v for k, v in digest_tree(copy / "packages").items() if v != "dir"}
    built = [name for name in before if name.endswith((".deb", ".rpm", ".snap", ".nupkg"))]
    assert len(built) >= 7, built
    assert after == before


# --- invoke binstall-metadata ------------------------------------------------------------------


def test_binstall_metadata_writes_the_table_once_and_check_tells_when_it_is_stale(tmp_path: Path) -> None:
    require_tool("cargo")
    sandbox = Sandbox.make(tmp_path)
    stale = sandbox.run("invoke", "binstall-metadata", "--check")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "differs" in stale.stderr
    cargo_toml = sandbox.root / "sample" / "Cargo.toml"
    original = cargo_toml.read_text()
    written = sandbox.run("invoke", "binstall-metadata")
    assert written.returncode == 0, written.stderr
    text = cargo_toml.read_text()
    assert text.startswith(original.split("[[bin]]")[0].rstrip())
    assert "[package.metadata.binstall]" in text
    assert 'pkg-fmt = "zip"' in text  # the Windows targets' override
    assert sandbox.run("invoke", "binstall-metadata", "--check").returncode == 0
    again = sandbox.run("invoke", "binstall-metadata")
    assert again.returncode == 0 and cargo_toml.read_text() == text
    metadata = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--manifest-path", str(cargo_toml)],
        capture_output=True,
        text=True,
        check=True,
    )
    binstall = json.loads(metadata.stdout)["packages"][0]["metadata"]["binstall"]
    assert binstall["bin-dir"] == "{ name }-{ version }-{ target }/{ bin }{ binary-ext }"


def test_binstall_metadata_dry_run_changes_nothing(tmp_path: Path) -> None:
    sandbox = Sandbox.make(tmp_path)
    before = sandbox.outside_dist()
    result = sandbox.run("invoke", "binstall-metadata", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would write [package.metadata.binstall]" in result.stderr
    assert sandbox.outside_dist() == before


# --- bad input ---------------------------------------------------------------------------------

TABLE = '[tool.release]\ncrate = "sample/Cargo.toml"\n'
PACKAGES = ("invoke", "packages", "--skip-build")


@dataclass(frozen=True)
class Case:
    """A release table, the builds in dist/, and what the refusal must name."""

    table: str
    names: tuple[str, ...]
    fix: str
    built: tuple[str, ...] = MUSL
    code: int = PackageError.exit_code
    argv: tuple[str, ...] = PACKAGES
    edit: Callable[[str], str] | None = None  # of the sample's Cargo.toml
    version: str = "0.1.0"


def _channels(*names: str) -> str:
    return "[tool.release.packages]\nchannels = [" + ", ".join(f'"{n}"' for n in names) + "]\n"


CASES: dict[str, Case] = {
    "a planned target without its archive": Case(
        TABLE + 'targets = ["*-linux-musl"]\n' + _channels("deb"),
        ("deb: archives: no archive in dist/ for linux aarch64 (musl)",),
        "--allow-partial",
        built=(HOST,),
    ),
    "a license that is no SPDX expression": Case(
        TABLE
        + 'targets = ["*-linux-musl"]\n'
        + _channels("homebrew")
        + '[tool.release.metadata]\nlicense = "MIT-ish"\n',
        ("homebrew: license:", "'MIT-ish' is not an SPDX license expression"),
        "write it as SPDX",
    ),
    "a version Chocolatey cannot express": Case(
        TABLE + f'targets = ["{WINDOWS}"]\n' + _channels("chocolatey"),
        ("chocolatey: version:", "averyveryverylongprereleaselabel"),
        'prerelease = "skip"',
        built=(WINDOWS,),
        version="0.1.0-averyveryverylongprereleaselabel.1",
    ),
    "no homepage for Chocolatey": Case(
        TABLE
        + f'targets = ["{WINDOWS}"]\n'
        + _channels("chocolatey")
        + 'download-url = "https://downloads.example.invalid/{tag}/{file}"\n',
        ("chocolatey: homepage:",),
        "homepage",
        built=(WINDOWS,),
        edit=lambda text: "\n".join(
            line for line in text.splitlines() if not line.startswith(("homepage", "repository"))
        ),
    ),
    "winget without its package identifier": Case(
        TABLE + f'targets = ["{WINDOWS}"]\n' + _channels("winget"),
        ("winget: identifier:",),
        "identifier",
        built=(WINDOWS,),
    ),
    "an unknown channel": Case(
        TABLE + _channels("flatpak"),
        ("tool.release.packages.channels: 'flatpak' is not one of homebrew",),
        "e.g. channels",
        code=ConfigError.exit_code,
        argv=("invoke", "status"),
    ),
    "a Linux libc that is none": Case(
        TABLE + _channels("deb") + '[tool.release.packages.deb]\nlinux-libc = "glibc"\n',
        ("tool.release.packages.deb.linux-libc: 'glibc' is not one of musl, gnu",),
        "e.g. linux-libc",
        code=ConfigError.exit_code,
        argv=("invoke", "status"),
    ),
    "an unknown key of a channel": Case(
        TABLE + _channels("rpm") + '[tool.release.packages.rpm]\nrelaese = "2"\n',
        ("unknown key tool.release.packages.rpm.relaese",),
        "did you mean 'release'",
        code=ConfigError.exit_code,
        argv=("invoke", "status"),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_package_input_is_refused_before_any_package_file(tmp_path: Path, name: str) -> None:
    require_tool("cargo")
    case = CASES[name]
    sandbox = Sandbox.make(tmp_path, release_table=case.table)
    cargo_toml = sandbox.root / "sample" / "Cargo.toml"
    text = cargo_toml.read_text().replace('version = "0.1.0"', f'version = "{case.version}"', 1)
    cargo_toml.write_text(case.edit(text) if case.edit else text)
    lock = sandbox.root / "sample" / "Cargo.lock"
    lock.write_text(
        lock.read_text().replace('name = "crcsum"\nversion = "0.1.0"', f'name = "crcsum"\nversion = "{case.version}"')
    )
    make_dist(sandbox.dist, case.built, version=case.version)
    for triple in case.built:
        target = get_target(triple)
        give_header(sandbox.dist, sandbox.dist / triple / target.executable("crcsum"), target)
    (sandbox.dist / fence.MARKER_NAME).write_text(fence.MARKER_TEXT)
    if case.code == PackageError.exit_code:
        # The steps before packages: archives, SBOM, checksums of what was built.
        env = {"SOURCE_DATE_EPOCH": "1700000000"}
        ready = sandbox.run("invoke", "checksum", "--skip-build", "--allow-partial", env=env)
        assert ready.returncode == 0, ready.stdout[-2000:] + ready.stderr[-2000:]
    assert_refused(
        sandbox, case.argv, code=case.code, names=case.names, fix=case.fix, env={"SOURCE_DATE_EPOCH": "1700000000"}
    )
    assert not (sandbox.dist / "packages").exists()


def test_a_dry_run_checks_and_lists_every_channel_and_changes_nothing(package_dist: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(package_dist, copy)
    before = digest_tree(copy)
    argv = [str(Path(shutil.which("invoke") or "invoke")), "packages", "--dist", str(copy), "--dry-run"]
    result = subprocess.run(
        [*argv, "--skip-build", "--allow-partial"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    for name in CHANNEL_NAMES:
        assert f"would write dist/packages/{name}/" in output
    assert "then built with dpkg-deb" in output
    assert digest_tree(copy) == before
