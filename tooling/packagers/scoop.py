"""Scoop: an app manifest for a bucket, `<name>.json`, installing the release's Windows zip.

Scoop downloads the archive of the machine's architecture (`architecture.64bit`),
checks its SHA-256, unpacks it, moves the contents of `extract_dir` (the
archive's top folder) into the app's folder and puts a shim on PATH for each
`bin`. There is nothing to build.

`checkver` tells Scoop's bucket tooling where to look for a newer version and
`autoupdate` how to rewrite the manifest for it (`$version` in the URL and the
folder name, the hash read from the release's SHA256SUMS, which Scoop searches
for the archive's file name). Both are written only when the release's
downloads live under `<repository>/releases/download/` — GitHub's layout, which
Gitea and Forgejo share — because that is the one place whose release pages
are known to exist: a regex on an arbitrary homepage would guess, and a wrong
checkver breaks the bucket's update job silently. Elsewhere the manifest has
neither, and the bucket maintainer updates it by hand (or by the next release).

A prerelease goes to its own manifest, `<name>-<first prerelease identifier>.json`
(crcsum-beta.json for 1.3.0-beta.1), as Scoop's own buckets keep beta apps:
the stable manifest never offers a prerelease.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from license_expression import (  # type: ignore[import-untyped]
    AND,
    OR,
    LicenseSymbol,
)

from tooling.packagers import base
from tooling.packagers.base import Archive, Release, Settings
from tooling.packagers.licenses import licensing, spdx_problem
from tooling.packagers.registry import prerelease_track

NAME = "scoop"

# Scoop's key under "architecture" for each platform this channel packages, in manifest order. Scoop also
# knows "arm64": once the target table has a Windows arm64 archive, the row (WINDOWS_AARCH64, "arm64") is
# all it takes (and the platform appears in CHANNEL.platforms by itself).
ARCHITECTURES: tuple[tuple[tuple[str, str], str], ...] = ((base.WINDOWS_X86_64, "64bit"),)

# What Scoop's manifest schema allows in "version" (ASCII word characters, . - + _).
VERSION = re.compile(r"[\w.+-]+", re.ASCII)

# Scoop's placeholder for the new version in checkver results and autoupdate fields.
VERSION_VARIABLE = "$version"

# Hosts where Scoop's checkver has a `github` mode (it asks <repository>/releases/latest).
GITHUB_HOSTS = ("github.com", "www.github.com")
# Tag prefixes the `github` mode's own regex (/releases/tag/(?:v|V)?([\d.]+)) already understands.
GITHUB_MODE_PREFIXES = ("", "v", "V")

# How Scoop writes a choice of licenses (MIT|Apache-2.0) and licenses that all apply (MIT,BSD-3-Clause).
LICENSE_SEPARATORS = ((OR, "|"), (AND, ","))


# --- names and versions ---------------------------------------------------------------------


def manifest_name(release: Release, settings: Settings) -> str:
    """The app's name (its manifest file without .json): the crate's name, <name>-<track> for a prerelease."""
    if release.prerelease and settings.get("prerelease", "separate") == "separate":
        return f"{release.name}-{prerelease_track(release.version).lower()}"
    return release.name


def tag_prefix(release: Release) -> str:
    """What the release's tag puts before the version (v for v1.2.0)."""
    return release.tag.removesuffix(release.version)


def with_version_variable(text: str, version: str) -> str:
    """`text` with every occurrence of `version` replaced by Scoop's $version (pure)."""
    return text.replace(version, VERSION_VARIABLE)


# --- where newer versions are announced -----------------------------------------------------


def repository_url(release: Release) -> str:
    """The repository's web address: without a trailing slash or .git."""
    return release.repository.removesuffix("/").removesuffix(".git")


def releases_page(release: Release) -> str | None:
    """<repository>/releases when the release's downloads live under <repository>/releases/download/, else None.

    That is GitHub's layout, shared by Gitea and Forgejo: on such a host the
    releases page lists every release and <page>/latest shows the newest
    stable one.
    """
    repository = repository_url(release)
    if not repository or not release.archives:
        return None
    page = f"{repository}/releases"
    return page if all(a.url.startswith(f"{page}/download/") for a in release.archives) else None


def checkver(release: Release) -> dict[str, str] | None:
    """Where Scoop's checkver finds the newest version of this manifest's track, or None (see the module doc)."""
    page = releases_page(release)
    if page is None:
        return None
    prefix = re.escape(tag_prefix(release))
    if release.prerelease:
        # The "latest" page never shows a prerelease: take the first tag of this track on the list of
        # releases (newest first). The identifiers after the track's name belong to the version.
        track = re.escape(prerelease_track(release.version))
        return {"url": page, "regex": rf"/releases/tag/{prefix}([\d.]+-{track}[0-9A-Za-z.-]*)"}
    regex = rf"/releases/tag/{prefix}([\d.]+)"
    repository = page.removesuffix("/releases")
    if urlsplit(repository).hostname in GITHUB_HOSTS:
        if tag_prefix(release) in GITHUB_MODE_PREFIXES:
            return {"github": repository}
        return {"github": repository, "regex": regex}
    return {"url": f"{page}/latest", "regex": regex}


def sums_location(release: Release, archives: tuple[Archive, ...]) -> str:
    """Where autoupdate reads the new archive's hash: $baseurl/SHA256SUMS when the sums sit beside the archives."""
    folder, _, name = release.sums_url.rpartition("/")
    if all(a.url.rpartition("/")[0] == folder for a in archives):
        return f"$baseurl/{name}"
    return with_version_variable(release.sums_url, release.version)


# --- license -------------------------------------------------------------------------------


def scoop_license(expression: str) -> str:
    """The manifest's license for an SPDX expression (pure).

    MIT -> MIT; MIT OR Apache-2.0 -> MIT|Apache-2.0; MIT AND Zlib -> MIT,Zlib (Scoop's
    own notation, which `scoop info` links to each license); anything nested or with
    WITH stays the SPDX expression as written.
    """
    tree = licensing().parse(expression, validate=True, strict=True)
    # (A WITH exception is a LicenseWithExceptionSymbol, not a LicenseSymbol.)
    if isinstance(tree, LicenseSymbol):
        return str(tree.key)
    for kind, separator in LICENSE_SEPARATORS:
        if isinstance(tree, kind) and all(isinstance(arg, LicenseSymbol) for arg in tree.args):
            return separator.join(str(arg.key) for arg in tree.args)
    return expression.strip()


# --- the manifest -----------------------------------------------------------------------------


def bin_entry(release: Release, archive: Archive) -> str | list[str]:
    """`bin`: the binaries' file names relative to extract_dir; a plain string for one, as buckets write it."""
    names = [archive.executable(binary) for binary in release.binaries]
    return names[0] if len(names) == 1 else names


def manifest(release: Release, settings: Settings) -> dict[str, Any]:
    """The app manifest as data, keys in the order Scoop's buckets write them (pure)."""
    chosen = [(key, a) for platform, key in ARCHITECTURES if (a := release.archive(platform)) is not None]
    archives = tuple(archive for _, archive in chosen)
    architecture = {key: {"url": a.url, "hash": a.sha256.lower(), "extract_dir": a.top} for key, a in chosen}
    updates = {
        key: {
            "url": with_version_variable(a.url, release.version),
            "extract_dir": with_version_variable(a.top, release.version),
        }
        for key, a in chosen
    }
    data: dict[str, Any] = {
        "version": release.version,
        "description": release.description,
        "homepage": release.homepage,
        "license": scoop_license(release.license),
        "architecture": architecture,
        # Every archive holds the same binaries under the same names.
        "bin": bin_entry(release, archives[0]),
    }
    found = checkver(release)
    if found is not None:
        data["checkver"] = found
        data["autoupdate"] = {"architecture": updates, "hash": {"url": sums_location(release, archives)}}
    return data


def check(release: Release, settings: Settings) -> None:
    """Raise PackageError for anything a Scoop manifest cannot express."""
    base.require(NAME, release, "description", "homepage", "license", "version")
    problem = spdx_problem(release.license)
    if problem:
        raise base.fail(
            NAME,
            "license",
            f"{release.license!r} is not an SPDX license expression ({problem})",
            hint='write it as SPDX, e.g. "MIT OR Apache-2.0", in Cargo.toml or [tool.release.metadata]',
        )
    if not VERSION.fullmatch(release.version):
        raise base.fail(
            NAME,
            "version",
            f"{release.version!r} holds characters Scoop does not allow in a version (letters, digits, . - + _)",
            hint="use a semantic version such as 1.2.0 or 1.3.0-beta.1",
        )


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """{<name>.json: the manifest}, 4-space indented as Scoop's buckets keep them (pure)."""
    text = json.dumps(manifest(release, settings), indent=4, ensure_ascii=False) + "\n"
    return {f"{manifest_name(release, settings)}.json": text.encode("utf-8")}


CHANNEL = base.Channel(
    name=NAME,
    summary="an app manifest for a Scoop bucket (Windows zip, checkver and autoupdate)",
    platforms=tuple(platform for platform, _ in ARCHITECTURES),
    render=render,
    check=check,
)
