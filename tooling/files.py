"""Atomic file writes, stale temporaries, and private folders for secret material.

Readers see the old file or the new one, never half of one: the temporary
file is `<name>.tmp` beside its target, renamed over it when complete. A
crash (or SIGKILL) can still leave one behind, where the next run's
`sweep_temporaries` removes it.

Secret material (a signing key's text from the environment) is written only
into `private_folder()`: a fresh folder only this user can enter (0700), its
files 0600, removed with everything in it however the block ends, a
SIGTERM included (tooling/entry.py turns it into an exception that unwinds
through here).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tooling import ui
from tooling.errors import BuildError
from tooling.proc import Effect, Runner

TMP_SUFFIX = ".tmp"
PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def temporary_for(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


def is_temporary_name(name: str) -> bool:
    """Is `name` what temporary_for makes: `<a name>.tmp` (pure)?"""
    return name.endswith(TMP_SUFFIX) and len(name) > len(TMP_SUFFIX)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`: renamed over `path` when the block succeeds, removed when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_for(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8 with LF line ends) to `path` atomically."""
    with atomic_output(path) as temporary:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8", newline="\n")
        else:
            temporary.write_bytes(data)


# --- stale temporaries ------------------------------------------------------------------


def stale_temporaries(folder: Path) -> list[Path]:
    """The regular files named like our temporaries under `folder` (read-only, sorted).

    Linked folders are not entered and links are not listed: the tool makes
    neither, so whatever they point at is not ours to delete.
    """
    found: list[Path] = []
    if not folder.is_dir():
        return found
    for parent, _folders, names in os.walk(folder):  # os.walk does not descend into linked folders
        for name in names:
            path = Path(parent, name)
            if is_temporary_name(name) and stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
    return sorted(found)


def sweep_temporaries(folder: Path, runner: Runner | None = None) -> list[Path]:
    """Remove the `*.tmp` files a crashed or killed run left under `folder`; the paths removed.

    Call it only while holding the folder's lock: a concurrent run's
    temporary is in use, not stale. In a dry run nothing is removed and each
    file is shown as `would remove ...`.
    """
    runner = runner or Runner()
    removed: list[Path] = []
    for path in stale_temporaries(folder):
        if not runner.allows(Effect.LOCAL, f"remove stale temporary file {path}"):
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise BuildError(
                f"cannot remove the stale temporary file {path}: {error.strerror or error}",
                hint=f"check the permissions of {folder}, or delete the file by hand",
            ) from error
        removed.append(path)
    return removed


# --- private folders for secret material ------------------------------------------------


@contextmanager
def private_folder(prefix: str) -> Iterator[Path]:
    """A new folder in the temp dir that only this user can enter, removed with its content when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))  # mkdtemp creates it 0700, whatever the umask
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            ui.warn(f"could not remove {folder}, which holds secret material: delete it by hand")


def write_private(path: Path, text: str) -> Path:
    """Create `path` (it must not exist yet; never through a link) readable by this user only, holding `text`."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
