"""Chocolatey: a .nupkg whose install script downloads the release's Windows zip.

The channel renders three files into dist/packages/chocolatey/:

- `<id>.nuspec`: the package's metadata in Chocolatey's nuspec namespace;
- `tools/chocolateyinstall.ps1`: Install-ChocolateyZipPackage downloads the
  x86_64 Windows archive, checks its SHA-256 and unzips it into the package's
  tools folder, where it lands as `tools/<archive top folder>/`. Chocolatey
  puts a shim on PATH for every .exe under the package folder by itself, so
  no binary needs naming;
- `tools/chocolateyuninstall.ps1`: removes that unzipped folder (Chocolatey
  removes the shims and the package folder itself).

`build` packs them into `<id>.<version>.nupkg`, the file a publish step
pushes; the nuspec and tools/ stay beside it, as the package's readable
source (`choco pack` in that folder on Windows makes the same package).

Why the package is written here and not by Debian's `nuget pack` (NuGet
2.8.7 on mono), which was tried:
- NuGet 2.8.7 knows nuspec namespaces up to 2013/05 and refuses Chocolatey's
  2015/06 one ("The schema version ... is incompatible"), for packing and for
  reading alike;
- it re-serialises the nuspec into a namespace of its own choosing;
- mono's packaging library puts the title, authors, description and tags into
  the package's core-properties part as raw XML, so a `&` or `<` in any of them
  ends the pack with "An error occurred while parsing EntityName";
- its zip carries the wall-clock time and, in the core-properties part, the
  kernel version of the machine that packed it.
A .nupkg is a small Open Packaging Conventions zip, so `nupkg_bytes` writes it
directly: the rendered files unchanged, `[Content_Types].xml`, `_rels/.rels`
and a core-properties part, entries sorted, every time the release's epoch.
Two builds of one release are byte-identical on any machine. The integration
tests show that NuGet's own reader accepts the result and that `nuget pack`
makes the same parts.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from license_expression import (  # type: ignore[import-untyped]
    LicenseSymbol,
)

from tooling import proc
from tooling.artifacts.archive import check_zip_epoch
from tooling.errors import PackageError, VersionError
from tooling.packagers import base
from tooling.packagers.base import Archive, BuildJob, Release, Settings
from tooling.packagers.licenses import licensing, spdx_problem
from tooling.versioning.versions import parse_version

NAME = "chocolatey"
PLATFORM = base.WINDOWS_X86_64

# Chocolatey's nuspec namespace (its own schema extends NuGet's; the elements used here are NuGet's).
NUSPEC_NAMESPACE = "http://schemas.microsoft.com/packaging/2015/06/nuspec.xsd"

# Rendered file (relative to the channel's folder; {id} is the package id) -> template.
FILES = (
    ("{id}.nuspec", "package.nuspec.j2"),
    ("tools/chocolateyinstall.ps1", "chocolateyinstall.ps1.j2"),
    ("tools/chocolateyuninstall.ps1", "chocolateyuninstall.ps1.j2"),
)
# What the nupkg holds besides the nuspec: the folder the nuspec's <files> element names.
PACKED_FOLDER = "tools"

# NuGet's id rule (word characters joined by single . - _, at most 100 characters) in ASCII, and lower
# case, which Chocolatey's repository requires.
PACKAGE_ID = re.compile(r"[a-z0-9_]+(?:[._-][a-z0-9_]+)*", re.ASCII)
MAX_ID_LENGTH = 100

# NuGet 2.x (and Chocolatey's clients built on it) accept SemVer 1 prereleases only: one label of
# letters and digits after the hyphen, starting with a letter, at most 20 characters.
PRERELEASE_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9]{0,19}", re.ASCII)
# Numeric identifiers are zero-padded so that labels compare as strings the way semver compares numbers
# (beta0002 < beta0010); a number with more digits would sort wrong, so it is refused.
NUMBER_WIDTH = 4

SPDX_PAGE = "https://spdx.org/licenses/{key}.html"

# PowerShell ends a single-quoted string at any of these quote characters; doubling one keeps it literal.
POWERSHELL_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")
UTF8_BOM = b"\xef\xbb\xbf"

# --- the Open Packaging Conventions parts of a nupkg ---
CONTENT_TYPES = "[Content_Types].xml"
RELATIONSHIPS = "_rels/.rels"
CORE_PROPERTIES = "package/services/metadata/core-properties/{name}.psmdcp"
MANIFEST_RELATIONSHIP = "http://schemas.microsoft.com/packaging/2010/07/manifest"
CORE_PROPERTIES_RELATIONSHIP = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
# Content types by extension, as NuGet writes them; every other file is "application/octet".
KNOWN_CONTENT_TYPES = {
    "rels": "application/vnd.openxmlformats-package.relationships+xml",
    "psmdcp": "application/vnd.openxmlformats-package.core-properties+xml",
}
OTHER_CONTENT_TYPE = "application/octet"
# Core properties from nuspec elements (Dublin Core names where OPC uses them), in NuGet's order.
CORE_PROPERTY_ELEMENTS = (
    ("dc:creator", "authors"),
    ("dc:description", "description"),
    ("dc:identifier", "id"),
    ("version", "version"),
    ("keywords", "tags"),
    ("dc:title", "title"),
)
LAST_MODIFIED_BY = "release-tooling"
# Part names used here need no percent-encoding (OPC names the zip entry and the part alike then).
PART_NAME = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*", re.ASCII)
# Deflate level of the nupkg's entries: zlib's default, fixed so the bytes do not depend on a library default.
DEFLATE_LEVEL = 6
ZIP_FIRST_TIME = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can hold


# --- names and versions ----------------------------------------------------------------------


def package_id(release: Release, settings: Settings) -> str:
    """The package id: settings' id as written, else the crate's name in lower case."""
    return str(settings.get("id") or release.name.lower())


def id_problem(identifier: str) -> str | None:
    """Why NuGet or Chocolatey would refuse `identifier` as a package id, or None (pure)."""
    if len(identifier) > MAX_ID_LENGTH:
        return f"is longer than {MAX_ID_LENGTH} characters"
    if not PACKAGE_ID.fullmatch(identifier):
        return "must be lower-case letters, digits and _, joined by single '.', '-' or '_'"
    return None


def nuget_version(version: str) -> str:
    """`version` in NuGet's SemVer 1 form: 1.2.0 -> 1.2.0, 1.2.0-beta.1 -> 1.2.0-beta0001 (pure).

    The prerelease identifiers are joined, numeric ones padded to NUMBER_WIDTH
    digits. PackageError (field "version") when the result is no label NuGet
    2.x accepts, or the version carries build metadata (NuGet 2.x has none).
    """
    try:
        parsed = parse_version(version)
    except VersionError as error:
        raise base.fail(NAME, "version", f"{version!r} is not a semantic version", hint=error.hint or "") from None
    if parsed.build:
        raise base.fail(
            NAME,
            "version",
            f"{version!r} has build metadata (+{parsed.build}), which NuGet versions cannot carry",
            hint="release a version without +metadata, or leave chocolatey out of tool.release.packages.channels",
        )
    core = f"{parsed.major}.{parsed.minor}.{parsed.patch}"
    if not parsed.prerelease:
        return core
    identifiers = parsed.prerelease.split(".")
    too_long = [part for part in identifiers if part.isdigit() and len(part) > NUMBER_WIDTH]
    label = "".join(part.zfill(NUMBER_WIDTH) if part.isdigit() else part for part in identifiers)
    if too_long or not PRERELEASE_LABEL.fullmatch(label):
        raise base.fail(
            NAME,
            "version",
            f"the prerelease {parsed.prerelease!r} of {version} makes the label {label!r}, and Chocolatey's NuGet "
            f"needs a label of letters and digits starting with a letter, at most 20 characters, numbers at most "
            f"{NUMBER_WIDTH} digits",
            hint='use a prerelease such as "beta.1" or "rc.2", or set tool.release.packages.chocolatey.prerelease '
            '= "skip"',
        )
    return f"{core}-{label}"


# --- metadata ------------------------------------------------------------------------------


def person_name(address: str) -> str:
    """The name in an "Ann Example <ann@example.org>" string; the address when there is no name (pure)."""
    name, mail = parseaddr(address)
    return name or mail or address.strip()


def authors(release: Release, settings: Settings) -> str:
    """<authors>: settings' authors, else the maintainer's name."""
    return str(settings.get("authors") or person_name(release.maintainer))


def owners(release: Release, settings: Settings) -> str:
    """<owners> (who maintains the package): the maintainer's name, else the authors."""
    return person_name(release.maintainer) if release.maintainer else authors(release, settings)


def tags(release: Release, settings: Settings) -> str:
    """<tags>: settings' tags, then the crate's name, space-separated, each once."""
    return " ".join(dict.fromkeys([*settings.get("tags", ()), release.name]))


def summary(description: str) -> str:
    """<summary>: the description's first line."""
    return description.strip().splitlines()[0].strip()


def release_page(release: Release, archive: Archive) -> str:
    """<repository>/releases/tag/<tag> when the archive is downloaded from <repository>/releases/download/.

    That is GitHub's layout (Gitea and Forgejo share it), where the tag's page
    exists; elsewhere no page is known and the result is "".
    """
    repository = release.repository.removesuffix("/").removesuffix(".git")
    if repository and archive.url.startswith(f"{repository}/releases/download/"):
        return f"{repository}/releases/tag/{release.tag}"
    return ""


def license_fields(expression: str) -> tuple[str, str]:
    """(licenseUrl, license expression): exactly one is set (pure).

    One license has a page of its own, the licenseUrl Chocolatey's repository
    asks for; a combination (MIT OR Apache-2.0) has none, so it goes into
    NuGet's <license type="expression"> instead (a nuspec may not hold both).
    """
    tree = licensing().parse(expression, validate=True, strict=True)
    if isinstance(tree, LicenseSymbol):
        return SPDX_PAGE.format(key=tree.key), ""
    return "", str(tree)


def powershell_string(value: Any) -> str:
    """A PowerShell single-quoted string literal (no expansion)."""
    text = str(value)
    for quote in POWERSHELL_QUOTES:
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def powershell_script(text: bytes) -> bytes:
    """The script as Windows PowerShell reads it right: with a UTF-8 BOM when it holds non-ASCII text.

    Windows PowerShell 5.1, which Chocolatey runs scripts in, reads a script
    without a BOM in the system's ANSI code page.
    """
    return text if text.isascii() else UTF8_BOM + text


def template_context(release: Release, settings: Settings) -> dict[str, Any]:
    """What the templates see besides `release` (pure)."""
    archive = release.archive(PLATFORM)
    if archive is None:
        raise base.fail(NAME, "archives", "the release has no Windows x86_64 archive")
    license_url, license_expression = license_fields(release.license)
    return {
        "namespace": NUSPEC_NAMESPACE,
        "id": package_id(release, settings),
        "version": nuget_version(release.version),
        "title": release.name,
        "authors": authors(release, settings),
        "owners": owners(release, settings),
        "project_url": release.homepage,
        "license_url": license_url,
        "license_expression": license_expression,
        "description": release.description.strip(),
        "summary": summary(release.description),
        "release_notes": release_page(release, archive),
        "tags": tags(release, settings),
        "archive": archive,
        "ps": powershell_string,
    }


# --- the channel -----------------------------------------------------------------------------


def check(release: Release, settings: Settings) -> None:
    """Raise PackageError for anything the Chocolatey package cannot express."""
    base.require(NAME, release, "homepage", "description", "license", "version")
    identifier = package_id(release, settings)
    problem = id_problem(identifier)
    if problem:
        raise base.fail(
            NAME,
            "id",
            f"{identifier!r} {problem}",
            hint='set tool.release.packages.chocolatey.id, e.g. id = "mytool"',
        )
    nuget_version(release.version)
    if not authors(release, settings):
        raise base.fail(
            NAME,
            "authors",
            "is empty, and a nuspec requires it",
            hint="set tool.release.packages.chocolatey.authors, or maintainer in [tool.release.metadata]",
        )
    problem = spdx_problem(release.license)
    if problem:
        raise base.fail(
            NAME,
            "license",
            f"{release.license!r} is not an SPDX license expression ({problem})",
            hint='write it as SPDX, e.g. "MIT OR Apache-2.0", in Cargo.toml or [tool.release.metadata]',
        )
    spaced = [tag for tag in settings.get("tags", ()) if not tag or any(c.isspace() for c in tag)]
    if spaced:
        raise base.fail(
            NAME,
            "tags",
            f"{spaced[0]!r} is empty or holds white space, and Chocolatey separates tags by spaces",
            hint='write each tag as one word, e.g. tags = ["cli", "checksum"]',
        )
    archive = release.archive(PLATFORM)
    if archive is not None and archive.format != "zip":
        raise base.fail(
            NAME,
            "archives",
            f"{archive.file} is a {archive.format}, and Install-ChocolateyZipPackage unpacks zip archives only",
            hint='set tool.release.archive.windows = "zip"',
        )


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """{<id>.nuspec, tools/chocolateyinstall.ps1, tools/chocolateyuninstall.ps1: content} (pure)."""
    context = template_context(release, settings)
    files = {}
    for path, template in FILES:
        text = base.render_template(release, NAME, template, **context)
        files[path.format(id=context["id"])] = powershell_script(text) if path.endswith(".ps1") else text
    return files


def build(job: BuildJob) -> None:
    """Pack the rendered nuspec and tools/ into <id>.<version>.nupkg beside them."""
    nuspec_name = FILES[0][0].format(id=package_id(job.release, job.settings))
    parts = {nuspec_name: (job.folder / nuspec_name).read_bytes()}
    for path in sorted((job.folder / PACKED_FOLDER).rglob("*")):
        if path.is_file():
            parts[path.relative_to(job.folder).as_posix()] = path.read_bytes()
    metadata = nuspec_metadata(parts[nuspec_name])
    name = f"{metadata['id']}.{metadata['version']}.nupkg"
    if not job.runner.allows(proc.Effect.LOCAL, f"write {name}"):
        return
    (job.folder / name).write_bytes(nupkg_bytes(parts, nuspec_name, job.release.epoch))


# --- the nupkg (an Open Packaging Conventions zip) ------------------------------------------------


def nuspec_metadata(nuspec: bytes) -> dict[str, str]:
    """{element name: text} of the nuspec's <metadata> children that hold text, namespace left out."""
    # The nuspec is the one this channel just rendered (or the project's own template): trusted input.
    root = ElementTree.fromstring(nuspec)  # noqa: S314
    metadata = next((child for child in root if child.tag.rpartition("}")[2] == "metadata"), None)
    if metadata is None:
        raise PackageError(f"{NAME}: the nuspec has no <metadata>", hint="check the nuspec template override")
    found = {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in metadata}
    for required in ("id", "version"):
        if not found.get(required):
            raise PackageError(f"{NAME}: the nuspec has no <{required}>", hint="check the nuspec template override")
    return found


def core_properties(metadata: Mapping[str, str]) -> bytes:
    """The package's core-properties part (.psmdcp): the nuspec's identity and description, as NuGet writes it."""
    fields = "".join(
        f"<{element}>{escape(metadata[key])}</{element}>"
        for element, key in CORE_PROPERTY_ELEMENTS
        if metadata.get(key)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">'
        f"{fields}<lastModifiedBy>{LAST_MODIFIED_BY}</lastModifiedBy></coreProperties>"
    ).encode()


def relationships(nuspec_name: str, properties_name: str) -> bytes:
    """_rels/.rels: the package's manifest (the nuspec) and its core properties."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Type="{MANIFEST_RELATIONSHIP}" Target="/{escape(nuspec_name)}" Id="R0" />'
        f'<Relationship Type="{CORE_PROPERTIES_RELATIONSHIP}" Target="/{escape(properties_name)}" Id="R1" />'
        "</Relationships>"
    ).encode()


def content_types(names: list[str]) -> bytes:
    """[Content_Types].xml: a Default per extension (case-insensitive), an Override for each name without one."""
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for name in names:
        _, dot, extension = Path(name).name.rpartition(".")
        if dot:  # _rels/.rels has the extension "rels"
            defaults[extension.lower()] = KNOWN_CONTENT_TYPES.get(extension.lower(), OTHER_CONTENT_TYPE)
        else:
            overrides["/" + name] = OTHER_CONTENT_TYPE
    entries = [f'<Default Extension="{escape(e)}" ContentType="{t}" />' for e, t in sorted(defaults.items())]
    entries += [f'<Override PartName="{escape(p)}" ContentType="{t}" />' for p, t in sorted(overrides.items())]
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' + "".join(entries) + "</Types>"
    ).encode()


def zip_date(epoch: int) -> tuple[int, int, int, int, int, int]:
    """A zip entry's time for `epoch`: UTC, clamped to 1980, rounded down to even seconds (zip's resolution)."""
    check_zip_epoch(epoch)
    stamp = time.gmtime(max(epoch, ZIP_FIRST_TIME))
    return (stamp.tm_year, stamp.tm_mon, stamp.tm_mday, stamp.tm_hour, stamp.tm_min, stamp.tm_sec - stamp.tm_sec % 2)


def nupkg_bytes(files: Mapping[str, bytes], nuspec_name: str, epoch: int) -> bytes:
    """The .nupkg of `files` ({part name: content}, the nuspec among them) (pure, deterministic).

    The core-properties part is named after a hash of the files (NuGet uses a
    random GUID there), entries are sorted by name and all carry `epoch`.
    """
    for name in files:
        if not PART_NAME.fullmatch(name) or name.lower() == CONTENT_TYPES.lower():
            raise PackageError(f"{NAME}: {name!r} cannot be a part of a nupkg (plain ASCII names only)")
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    properties_name = CORE_PROPERTIES.format(name=digest.hexdigest()[:32])
    parts = dict(files)
    parts[properties_name] = core_properties(nuspec_metadata(files[nuspec_name]))
    parts[RELATIONSHIPS] = relationships(nuspec_name, properties_name)
    parts[CONTENT_TYPES] = content_types(sorted(parts))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, mode="w") as package:
        for name, content in sorted(parts.items()):
            info = zipfile.ZipInfo(name, date_time=zip_date(epoch))
            info.create_system = 0  # MS-DOS attributes (none), as NuGet writes them: no Unix modes to vary
            info.external_attr = 0
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, content, compresslevel=DEFLATE_LEVEL)
    return buffer.getvalue()


CHANNEL = base.Channel(
    name=NAME,
    summary="a Chocolatey package (.nupkg) installing the Windows x86_64 zip",
    platforms=(PLATFORM,),
    render=render,
    check=check,
    build=build,
)
