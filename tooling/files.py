"""Atomic file writes: readers see the old file or the new one, never half of one.

The temporary file is `<name>.tmp` beside its target, so a crash leaves it
where the next run (and `clean`) can see it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temporary_for(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


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
