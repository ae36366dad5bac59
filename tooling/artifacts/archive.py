"""Reproducible release archives: one per target, streamed, byte-identical across runs.

`plan_archive` decides what goes into an archive (pure, apart from globbing the
include patterns); `write_archive` streams the files into tar.gz, tar.xz,
tar.zst or zip with every varying field pinned: entries sorted, owners 0/0
with empty names, modes 0755/0644, mtimes = SOURCE_DATE_EPOCH, and a gzip
header without file name or time. The archive's SHA-256 is computed while it
is written, so the checksum step never reads it again. `stage_archive` writes
beside the destination without renaming, so the archive step can put a whole
set in place only when every archive was written.

`read_members` reads an archive back (verify): every entry's kind, size and,
for files, SHA-256, so a release whose archive lacks a binary, holds a file the
manifest does not list, or holds a link, is caught.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import os
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Literal, cast

from tooling.errors import BuildError, ConfigError, VerificationError
from tooling.files import atomic_output, temporary_for
from tooling.targets import ARCHIVE_FORMATS, Target

DEFAULT_LEVEL = 6  # gzip's and tar's own default: fast, and what the benchmark compares against
_CHUNK = 1 << 20
_ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can hold
_ZIP_LAST = 4354819199  # 2107-12-31T23:59:59Z, the latest (the year is 7 bits counted from 1980)
EXECUTABLE_MODE = 0o755
FILE_MODE = 0o644


@dataclass(frozen=True)
class Entry:
    """One file inside an archive."""

    arcname: str  # path inside the archive, with the top-level folder
    source: Path
    mode: int


@dataclass(frozen=True)
class ArchivePlan:
    """What one target's archive holds and what it is called."""

    target: str
    format: str
    file_name: str
    top: str  # the single top-level folder
    entries: tuple[Entry, ...]


def archive_stem(name: str, version: str, triple: str) -> str:
    """`<name>-<version>-<triple>`: the archive's base name and its top-level folder."""
    return f"{name}-{version}-{triple}"


def archive_file_name(name: str, version: str, triple: str, fmt: str) -> str:
    """`<name>-<version>-<triple>.<ext>`, e.g. crcsum-1.0.0-x86_64-unknown-linux-gnu.tar.gz."""
    check_format(fmt)
    return f"{archive_stem(name, version, triple)}.{fmt}"


def check_format(fmt: str) -> str:
    """`fmt` itself, or a ConfigError naming the formats we can write."""
    if fmt not in ARCHIVE_FORMATS:
        raise ConfigError(f"unknown archive format {fmt!r}", hint="use one of " + ", ".join(ARCHIVE_FORMATS))
    return fmt


def resolve_includes(base: Path, patterns: Sequence[str]) -> tuple[Path, ...]:
    """Files under `base` matching `patterns` (globs), sorted and without duplicates.

    Directories and files that would escape `base` are skipped: an archive
    ships regular files only, and only from the crate.
    """
    found: dict[str, Path] = {}
    root = base.resolve()
    for pattern in patterns:
        for path in sorted(base.glob(pattern)):
            if not path.is_file():
                continue
            resolved = path.resolve()
            if not resolved.is_relative_to(root):
                continue
            found.setdefault(path.relative_to(base).as_posix(), path)
    return tuple(found[key] for key in sorted(found))


def plan_archive(
    *,
    name: str,
    version: str,
    target: Target,
    fmt: str,
    binaries: Sequence[Path],
    extra_files: Sequence[Path],
    extra_base: Path,
    generated: Mapping[str, Path] | None = None,
) -> ArchivePlan:
    """The archive for `target`: its binaries (0755) and extra files (0644) under one folder.

    generated: {path inside the folder: file} of files made for the release (completions, man pages).
    """
    check_format(fmt)
    top = archive_stem(name, version, target.triple)
    entries: dict[str, Entry] = {}
    for binary in binaries:
        entries[f"{top}/{binary.name}"] = Entry(f"{top}/{binary.name}", binary, EXECUTABLE_MODE)
    for extra in extra_files:
        arcname = f"{top}/{extra.relative_to(extra_base).as_posix()}"
        if arcname in entries:
            raise ConfigError(
                f"tool.release.include: {extra} would overwrite {arcname} in the archive",
                hint="remove the pattern that matches a file named like a binary",
            )
        entries[arcname] = Entry(arcname, extra, FILE_MODE)
    for inner, source in (generated or {}).items():
        arcname = f"{top}/{inner}"
        if arcname in entries:
            raise ConfigError(
                f"tool.release.include: a file matches {inner}, which the release generates",
                hint="remove the pattern that matches complete/ or man/ files",
            )
        entries[arcname] = Entry(arcname, source, FILE_MODE)
    return ArchivePlan(
        target=target.triple,
        format=fmt,
        file_name=archive_file_name(name, version, target.triple, fmt),
        top=top,
        entries=tuple(entries[key] for key in sorted(entries)),
    )


def directories_of(entries: Sequence[Entry]) -> tuple[str, ...]:
    """Every folder the entries live in, so extractors make them with fixed modes."""
    folders: set[str] = set()
    for entry in entries:
        parts = entry.arcname.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folders.add("/".join(parts[:depth]))
    return tuple(sorted(folders))


def layout(entries: Sequence[Entry]) -> list[tuple[str, Entry | None]]:
    """Folders (None) and files in one sorted order; a folder's name is a prefix, so it precedes its contents."""
    items: list[tuple[str, Entry | None]] = [(folder, None) for folder in directories_of(entries)]
    items += [(entry.arcname, entry) for entry in entries]
    return sorted(items, key=lambda item: item[0])


# --- writing -----------------------------------------------------------------


class HashingWriter(io.RawIOBase):
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        self._raw.write(view)
        self.digest.update(view)
        self.size += len(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._raw.flush()


@dataclass(frozen=True)
class Written:
    """An archive on disk: where, how big, and its SHA-256."""

    path: Path
    size: int
    sha256: str


def _tar_info(arcname: str, *, size: int, mode: int, epoch: int, is_dir: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname + ("/" if is_dir else ""))
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.size = 0 if is_dir else size
    info.mode = mode
    info.mtime = epoch
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _write_tar(plan: ArchivePlan, stream: IO[bytes], epoch: int) -> None:
    # PAX format only adds extended headers when a field does not fit ustar
    # (long or non-ASCII names); with pinned fields it adds none here.
    with tarfile.TarFile(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT, copybufsize=_CHUNK) as tar:
        for name, entry in layout(plan.entries):
            if entry is None:
                tar.addfile(_tar_info(name, size=0, mode=EXECUTABLE_MODE, epoch=epoch, is_dir=True))
                continue
            with entry.source.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                tar.addfile(_tar_info(entry.arcname, size=size, mode=entry.mode, epoch=epoch), handle)


def check_zip_epoch(epoch: int) -> None:
    """ConfigError when `epoch` is after the last date a zip entry can hold.

    Times before 1980 are clamped to 1980 instead (SOURCE_DATE_EPOCH=0 is a
    common reproducible choice, and any fixed date keeps the archive
    reproducible); a time after 2107 is almost always a mistake, such as
    milliseconds instead of seconds, so it is refused rather than clamped.
    """
    if epoch > _ZIP_LAST:
        raise ConfigError(
            f"the release time {epoch} (SOURCE_DATE_EPOCH, else the release commit's date) is after 2107-12-31, "
            "the last date a zip archive can store",
            hint="set SOURCE_DATE_EPOCH in seconds (not milliseconds), e.g. $(git log -1 --format=%ct), "
            "or choose a tar format with tool.release.archive.windows",
        )


def _zip_date(epoch: int) -> tuple[int, int, int, int, int, int]:
    check_zip_epoch(epoch)
    # zip stores local time without a zone; UTC keeps it the same on every machine.
    stamp = time.gmtime(max(epoch, _ZIP_EPOCH))
    # zip times have two-second resolution; round down so runs agree.
    return (stamp.tm_year, stamp.tm_mon, stamp.tm_mday, stamp.tm_hour, stamp.tm_min, stamp.tm_sec - stamp.tm_sec % 2)


def _zip_info(arcname: str, *, mode: int, epoch: int, level: int, is_dir: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname + ("/" if is_dir else ""), date_time=_zip_date(epoch))
    info.create_system = 3  # Unix: unzip then honours the mode bits below
    file_type = 0o040000 if is_dir else 0o100000
    info.external_attr = ((file_type | mode) << 16) | (0x10 if is_dir else 0)
    info.compress_type = zipfile.ZIP_STORED if is_dir else zipfile.ZIP_DEFLATED
    # Python 3.13 calls it compress_level; 3.11 reads the private name when writing.
    info._compresslevel = level  # type: ignore[attr-defined]
    return info


def _write_zip(plan: ArchivePlan, stream: BinaryIO, epoch: int, level: int) -> None:
    with zipfile.ZipFile(stream, mode="w") as archive:
        for name, entry in layout(plan.entries):
            if entry is None:
                archive.writestr(_zip_info(name, mode=EXECUTABLE_MODE, epoch=epoch, level=level, is_dir=True), b"")
                continue
            info = _zip_info(entry.arcname, mode=entry.mode, epoch=epoch, level=level)
            info.file_size = entry.source.stat().st_size  # lets zipfile choose zip64 up front
            with entry.source.open("rb") as source, archive.open(info, mode="w") as target:
                while chunk := source.read(_CHUNK):
                    target.write(chunk)


def write_archive(plan: ArchivePlan, destination: Path, *, epoch: int, level: int = DEFAULT_LEVEL) -> Written:
    """Stream `plan` into `destination` (via a temporary file, renamed when complete)."""
    try:
        with atomic_output(destination) as temporary:
            return _stream_to(plan, temporary, destination, epoch, level)
    except OSError as error:
        raise _write_failed(destination, error) from error


def stage_archive(plan: ArchivePlan, destination: Path, *, epoch: int, level: int = DEFAULT_LEVEL) -> Written:
    """Stream `plan` into `<destination>.tmp` and leave it there; Written.path is that temporary file.

    The caller renames every staged archive into place only when all of them
    were written (or removes them), so one failure replaces no archive.
    """
    temporary = temporary_for(destination)
    try:
        temporary.parent.mkdir(parents=True, exist_ok=True)
        written = _stream_to(plan, temporary, destination, epoch, level)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _write_failed(destination, error) from error
        raise
    return Written(temporary, written.size, written.sha256)


def _write_failed(destination: Path, error: OSError) -> BuildError:
    return BuildError(
        f"cannot write archive {destination.name}: {error.strerror or error}"
        + (f" ({error.filename})" if error.filename else ""),
        hint="check free space and permissions of the dist directory",
    )


def _stream_to(plan: ArchivePlan, temporary: Path, destination: Path, epoch: int, level: int) -> Written:
    """Write the archive bytes into `temporary`; their size and SHA-256, named for `destination`."""
    with temporary.open("wb") as raw:
        writer = HashingWriter(raw)
        _write_stream(plan, raw, cast(IO[bytes], writer), epoch, level)
    if plan.format == "zip":
        # zipfile seeks back to patch local headers, so it writes to the file
        # itself; the archive is hashed afterwards.
        from tooling.manifest import sha256_file

        return Written(destination, temporary.stat().st_size, sha256_file(temporary))
    return Written(destination, writer.size, writer.digest.hexdigest())


def _write_stream(plan: ArchivePlan, raw: BinaryIO, sink: IO[bytes], epoch: int, level: int) -> None:
    """The archive bytes of `plan`: zip straight into the file, tarballs through the hashing `sink`."""
    if plan.format == "zip":
        _write_zip(plan, raw, epoch, level)
    elif plan.format == "tar.gz":
        # filename="" and mtime=0: the gzip header then names no file and no time.
        with gzip.GzipFile(filename="", mode="wb", fileobj=sink, compresslevel=level, mtime=0) as gz:
            _write_tar(plan, cast(IO[bytes], gz), epoch)
    elif plan.format == "tar.xz":
        with lzma.LZMAFile(sink, mode="wb", format=lzma.FORMAT_XZ, preset=min(level, 9)) as xz:
            _write_tar(plan, xz, epoch)
    elif plan.format == "tar.zst":
        import zstandard

        # No content size, no dictionary id, single thread: identical frames every run.
        compressor = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=0)
        with compressor.stream_writer(sink, closefd=False) as zst:
            _write_tar(plan, cast(IO[bytes], zst), epoch)
    else:
        raise ConfigError(f"unknown archive format {plan.format!r}")


# --- reading an archive back (verify) ---------------------------------------------


@dataclass(frozen=True)
class Member:
    """One entry of an archive as it is stored: what it is, its size, and a file's SHA-256."""

    name: str  # without a folder's trailing slash
    kind: str  # file | dir | link | other
    size: int
    sha256: str  # "" unless kind == "file"


def format_of(name: str) -> str | None:
    """The archive format a file name ends in (tar.gz before gz-like guesses), or None."""
    for fmt in sorted(ARCHIVE_FORMATS, key=len, reverse=True):
        if name.endswith("." + fmt):
            return fmt
    return None


def _hash_stream(handle: IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym() or info.islnk():
        return "link"
    return "other"


def _tar_members(tar: tarfile.TarFile) -> list[Member]:
    members = []
    for info in tar:  # stream mode: one pass, each file's bytes read as it passes
        kind = _tar_kind(info)
        size, sha256 = info.size, ""
        if kind == "file":
            handle = tar.extractfile(info)
            if handle is not None:
                size, sha256 = _hash_stream(handle)
        members.append(Member(info.name.rstrip("/"), kind, size, sha256))
    return members


def _zip_members(path: Path) -> list[Member]:
    members = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if info.is_dir():
                members.append(Member(info.filename.rstrip("/"), "dir", 0, ""))
            elif stat.S_ISLNK(mode):
                members.append(Member(info.filename, "link", info.file_size, ""))
            else:
                with archive.open(info) as handle:
                    size, sha256 = _hash_stream(handle)
                members.append(Member(info.filename, "file", size, sha256))
    return members


_TAR_STREAM_MODES: dict[str, Literal["r|gz", "r|xz"]] = {"tar.gz": "r|gz", "tar.xz": "r|xz"}
# What the decoders raise on bytes that are not their format (zstandard's own error is added when it loads).
_UNREADABLE: tuple[type[Exception], ...] = (
    tarfile.TarError,
    zipfile.BadZipFile,
    lzma.LZMAError,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
)


def _zstd_members(path: Path) -> list[Member]:
    import zstandard

    try:
        with (
            path.open("rb") as raw,
            zstandard.ZstdDecompressor().stream_reader(raw) as reader,
            tarfile.open(fileobj=cast(IO[bytes], reader), mode="r|") as tar,
        ):
            return _tar_members(tar)
    except zstandard.ZstdError as error:
        raise ValueError(str(error)) from error


def read_members(path: Path) -> list[Member]:
    """Every entry of the archive at `path`, in stored order, its files hashed as they stream past.

    The format comes from the file name. A file that is not a readable
    archive of that format is a VerificationError saying so.
    """
    fmt = format_of(path.name)
    try:
        if fmt == "zip":
            return _zip_members(path)
        if fmt in _TAR_STREAM_MODES:
            with tarfile.open(path, mode=_TAR_STREAM_MODES[fmt]) as tar:
                return _tar_members(tar)
        if fmt == "tar.zst":
            return _zstd_members(path)
    except _UNREADABLE as error:
        raise VerificationError(
            f"{path.name} is not a readable {fmt} archive ({type(error).__name__}: {error})",
            hint="make the archive again (invoke package), or find out who replaced it",
        ) from error
    raise VerificationError(
        f"{path.name} does not end in a known archive format", hint="archives end in " + ", ".join(ARCHIVE_FORMATS)
    )
