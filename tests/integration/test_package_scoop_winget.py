"""Scoop and winget manifests of a real packaged dist/: valid against the official schemas, true to the archives.

Neither Scoop nor winget runs here (both are Windows programs), so these tests
check what each of them relies on when it installs: the schema it validates
the manifest with, the download URL and hash of an archive that really is in
dist/, the folder the archive unpacks to and the executables inside it, and
for Scoop's autoupdate, that the rules it follows for the next version lead
back to this release's archive and its line in SHA256SUMS.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import require_schemas
from tooling import manifest
from tooling.manifest import Artifact, sha256_file
from tooling.targets import get_target

pytestmark = pytest.mark.integration

WINGET_SCHEMAS = {
    "version": "manifest.version.1.10.0.json",
    "installer": "manifest.installer.1.10.0.json",
    "defaultLocale": "manifest.defaultLocale.1.10.0.json",
}


@pytest.fixture(scope="module")
def dist(package_dist: Path) -> Path:
    return package_dist


# --- helpers ----------------------------------------------------------------------------------


def windows_archives(dist: Path) -> dict[str, Artifact]:
    """{file name: artifact} of the Windows archives dist/manifest.json lists."""
    record = manifest.read(dist / "manifest.json")
    return {
        a.path: a
        for a in record.artifacts
        if a.kind == "archive" and a.target is not None and get_target(a.target).os == "windows"
    }


def zip_entries(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as handle:
        return {info.filename for info in handle.infolist()}


def top_folder(path: Path) -> str:
    (top,) = {PurePosixPath(name).parts[0] for name in zip_entries(path)}
    return top


def schema_errors(schema: dict[str, Any], data: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def hash_in_sums(text: str, basename: str) -> str | None:
    """The hash Scoop's autoupdate finds for `basename` in a checksum file (its search by file name)."""
    found = re.search(rf"([a-fA-F0-9]{{32,128}})[ \t]+.*{re.escape(basename)}(?:\s|$)", text)
    return found.group(1) if found else None


# --- Scoop ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scoop_manifest(dist: Path) -> dict[str, Any]:
    files = sorted((dist / "packages" / "scoop").glob("*.json"))
    version = manifest.read(dist / "manifest.json").version
    # The sample's version is stable, so the manifest carries the crate's name (no -<track>).
    assert [f.name for f in files] == ["crcsum.json"], files
    data: dict[str, Any] = load_json(files[0])
    assert data["version"] == version
    return data


def test_scoop_manifest_is_valid_against_scoops_schema(scoop_manifest: dict[str, Any]) -> None:
    schema = load_json(require_schemas() / "scoop" / "schema.json")
    assert schema_errors(schema, scoop_manifest) == []


def test_scoop_installs_the_windows_archive_in_dist(dist: Path, scoop_manifest: dict[str, Any]) -> None:
    archives = windows_archives(dist)
    assert set(scoop_manifest["architecture"]) == {"64bit"}
    for entry in scoop_manifest["architecture"].values():
        name = entry["url"].rpartition("/")[2]
        assert name in archives, f"{name} is not an archive of dist/manifest.json"
        path = dist / name
        assert entry["hash"] == archives[name].sha256 == sha256_file(path)
        # Scoop moves extract_dir's contents into the app folder, then links each bin from there.
        assert entry["extract_dir"] == top_folder(path)
        bins = scoop_manifest["bin"] if isinstance(scoop_manifest["bin"], list) else [scoop_manifest["bin"]]
        assert bins and all(f"{entry['extract_dir']}/{exe}" in zip_entries(path) for exe in bins)


def test_scoop_autoupdate_leads_back_to_this_release(dist: Path, scoop_manifest: dict[str, Any]) -> None:
    version = scoop_manifest["version"]
    update = scoop_manifest["autoupdate"]
    for key, entry in scoop_manifest["architecture"].items():
        rule = update["architecture"][key]
        url = rule["url"].replace("$version", version)
        assert url == entry["url"]
        assert rule["extract_dir"].replace("$version", version) == entry["extract_dir"]
        # The hash file autoupdate reads: beside the archive, holding the archive's line.
        base_url, _, basename = url.rpartition("/")
        sums_url = update["hash"]["url"].replace("$baseurl", base_url).replace("$version", version)
        assert sums_url.startswith(base_url + "/")
        sums = dist / sums_url.rpartition("/")[2]
        assert sums.is_file(), f"{sums.name} is not in dist/"
        assert hash_in_sums(sums.read_text(encoding="utf-8"), basename) == entry["hash"]


def test_scoop_checkver_finds_this_release_on_its_release_page(scoop_manifest: dict[str, Any]) -> None:
    # The sample's downloads are <repository>/releases/download/<tag>/<file>; the newest release's page, which
    # <repository>/releases/latest shows, links <repository>/releases/tag/<tag>.
    releases, _, rest = scoop_manifest["architecture"]["64bit"]["url"].partition("/download/")
    tag = rest.partition("/")[0]
    found = scoop_manifest["checkver"]
    assert found["url"] == f"{releases}/latest"
    matched = re.search(found["regex"], f'<a href="{releases}/tag/{tag}">')
    assert matched and matched.group(1) == scoop_manifest["version"]


# --- winget -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def winget_files(dist: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """{ManifestType: (file, data)} of the one version dist/packages/winget holds."""
    root = dist / "packages" / "winget"
    files = sorted(root.rglob("*.yaml"))
    assert len(files) == 3, files
    loaded = {}
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        loaded[data["ManifestType"]] = (path, data)
    assert set(loaded) == set(WINGET_SCHEMAS)
    return loaded


def test_winget_files_are_valid_against_their_schemas(winget_files: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    for manifest_type, (path, data) in winget_files.items():
        schema = load_json(require_schemas() / "winget" / "1.10.0" / WINGET_SCHEMAS[manifest_type])
        assert schema_errors(schema, data) == [], path.name
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.lower() == f"# yaml-language-server: $schema={schema['$id']}".lower()


def test_winget_files_sit_where_winget_pkgs_expects_them(
    dist: Path, winget_files: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    version = manifest.read(dist / "manifest.json").version
    _, data = winget_files["version"]
    package = data["PackageIdentifier"]
    folder = Path(dist / "packages" / "winget" / "manifests" / package[0].lower(), *package.split("."), version)
    expected = {
        "version": f"{package}.yaml",
        "installer": f"{package}.installer.yaml",
        "defaultLocale": f"{package}.locale.{data['DefaultLocale']}.yaml",
    }
    for manifest_type, (file, content) in winget_files.items():
        assert file == folder / expected[manifest_type]
        assert (content["PackageIdentifier"], content["PackageVersion"]) == (package, version)


def test_winget_installs_the_windows_archive_in_dist(
    dist: Path, winget_files: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    archives = windows_archives(dist)
    _, installer = winget_files["installer"]
    assert (installer["InstallerType"], installer["NestedInstallerType"]) == ("zip", "portable")
    assert [i["Architecture"] for i in installer["Installers"]] == ["x64"]
    for entry in installer["Installers"]:
        name = entry["InstallerUrl"].rpartition("/")[2]
        assert name in archives, f"{name} is not an archive of dist/manifest.json"
        path = dist / name
        assert entry["InstallerSha256"] == archives[name].sha256.upper() == sha256_file(path).upper()
        entries = zip_entries(path)
        assert entry["NestedInstallerFiles"]
        for nested in entry["NestedInstallerFiles"]:
            inside = PureWindowsPath(nested["RelativeFilePath"])
            assert inside.as_posix() in entries, f"{inside} is not in {name}"
            assert inside.parts[0] == top_folder(path)
            assert inside.name == nested["PortableCommandAlias"] + ".exe"
