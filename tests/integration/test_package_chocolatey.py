"""The Chocolatey package made from a real dist/: the .nupkg a user pushes, checked with NuGet's own tools.

What a user relies on: the .nupkg is a valid package whose nuspec passes NuGet's schema; its install
script downloads the release's Windows zip and checks it against that zip's real SHA-256; NuGet's
reader opens the package and `nuget pack` would have made the same parts; and building the same
release twice gives the same bytes, so the package can be checked against a rebuild.

NuGet 2.8.7 (Debian's `nuget`) refuses Chocolatey's nuspec namespace, so where it reads or packs, it
gets a copy whose namespace is one it knows (MODERN_NUGET_NAMESPACE); nothing else changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tests.unit.test_packager_chocolatey import nuspec_errors
from tooling import manifest, proc
from tooling.config import load_config
from tooling.manifest import Artifact
from tooling.packagers import chocolatey
from tooling.packagers.base import BuildJob
from tooling.packagers.run import prepare
from tooling.targets import get_target

pytestmark = pytest.mark.integration

EPOCH = 1_700_000_000
# The newest nuspec namespace NuGet 2.8.7 knows.
NUGET_NAMESPACE = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"
CORE_PROPERTIES = "package/services/metadata/core-properties/"


def build_channel(dist: Path, folder: Path, scratch: Path, epoch: int = EPOCH) -> Path:
    """Check, render and build the chocolatey channel from `dist`'s manifest into `folder`; the .nupkg.

    The packages step's own functions, with the folder chosen here, so the tests can build twice (and
    can be tried against any dist/).
    """
    record = manifest.read(dist / "manifest.json")
    triples = sorted({a.target for a in record.artifacts if a.kind == "archive" and a.target})
    (item,) = prepare(load_config(ROOT), record, ["chocolatey"], triples, epoch=epoch, allow_partial=True)
    for name, content in item.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    scratch.mkdir(parents=True, exist_ok=True)
    assert chocolatey.CHANNEL.build is not None
    chocolatey.CHANNEL.build(BuildJob(item.release, item.settings, folder, dist, proc.Runner(), scratch))
    (nupkg,) = folder.glob("*.nupkg")
    return nupkg


@pytest.fixture(scope="module")
def dist(package_dist: Path) -> Path:
    return package_dist


@pytest.fixture(scope="module")
def channel_dir(dist: Path) -> Path:
    return dist / "packages" / "chocolatey"


@pytest.fixture(scope="module")
def nupkg(channel_dir: Path) -> Path:
    found = sorted(channel_dir.glob("*.nupkg"))
    assert len(found) == 1, f"expected one .nupkg in {channel_dir}, found {found}"
    return found[0]


def windows_archive(dist: Path) -> Artifact:
    record = manifest.read(dist / "manifest.json")
    (archive,) = [
        a for a in record.artifacts if a.kind == "archive" and a.target and get_target(a.target).os == "windows"
    ]
    return archive


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def nuspec_name(parts: dict[str, bytes]) -> str:
    (name,) = [n for n in parts if n.endswith(".nuspec") and "/" not in n]
    return name


def with_namespace(nuspec: bytes, namespace: str) -> bytes:
    """The nuspec with its root namespace replaced (the one xmlns attribute, text untouched)."""
    old = chocolatey.NUSPEC_NAMESPACE.encode()
    assert nuspec.count(old) == 1
    return nuspec.replace(old, namespace.encode())


def nuget(*argv: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Debian's nuget, with its caches and config under `home` (never the user's own)."""
    program = require_tool("nuget", "checking the Chocolatey package with NuGet's own tools")
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    result = subprocess.run([program, *argv, "-NonInteractive"], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, f"nuget {argv[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


# --- the package in dist/ ------------------------------------------------------------------------


def test_the_package_is_named_by_id_and_version_and_sits_beside_its_sources(channel_dir: Path, nupkg: Path) -> None:
    parts = entries(nupkg)
    found = chocolatey.nuspec_metadata(parts[nuspec_name(parts)])
    assert nupkg.name == f"{found['id']}.{found['version']}.nupkg"
    assert found["id"] == "crcsum"
    files = sorted(p.relative_to(channel_dir).as_posix() for p in channel_dir.rglob("*") if p.is_file())
    assert files == [
        nupkg.name,
        "crcsum.nuspec",
        "tools/chocolateyinstall.ps1",
        "tools/chocolateyuninstall.ps1",
    ]


def test_the_package_holds_the_nuspec_scripts_and_opc_parts(channel_dir: Path, nupkg: Path) -> None:
    parts = entries(nupkg)
    name = nuspec_name(parts)
    assert {"[Content_Types].xml", "_rels/.rels", name, "tools/chocolateyinstall.ps1"} <= set(parts)
    # Exactly the files beside it, unchanged.
    for relative in (name, "tools/chocolateyinstall.ps1", "tools/chocolateyuninstall.ps1"):
        assert parts[relative] == (channel_dir / relative).read_bytes()
    rels = {e.get("Type"): e.get("Target") for e in ElementTree.fromstring(parts["_rels/.rels"])}
    assert rels[chocolatey.MANIFEST_RELATIONSHIP] == "/" + name
    assert rels[chocolatey.CORE_PROPERTIES_RELATIONSHIP].lstrip("/") in parts


def test_the_nuspec_inside_is_valid_against_nugets_schema(nupkg: Path) -> None:
    parts = entries(nupkg)
    nuspec = parts[nuspec_name(parts)]
    assert nuspec_errors(nuspec) == []
    assert ElementTree.fromstring(nuspec).tag == "{" + chocolatey.NUSPEC_NAMESPACE + "}package"


def test_the_install_script_fetches_the_windows_zip_with_its_real_sha256(dist: Path, nupkg: Path) -> None:
    archive = windows_archive(dist)
    script = entries(nupkg)["tools/chocolateyinstall.ps1"].decode("utf-8-sig")
    url = re.search(r"^\s*Url64bit\s*=\s*'([^']*)'", script, re.MULTILINE)
    checksum = re.search(r"^\s*Checksum64\s*=\s*'([^']*)'", script, re.MULTILINE)
    assert url and checksum, script
    assert url.group(1).startswith("https://") and url.group(1).endswith("/" + archive.path)
    # The hash in the script is the one of the file the release publishes, and the one SHA256SUMS lists.
    assert checksum.group(1) == archive.sha256 == hashlib.sha256((dist / archive.path).read_bytes()).hexdigest()
    assert f"{archive.sha256}  {archive.path}" in (dist / "SHA256SUMS").read_text(encoding="utf-8")
    assert "ChecksumType64 = 'sha256'" in script
    assert "Install-ChocolateyZipPackage @packageArgs" in script


def test_the_uninstall_script_removes_the_folder_the_zip_unpacks_to(dist: Path, nupkg: Path) -> None:
    archive = windows_archive(dist)
    with zipfile.ZipFile(dist / archive.path) as release_zip:
        (top,) = {name.split("/")[0] for name in release_zip.namelist()}
        # Chocolatey shims every .exe under the package folder: the binary must be in the zip.
        assert f"{top}/crcsum.exe" in release_zip.namelist()
    script = entries(nupkg)["tools/chocolateyuninstall.ps1"].decode("utf-8-sig")
    assert f"Join-Path \"$(Split-Path -parent $MyInvocation.MyCommand.Definition)\" '{top}'" in script


def test_two_builds_of_the_same_release_are_byte_identical(dist: Path, tmp_path: Path) -> None:
    first = build_channel(dist, tmp_path / "one", tmp_path / "scratch-one")
    second = build_channel(dist, tmp_path / "two", tmp_path / "scratch-two")
    assert first.name == second.name
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as package:
        assert {info.date_time for info in package.infolist()} == {(2023, 11, 14, 22, 13, 20)}


# --- NuGet's own tools ---------------------------------------------------------------------------


def test_nugets_reader_installs_the_package(nupkg: Path, tmp_path: Path) -> None:
    parts = entries(nupkg)
    name = nuspec_name(parts)
    found = chocolatey.nuspec_metadata(parts[name])
    feed = tmp_path / "feed"
    feed.mkdir()
    # The same zip with only the nuspec's namespace swapped for one NuGet 2.8.7 knows.
    with zipfile.ZipFile(nupkg) as source, zipfile.ZipFile(feed / nupkg.name, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            copy.writestr(info, with_namespace(data, NUGET_NAMESPACE) if info.filename == name else data)
    out = tmp_path / "installed"
    extra = ["-Prerelease"] if "-" in found["version"] else []
    argv = ["install", found["id"], "-Version", found["version"], "-Source", str(feed), "-OutputDirectory", str(out)]
    nuget(*argv, "-NoCache", *extra, home=tmp_path)
    installed = out / f"{found['id']}.{found['version']}"
    for script in ("tools/chocolateyinstall.ps1", "tools/chocolateyuninstall.ps1"):
        assert (installed / script).read_bytes() == parts[script]


def _opc_view(parts: dict[str, bytes]) -> dict[str, object]:
    """What an OPC reader sees, without the core-properties part's (random, in NuGet's case) name."""
    properties = next(n for n in parts if n.startswith(CORE_PROPERTIES))

    def rename(name: str) -> str:
        return "<core-properties>" if name.lstrip("/") == properties else name

    types = ElementTree.fromstring(parts["[Content_Types].xml"])
    core = ElementTree.fromstring(parts[properties])
    return {
        "parts": sorted(rename(n) for n in parts),
        "content types": sorted((e.tag, tuple(sorted(e.attrib.items()))) for e in types),
        "relationships": sorted(
            (e.get("Type"), rename(e.get("Target", ""))) for e in ElementTree.fromstring(parts["_rels/.rels"])
        ),
        "core properties": {e.tag: e.text for e in core if not e.tag.endswith("lastModifiedBy")},
        "tools": {n: c for n, c in parts.items() if n.startswith("tools/")},
        "metadata": chocolatey.nuspec_metadata(parts[nuspec_name(parts)]),
    }


def test_nuget_pack_makes_the_same_package(channel_dir: Path, nupkg: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(channel_dir / "tools", source / "tools")
    ours = entries(nupkg)
    name = nuspec_name(ours)
    (source / name).write_bytes(with_namespace(ours[name], NUGET_NAMESPACE))
    out = tmp_path / "out"
    out.mkdir()
    nuget("pack", str(source / name), "-OutputDirectory", str(out), "-NoPackageAnalysis", home=tmp_path)
    theirs = entries(out / nupkg.name)
    # NuGet writes the nuspec again in its own words (and namespace); the metadata must be the same.
    assert _opc_view(ours) == _opc_view(theirs)
