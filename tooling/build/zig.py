"""zig from the ziglang wheel installed in this Python environment."""

from __future__ import annotations

from pathlib import Path

from tooling.errors import ToolchainError


def zig_path() -> Path:
    """The zig executable shipped inside the `ziglang` wheel."""
    try:
        import ziglang
    except ImportError as error:
        raise ToolchainError(
            "the ziglang package is not installed in this Python environment",
            hint="run the build through nox (`nox -s build-<triple>`), which installs the pinned ziglang",
        ) from error
    package_dir = Path(ziglang.__file__).parent
    for name in ("zig", "zig.exe"):
        if (package_dir / name).is_file():
            return package_dir / name
    raise ToolchainError(f"the ziglang package at {package_dir} has no zig executable")
