"""Atomic writes, the sweep of stale `*.tmp` files, and private folders for secret material."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from tooling import files
from tooling.entry import Terminated
from tooling.errors import BuildError
from tooling.proc import Runner


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- atomic writes ------------------------------------------------------------------------


def test_an_atomic_write_leaves_only_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out" / "SHA256SUMS"
    files.write_atomic(target, "abc  x\n")
    assert target.read_bytes() == b"abc  x\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["SHA256SUMS"]


@pytest.mark.parametrize("stop", [OSError("disk full"), KeyboardInterrupt(), Terminated()])
def test_a_failed_atomic_write_keeps_the_old_file_and_no_temporary(tmp_path: Path, stop: BaseException) -> None:
    target = tmp_path / "a.tar.gz"
    target.write_bytes(b"good")
    with pytest.raises(type(stop)), files.atomic_output(target) as temporary:
        temporary.write_bytes(b"half")
        raise stop
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["a.tar.gz"]


# --- stale temporaries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        ("crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz.tmp", True),
        ("manifest.json.tmp", True),
        (".release-dist.tmp", True),
        (".tmp", False),
        ("notes.tmpl", False),
        ("a.tmp.gz", False),
        ("A.TMP", False),
    ],
)
def test_what_counts_as_one_of_our_temporaries(name: str, ours: bool) -> None:
    assert files.is_temporary_name(name) is ours
    assert files.is_temporary_name(files.temporary_for(Path("dist") / name).name)


@pytest.fixture
def littered(tmp_path: Path) -> Path:
    """A dist/ with stale temporaries, things that only look like them, and a guard folder beside it."""
    dist = tmp_path / "dist"
    (dist / "x86_64-unknown-linux-gnu").mkdir(parents=True)
    (dist / "crcsum.tar.gz.tmp").write_bytes(b"half an archive")
    (dist / "x86_64-unknown-linux-gnu" / "manifest.json.tmp").write_text("{")
    (dist / "crcsum.tar.gz").write_bytes(b"whole")
    (dist / "notes.tmpl").write_text("keep")
    (dist / ".tmp").write_text("not named like ours")
    (dist / "folder.tmp").mkdir()
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "precious.tmp").write_text("outside dist")
    (dist / "link.tmp").symlink_to(guard / "precious.tmp")
    (dist / "linked").symlink_to(guard, target_is_directory=True)
    return dist


def test_only_our_temporaries_inside_the_folder_are_swept(littered: Path) -> None:
    removed = files.sweep_temporaries(littered)
    assert [p.relative_to(littered).as_posix() for p in removed] == [
        "crcsum.tar.gz.tmp",
        "x86_64-unknown-linux-gnu/manifest.json.tmp",
    ]
    assert not (littered / "crcsum.tar.gz.tmp").exists()
    for kept in ("crcsum.tar.gz", "notes.tmpl", ".tmp", "folder.tmp", "link.tmp"):
        assert (littered / kept).exists() or (littered / kept).is_symlink(), kept
    assert (littered.parent / "guard" / "precious.tmp").read_text() == "outside dist"
    assert files.sweep_temporaries(littered) == []  # a second run finds nothing


def test_a_dry_run_sweep_only_says_what_it_would_remove(littered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert files.sweep_temporaries(littered, Runner(dry_run=True)) == []
    assert (littered / "crcsum.tar.gz.tmp").exists()
    assert f"would remove stale temporary file {littered / 'crcsum.tar.gz.tmp'} (dry run)" in capsys.readouterr().err


def test_sweeping_a_folder_that_does_not_exist_removes_nothing(tmp_path: Path) -> None:
    assert files.sweep_temporaries(tmp_path / "no-dist") == []


def test_a_temporary_that_cannot_be_removed_is_a_message(littered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(
        BuildError, match=r"cannot remove the stale temporary file .*crcsum\.tar\.gz\.tmp: Permission denied"
    ):
        files.sweep_temporaries(littered)


# --- private folders ------------------------------------------------------------------------


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp dir root private folders are made in, redirected to an empty folder we can inspect."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_a_private_folder_is_0700_its_files_0600_and_it_is_removed(temp_root: Path) -> None:
    old_umask = os.umask(0)  # the most permissive umask must not widen either mode
    try:
        with files.private_folder("release-test-") as folder:
            secret = files.write_private(folder / "key", "secret text\n")
            assert folder.parent == temp_root and folder.name.startswith("release-test-")
            assert mode(folder) == 0o700
            assert mode(secret) == 0o600
            assert secret.read_text() == "secret text\n"
    finally:
        os.umask(old_umask)
    assert list(temp_root.iterdir()) == []


@pytest.mark.parametrize("stop", [Terminated(), KeyboardInterrupt(), RuntimeError("bug")])
def test_a_private_folder_is_removed_however_the_block_ends(temp_root: Path, stop: BaseException) -> None:
    with pytest.raises(type(stop)), files.private_folder("release-test-") as folder:
        files.write_private(folder / "key", "secret text\n")
        raise stop
    assert list(temp_root.iterdir()) == []


def test_write_private_never_follows_or_replaces(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.write_text("x")
    with pytest.raises(FileExistsError):
        files.write_private(existing, "secret")
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        files.write_private(tmp_path / "link", "secret")
    assert not (tmp_path / "elsewhere").exists()
