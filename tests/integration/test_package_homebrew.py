"""The Homebrew formula made from a real dist/: Ruby parses it, and a stand-in of Homebrew's DSL
(homebrew_dsl/formula_stub.rb) loads it the way Homebrew does on each of macOS/Linux x arm/intel.

What a tap user relies on: Homebrew finds the class the file name promises; each machine downloads the
right archive with the right checksum; every file the formula installs exists in that archive; and
`brew test` runs the installed binary and finds the version in its output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tooling import manifest
from tooling.config import load_config
from tooling.manifest import Artifact, Manifest
from tooling.packagers import homebrew
from tooling.packagers.base import unpack_archive
from tooling.packagers.release import release_from
from tooling.packagers.run import channel_folder, prepare
from tooling.targets import get_target

pytestmark = pytest.mark.integration

STUB = Path(__file__).parent / "homebrew_dsl" / "formula_stub.rb"
# The stub's platform keys, and the (os, arch) of the target table each stands for.
PLATFORMS = {
    "macos-arm": ("macos", "aarch64"),
    "macos-intel": ("macos", "x86_64"),
    "linux-arm": ("linux", "aarch64"),
    "linux-intel": ("linux", "x86_64"),
}
# Where Homebrew puts what each `<folder>.install` gets, inside the keg.
KEG_FOLDERS = {
    "bin": "bin",
    "man1": "share/man/man1",
    "bash_completion": "etc/bash_completion.d",
    "zsh_completion": "share/zsh/site-functions",
    "fish_completion": "share/fish/vendor_completions.d",
}


def write_channel(dist: Path) -> Path:
    """Render the homebrew channel from `dist`'s manifest into dist/packages/homebrew (as the packages step does).

    For trying these tests against any dist/ (the suite itself uses the package_dist fixture's).
    """
    record = manifest.read(dist / "manifest.json")
    triples = sorted({a.target for a in record.artifacts if a.kind == "archive" and a.target})
    (prepared,) = prepare(load_config(ROOT), record, ["homebrew"], triples, epoch=0, allow_partial=True)
    folder = channel_folder(dist, "homebrew")
    for name, content in prepared.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def evaluate(formula: Path, kegs: dict[str, Path] | None = None) -> dict[str, Any]:
    """What the DSL stand-in records for each platform; `kegs` runs that platform's test block for real."""
    ruby = require_tool("ruby", "evaluating the Homebrew formula")
    argv = [ruby, str(STUB), str(formula)]
    for platform, keg in (kegs or {}).items():
        argv += ["--keg", f"{platform}={keg}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"the formula did not load or run in the DSL stand-in:\n{result.stderr}"
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def archive_members(path: Path) -> set[str]:
    """Regular files in a release archive, relative to its top folder."""
    with tarfile.open(path) as handle:
        return {str(PurePosixPath(*PurePosixPath(m.name).parts[1:])) for m in handle.getmembers() if m.isfile()}


@pytest.fixture(scope="module")
def dist(package_dist: Path) -> Path:
    return package_dist


@pytest.fixture(scope="module")
def record(dist: Path) -> Manifest:
    return manifest.read(dist / "manifest.json")


@pytest.fixture(scope="module")
def formula(dist: Path, record: Manifest) -> Path:
    folder = channel_folder(dist, "homebrew")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    config = load_config(ROOT)
    release = release_from(config, record, epoch=0)
    name = homebrew.formula_name(release, config.packages["homebrew"])
    assert files == [f"Formula/{name}.rb"]
    return folder / files[0]


@pytest.fixture(scope="module")
def recorded(formula: Path) -> dict[str, Any]:
    return evaluate(formula)


def archives_by_file(record: Manifest) -> dict[str, Artifact]:
    return {a.path: a for a in record.artifacts if a.kind == "archive"}


def test_ruby_parses_the_formula(formula: Path) -> None:
    ruby = require_tool("ruby", "checking the formula's syntax")
    result = subprocess.run([ruby, "-c", str(formula)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "Syntax OK" in result.stdout, result.stderr


def test_formula_loads_under_the_class_name_homebrew_derives(formula: Path, recorded: dict[str, Any]) -> None:
    for platform, data in recorded.items():
        assert data["class"] == homebrew.class_name(formula.stem), platform


def test_metadata_is_the_release_s(recorded: dict[str, Any], record: Manifest) -> None:
    config = load_config(ROOT)
    for data in recorded.values():
        assert data["version"] == record.version
        assert data["desc"] and data["homepage"] == config.package.homepage
        assert data["license"]


def test_each_platform_downloads_its_archive_with_its_checksum(
    recorded: dict[str, Any], record: Manifest, dist: Path
) -> None:
    archives = archives_by_file(record)
    urls = {a.file: a.url for a in release_from(load_config(ROOT), record, epoch=0).archives}
    libc = load_config(ROOT).packages["homebrew"]["linux-libc"]
    for platform, (os_name, arch) in PLATFORMS.items():
        data = recorded[platform]
        assert len(data["urls"]) == 1 and len(data["sha256s"]) == 1, f"{platform}: one url and one sha256"
        url = data["urls"][0]["url"]
        file = url.rsplit("/", 1)[-1]
        assert file in archives, f"{platform}: {url} is no archive of the release"
        assert url == urls[file]
        target = get_target(str(archives[file].target))
        assert (target.os, target.arch) == (os_name, arch), f"{platform} downloads {file}"
        serving = {get_target(str(a.target)).libc for a in archives.values() if a.target}
        if os_name == "linux" and libc in serving:
            assert target.libc == libc, f"{platform} should use the {libc} build"
        assert data["sha256s"][0] == archives[file].sha256 == manifest.sha256_file(dist / file)


def test_every_installed_file_is_in_the_downloaded_archive(
    recorded: dict[str, Any], record: Manifest, dist: Path
) -> None:
    archives = archives_by_file(record)
    for platform, data in recorded.items():
        file = data["urls"][0]["url"].rsplit("/", 1)[-1]
        members = archive_members(dist / file)
        installed = {entry["source"] for entry in data["install"]}
        assert installed <= members, f"{platform}: {sorted(installed - members)} are not in {file}"
        built = {
            PurePosixPath(a.path).name
            for a in record.artifacts
            if a.kind == "binary" and a.target == archives[file].target
        }
        assert built and {e["source"] for e in data["install"] if e["dir"] == "bin"} == built, platform
        # Completions (but PowerShell's, which Homebrew has no place for) and man pages the archive has.
        extras = {m for m in members if m.startswith(("complete/", "man/")) and not m.endswith(".ps1")}
        assert extras <= installed, f"{platform}: {sorted(extras - installed)} are not installed"


def test_test_block_asserts_the_version_of_every_platform(recorded: dict[str, Any], record: Manifest) -> None:
    for platform, data in recorded.items():
        (command,) = data["test"]["commands"]
        assert command["command"].endswith(" --version"), platform
        assert [a["expected"] for a in data["test"]["assertions"]] == [record.version], platform


def install_into(keg: Path, top: Path, installs: list[dict[str, Any]]) -> None:
    """Do what the recorded `<folder>.install` calls do in Homebrew: move each file into its keg folder."""
    for entry in installs:
        target = keg / KEG_FOLDERS[entry["dir"]] / (entry["target"] or PurePosixPath(entry["source"]).name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(top / entry["source"], target)


def test_brew_test_passes_on_this_machine(formula: Path, recorded: dict[str, Any], dist: Path, tmp_path: Path) -> None:
    """linux-intel: unpack the archive the formula names, install as recorded, run the test block for real."""
    data = recorded["linux-intel"]
    top = unpack_archive(dist / data["urls"][0]["url"].rsplit("/", 1)[-1], tmp_path / "download")
    keg = tmp_path / "keg"
    install_into(keg, top, data["install"])
    ran = evaluate(formula, {"linux-intel": keg})["linux-intel"]["test"]
    (command,) = ran["commands"]
    assert command["status"] == 0 and command["command"].startswith(str(keg / "bin") + "/")
    (assertion,) = ran["assertions"]
    assert assertion["matched"], f"{assertion['expected']!r} not in {assertion['actual']!r}"
