"""What every package channel shares: the release it packages, the Channel interface, archive choice, templates.

A channel sees a `Release`: the crate's name, version and metadata, and the
archives of dist/manifest.json that serve the channel's platforms, each with
its download URL, SHA-256 and the files it holds (binaries, `complete/`,
`man/`, docs). It never looks at the build. A channel is three functions:

- `check(release, settings)`: raise PackageError naming the channel and the
  field for anything the channel cannot express (run for every channel before
  any file is written);
- `render(release, settings)`: the channel's text files, pure
  ({relative path: bytes});
- `build(job)` (optional): make the channel's binary package from the
  rendered files with the real tool (dpkg-deb, rpmbuild, nuget ...), writing
  only inside `job.folder`.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from tooling import proc, resources
from tooling.artifacts.shell_docs import COMPLETION_FILES, MAN_FILE
from tooling.artifacts.shell_docs import SHELLS as COMPLETION_SHELLS
from tooling.errors import PackageError

Settings = Mapping[str, Any]

# (os, arch) pairs in the target table's words.
LINUX_X86_64 = ("linux", "x86_64")
LINUX_AARCH64 = ("linux", "aarch64")
MACOS_X86_64 = ("macos", "x86_64")
MACOS_AARCH64 = ("macos", "aarch64")
WINDOWS_X86_64 = ("windows", "x86_64")


# Libc preference per OS when a channel's settings do not choose (Windows: MSVC is the native ABI).
_LIBC_ORDER = {"linux": ("musl", "gnu"), "macos": ("system",), "windows": ("msvc", "gnu")}


@dataclass(frozen=True)
class Archive:
    """One release archive a channel downloads."""

    triple: str
    os: str
    arch: str
    libc: str
    file: str  # file name in dist/ and among the release's downloads
    url: str
    sha256: str
    format: str  # tar.gz | tar.xz | tar.zst | zip
    top: str  # the folder every entry sits in
    files: tuple[str, ...]  # entries relative to `top`, sorted

    def executable(self, binary: str) -> str:
        """The binary's file name in this archive (.exe on Windows)."""
        return binary + (".exe" if self.os == "windows" else "")


@dataclass(frozen=True)
class Release:
    """Everything a channel may use: crate facts, metadata and the archives serving its platforms."""

    name: str
    version: str
    tag: str
    prerelease: bool
    binaries: tuple[str, ...]
    description: str
    homepage: str
    license: str
    maintainer: str
    repository: str
    archives: tuple[Archive, ...]  # in platform order of the channel (all archives before narrowing)
    sums_url: str  # URL of SHA256SUMS
    epoch: int  # SOURCE_DATE_EPOCH of the release
    templates: Path | None = None  # the project's template folder, if any

    def archive(self, platform: tuple[str, str]) -> Archive | None:
        """The archive serving (os, arch), or None."""
        return next((a for a in self.archives if (a.os, a.arch) == platform), None)

    def completions(self, binary: str) -> dict[str, str]:
        """{shell: path inside the archive} of the completions every archive holds for `binary`."""
        found = {}
        for shell in COMPLETION_SHELLS:
            path = COMPLETION_FILES[shell].format(bin=binary)
            if self.archives and all(path in a.files for a in self.archives):
                found[shell] = path
        return found

    def man_page(self, binary: str) -> str | None:
        """Path inside the archive of the binary's man page, when every archive holds it."""
        path = MAN_FILE.format(bin=binary)
        return path if self.archives and all(path in a.files for a in self.archives) else None

    def docs(self) -> tuple[str, ...]:
        """README/LICENSE/CHANGELOG-style files at the top of every archive."""
        if not self.archives:
            return ()
        first = self.archives[0]
        binaries = {first.executable(b) for b in self.binaries}
        common = [f for f in first.files if "/" not in f and f not in binaries]
        return tuple(f for f in common if all(f in a.files for a in self.archives))

    def license_files(self) -> tuple[str, ...]:
        return tuple(f for f in self.docs() if f.upper().startswith(("LICENSE", "LICENCE", "COPYING")))


@dataclass(frozen=True)
class BuildJob:
    """What a channel's build step gets: the release, its settings, its folder (rendered files inside)."""

    release: Release
    settings: Settings
    folder: Path  # dist/packages/<channel> being made (a staging folder); write only here
    dist: Path
    runner: proc.Runner
    scratch: Path  # a temporary folder outside dist/, removed afterwards

    def archive_path(self, archive: Archive) -> Path:
        return self.dist / archive.file

    def unpack(self, archive: Archive, into: Path) -> Path:
        """Extract `archive` into `into`; the path of its top folder (entries checked to stay inside)."""
        return unpack_archive(self.archive_path(archive), into)


def _no_check(release: Release, settings: Settings) -> None:
    return None


@dataclass(frozen=True)
class Channel:
    """One package channel (see the module docstring)."""

    name: str
    summary: str
    platforms: tuple[tuple[str, str], ...]
    render: Callable[[Release, Settings], dict[str, bytes]]
    check: Callable[[Release, Settings], None] = _no_check
    build: Callable[[BuildJob], None] | None = None
    # The tools `build` runs, for the doctor and for clear errors when one is missing.
    tools: tuple[str, ...] = field(default_factory=tuple)
    # Every archive of its platforms (each libc), not one per platform: cargo-binstall picks by triple.
    every_target: bool = False


def fail(channel: str, key: str, problem: str, hint: str = "") -> PackageError:
    """The error for one field of one channel: `<channel>: <field>: <problem>`."""
    return PackageError(f"{channel}: {key}: {problem}", hint=hint)


def require(channel: str, release: Release, *keys: str) -> None:
    """PackageError for the first of `keys` (Release fields) that is empty."""
    for key in keys:
        if not str(getattr(release, key)).strip():
            raise fail(
                channel,
                key,
                "is empty, and this channel requires it",
                hint=f"set {key} in Cargo.toml's [package] or in [tool.release.metadata], "
                f"or leave {channel} out of tool.release.packages.channels",
            )


# A file name every shell, spec and PKGBUILD line can hold without quoting.
_PLAIN_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")


def require_plain_files(channel: str, release: Release) -> None:
    """PackageError when a file the channel names in a script (binary, doc, license) needs quoting."""
    for binary in release.binaries:
        if not _PLAIN_FILE.match(binary):
            raise fail(channel, "binaries", f"{binary!r} is a name its build script would have to quote")
    for name in release.docs():
        if not _PLAIN_FILE.match(name):
            raise fail(
                channel,
                "archives",
                f"the archives hold {name!r}, a name its build script would have to quote",
                hint="rename the file, or narrow tool.release.include so it is not shipped",
            )


# --- choosing archives ----------------------------------------------------------------------


def libc_order(os_name: str, settings: Settings) -> tuple[str, ...]:
    """Which builds serve an OS, best first: the channel's `linux-libc` first on Linux."""
    order = _LIBC_ORDER.get(os_name, ())
    chosen = settings.get("linux-libc")
    if os_name == "linux" and chosen:
        order = (chosen, *[libc for libc in order if libc != chosen])
    return order


def choose_archives(
    channel: Channel,
    archives: Sequence[Archive],
    planned: Sequence[tuple[str, str, str]],
    settings: Settings,
    *,
    allow_partial: bool,
) -> tuple[Archive, ...]:
    """The archive serving each of the channel's platforms that the release plans (pure).

    planned: (os, arch, libc) of every target the release plan builds (here or on CI).
    A platform the plan builds but dist/ has no archive for is an error (a
    silent gap in a package is worse than no package), unless allow_partial
    (a local trial: the platform is left out, and with none left the result is
    empty); a platform the plan does not build is left out.
    """
    chosen = []
    for os_name, arch in channel.platforms:
        order = libc_order(os_name, settings)
        wanted = [libc for libc in order if (os_name, arch, libc) in planned]
        if os_name == "linux" and settings.get("linux-libc") in order:
            # The configured libc only: a musl .deb must not silently become a gnu one.
            wanted = [libc for libc in wanted if libc == settings["linux-libc"]]
        if not wanted:
            continue
        present = {a.libc: a for a in archives if (a.os, a.arch) == (os_name, arch)}
        found = next((present[libc] for libc in wanted if libc in present), None)
        if found is not None:
            chosen.append(found)
        elif not allow_partial:
            raise fail(
                channel.name,
                "archives",
                f"no archive in dist/ for {os_name} {arch} ({' or '.join(wanted)}), which the release plans",
                hint="build or import (--prebuilt) that target first, or pass --allow-partial for a local trial",
            )
    if not chosen and not allow_partial:
        raise fail(
            channel.name,
            "archives",
            "none of its platforms (" + ", ".join(f"{o} {a}" for o, a in channel.platforms) + ") has an archive",
            hint="add such a target to tool.release.targets, or leave the channel out of "
            "tool.release.packages.channels",
        )
    return tuple(chosen)


def every_archive(
    channel: Channel,
    archives: Sequence[Archive],
    planned: Sequence[tuple[str, str, str]],
    *,
    allow_partial: bool,
) -> tuple[Archive, ...]:
    """Every archive of the channel's platforms, each planned build required unless allow_partial (pure)."""
    present = {(a.os, a.arch, a.libc) for a in archives}
    for build in planned:
        if (build[0], build[1]) in channel.platforms and build not in present and not allow_partial:
            raise fail(
                channel.name,
                "archives",
                f"no archive in dist/ for {' '.join(build)}, which the release plans",
                hint="build or import (--prebuilt) that target first, or pass --allow-partial for a local trial",
            )
    chosen = tuple(a for a in archives if (a.os, a.arch) in channel.platforms)
    if not chosen and not allow_partial:
        raise fail(channel.name, "archives", "no archive of its platforms in dist/")
    return chosen


def archives_for(
    channel: Channel,
    archives: Sequence[Archive],
    planned: Sequence[tuple[str, str, str]],
    settings: Settings,
    *,
    allow_partial: bool,
) -> tuple[Archive, ...]:
    """The archives a channel packages: one per platform (choose_archives) or all of them (every_target)."""
    if channel.every_target:
        return every_archive(channel, archives, planned, allow_partial=allow_partial)
    return choose_archives(channel, archives, planned, settings, allow_partial=allow_partial)


# --- templates ---------------------------------------------------------------------------------


def _environment(release: Release) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if release.templates is not None:
        loaders.append(jinja2.FileSystemLoader(str(release.templates)))
    loaders.append(jinja2.FileSystemLoader(str(resources.resource_path("packaging"))))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # Package files are not HTML: each format escapes what it needs (filters xml, ruby, sh).
        autoescape=False,  # noqa: S701
    )
    env.filters["xml"] = _xml_escape
    env.filters["ruby"] = ruby_string
    env.filters["sh"] = shell_word
    return env


def render_template(release: Release, channel: str, template: str, **context: Any) -> bytes:
    """resources/packaging/<channel>/<template>, or the project's override of it, rendered as UTF-8."""
    env = _environment(release)
    try:
        loaded = env.get_template(f"{channel}/{template}")
    except jinja2.TemplateNotFound as error:
        raise PackageError(f"{channel}: no template {channel}/{template}") from error
    except (jinja2.TemplateError, OSError, UnicodeDecodeError) as error:
        raise PackageError(
            f"{channel}: the template {channel}/{template} cannot be read: {error}",
            hint="fix the template override in tool.release.packages.templates, or remove it",
        ) from error
    try:
        text = loaded.render(release=release, **context)
    except jinja2.TemplateError as error:
        where = loaded.filename or f"{channel}/{template}"
        raise PackageError(
            f"{channel}: the template {where} failed: {error}",
            hint="fix the template override in tool.release.packages.templates, or remove it",
        ) from error
    return text.encode("utf-8")


# Characters XML 1.0 cannot carry at all, even escaped: the C0 controls but tab, newline and carriage return.
_XML_FORBIDDEN = {chr(c) for c in range(0x20)} - {"\t", "\n", "\r"}


def _xml_escape(value: Any) -> str:
    text = str(value)
    forbidden = sorted({c for c in text if c in _XML_FORBIDDEN})
    if forbidden:
        raise PackageError(
            f"{text[:60]!r} holds a control character XML cannot carry ({', '.join(repr(c) for c in forbidden)})",
            hint="remove it from the metadata (Cargo.toml or [tool.release.metadata])",
        )
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&apos;")):
        text = text.replace(raw, escaped)
    return text


def ruby_string(value: Any) -> str:
    """A Ruby double-quoted string literal (no interpolation)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#")
    return f'"{text}"'


def shell_word(value: Any) -> str:
    """A POSIX shell single-quoted word."""
    return "'" + str(value).replace("'", "'\"'\"'") + "'"


# --- archives on disk -------------------------------------------------------------------------


def _inside(root: Path, name: str) -> Path:
    """root/name, refusing absolute names and `..` (an archive must not write outside its folder)."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise PackageError(f"archive entry {name!r} leaves its folder", hint="rebuild the archive (invoke package)")
    return root.joinpath(*parts)


def unpack_archive(path: Path, into: Path) -> Path:
    """Extract a release archive (tar.* or zip) into `into` (regular files and folders only); its top folder."""
    try:
        return _unpack(path, into)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        # ValueError: zstandard's error for a damaged frame; OSError: gzip's and lzma's.
        raise PackageError(
            f"cannot unpack {path.name}: {error}", hint="make the archive again (invoke package)"
        ) from error


def _unpack(path: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    tops: set[str] = set()
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as handle:
            for info in handle.infolist():
                target = _inside(into, info.filename)
                tops.add(PurePosixPath(info.filename).parts[0])
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with handle.open(info) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
                target.chmod((info.external_attr >> 16) & 0o777 or 0o644)
    elif path.name.endswith(".tar.zst"):
        import zstandard

        with (
            path.open("rb") as raw,
            zstandard.ZstdDecompressor().stream_reader(raw) as stream,
            tarfile.open(fileobj=stream, mode="r|") as handle,
        ):
            _untar(handle, into, tops)
    else:
        with tarfile.open(path) as handle:
            _untar(handle, into, tops)
    if len(tops) != 1:
        raise PackageError(f"{path.name} does not hold exactly one top folder ({sorted(tops)})")
    return into / tops.pop()


def _untar(handle: tarfile.TarFile, into: Path, tops: set[str]) -> None:
    for member in handle:
        target = _inside(into, member.name)
        tops.add(PurePosixPath(member.name).parts[0])
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            target.parent.mkdir(parents=True, exist_ok=True)
            source = handle.extractfile(member)
            assert source is not None
            with source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            target.chmod(member.mode & 0o777)
        else:
            raise PackageError(f"archive entry {member.name!r} is not a regular file or folder")
