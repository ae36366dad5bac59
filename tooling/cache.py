"""Where warm state lives across runs: cargo's target dir, the wine prefix, shims."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CACHE_ENV = "RELEASE_CACHE_DIR"


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """$RELEASE_CACHE_DIR, else <XDG cache>/release-tooling; outside the clone so re-runs start warm."""
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV])
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "release-tooling"
