"""The deb channel with the real dpkg-deb, dpkg and lintian, over the packages step's output (dist/packages/deb).

What a user relies on: lintian finds no error, `dpkg-deb --info` says what the
package is, dpkg installs it into a root of its own (recorded as installed,
its files matching DEBIAN/md5sums) and the installed binary runs (arm64 under
qemu-user), Debian orders the versions as semver does, and the same release
always gives the same .deb bytes.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import itertools
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tooling import manifest, proc
from tooling.config import load_config
from tooling.packagers import deb
from tooling.packagers.base import BuildJob, Release, choose_archives
from tooling.packagers.release import release_from

pytestmark = pytest.mark.integration

# lintian warnings the packages may keep, each with its reason (errors: none; the two overridden tags are
# explained in the package's usr/share/lintian/overrides/<name>).
LINTIAN_WARNINGS_KEPT = {
    # Only when the release's archives carry no man page for the binary (the project generates none).
    "no-manual-page",
}
# A gnu arm64 binary needs the arm64 loader and libc; Debian's cross libc lives here.
ARM64_GNU_ROOT = Path("/usr/aarch64-linux-gnu")
DEB_ARCHES = tuple(deb.DEB_ARCH.values())


@pytest.fixture
def channel_dir(package_dist: Path) -> Path:
    return package_dist / "packages" / "deb"


# --- helpers (usable over any dist/ the tool made) -----------------------------------------------


def channel_release(dist: Path, epoch: int, **values: Any) -> tuple[Release, dict[str, Any]]:
    """The release and settings the packages step gives the deb channel for `dist` (settings changed by `values`)."""
    config = load_config(ROOT)
    release = release_from(config, manifest.read(dist / "manifest.json"), epoch)
    settings = {**config.packages["deb"], **{key.replace("_", "-"): value for key, value in values.items()}}
    planned = tuple((a.os, a.arch, a.libc) for a in release.archives)
    chosen = choose_archives(deb.CHANNEL, release.archives, planned, settings, allow_partial=True)
    return dataclasses.replace(release, archives=chosen), settings


def build_channel(dist: Path, folder: Path, scratch: Path, epoch: int, **values: Any) -> Release:
    """Check, render and build the deb channel into `folder`, as `invoke package` does; the release it packaged."""
    release, settings = channel_release(dist, epoch, **values)
    deb.check(release, settings)
    for name, content in deb.render(release, settings).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    scratch.mkdir(parents=True)
    assert deb.CHANNEL.build is not None
    deb.CHANNEL.build(BuildJob(release, settings, folder, dist, proc.Runner(), scratch))
    return release


def run(*argv: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=check)


def deb_of(folder: Path, arch: str) -> Path:
    (found,) = folder.glob(f"*_{arch}.deb")
    return found


def members(package: Path) -> dict[str, tarfile.TarInfo]:
    """The data tarball's entries of a .deb, by path without the leading `./`."""
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(package)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as handle:
        return {info.name.removeprefix("./"): info for info in handle.getmembers() if info.name not in (".", "./")}


def member_bytes(package: Path, path: str) -> bytes:
    """The content of the file `path` installed by a .deb."""
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(package)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as handle:
        source = handle.extractfile(f"./{path}")
        assert source is not None, f"{package.name} has no {path}"
        return source.read()


def install_into(root: Path, package: Path, arch: str) -> None:
    """Install `package` with dpkg into an empty dpkg database under `root`.

    dpkg --root needs its admin folder (status, available, info/, updates/, triggers/). A foreign
    architecture is added to that database first. --force-depends: the root holds no other package
    (a gnu build's libc6). --force-not-root: also works for a user without root.
    """
    admin = root / "var" / "lib" / "dpkg"
    for folder in ("info", "updates", "triggers"):
        (admin / folder).mkdir(parents=True, exist_ok=True)
    for file in ("status", "available"):
        (admin / file).touch()
    dpkg = ["dpkg", f"--root={root}", "--force-not-root", f"--log={root / 'dpkg.log'}"]
    if arch != run("dpkg", "--print-architecture").stdout.strip():
        run(*dpkg, "--add-architecture", arch)
    run(*dpkg, "--force-depends", "--install", package)


def run_installed(binary: Path, arch: str) -> str:
    """`binary --version`, natively or under qemu-aarch64."""
    if arch == "amd64":
        return run(binary, "--version").stdout
    qemu = require_tool("qemu-aarch64", "qemu-user")
    loader = ["-L", str(ARM64_GNU_ROOT)] if ARM64_GNU_ROOT.is_dir() else []  # harmless for a static binary
    return run(qemu, *loader, binary, "--version").stdout


def archive_text(archive: Path, member: str) -> str:
    """A text file inside a release's tar archive."""
    with tarfile.open(archive) as handle:
        source = handle.extractfile(member)
        assert source is not None
        return source.read().decode()


def lintian_report(*packages: Path) -> list[str]:
    """lintian's tag lines (`E: ...`, `W: ...`) over `packages`, every occurrence shown."""
    result = run("lintian", "--tag-display-limit", "0", *packages, check=False)
    assert result.returncode in (0, 1, 2), f"lintian failed:\n{result.stdout}\n{result.stderr}"
    return [line for line in result.stdout.splitlines() if line[:3] in ("E: ", "W: ")]


# --- the packages step's output ---------------------------------------------------------------------------


def test_channel_folder_holds_one_deb_per_architecture_and_nothing_else(package_dist: Path, channel_dir: Path) -> None:
    release, _ = channel_release(package_dist, epoch=0)
    version = deb.debian_version(release.version)
    assert sorted(p.name for p in channel_dir.iterdir()) == sorted(
        f"{release.name}_{version}_{arch}.deb" for arch in DEB_ARCHES
    )


def test_lintian_reports_no_error_and_only_the_warnings_kept(package_dist: Path, channel_dir: Path) -> None:
    require_tool("lintian")
    report = lintian_report(*sorted(channel_dir.glob("*.deb")))
    assert [line for line in report if line.startswith("E: ")] == []
    warned = {line.split()[2] for line in report if line.startswith("W: ")}
    assert warned <= LINTIAN_WARNINGS_KEPT, report
    release, _ = channel_release(package_dist, epoch=0)
    if all(release.man_page(binary) for binary in release.binaries):
        assert "no-manual-page" not in warned


@pytest.mark.parametrize("arch", DEB_ARCHES)
def test_dpkg_deb_info_shows_the_fields(package_dist: Path, channel_dir: Path, arch: str) -> None:
    require_tool("dpkg-deb")
    release, _ = channel_release(package_dist, epoch=0)
    package = deb_of(channel_dir, arch)
    info = run("dpkg-deb", "--info", package).stdout
    for field in ("Package", "Version", "Architecture", "Maintainer", "Installed-Size", "Section", "Priority"):
        assert f"\n {field}: " in info, info
    fields = run("dpkg-deb", "--field", package, "Package", "Version", "Architecture", "Maintainer").stdout
    assert fields == (
        f"Package: {release.name}\nVersion: {deb.debian_version(release.version)}\n"
        f"Architecture: {arch}\nMaintainer: {release.maintainer}\n"
    )
    synopsis = run("dpkg-deb", "--field", package, "Description").stdout.splitlines()[0]
    assert synopsis == release.description.splitlines()[0].rstrip(".")
    entries = members(package)
    files = [info for info in entries.values() if info.isfile()]
    folders = len(entries) - len(files)
    size = int(run("dpkg-deb", "--field", package, "Installed-Size").stdout)
    assert size == deb.installed_size((info.size for info in files), folders)


@pytest.mark.parametrize("arch", DEB_ARCHES)
def test_package_contents_owners_modes_and_times(package_dist: Path, channel_dir: Path, arch: str) -> None:
    require_tool("dpkg-deb")
    release, _ = channel_release(package_dist, epoch=0)
    package = deb_of(channel_dir, arch)
    entries = members(package)
    expected = {f"usr/bin/{binary}" for binary in release.binaries} | {
        f"usr/share/doc/{release.name}/copyright",
        f"usr/share/doc/{release.name}/changelog.gz",
        f"usr/share/lintian/overrides/{release.name}",
    }
    for binary in release.binaries:
        if release.man_page(binary):
            expected.add(f"usr/share/man/man1/{binary}.1.gz")
        for shell in release.completions(binary):
            if shell in deb.COMPLETION_PATHS:
                expected.add(deb.COMPLETION_PATHS[shell].format(bin=binary))
    assert {name for name, info in entries.items() if info.isfile()} == expected
    executables = {f"usr/bin/{binary}" for binary in release.binaries}
    for name, info in entries.items():
        assert (info.uname, info.gname, info.uid, info.gid) == ("root", "root", 0, 0), name
        wanted = 0o755 if info.isdir() or name in executables else 0o644
        assert info.mode & 0o7777 == wanted, f"{name}: {oct(info.mode)}"
    assert len({info.mtime for info in entries.values()}) == 1  # every mtime is the release's epoch


def test_copyright_carries_the_archives_license_text(package_dist: Path, channel_dir: Path) -> None:
    require_tool("dpkg-deb")
    release, _ = channel_release(package_dist, epoch=0)
    package = deb_of(channel_dir, "amd64")
    copyright_text = member_bytes(package, f"usr/share/doc/{release.name}/copyright").decode()
    assert copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
    assert f"\nFiles: *\nCopyright: {release.maintainer}\nLicense: " in copyright_text
    for key, files in deb.license_sources(release.license, release.license_files()).items():
        archive = release.archives[0]
        text = archive_text(package_dist / archive.file, f"{archive.top}/{files[0]}")
        indented = "".join(f" {line}\n" for line in deb.dep5_text(text))
        assert f"\nLicense: {key}\n{indented}" in copyright_text + "\n"


def test_changelog_is_a_debian_entry_gzipped_without_name_or_time(package_dist: Path, channel_dir: Path) -> None:
    require_tool("dpkg-deb")
    release, _ = channel_release(package_dist, epoch=0)
    raw = member_bytes(deb_of(channel_dir, "amd64"), f"usr/share/doc/{release.name}/changelog.gz")
    assert raw[3] & 0x08 == 0 and raw[4:8] == b"\0\0\0\0"  # no FNAME flag, MTIME 0: gzip -n
    entry = gzip.decompress(raw).decode()
    assert entry.startswith(f"{release.name} ({deb.debian_version(release.version)}) unstable; urgency=medium\n")
    assert f"\n -- {release.maintainer}  " in entry


@pytest.mark.parametrize("arch", DEB_ARCHES)
def test_dpkg_installs_the_package_and_its_binary_runs(
    package_dist: Path, channel_dir: Path, arch: str, tmp_path: Path
) -> None:
    require_tool("dpkg")
    release, _ = channel_release(package_dist, epoch=0)
    install_into(tmp_path, deb_of(channel_dir, arch), arch)
    status = run("dpkg", f"--root={tmp_path}", "--status", f"{release.name}:{arch}").stdout
    assert "Status: install ok installed\n" in status
    assert f"Version: {deb.debian_version(release.version)}\n" in status
    # The installed files match DEBIAN/md5sums: --verify prints nothing for an intact package.
    assert run("dpkg", f"--root={tmp_path}", "--verify", release.name).stdout == ""
    for binary in release.binaries:
        installed = tmp_path / "usr" / "bin" / binary
        assert run_installed(installed, arch).startswith(f"{binary} {release.version} (")


def test_two_builds_are_byte_identical_to_the_packages_steps(
    package_dist: Path, channel_dir: Path, tmp_path: Path
) -> None:
    require_tool("dpkg-deb")
    step_debs = sorted(channel_dir.glob("*.deb"))
    epoch = next(info.mtime for info in members(step_debs[0]).values())  # the step's SOURCE_DATE_EPOCH
    for attempt in ("first", "second"):
        build_channel(package_dist, tmp_path / attempt, tmp_path / f"scratch-{attempt}", epoch)
    first = sorted((tmp_path / "first").iterdir())
    second = sorted((tmp_path / "second").iterdir())
    assert [p.name for p in first] == [p.name for p in second] == [p.name for p in step_debs]
    for one, other, step in zip(first, second, step_debs, strict=True):
        assert one.read_bytes() == other.read_bytes() == step.read_bytes(), one.name


def test_gnu_build_depends_on_libc6_is_lintian_clean_and_runs(package_dist: Path, tmp_path: Path) -> None:
    for tool in ("dpkg-deb", "dpkg", "lintian"):
        require_tool(tool)
    folder = tmp_path / "gnu"
    release = build_channel(
        package_dist, folder, tmp_path / "scratch", 1_700_000_000, linux_libc="gnu", depends=["libc6 (>= 2.17)"]
    )
    assert {archive.libc for archive in release.archives} == {"gnu"}
    report = lintian_report(*sorted(folder.glob("*.deb")))
    assert [line for line in report if line.startswith("E: ")] == []  # missing-dependency-on-libc among them
    assert {line.split()[2] for line in report if line.startswith("W: ")} <= LINTIAN_WARNINGS_KEPT, report
    for arch in DEB_ARCHES:
        package = deb_of(folder, arch)
        assert run("dpkg-deb", "--field", package, "Depends").stdout == "libc6 (>= 2.17)\n"
        root = tmp_path / f"root-{arch}"
        install_into(root, package, arch)
        for binary in release.binaries:
            version = run_installed(root / "usr" / "bin" / binary, arch)
            assert version.startswith(f"{binary} {release.version} (") and "-linux-gnu)" in version


# --- Debian's own tools on what the channel decides ---------------------------------------------------


def test_debian_orders_the_versions_as_semver_does() -> None:
    require_tool("dpkg")
    # Semantic Versioning 2.0.0's own precedence example, lowest first (and build metadata ignored).
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0+build.7",
        "1.0.1",
    ]
    mapped = [deb.debian_version(version) for version in ordered]
    for lower, higher in itertools.pairwise(mapped):
        assert run("dpkg", "--compare-versions", lower, "lt", higher, check=False).returncode == 0, (lower, higher)
