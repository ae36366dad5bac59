"""install.sh and install.ps1: per-release scripts that check a download before they install it (pure).

Each script carries a table of the builds the release has (rendered from the
`Release`), picks the one for the machine it runs on, downloads that archive
and SHA256SUMS from the release's download folder, and installs the binaries
only when every check passed:

- install.sh (POSIX sh: dash, bash, busybox ash) serves Linux and macOS. It
  prefers the static musl build on Linux (the gnu one only when the release
  lacks musl for that architecture, and never on a musl system), the arm64
  build on a Mac that runs the script under Rosetta, checks the SHA-256, and
  SHA256SUMS's minisign signature when minisign is installed (or required with
  --verify-signature), refuses an archive whose members leave its folder or
  are not plain files and folders, and moves staged copies into place last.
- install.ps1 (Windows PowerShell 5.1, PowerShell 7) serves Windows the same
  way with Invoke-WebRequest, Get-FileHash and System.IO.Compression; it does
  not check the minisign signature (minisign is rarely found on Windows).

Hashes are not written into the scripts: both read them from SHA256SUMS at run
time. So one script installs another version (--version, -Version) or from a
mirror (--base-url, -BaseUrl, or the <NAME>_INSTALL_BASE_URL variable) whose
archives it has never seen. What the scripts trust is the download folder,
and, for install.sh with a rendered minisign public key, the signature over
SHA256SUMS: a script fetched from the same host as the archives would add
nothing by repeating their hashes.

Every value the templates write is checked first (`check`) to hold only
characters neither sh nor PowerShell would need quoted, so a crate name or a
URL can never change what a script does.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2

from tooling import resources
from tooling.artifacts import archive, checksum, sign
from tooling.errors import ConfigError, PackageError
from tooling.packagers.base import Archive, Release, shell_word

INSTALL_SH = "install.sh"
INSTALL_PS1 = "install.ps1"
NAMES = (INSTALL_SH, INSTALL_PS1)

# Script -> (its template under resources/ or the project's template folder, the OSes it serves,
# the archive formats it can unpack there).
TEMPLATES = {INSTALL_SH: "install/install.sh.j2", INSTALL_PS1: "install/install.ps1.j2"}
SCRIPT_OSES = {INSTALL_SH: ("linux", "macos"), INSTALL_PS1: ("windows",)}
SCRIPT_FORMATS = {INSTALL_SH: ("tar.gz", "tar.xz", "tar.zst"), INSTALL_PS1: ("zip",)}

# Which builds a script tries, best first, per OS (the scripts narrow it further at run time: no gnu on musl).
LIBC_ORDER = {"linux": ("musl", "gnu"), "macos": ("system",), "windows": ("msvc", "gnu")}

SIGNATURE_NAME = sign.signature_name(checksum.SUMS_NAME, "minisign")

# Characters neither shell would need quoted (matched with fullmatch: `$` would let a trailing newline pass).
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A download folder: http(s), no query, fragment, quote, space, `$`, `&`, `;`, `*`, `?` or brackets.
_URL = re.compile(r"https?://[A-Za-z0-9._~:/@%+,=-]+")
_MINISIGN_PUBLIC_KEY_BYTES = 42  # "Ed", key id (8), Ed25519 public key (32)
_MINISIGN_COMMENT = "untrusted comment:"

_URL_HINT = (
    "set tool.release.packages.download-url to an http(s) URL ending in /{file}, made of letters, digits "
    "and . _ ~ : / @ % + , = - only (no query, no quotes, no spaces)"
)


@dataclass(frozen=True)
class Build:
    """One row of a script's table: a build the release has for one of its platforms."""

    os: str
    arch: str
    libc: str
    triple: str
    format: str


@dataclass(frozen=True)
class ScriptFacts:
    """What a template sees, every value checked to need no quoting."""

    name: str
    version: str
    binaries: tuple[str, ...]
    folder: str  # the release's download folder (no trailing slash)
    url_head: str  # folder before the version, when the folder names the version
    url_tail: str  # folder after the version
    url_has_version: bool
    sums: str
    signature: str
    public_key: str  # minisign public key (base64 line); empty: not signed
    base_url_env: str
    builds: tuple[Build, ...]
    libc_order: tuple[str, ...]  # for the OS whose builds differ only in libc (Windows: msvc, then gnu)


def fail(key: str, problem: str, hint: str = "") -> PackageError:
    return PackageError(f"installers: {key}: {problem}", hint=hint or None)


def base_url_env(name: str) -> str:
    """The environment variable naming a mirror: crcsum -> CRCSUM_INSTALL_BASE_URL."""
    return name.upper().replace("-", "_") + "_INSTALL_BASE_URL"


def download_folder(release: Release) -> str:
    """The folder every archive and SHA256SUMS of the release is downloaded from (no trailing slash)."""
    if not release.archives:
        raise fail("archives", "the release has no archive to install", hint="build the targets first (invoke build)")
    for item in release.archives:
        if not item.url.endswith("/" + item.file):
            raise fail("archives", f"the URL {item.url!r} does not end in /{item.file}", hint=_URL_HINT)
    folders = sorted({item.url.removesuffix("/" + item.file) for item in release.archives})
    if len(folders) != 1:
        raise fail(
            "archives",
            f"the archives are downloaded from more than one folder ({', '.join(folders)})",
            hint="the scripts fetch every file from one folder: tool.release.packages.download-url must end in /{file}",
        )
    folder = folders[0]
    if release.sums_url != f"{folder}/{checksum.SUMS_NAME}":
        raise fail(
            "sums_url",
            f"{release.sums_url!r} is not {checksum.SUMS_NAME} in the archives' folder {folder!r}",
            hint="the scripts fetch SHA256SUMS from the folder of the archives",
        )
    return folder


def minisign_public_key_line(text: str) -> str:
    """The base64 key line of a minisign public key file's text (or of the bare line); ConfigError otherwise."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith(_MINISIGN_COMMENT):
        lines = lines[1:]
    problem = ""
    if len(lines) != 1:
        problem = f"expected one base64 line after {_MINISIGN_COMMENT!r}"
    else:
        try:
            raw = base64.b64decode(lines[0], validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not raw.startswith(b"Ed") or len(raw) != _MINISIGN_PUBLIC_KEY_BYTES:
            problem = "its key line is not base64 of a 42-byte Ed25519 public key"
    if problem:
        raise ConfigError(
            f"tool.release.sign.minisign-public-key is not a minisign public key: {problem}",
            hint="point it at the .pub file `minisign -G` wrote",
        )
    return lines[0]


def builds_for(release: Release, script: str) -> tuple[Build, ...]:
    """The table of `script`: the release's builds for its OSes, in OS, arch and libc preference order."""
    oses = SCRIPT_OSES[script]
    rows = []
    for archive_ in release.archives:
        if archive_.os in oses:
            rows.append(Build(archive_.os, archive_.arch, archive_.libc, archive_.triple, archive_.format))

    def rank(build: Build) -> tuple[int, str, int, str]:
        order = LIBC_ORDER.get(build.os, ())
        libc_rank = order.index(build.libc) if build.libc in order else len(order)
        return (oses.index(build.os), build.arch, libc_rank, build.triple)

    return tuple(sorted(rows, key=rank))


def _check_archive(release: Release, item: Archive) -> None:
    expected = archive.archive_stem(release.name, release.version, item.triple)
    if item.top != expected or item.file != f"{expected}.{item.format}":
        raise fail(
            "archives",
            f"{item.file!r} (folder {item.top!r}) is not named {expected}.<format> with folder {expected}/",
            hint="the scripts name another version's archives by that rule; make the archives with invoke package",
        )
    if not _PLAIN.fullmatch(item.triple) or not _PLAIN.fullmatch(item.file):
        raise fail("archives", f"{item.file!r} is a name the scripts would have to quote")


def check(release: Release, minisign_public_key: str | None = None) -> None:
    """PackageError (ConfigError for the key) for anything the scripts cannot carry literally (pure)."""
    if not _PLAIN.fullmatch(release.name):
        raise fail("name", f"{release.name!r} holds characters a shell would need quoted", hint="rename the crate")
    if not _ENV_NAME.fullmatch(base_url_env(release.name)):
        raise fail("name", f"{release.name!r} cannot name the environment variable {base_url_env(release.name)!r}")
    if not _VERSION.fullmatch(release.version):
        raise fail("version", f"{release.version!r} holds characters a shell would need quoted")
    if not release.binaries:
        raise fail("binaries", "the release installs no binary")
    for binary in release.binaries:
        if not _PLAIN.fullmatch(binary):
            raise fail("binaries", f"{binary!r} holds characters a shell would need quoted", hint="rename the binary")
    folder = download_folder(release)
    if not _URL.fullmatch(folder):
        raise fail("download-url", f"the download folder {folder!r} would need quoting", hint=_URL_HINT)
    for item in release.archives:
        _check_archive(release, item)
    if minisign_public_key:
        minisign_public_key_line(minisign_public_key)


def facts(release: Release, script: str, minisign_public_key: str | None = None) -> ScriptFacts:
    """The checked values `script`'s template writes; PackageError when the release has no build it can unpack."""
    check(release, minisign_public_key)
    builds = builds_for(release, script)
    if not builds:
        oses = " or ".join(SCRIPT_OSES[script])
        raise fail("archives", f"{script}: the release has no archive for {oses}")
    for build in builds:
        if build.format not in SCRIPT_FORMATS[script]:
            raise fail(
                "archives",
                f"{script} cannot unpack {build.format} ({build.triple})",
                hint=f"use one of {', '.join(SCRIPT_FORMATS[script])} for that target (tool.release.archive-format)",
            )
    folder = download_folder(release)
    head, found, tail = folder.rpartition(release.version)
    return ScriptFacts(
        name=release.name,
        version=release.version,
        binaries=release.binaries,
        folder=folder,
        url_head=head if found else folder,
        url_tail=tail if found else "",
        url_has_version=bool(found),
        sums=checksum.SUMS_NAME,
        signature=SIGNATURE_NAME,
        public_key=minisign_public_key_line(minisign_public_key) if minisign_public_key else "",
        base_url_env=base_url_env(release.name),
        builds=builds,
        libc_order=LIBC_ORDER["windows"],
    )


def powershell_word(value: Any) -> str:
    """A PowerShell single-quoted string (a quote is doubled; `check` keeps quotes out anyway)."""
    text = str(value)
    for quote in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def _environment(release: Release) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if release.templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(release.templates)))
    loaders.append(jinja2.FileSystemLoader(str(resources.resource_path("."))))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - scripts, not HTML: the sh and ps filters quote
    )
    env.filters["sh"] = shell_word
    env.filters["ps"] = powershell_word
    return env


def _render(release: Release, script: str, minisign_public_key: str | None) -> bytes:
    values = facts(release, script, minisign_public_key)
    name = TEMPLATES[script]
    try:
        text = _environment(release).get_template(name).render(s=values)
    except jinja2.TemplateError as error:
        raise PackageError(
            f"installers: the template {name} failed: {error}",
            hint="fix the override in tool.release.packages.templates, or remove it",
        ) from error
    return text.encode("utf-8")


def render_install_sh(release: Release, minisign_public_key: str | None = None) -> bytes:
    """install.sh for the release's Linux and macOS builds; minisign_public_key: the .pub file's text, if signed."""
    return _render(release, INSTALL_SH, minisign_public_key)


def render_install_ps1(release: Release) -> bytes:
    """install.ps1 for the release's Windows builds."""
    return _render(release, INSTALL_PS1, None)


RENDERERS: dict[str, Callable[[Release, str | None], bytes]] = {
    INSTALL_SH: render_install_sh,
    INSTALL_PS1: lambda release, _key: render_install_ps1(release),
}


def render_installers(release: Release, minisign_public_key: str | None = None) -> dict[str, bytes]:
    """{script name: bytes} of every script whose OSes the release has a build for."""
    check(release, minisign_public_key)
    return {name: RENDERERS[name](release, minisign_public_key) for name in NAMES if builds_for(release, name)}
