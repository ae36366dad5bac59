"""Archive naming, planning and reproducible writing (tar.gz, tar.xz, tar.zst, zip)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from tests.artifact_fixtures import fake_binary
from tooling import epoch
from tooling.artifacts import archive
from tooling.errors import BuildError, ConfigError
from tooling.targets import get_target

EPOCH = 1_700_000_000
LINUX = get_target("x86_64-unknown-linux-gnu")
WINDOWS = get_target("x86_64-pc-windows-msvc")


def crate(tmp_path: Path) -> Path:
    root = tmp_path / "crate"
    (root / "docs").mkdir(parents=True)
    (root / "README.md").write_text("readme\n")
    (root / "LICENSE-MIT").write_text("mit\n")
    (root / "LICENSE-APACHE").write_text("apache\n")
    (root / "CHANGELOG.md").write_text("changes\n")
    (root / "docs" / "guide.txt").write_text("guide\n")
    for path in root.rglob("*"):
        path.chmod(0o600 if path.is_file() else 0o700)
    return root


def plan_for(tmp_path: Path, fmt: str, target=LINUX, binary_name: str = "crcsum") -> archive.ArchivePlan:
    root = crate(tmp_path)
    binary = fake_binary(tmp_path / "bin" / binary_name, seed=1)
    extras = archive.resolve_includes(root, ["README*", "LICENSE*", "CHANGELOG*", "docs/*.txt"])
    return archive.plan_archive(
        name="crcsum", version="1.2.3", target=target, fmt=fmt, binaries=[binary], extra_files=extras, extra_base=root
    )


def test_archive_name_follows_name_version_triple() -> None:
    assert (
        archive.archive_file_name("crcsum", "1.2.3", "x86_64-unknown-linux-gnu", "tar.gz")
        == "crcsum-1.2.3-x86_64-unknown-linux-gnu.tar.gz"
    )
    assert archive.archive_file_name("t", "0.1.0", "x86_64-pc-windows-msvc", "zip").endswith(
        "-x86_64-pc-windows-msvc.zip"
    )


def test_unknown_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"tar\.bz2"):
        archive.archive_file_name("t", "1", "x86_64-unknown-linux-gnu", "tar.bz2")


def test_source_date_epoch_prefers_environment_then_commit_time() -> None:
    assert epoch.source_date_epoch({"SOURCE_DATE_EPOCH": "123"}, "456\n") == 123
    assert epoch.source_date_epoch({}, "456\n") == 456
    with pytest.raises(ConfigError, match="not a number"):
        epoch.source_date_epoch({"SOURCE_DATE_EPOCH": "yesterday"}, "456")
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
        epoch.source_date_epoch({}, None)


def test_includes_are_sorted_files_only_without_duplicates(tmp_path: Path) -> None:
    root = crate(tmp_path)
    found = archive.resolve_includes(root, ["LICENSE*", "*", "docs"])
    names = [p.relative_to(root).as_posix() for p in found]
    assert names == sorted(names)
    assert names.count("LICENSE-MIT") == 1
    assert "docs" not in names  # a directory is never shipped as such


def test_plan_puts_everything_under_one_folder_binaries_executable(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "tar.gz")
    assert plan.file_name == "crcsum-1.2.3-x86_64-unknown-linux-gnu.tar.gz"
    assert {e.arcname.split("/")[0] for e in plan.entries} == {plan.top}
    modes = {e.arcname.removeprefix(plan.top + "/"): e.mode for e in plan.entries}
    assert modes["crcsum"] == 0o755
    assert modes["README.md"] == modes["LICENSE-MIT"] == modes["docs/guide.txt"] == 0o644
    assert [e.arcname for e in plan.entries] == sorted(e.arcname for e in plan.entries)


def test_include_that_shadows_a_binary_is_refused(tmp_path: Path) -> None:
    root = crate(tmp_path)
    (root / "crcsum").write_text("not the binary")
    binary = fake_binary(tmp_path / "bin" / "crcsum", seed=1)
    with pytest.raises(ConfigError, match="overwrite"):
        archive.plan_archive(
            name="crcsum",
            version="1",
            target=LINUX,
            fmt="tar.gz",
            binaries=[binary],
            extra_files=[root / "crcsum"],
            extra_base=root,
        )


def _tar_members(data: bytes, fmt: str) -> list[tarfile.TarInfo]:
    if fmt == "tar.gz":
        raw = gzip.decompress(data)
    elif fmt == "tar.xz":
        import lzma

        raw = lzma.decompress(data)
    else:
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        return tar.getmembers()


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.zst"])
def test_tar_entries_are_normalised(tmp_path: Path, fmt: str) -> None:
    plan = plan_for(tmp_path, fmt)
    written = archive.write_archive(plan, tmp_path / "out" / plan.file_name, epoch=EPOCH)
    data = written.path.read_bytes()
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.size == len(data)
    members = _tar_members(data, fmt)
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[0] == plan.top  # the folder comes first, so extractors create it with mode 0755
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == EPOCH
        assert not member.pax_headers  # nothing beyond plain ustar fields
    by_name = {m.name: m for m in members}
    assert by_name[f"{plan.top}/crcsum"].mode == 0o755
    assert by_name[f"{plan.top}/README.md"].mode == 0o644
    assert by_name[plan.top].isdir() and by_name[plan.top].mode == 0o755


def test_gzip_header_has_no_name_and_no_time(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "tar.gz")
    data = archive.write_archive(plan, tmp_path / plan.file_name, epoch=EPOCH).path.read_bytes()
    magic, method, flags, mtime = struct.unpack("<HBBI", data[:8])
    assert (magic, method) == (0x8B1F, 8)
    assert flags & 0x08 == 0  # FNAME not set: no file name stored
    assert mtime == 0


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.zst", "zip"])
def test_two_runs_give_identical_bytes_whatever_the_file_times(tmp_path: Path, fmt: str) -> None:
    plan = plan_for(tmp_path, fmt)
    first = archive.write_archive(plan, tmp_path / "a" / plan.file_name, epoch=EPOCH)
    for entry in plan.entries:  # touch every input: different mtimes and modes on disk
        os.utime(entry.source, (EPOCH + 999, EPOCH + 999))
        entry.source.chmod(0o777)
    second = archive.write_archive(plan, tmp_path / "b" / plan.file_name, epoch=EPOCH)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256
    third = archive.write_archive(plan, tmp_path / "c" / plan.file_name, epoch=EPOCH + 2)
    assert third.sha256 != first.sha256  # the epoch really is what stamps the entries


def test_zip_entries_carry_unix_modes_and_the_epoch(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "zip", target=WINDOWS, binary_name="crcsum.exe")
    assert plan.file_name.endswith(".zip")
    written = archive.write_archive(plan, tmp_path / plan.file_name, epoch=EPOCH)
    assert written.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()
    with zipfile.ZipFile(written.path) as archive_file:
        infos = archive_file.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        by_name = {i.filename: i for i in infos}
        exe = by_name[f"{plan.top}/crcsum.exe"]
        assert exe.external_attr >> 16 == 0o100755
        assert by_name[f"{plan.top}/README.md"].external_attr >> 16 == 0o100644
        assert exe.date_time == (2023, 11, 14, 22, 13, 20)  # EPOCH in UTC
        assert (
            archive_file.read(exe)
            == plan.entries[[e.arcname for e in plan.entries].index(exe.filename)].source.read_bytes()
        )


def test_zip_clamps_times_before_1980(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "zip", target=WINDOWS)
    written = archive.write_archive(plan, tmp_path / plan.file_name, epoch=0)
    with zipfile.ZipFile(written.path) as archive_file:
        assert {i.date_time for i in archive_file.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "tar.gz")
    plan.entries[-1].source.unlink()  # vanishes between planning and writing
    destination = tmp_path / "out" / plan.file_name
    with pytest.raises(BuildError, match="cannot write archive") as caught:
        archive.write_archive(plan, destination, epoch=EPOCH)
    assert str(plan.entries[-1].source) in str(caught.value)  # names the file that vanished
    assert list((tmp_path / "out").iterdir()) == []
