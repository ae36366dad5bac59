"""The PKGBUILD and .SRCINFO made from a real dist/, built with the real makepkg.

What an AUR user relies on: .SRCINFO is what makepkg reads from the PKGBUILD, with the
release's real archives and checksums; `makepkg` downloads the archive, checks its
SHA-256 (and refuses a tampered one), and makes a package holding the binary, which runs,
with its license, docs and completions in Arch's places; and pacman orders the pkgvers
of a release's prereleases as semver does.

makepkg refuses to run as root: as root these tests create an unprivileged user for it
(removed afterwards); otherwise they run it as the current user.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import itertools
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from tests.conftest import ROOT, require_tool
from tooling import manifest
from tooling.config import load_config
from tooling.packagers import aur
from tooling.packagers.run import Prepared, prepare

pytestmark = pytest.mark.integration

CARCH = "x86_64"  # what makepkg builds here (makepkg.conf's CARCH on this machine)


def prepared_channel(dist: Path) -> Prepared:
    """The aur channel of `dist`'s release, checked and rendered as the packages step does."""
    record = manifest.read(dist / "manifest.json")
    triples = sorted({a.target for a in record.artifacts if a.kind == "archive" and a.target})
    (item,) = prepare(load_config(ROOT), record, ["aur"], triples, epoch=0, allow_partial=True)
    return item


def srcinfo_fields(text: str) -> dict[str, list[str]]:
    """{key: [values]} of a .SRCINFO (pkgbase section and package sections together)."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        if " = " in line:
            key, value = line.strip().split(" = ", 1)
            fields.setdefault(key, []).append(value)
    return fields


# --- an unprivileged builder and a local download server -----------------------------------------


class Builder:
    """Runs commands as an unprivileged user in its own folder (a new user when this process is root)."""

    def __init__(self, home: Path, user: str | None) -> None:
        self.home = home
        self.user = user

    def run(self, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        env = ["env", f"HOME={self.home}", "LC_ALL=C", f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}"]
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *env, *argv], cwd=cwd, capture_output=True, text=True, check=False)

    def folder(self, name: str) -> Path:
        path = self.home / name
        path.mkdir()
        if self.user:
            shutil.chown(path, self.user, self.user)
        return path

    def give(self, path: Path) -> None:
        if self.user:
            shutil.chown(path, self.user, self.user)


@pytest.fixture(scope="module")
def builder() -> Iterator[Builder]:
    require_tool("makepkg", "building the AUR package (Debian: makepkg)")
    require_tool("bsdtar", "makepkg unpacks and packs with it (Debian: libarchive-tools)")
    require_tool("fakeroot", "makepkg's package() runs under it")
    require_tool("curl", "makepkg downloads with it")
    base = Path(tempfile.mkdtemp(prefix="aur-test-"))
    base.chmod(0o755)  # the builder must reach its home inside
    if os.geteuid() != 0:
        yield Builder(base, None)
        shutil.rmtree(base)
        return
    user = "aurtest" + uuid.uuid4().hex[:8]
    home = base / user
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", user], check=True)
    try:
        yield Builder(home, user)
    finally:
        subprocess.run(["userdel", "--remove", user], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def server(dist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A download server on 127.0.0.1 serving a folder (initially a copy of dist/'s archives); (base URL, folder)."""
    folder = tmp_path_factory.mktemp("downloads")
    for path in dist_dir.iterdir():
        if path.is_file():
            shutil.copy2(path, folder / path.name)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    finally:
        httpd.shutdown()
        httpd.server_close()


def local_pkgbuild(text: str, base_url: str) -> str:
    """The PKGBUILD with every source URL pointing at the local server (file names kept)."""
    return re.sub(r"::[^']*/([^/']+)'", lambda m: f"::{base_url}/{m.group(1)}'", text)


def makepkg(
    builder: Builder, channel_dir: Path, base_url: str, name: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    work = builder.folder(name)
    pkgbuild = local_pkgbuild((channel_dir / "PKGBUILD").read_text(encoding="utf-8"), base_url)
    (work / "PKGBUILD").write_text(pkgbuild, encoding="utf-8")
    builder.give(work / "PKGBUILD")
    return builder.run("makepkg", "--nodeps", "--noconfirm", "--noprogressbar", cwd=work), work


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dist_dir(package_dist: Path) -> Path:
    return package_dist


@pytest.fixture(scope="module")
def channel_dir(dist_dir: Path) -> Path:
    return dist_dir / "packages" / "aur"


@pytest.fixture(scope="module")
def item(dist_dir: Path) -> Prepared:
    return prepared_channel(dist_dir)


@pytest.fixture(scope="module")
def built(builder: Builder, channel_dir: Path, server: tuple[str, Path]) -> Path:
    """The package makepkg made from the channel's PKGBUILD, downloading from the local server."""
    result, work = makepkg(builder, channel_dir, server[0], "build")
    assert result.returncode == 0, f"makepkg failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    (package,) = work.glob(f"*-{CARCH}.pkg.tar*")
    return package


def package_members(package: Path) -> dict[str, tarfile.TarInfo]:
    """Entries of a .pkg.tar.* file, by path."""
    if package.name.endswith(".zst"):
        with package.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream:
            data = io.BytesIO(stream.read())
    else:
        data = io.BytesIO(package.read_bytes())
    with tarfile.open(fileobj=data) as handle:
        return {m.name.removeprefix("./"): m for m in handle.getmembers()}


def packaged_path(destination: str, pkgname: str, members: dict[str, tarfile.TarInfo]) -> str:
    """Where an installed file ends up in the package: makepkg's zipman option (on in Arch's and Debian's
    makepkg.conf) gzips man pages."""
    path = destination.replace("$pkgname", pkgname)
    return path + ".gz" if path.startswith("usr/share/man/") and path + ".gz" in members else path


def read_member(package: Path, name: str) -> bytes:
    return subprocess.run(["bsdtar", "-xOf", str(package), name], capture_output=True, check=True).stdout


# --- tests ----------------------------------------------------------------------------------------


def test_channel_folder_holds_pkgbuild_and_srcinfo(channel_dir: Path) -> None:
    assert sorted(p.name for p in channel_dir.iterdir()) == [".SRCINFO", "PKGBUILD"]


def test_srcinfo_names_the_release_archives_and_their_real_sums(
    channel_dir: Path, dist_dir: Path, item: Prepared
) -> None:
    release, settings = item.release, item.settings
    fields = srcinfo_fields((channel_dir / ".SRCINFO").read_text(encoding="utf-8"))
    assert fields["pkgbase"] == fields["pkgname"] == [aur.package_name(release, settings)]
    assert fields["pkgver"] == [aur.pkgver(release.version)] and fields["pkgrel"] == ["1"]
    assert fields["arch"] == [aur.CARCH[a.arch] for a in release.archives]
    for archive in release.archives:
        carch = aur.CARCH[archive.arch]
        real = hashlib.sha256((dist_dir / archive.file).read_bytes()).hexdigest()
        assert fields[f"source_{carch}"] == [f"{archive.file}::{archive.url}"]
        assert fields[f"sha256sums_{carch}"] == [real]


def test_srcinfo_is_what_makepkg_reads_from_the_pkgbuild(builder: Builder, channel_dir: Path) -> None:
    work = builder.folder("srcinfo")
    shutil.copyfile(channel_dir / "PKGBUILD", work / "PKGBUILD")
    builder.give(work / "PKGBUILD")
    result = builder.run("makepkg", "--printsrcinfo", cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (channel_dir / ".SRCINFO").read_text(encoding="utf-8")


def test_makepkg_builds_a_package_with_everything_in_arch_places(built: Path, item: Prepared) -> None:
    release, settings = item.release, item.settings
    members = package_members(built)
    pkgname = aur.package_name(release, settings)
    info = read_member(built, ".PKGINFO").decode()
    assert f"pkgname = {pkgname}" in info and f"pkgver = {aur.pkgver(release.version)}-1" in info
    assert f"arch = {CARCH}" in info
    for line in aur.installs(release):
        path = packaged_path(line.destination, pkgname, members)
        assert path in members, path
        assert members[path].mode & 0o777 == int(line.mode, 8), path
    for binary in release.binaries:
        assert f"usr/bin/{binary}" in members
    for license_file in release.license_files():
        assert f"usr/share/licenses/{pkgname}/{license_file}" in members
    for binary in release.binaries:
        for shell, path in aur.COMPLETION_PATHS.items():
            assert (path.format(bin=binary) in members) == (shell in release.completions(binary))


def test_packaged_binary_is_the_released_one_and_runs(
    built: Path, item: Prepared, dist_dir: Path, tmp_path: Path
) -> None:
    archive = next(a for a in item.release.archives if aur.CARCH[a.arch] == CARCH)
    for binary in item.release.binaries:
        packaged = read_member(built, f"usr/bin/{binary}")
        with tarfile.open(dist_dir / archive.file) as handle:
            member = handle.extractfile(f"{archive.top}/{binary}")
            assert member is not None
            assert packaged == member.read()  # !strip: byte for byte the published binary
        path = tmp_path / binary
        path.write_bytes(packaged)
        path.chmod(0o755)
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
        assert f"{binary} {item.release.version}" in out


def test_makepkg_refuses_a_tampered_archive(
    builder: Builder, channel_dir: Path, server: tuple[str, Path], item: Prepared, built: Path
) -> None:
    base_url, folder = server
    archive = next(a for a in item.release.archives if aur.CARCH[a.arch] == CARCH)
    original = (folder / archive.file).read_bytes()
    try:
        (folder / archive.file).write_bytes(original + b"\0")
        result, _work = makepkg(builder, channel_dir, base_url, "tampered")
    finally:
        (folder / archive.file).write_bytes(original)
    assert result.returncode != 0
    assert "did not pass the validity check" in result.stdout + result.stderr


def test_vercmp_orders_pkgvers_as_semver_orders_versions() -> None:
    vercmp = require_tool("vercmp", "pacman's version comparison (Debian: makepkg)")
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.2",
        "1.0.0-alpha.10",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1-rc.1",
        "1.0.1",
        "1.10.0-beta.1",
        "1.10.0",
        "2.0.0",
    ]
    for older, newer in itertools.pairwise(ordered):
        out = subprocess.run([vercmp, aur.pkgver(older), aur.pkgver(newer)], capture_output=True, text=True)
        assert out.stdout.strip() == "-1", f"{aur.pkgver(older)} should sort before {aur.pkgver(newer)}"
