"""Files the tool reads at run time, shipped inside the package and found with importlib.resources.

targets.toml (the target table), cliff.toml (the default git-cliff
configuration), templates/ (release notes and migration guides), the wine
test shim's source, and schemas/ (JSON schemas of the files the tool writes).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(name: str) -> Path:
    """A file or folder of this package as a real path (wheels install unpacked)."""
    return Path(str(resources.files(__name__).joinpath(name)))


def read_text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def read_bytes(name: str) -> bytes:
    return resources.files(__name__).joinpath(name).read_bytes()
