"""The snaps and snapcraft.yaml made from a real dist/.

What a snap user relies on: each .snap is a squashfs image snapd can mount, holding a
meta/snap.yaml that follows snapd's rules and an app whose command exists and runs; a
rebuild gives the same bytes; and snapcraft.yaml is valid for snapcraft (the official
schema) and downloads the very archives of the release, checked by their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import ROOT, require_schemas, require_tool
from tooling import manifest, proc
from tooling.config import load_config
from tooling.packagers import snap
from tooling.packagers.run import Prepared, channel_folder, make_channel, prepare

pytestmark = pytest.mark.integration


def prepared_channel(dist: Path, epoch: int) -> Prepared:
    """The snap channel of `dist`'s release, checked and rendered as the packages step does."""
    record = manifest.read(dist / "manifest.json")
    triples = sorted({a.target for a in record.artifacts if a.kind == "archive" and a.target})
    (item,) = prepare(load_config(ROOT), record, ["snap"], triples, epoch=epoch, allow_partial=True)
    return item


def build_channel(dist: Path, epoch: int) -> Path:
    """Make dist/packages/snap from `dist` with the packages step's own code (for trying these tests on any dist/)."""
    make_channel(prepared_channel(dist, epoch), dist, proc.Runner())
    return channel_folder(dist, "snap")


def run(*argv: str | Path) -> str:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=True).stdout


def snaps(folder: Path) -> dict[str, Path]:
    """{snap arch: .snap file} in the channel folder."""
    return {path.stem.rsplit("_", 1)[1]: path for path in sorted(folder.glob("*.snap"))}


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dist_dir(package_dist: Path) -> Path:
    require_tool("unsquashfs", "reading the snaps back (Debian: squashfs-tools)")
    return package_dist


@pytest.fixture(scope="module")
def channel_dir(dist_dir: Path) -> Path:
    return dist_dir / "packages" / "snap"


@pytest.fixture(scope="module")
def epoch(channel_dir: Path) -> int:
    """The release epoch the packages step used: the snaps' creation time."""
    first = next(iter(snaps(channel_dir).values()))
    return int(run("unsquashfs", "-mkfs-time", first).strip())


@pytest.fixture(scope="module")
def item(dist_dir: Path, epoch: int) -> Prepared:
    return prepared_channel(dist_dir, epoch)


# --- tests ----------------------------------------------------------------------------------------


def test_channel_folder_holds_one_snap_per_archive_and_snapcraft_yaml(channel_dir: Path, item: Prepared) -> None:
    release, settings = item.release, item.settings
    expected = {snap.snap_file_name(release, settings, a) for a in release.archives} | {"snapcraft.yaml"}
    assert {p.name for p in channel_dir.iterdir()} == expected
    assert sorted(snaps(channel_dir)) == sorted(snap.snap_arch(a) for a in release.archives)


def test_each_snap_holds_the_right_tree(channel_dir: Path, item: Prepared) -> None:
    for arch, path in snaps(channel_dir).items():
        listed = run("unsquashfs", "-l", path).splitlines()
        inside = sorted(line.removeprefix("squashfs-root/") for line in listed if line.startswith("squashfs-root/"))
        assert inside == list(snap.tree_paths(item.release)), arch
        long = {
            line.split()[-1].removeprefix("squashfs-root/"): line.split()[:2]
            for line in run("unsquashfs", "-lln", path).splitlines()
            if line.startswith(("-", "d"))
        }
        for binary in item.release.binaries:
            assert long[f"bin/{binary}"] == ["-rwxr-xr-x", "0/0"], arch
        assert long["meta/snap.yaml"] == ["-rw-r--r--", "0/0"], arch


def test_meta_snap_yaml_reads_back_and_follows_snapds_rules(channel_dir: Path, item: Prepared) -> None:
    release, settings = item.release, item.settings
    for arch, path in snaps(channel_dir).items():
        data = yaml.safe_load(run("unsquashfs", "-cat", path, "meta/snap.yaml"))
        assert snap.snap_yaml_problems(data) == [], arch
        assert data["name"] == snap.snap_name(release, settings) and data["version"] == release.version
        assert data["architectures"] == [arch]
        assert data["base"] == settings["base"] and data["confinement"] == settings["confinement"]
        assert data["grade"] == ("devel" if release.prerelease else "stable")
        for binary in release.binaries:
            app = data["apps"][binary]
            assert app["command"] == f"bin/{binary}" and app.get("plugs", []) == list(settings["plugs"])
            assert app.get("completer") == release.completions(binary).get("bash")


def test_snapcraft_yaml_is_valid_and_names_the_release_archives(
    channel_dir: Path, dist_dir: Path, item: Prepared
) -> None:
    schema = json.loads((require_schemas() / "snapcraft" / "snapcraft.json").read_text(encoding="utf-8"))
    data = yaml.safe_load((channel_dir / "snapcraft.yaml").read_text(encoding="utf-8"))
    assert [e.message for e in Draft202012Validator(schema).iter_errors(data)] == []
    part = data["parts"][data["name"]]
    for archive in item.release.archives:
        arch = snap.snap_arch(archive)
        real = hashlib.sha256((dist_dir / archive.file).read_bytes()).hexdigest()
        assert {f"to {arch}": archive.url} in part["source"]
        assert {f"to {arch}": f"sha256/{real}"} in part["source-checksum"]


def test_rebuilding_gives_the_same_bytes(channel_dir: Path, dist_dir: Path, epoch: int, tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    copy.mkdir()
    for path in dist_dir.iterdir():
        if path.is_file():
            shutil.copy2(path, copy / path.name)
    rebuilt = snaps(build_channel(copy, epoch))
    original = snaps(channel_dir)
    assert sorted(rebuilt) == sorted(original)
    for arch, path in original.items():
        assert rebuilt[arch].read_bytes() == path.read_bytes(), f"{path.name} differs when rebuilt"


def test_the_app_in_the_amd64_snap_runs_and_prints_its_version(
    channel_dir: Path, item: Prepared, tmp_path: Path
) -> None:
    path = snaps(channel_dir).get("amd64")
    if path is None:
        pytest.skip("no amd64 snap in this dist")
    run("unsquashfs", "-no-progress", "-d", tmp_path / "root", path)
    for binary in item.release.binaries:
        out = subprocess.run([tmp_path / "root" / "bin" / binary, "--version"], capture_output=True, text=True)
        assert out.returncode == 0 and f"{binary} {item.release.version}" in out.stdout


def test_the_app_in_the_arm64_snap_runs_under_qemu(channel_dir: Path, item: Prepared, tmp_path: Path) -> None:
    path = snaps(channel_dir).get("arm64")
    if path is None:
        pytest.skip("no arm64 snap in this dist")
    if item.settings["linux-libc"] != "musl":
        pytest.skip("a gnu arm64 binary needs an arm64 sysroot under qemu")
    qemu = require_tool("qemu-aarch64", "running the arm64 app (Debian: qemu-user)")
    run("unsquashfs", "-no-progress", "-d", tmp_path / "root", path)
    for binary in item.release.binaries:
        out = run(qemu, tmp_path / "root" / "bin" / binary, "--version")
        assert f"{binary} {item.release.version}" in out and "aarch64" in out
