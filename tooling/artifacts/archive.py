"""Reproducible release archives: one per target, streamed, byte-identical across runs.

`plan_archive` decides what goes into an archive (pure, apart from globbing the
include patterns); `write_archive` streams the files into tar.gz, tar.xz,
tar.zst or zip with every varying field pinned: entries sorted, owners 0/0
with empty names, modes 0755/0644, mtimes = SOURCE_DATE_EPOCH, and a gzip
header without file name or time. The archive's SHA-256 is computed while it
is written, so the checksum step never reads it again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import os
import tarfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

from tooling.errors import BuildError, ConfigError
from tooling.files import atomic_output
from tooling.targets import ARCHIVE_FORMATS, Target

DEFAULT_LEVEL = 6  # gzip's and tar's own default: fast, and what the benchmark compares against
_CHUNK = 1 << 20
_ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can hold
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
) -> ArchivePlan:
    """The archive for `target`: its binaries (0755) and extra files (0644) under one folder."""
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


def _zip_date(epoch: int) -> tuple[int, int, int, int, int, int]:
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
            with temporary.open("wb") as raw:
                writer = HashingWriter(raw)
                _write_stream(plan, raw, cast(IO[bytes], writer), epoch, level)
            if plan.format == "zip":
                # zipfile seeks back to patch local headers, so it writes to the file
                # itself; the archive is hashed afterwards.
                from tooling.manifest import sha256_file

                return Written(destination, temporary.stat().st_size, sha256_file(temporary))
            return Written(destination, writer.size, writer.digest.hexdigest())
    except OSError as error:
        raise BuildError(
            f"cannot write archive {destination.name}: {error.strerror or error}"
            + (f" ({error.filename})" if error.filename else ""),
            hint="check free space and permissions of the dist directory",
        ) from error


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
