"""Shared test helpers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT.parent / "shared" / "schemas"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str, why: str = "") -> str:
    """Path of `name`; under CI=true a missing tool fails the test, elsewhere it skips."""
    path = shutil.which(name) or (name if Path(name).is_file() else None)
    if path:
        return path
    message = f"{name} is not installed" + (f" ({why})" if why else "")
    if in_ci():
        pytest.fail(message + "; CI must install it (.ci/run)")
    pytest.skip(message)


def require_schemas() -> Path:
    """../shared/schemas; may only be missing outside CI."""
    if SCHEMAS.is_dir():
        return SCHEMAS
    if in_ci():
        pytest.fail(f"{SCHEMAS} is missing; CI runs with shared/ beside the clone")
    pytest.skip(f"{SCHEMAS} is absent on this machine")
