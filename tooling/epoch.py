"""The release timestamp: SOURCE_DATE_EPOCH, else the time of the commit being released.

Archives, the SBOM and new changelog sections all take their dates from here,
so two builds of one commit give the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tooling import proc
from tooling.errors import ConfigError

EPOCH_ENV = "SOURCE_DATE_EPOCH"
# 9999-12-31T23:59:59Z: dates in notes and changelogs are printed with four-digit years.
LATEST_EPOCH = 253_402_300_799


def epoch_from_env(environ: Mapping[str, str] = os.environ) -> int | None:
    """SOURCE_DATE_EPOCH when set; a value that is not whole seconds is a ConfigError."""
    raw = environ.get(EPOCH_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ConfigError(
            f"{EPOCH_ENV}={raw!r} is not a number of seconds since 1970",
            hint="unset it, or set it to e.g. $(git log -1 --format=%ct); see reproducible-builds.org",
        )
    value = int(raw)
    if value > LATEST_EPOCH:
        raise ConfigError(
            f"{EPOCH_ENV}={raw} is after the year 9999",
            hint="set it to a Unix time in seconds (not milliseconds), e.g. $(git log -1 --format=%ct)",
        )
    return value


def source_date_epoch(environ: Mapping[str, str], commit_time: str | None) -> int:
    """SOURCE_DATE_EPOCH if set, else `commit_time` (`git log -1 --format=%ct`) (pure)."""
    from_env = epoch_from_env(environ)
    if from_env is not None:
        return from_env
    if commit_time and commit_time.strip().isdigit():
        return int(commit_time.strip())
    raise ConfigError(
        f"cannot tell the release time: {EPOCH_ENV} is unset and this is not a git checkout with commits",
        hint=f"set {EPOCH_ENV} to a Unix time, e.g. {EPOCH_ENV}=$(date +%s)",
    )


def release_epoch(root: Path, environ: Mapping[str, str] = os.environ) -> int:
    """The release timestamp for the crate checked out at `root` (works outside git with SOURCE_DATE_EPOCH).

    `root` is the crate's folder (ReleaseConfig.crate_dir), not the config's:
    a RELEASE_CONFIG kept outside the crate's repository has no history.
    """
    commit_time = None
    if epoch_from_env(environ) is None:
        result = proc.read(["git", "-C", str(root), "log", "-1", "--format=%ct"], check=False)
        commit_time = result.stdout if result.ok else None
    return source_date_epoch(environ, commit_time)
