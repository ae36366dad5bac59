"""winget: the three manifests of one package version for a winget-pkgs pull request.

winget-pkgs keeps each version in
`manifests/<first letter of the identifier, lower case>/<one folder per identifier segment>/<version>/`
(Ann.MyTool 1.2.0 -> manifests/a/Ann/MyTool/1.2.0/), as three files in the
multi-file format of manifest version 1.10.0:

- `<Identifier>.yaml`: the version manifest, naming the default locale;
- `<Identifier>.installer.yaml`: the release's Windows zip per architecture,
  holding portable executables (winget unpacks the zip, links each binary
  under its command alias and puts it on PATH);
- `<Identifier>.locale.<locale>.yaml`: publisher, name, license, description.

Each starts with the `yaml-language-server` comment naming its schema, as the
files in winget-pkgs do. The checks below follow the patterns and lengths of
the 1.10.0 schemas (the tests validate the files against them). There is
nothing to build. A prerelease is left out by default; with prerelease =
"separate" it becomes its own package, <Identifier>.<Track> (Ann.MyTool.Beta).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import yaml

from tooling.packagers import base
from tooling.packagers.base import Archive, Release, Settings
from tooling.packagers.registry import prerelease_track
from tooling.packagers.scoop import releases_page, repository_url

NAME = "winget"
MANIFEST_VERSION = "1.10.0"

# winget's architecture name for each platform this channel packages. A Windows arm64 archive would be
# the row (WINDOWS_AARCH64, "arm64").
ARCHITECTURES: tuple[tuple[tuple[str, str], str], ...] = ((base.WINDOWS_X86_64, "x64"),)

# The 1.10.0 schemas' patterns, written out here so nothing reads a schema at run time. JSON Schema's
# regexes are ECMAScript; these classes mean the same in Python.
_SEGMENT = r'[^.\s\\/:*?"<>|\x01-\x1f]{1,32}'
IDENTIFIER = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT}){{1,7}}")  # 2 to 8 dot-separated segments
IDENTIFIER_MAX = 128
PACKAGE_VERSION = re.compile(r'[^\\/:*?"<>|\x01-\x1f]+')
PACKAGE_VERSION_MAX = 128
LOCALE = re.compile(r"(?:[a-zA-Z]{2,3}|[iI]-[a-zA-Z]+|[xX]-[a-zA-Z]{1,8})(?:-[a-zA-Z]{1,8})*")
LOCALE_MAX = 20
URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://.+")
URL_MAX = 2048
COMMAND_ALIAS_MAX = 40

# The manifest types, their file name after <Identifier>, and the schema each file names in its first line.
SCHEMA_URL = "https://aka.ms/winget-manifest.{type}.{version}.schema.json"
FILES = (("version", ".yaml"), ("installer", ".installer.yaml"), ("defaultLocale", ".locale.{locale}.yaml"))


# --- names --------------------------------------------------------------------------------------


def identifier(release: Release, settings: Settings) -> str:
    """PackageIdentifier: settings' identifier, plus .<Track> for a prerelease made separately (Ann.MyTool.Beta)."""
    name = str(settings.get("identifier", ""))
    if release.prerelease and settings.get("prerelease") == "separate":
        track = prerelease_track(release.version)
        name += "." + track[:1].upper() + track[1:]
    return name


def publisher(release: Release, settings: Settings) -> str:
    """Publisher: settings' publisher, or the maintainer's name without the e-mail address."""
    return str(settings.get("publisher") or "") or release.maintainer.split("<")[0].strip()


def version_folder(package: str, version: str) -> str:
    """manifests/<first letter, lower case>/<segment>/.../<version> for a package identifier (pure)."""
    return "/".join(("manifests", package[0].lower(), *package.split("."), version))


def publisher_url(release: Release) -> str | None:
    """The repository owner's page (https://host/owner) when the repository is on a forge with releases."""
    if releases_page(release) is None:
        return None
    parts = urlsplit(repository_url(release))
    owner = parts.path.strip("/").split("/")
    return f"{parts.scheme}://{parts.netloc}/{owner[0]}" if len(owner) >= 2 else None


# --- the three manifests ---------------------------------------------------------------------------


def version_manifest(release: Release, settings: Settings) -> dict[str, Any]:
    """The version manifest as data, keys in winget-pkgs' order (pure)."""
    return {
        "PackageIdentifier": identifier(release, settings),
        "PackageVersion": release.version,
        "DefaultLocale": settings["locale"],
        "ManifestType": "version",
        "ManifestVersion": MANIFEST_VERSION,
    }


def _installer(release: Release, archive: Archive, architecture: str) -> dict[str, Any]:
    # winget joins RelativeFilePath to the folder it unpacked the zip into, Windows-style.
    files = [
        {"RelativeFilePath": f"{archive.top}\\{archive.executable(binary)}", "PortableCommandAlias": binary}
        for binary in release.binaries
    ]
    return {
        "Architecture": architecture,
        "NestedInstallerFiles": files,
        "InstallerUrl": archive.url,
        # Upper case, as winget's own tools write hashes.
        "InstallerSha256": archive.sha256.upper(),
    }


def installer_manifest(release: Release, settings: Settings) -> dict[str, Any]:
    """The installer manifest as data: one zip of portable executables per architecture (pure)."""
    installers = [
        _installer(release, archive, architecture)
        for platform, architecture in ARCHITECTURES
        if (archive := release.archive(platform)) is not None
    ]
    return {
        "PackageIdentifier": identifier(release, settings),
        "PackageVersion": release.version,
        "InstallerType": "zip",
        "NestedInstallerType": "portable",
        "Installers": installers,
        "ManifestType": "installer",
        "ManifestVersion": MANIFEST_VERSION,
    }


def locale_manifest(release: Release, settings: Settings) -> dict[str, Any]:
    """The default-locale manifest as data; the optional URLs only when they are known (pure)."""
    page = releases_page(release)
    data: dict[str, Any] = {
        "PackageIdentifier": identifier(release, settings),
        "PackageVersion": release.version,
        "PackageLocale": settings["locale"],
        "Publisher": publisher(release, settings),
        "PublisherUrl": publisher_url(release),
        "PackageName": release.name,
        "PackageUrl": next((url for url in (release.homepage, repository_url(release)) if URL.fullmatch(url)), None),
        "License": release.license,
        # winget shows ShortDescription on one line: the description's first line.
        "ShortDescription": release.description.strip().splitlines()[0],
        "ReleaseNotesUrl": f"{page}/tag/{release.tag}" if page else None,
        "ManifestType": "defaultLocale",
        "ManifestVersion": MANIFEST_VERSION,
    }
    return {key: value for key, value in data.items() if value is not None}


MANIFESTS = {"version": version_manifest, "installer": installer_manifest, "defaultLocale": locale_manifest}


def dump(manifest_type: str, data: Mapping[str, Any]) -> bytes:
    """One manifest file: the schema comment line, a blank line, the YAML in the given key order (pure)."""
    header = "# yaml-language-server: $schema=" + SCHEMA_URL.format(type=manifest_type, version=MANIFEST_VERSION)
    # A wide line keeps long descriptions and URLs on one line, as in winget-pkgs.
    body = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=4096)
    return f"{header}\n\n{body}".encode()


# --- check and render ---------------------------------------------------------------------------------


def _text_fields(release: Release, settings: Settings) -> tuple[tuple[str, str, int, int], ...]:
    """(field, text, shortest, longest) for every free-text value whose length the schemas limit."""
    return (
        ("publisher", publisher(release, settings), 2, 256),
        ("name", release.name, 2, 256),
        ("license", release.license, 3, 512),
        ("description", release.description, 3, 256),
    )


def check(release: Release, settings: Settings) -> None:
    """Raise PackageError for anything winget's 1.10.0 manifests cannot express."""
    base.require(NAME, release, "description", "license", "version")
    table = "[tool.release.packages.winget]"
    if not settings.get("identifier"):
        raise base.fail(
            NAME,
            "identifier",
            "is not set, and winget needs a PackageIdentifier (Publisher.Package)",
            hint=f'set identifier = "Ann.MyTool" (2 to 8 dot-separated parts) in {table}',
        )
    package = identifier(release, settings)
    if len(package) > IDENTIFIER_MAX or not IDENTIFIER.fullmatch(package):
        raise base.fail(
            NAME,
            "identifier",
            f"{package!r} is not a winget PackageIdentifier: 2 to 8 parts joined by dots, each 1 to 32 characters "
            'without spaces or \\ / : * ? " < > |',
            hint=f'set identifier = "Ann.MyTool" in {table}',
        )
    if len(release.version) > PACKAGE_VERSION_MAX or not PACKAGE_VERSION.fullmatch(release.version):
        raise base.fail(NAME, "version", f"{release.version!r} is not a winget PackageVersion")
    locale = str(settings["locale"])
    if len(locale) > LOCALE_MAX or not LOCALE.fullmatch(locale):
        raise base.fail(NAME, "locale", f"{locale!r} is not a locale winget accepts", hint=f'e.g. "en-US" in {table}')
    if not publisher(release, settings):
        raise base.fail(
            NAME,
            "publisher",
            "is empty, and winget requires a Publisher",
            hint=f"set publisher in {table}, or maintainer in [tool.release.metadata]",
        )
    for key, text, shortest, longest in _text_fields(release, settings):
        if not shortest <= len(text) <= longest:
            raise base.fail(
                NAME, key, f"{text!r} has {len(text)} characters, and winget accepts {shortest} to {longest}"
            )
    for binary in release.binaries:
        if len(binary) > COMMAND_ALIAS_MAX:
            raise base.fail(NAME, "binaries", f"{binary!r} is longer than a winget command alias may be (40)")
    urls = [("homepage", release.homepage)] + [("download-url", a.url) for a in release.archives]
    for key, url in urls:
        if url and (len(url) > URL_MAX or not URL.fullmatch(url)):
            raise base.fail(NAME, key, f"{url!r} is not an http(s) URL, which winget requires")


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """The three manifests under manifests/<letter>/<segments>/<version>/ (pure)."""
    package = identifier(release, settings)
    folder = version_folder(package, release.version)
    files = {}
    for manifest_type, suffix in FILES:
        name = f"{folder}/{package}{suffix.format(locale=settings['locale'])}"
        files[name] = dump(manifest_type, MANIFESTS[manifest_type](release, settings))
    return files


CHANNEL = base.Channel(
    name=NAME,
    summary="manifests for winget-pkgs (a zip of portable executables)",
    platforms=tuple(platform for platform, _ in ARCHITECTURES),
    render=render,
    check=check,
)
