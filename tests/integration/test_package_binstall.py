"""The binstall channel on a real dist/: its table finds every archive made here and the binary inside it.

cargo-binstall cannot be downloaded here, so its lookup is replayed by the
unit tests' expansion of the templates (written from its documentation) and
checked against the real archives; cargo itself checks that the table written
into the sample's Cargo.toml is one it reads back as package metadata.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tests.unit.test_packager_binstall import binstall_bin_path, binstall_urls
from tooling import manifest
from tooling.config import load_config
from tooling.packagers import binstall
from tooling.packagers.base import Release
from tooling.packagers.release import release_from

pytestmark = pytest.mark.integration

EXECUTABLE_BITS = 0o111


@pytest.fixture
def channel_dir(package_dist: Path) -> Path:
    return package_dist / "packages" / "binstall"


def dist_release(dist: Path) -> Release:
    """Every archive of dist/manifest.json, with the URLs this project's config gives them."""
    return release_from(load_config(ROOT), manifest.read(dist / "manifest.json"), epoch=0)


def channel_table(channel_dir: Path) -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((channel_dir / binstall.OUTPUT).read_text(encoding="utf-8"))["package"][
        "metadata"
    ]["binstall"]
    return table


def archive_member(path: Path, inner: str) -> tuple[bytes, int] | None:
    """(content, mode) of the regular file `inner` in the archive at `path`, or None."""
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as handle:
            if inner not in handle.namelist():
                return None
            info = handle.getinfo(inner)
            return handle.read(info), (info.external_attr >> 16) & 0o777
    data = path.read_bytes()
    if path.name.endswith(".tar.zst"):
        import zstandard

        data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    with tarfile.open(fileobj=io.BytesIO(data)) as handle:
        try:
            member = handle.getmember(inner)
        except KeyError:
            return None
        source = handle.extractfile(member) if member.isfile() else None
        return (source.read(), member.mode & 0o777) if source else None


def test_every_archive_in_dist_is_found_with_its_binary(package_dist: Path, channel_dir: Path) -> None:
    table = channel_table(channel_dir)
    release = dist_release(package_dist)
    listed = [
        a for a in json.loads((package_dist / "manifest.json").read_text())["artifacts"] if a["kind"] == "archive"
    ]
    assert len(release.archives) == len(listed) >= 2
    for archive in release.archives:
        urls = binstall_urls(
            table, name=release.name, version=release.version, repo=release.repository, triple=archive.triple
        )
        assert archive.url in urls, f"{archive.triple}: cargo-binstall would try {urls}, not {archive.url}"
        for binary in release.binaries:
            inner = binstall_bin_path(
                table, name=release.name, version=release.version, triple=archive.triple, binary=binary
            )
            found = archive_member(package_dist / archive.file, inner)
            assert found is not None, f"{archive.file} holds no file {inner}"
            content, mode = found
            assert content, f"{archive.file}: {inner} is empty"
            if archive.os != "windows":
                assert mode & EXECUTABLE_BITS == EXECUTABLE_BITS, f"{archive.file}: {inner} is not executable"


def test_the_binary_at_bin_dir_runs(package_dist: Path, channel_dir: Path, tmp_path: Path) -> None:
    table = channel_table(channel_dir)
    release = dist_release(package_dist)
    native = [a for a in release.archives if (a.os, a.arch) == ("linux", "x86_64")]
    if not native:
        pytest.skip("no x86_64 Linux archive in dist/")
    for archive in native:
        binary = release.binaries[0]
        inner = binstall_bin_path(
            table, name=release.name, version=release.version, triple=archive.triple, binary=binary
        )
        found = archive_member(package_dist / archive.file, inner)
        assert found is not None
        installed = tmp_path / f"{binary}-{archive.libc}"
        installed.write_bytes(found[0])
        installed.chmod(0o755)
        result = subprocess.run([str(installed), "--version"], capture_output=True, text=True, check=True)
        assert result.stdout.strip() == f"{release.name} {release.version} ({archive.triple})"


def test_table_written_into_the_crate_is_read_back_by_cargo(channel_dir: Path, tmp_path: Path) -> None:
    cargo = require_tool("cargo", "reading the edited Cargo.toml")
    crate = tmp_path / "sample"
    shutil.copytree(ROOT / "sample", crate, ignore=shutil.ignore_patterns("target"))
    original = (crate / "Cargo.toml").read_text(encoding="utf-8")
    table = channel_table(channel_dir)
    assert binstall.write_metadata(crate / "Cargo.toml", table) is True
    assert binstall.write_metadata(crate / "Cargo.toml", table) is False
    edited = (crate / "Cargo.toml").read_text(encoding="utf-8")
    # The edit adds the channel's table text, as users would paste it, and changes nothing else.
    rendered = (channel_dir / binstall.OUTPUT).read_text(encoding="utf-8")
    table_text = rendered[rendered.index("[package.metadata.binstall]") :]
    assert table_text + "\n" in edited
    assert edited.replace(table_text + "\n", "", 1) == original
    result = subprocess.run(
        [
            cargo,
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
            str(crate / "Cargo.toml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    (package,) = json.loads(result.stdout)["packages"]
    assert package["metadata"]["binstall"] == table
