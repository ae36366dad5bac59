"""zig from the ziglang wheel installed in this Python environment, reached through a stable path.

cargo-zigbuild writes the zig path into the linker wrappers cargo sees, so a
path that differs per Python environment (one nox venv, another, the tests'
venv) changes cargo's fingerprint and rebuilds everything. A link under the
cache folder, named for the zig version, gives every environment the same
path; zig finds its own lib/ from the link's target.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from tooling.cache import cache_dir
from tooling.errors import ToolchainError


def wheel_zig() -> Path:
    """The zig executable shipped inside the `ziglang` wheel."""
    try:
        import ziglang
    except ImportError as error:
        raise ToolchainError(
            "the ziglang package is not installed in this Python environment",
            hint="install the tool with its pinned dependencies (pip install -e . or release-tooling), "
            "which bring ziglang",
        ) from error
    package_dir = Path(ziglang.__file__).parent
    for name in ("zig", "zig.exe"):
        if (package_dir / name).is_file():
            return package_dir / name
    raise ToolchainError(f"the ziglang package at {package_dir} has no zig executable")


def stable_link(cache: Path, version: str, real: Path) -> Path:
    """cache/zig/<version>/zig pointing at `real` (a link left by a removed environment is renewed)."""
    link = cache / "zig" / version / real.name
    if link.is_symlink() and link.exists():
        return link  # another environment's zig of the same version serves as well
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(real)
    os.replace(temporary, link)  # atomic: a concurrent build sees the old link or the new one
    return link


def zig_path() -> Path:
    """zig for cargo-zigbuild: the wheel's, through the stable link (the wheel's own path where links fail)."""
    real = wheel_zig()
    try:
        return stable_link(cache_dir(), metadata.version("ziglang"), real)
    except (OSError, metadata.PackageNotFoundError):
        return real
