"""The rpm channel with the real rpmbuild, rpm and rpmlint, over the packages step's output (dist/packages/rpm).

What a user relies on: rpmlint finds no errors, the package says what it is
(rpm -qip), it installs into an RPM database and the installed binary runs
(aarch64 under qemu-user), the published spec builds by itself, and the same
release always gives the same .rpm bytes.

rpmlint warnings that remain, each on purpose (see tooling/packagers/rpm.py):
unstripped-binary-or-object (the release's own bytes ship), invalid-license
(Debian's rpmlint has no license list), position-independent-executable-suggested
(static musl binaries), manpage-not-compressed bz2 (gzip, as Fedora's own step does),
no-manual-page-for-binary (an rpmlint 2.4 bug: it compares binaries with man sections),
no-buildroot-tag (ignored by rpm >= 4.6).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tooling import manifest, proc
from tooling.config import load_config
from tooling.packagers import rpm
from tooling.packagers.base import BuildJob, Release, choose_archives
from tooling.packagers.release import release_from

pytestmark = pytest.mark.integration

ARCHES = ("x86_64", "aarch64")
# A gnu aarch64 binary needs the aarch64 loader and libc; Debian's cross libc lives here.
AARCH64_GNU_ROOT = Path("/usr/aarch64-linux-gnu")


# --- helpers (usable over any dist/ the tool made) -----------------------------------------------


def channel_release(dist: Path, epoch: int, **values: Any) -> tuple[Release, dict[str, Any]]:
    """The release and settings the packages step gives the rpm channel for `dist` (settings changed by `values`)."""
    config = load_config(ROOT)
    release = release_from(config, manifest.read(dist / "manifest.json"), epoch)
    settings = {**config.packages["rpm"], **{key.replace("_", "-"): value for key, value in values.items()}}
    planned = tuple((a.os, a.arch, a.libc) for a in release.archives)
    chosen = choose_archives(rpm.CHANNEL, release.archives, planned, settings, allow_partial=True)
    return dataclasses.replace(release, archives=chosen), settings


def build_channel(dist: Path, folder: Path, scratch: Path, epoch: int, **values: Any) -> Release:
    """Check, render and build the rpm channel into `folder`, as `invoke package` does; the release it packaged."""
    release, settings = channel_release(dist, epoch, **values)
    rpm.check(release, settings)
    folder.mkdir(parents=True)
    for name, content in rpm.render(release, settings).items():
        (folder / name).write_bytes(content)
    scratch.mkdir(parents=True)
    assert rpm.CHANNEL.build is not None
    rpm.CHANNEL.build(BuildJob(release, settings, folder, dist, proc.Runner(), scratch))
    return release


def run(*argv: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=check)


def query(package: Path, tags: tuple[str, ...]) -> dict[str, str]:
    """{tag: value} of an .rpm file's header."""
    form = "\\n".join(f"{tag}=%{{{tag}}}" for tag in tags)
    out = run("rpm", "-qp", "--nosignature", "--qf", form + "\\n", package).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def rpm_of(folder: Path, arch: str) -> Path:
    (found,) = folder.glob(f"*.{arch}.rpm")
    return found


def rpmlint_errors(config: Path, *paths: Path) -> tuple[int, str]:
    """rpmlint's error count over `paths` with the channel's rpmlint settings, and its report."""
    result = run("rpmlint", "-c", config, *paths, check=False)
    report = result.stdout + result.stderr
    counted = re.search(r"(\d+) errors?, (\d+) warnings?", report)
    assert counted, f"rpmlint printed no summary:\n{report}"
    return int(counted.group(1)), report


def install_into(root: Path, package: Path, name: str) -> str:
    """Install `package` into a fresh RPM database under `root`; what `rpm -q <name>` says there.

    --nodeps: the root holds no other package. --ignorearch: aarch64 onto this machine's database.
    --dbpath: Debian's rpm keeps its database in ~/.rpmdb; a root of RPM's own layout is plainer.
    """
    database = ["--root", str(root), "--dbpath", "/var/lib/rpm"]
    run("rpm", *database, "--initdb")
    run("rpm", *database, "-i", "--nodeps", "--nosignature", "--ignorearch", package)
    return run("rpm", *database, "-q", name).stdout.strip()


def run_installed(binary: Path, arch: str, libc: str) -> str:
    """`binary --version`, natively or under qemu-aarch64."""
    if arch == "x86_64":
        return run(binary, "--version").stdout
    qemu = require_tool("qemu-aarch64", "qemu-user")
    loader = ["-L", str(AARCH64_GNU_ROOT)] if libc == "gnu" else []
    return run(qemu, *loader, binary, "--version").stdout


def installed_paths(release: Release) -> set[str]:
    """The paths the spec installs (macros expanded the way rpm expands them on every Linux)."""
    macros = {"%{_bindir}": "/usr/bin", "%{_mandir}": "/usr/share/man", "%{_datadir}": "/usr/share"}
    paths = set()
    for item in rpm.installs(release):
        path = item["destination"]
        for macro, value in macros.items():
            path = path.replace(macro, value)
        paths.add(path + (".gz" if path.startswith("/usr/share/man/") else ""))
    return paths


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tools() -> None:
    for tool in ("rpmbuild", "rpm", "rpmlint"):
        require_tool(tool, "Debian packages rpm and rpmlint")


@pytest.fixture(scope="module")
def channel_dir(package_dist: Path, tools: None) -> Path:
    return package_dist / "packages" / "rpm"


@pytest.fixture(scope="module")
def epoch(channel_dir: Path) -> int:
    """The epoch the packages step used: the .rpm's build time is SOURCE_DATE_EPOCH."""
    return int(query(rpm_of(channel_dir, "x86_64"), ("BUILDTIME",))["BUILDTIME"])


@pytest.fixture(scope="module")
def packaged(package_dist: Path, epoch: int) -> Release:
    return channel_release(package_dist, epoch)[0]


# --- tests ----------------------------------------------------------------------------------------


def test_channel_folder_holds_the_rpms_the_spec_and_the_lint_settings(
    package_dist: Path, channel_dir: Path, packaged: Release
) -> None:
    settings = channel_release(package_dist, packaged.epoch)[1]
    assert sorted(p.name for p in channel_dir.iterdir()) == list(rpm.output_files(packaged, settings))


def test_rpmlint_finds_no_errors(channel_dir: Path, packaged: Release) -> None:
    config = channel_dir / rpm.lint_config_name(packaged)
    errors, report = rpmlint_errors(config, channel_dir)  # both .rpm files and the spec
    assert errors == 0, report
    assert "2 packages and 1 specfiles checked" in report, report
    for alone in [*sorted(channel_dir.glob("*.rpm")), channel_dir / rpm.spec_name(packaged)]:
        errors, report = rpmlint_errors(config, alone)
        assert errors == 0, report


@pytest.mark.parametrize("arch", ARCHES)
def test_rpm_says_what_it_is(channel_dir: Path, packaged: Release, arch: str) -> None:
    package = rpm_of(channel_dir, arch)
    header = query(
        package, ("NAME", "VERSION", "RELEASE", "ARCH", "LICENSE", "URL", "SUMMARY", "PACKAGER", "BUILDHOST")
    )
    assert header == {
        "NAME": packaged.name,
        "VERSION": rpm.rpm_version(packaged.version),
        "RELEASE": "1",
        "ARCH": arch,
        "LICENSE": packaged.license,
        "URL": packaged.homepage,
        "SUMMARY": rpm.summary(packaged.description),
        "PACKAGER": packaged.maintainer,
        "BUILDHOST": "reproducible",
    }
    info = run("rpm", "-qip", "--nosignature", package).stdout
    for label, value in (("Name", packaged.name), ("License", packaged.license), ("URL", packaged.homepage)):
        assert re.search(rf"^{label}\s*: {re.escape(value)}$", info, re.MULTILINE), info


@pytest.mark.parametrize("arch", ARCHES)
def test_rpm_installs_and_its_binary_runs(channel_dir: Path, packaged: Release, arch: str, tmp_path: Path) -> None:
    package = rpm_of(channel_dir, arch)
    root = tmp_path / "root"
    assert install_into(root, package, packaged.name) == package.name.removesuffix(".rpm")
    listed = set(run("rpm", "-qlp", "--nosignature", package).stdout.split())
    assert installed_paths(packaged) <= listed
    for path in installed_paths(packaged):
        assert (root / path.lstrip("/")).is_file(), path
    archive = packaged.archive(("linux", arch))
    assert archive is not None
    out = run_installed(root / "usr/bin" / packaged.name, arch, archive.libc)
    assert out.startswith(f"{packaged.name} {packaged.version} ({archive.triple})"), out


def test_rebuilding_the_release_gives_the_same_bytes(
    package_dist: Path, channel_dir: Path, epoch: int, tmp_path: Path
) -> None:
    build_channel(package_dist, tmp_path / "again", tmp_path / "scratch", epoch)
    made = sorted(p.name for p in (tmp_path / "again").iterdir())
    assert made == sorted(p.name for p in channel_dir.iterdir())
    for name in made:
        assert (tmp_path / "again" / name).read_bytes() == (channel_dir / name).read_bytes(), name


def test_published_spec_builds_with_plain_rpmbuild(
    package_dist: Path, channel_dir: Path, packaged: Release, tmp_path: Path
) -> None:
    # What a user does: the archive in SOURCES, rpmbuild with nothing but a top folder.
    archive = packaged.archive(("linux", "x86_64"))
    assert archive is not None
    sources = tmp_path / "top" / "SOURCES"
    sources.mkdir(parents=True)
    shutil.copyfile(package_dist / archive.file, sources / rpm.source_file(archive))
    spec = channel_dir / rpm.spec_name(packaged)
    run("rpmbuild", "-bb", "--quiet", "--target", "x86_64", "--define", f"_topdir {tmp_path / 'top'}", spec)
    built = rpm_of(tmp_path / "top" / "RPMS" / "x86_64", "x86_64")
    assert built.name == rpm_of(channel_dir, "x86_64").name
    assert query(built, ("NAME", "VERSION", "LICENSE")) == query(
        rpm_of(channel_dir, "x86_64"), ("NAME", "VERSION", "LICENSE")
    )


def test_gnu_build_lints_clean_needs_glibc_and_runs(
    package_dist: Path, tools: None, epoch: int, tmp_path: Path
) -> None:
    folder = tmp_path / "gnu"
    release = build_channel(package_dist, folder, tmp_path / "scratch", epoch, linux_libc="gnu")
    assert {a.libc for a in release.archives} == {"gnu"}
    errors, report = rpmlint_errors(folder / rpm.lint_config_name(release), folder)
    assert errors == 0, report
    for arch in ARCHES:
        package = rpm_of(folder, arch)
        # rpmbuild's dependency generator names the glibc the dynamic binary links against.
        requires = run("rpm", "-qp", "--nosignature", "--requires", package).stdout
        assert "libc.so.6" in requires, requires
        root = tmp_path / f"root-{arch}"
        install_into(root, package, release.name)
        out = run_installed(root / "usr/bin" / release.name, arch, "gnu")
        assert out.startswith(f"{release.name} {release.version} ("), out
