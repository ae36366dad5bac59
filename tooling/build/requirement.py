"""Which rustc a crate accepts: its `rust-version` and its rust-toolchain file.

`RustRequirement.problem` is pure: given a rustc version it says why that
rustc does not fit, or None. `read_toolchain_file` is the one reader of
rust-toolchain(.toml); it looks where rustup looks, from the crate's folder
up to its workspace root, so the toolchain a developer gets with rustup is
the one the release is built with.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tooling.errors import ConfigError

# rustup prefers the .toml spelling when both exist in one folder.
TOOLCHAIN_FILES = ("rust-toolchain.toml", "rust-toolchain")

STABLE = "stable"
BETA = "beta"
NIGHTLY = "nightly"

# "1.96.0", "1.97.0-nightly", "1.96.0-beta.3" (the words of `rustc -V`).
_RUSTC_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([A-Za-z]+)\S*)?$")
# A rust-version: "1.96" or "1.96.0".
_RUST_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
# A channel as rustup writes it: "stable", "nightly-2026-05-19", "1.96", "1.96.0", each optionally with a host triple.
_CHANNEL = re.compile(r"^(stable|beta|nightly|\d+\.\d+(?:\.\d+)?)(?:-(\d{4}-\d{2}-\d{2}))?(?:-[a-z0-9_]+-.+)?$")


def rustc_kind(version: str) -> str:
    """stable, beta or nightly: the release channel a `rustc -V` version belongs to (pure)."""
    match = _RUSTC_VERSION.match(version)
    tag = (match.group(4) or "").lower() if match else ""
    return {"beta": BETA, "nightly": NIGHTLY, "dev": NIGHTLY}.get(tag, STABLE)


def version_numbers(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a rustc version or rust-version; None when it is neither (pure)."""
    match = _RUSTC_VERSION.match(version) or _RUST_VERSION.match(version)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def parse_channel(text: str, source: str) -> str:
    """The channel of a rust-toolchain file, without its host suffix; ConfigError when rustup would not know it."""
    channel = text.strip()
    match = _CHANNEL.match(channel)
    if not match:
        raise ConfigError(
            f"{source}: {channel!r} is not a toolchain channel this tool understands",
            hint='write channel = "stable", "beta", "nightly", "nightly-YYYY-MM-DD", "1.96" or "1.96.0"',
        )
    return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")


@dataclass(frozen=True)
class RustRequirement:
    """What the crate asks of rustc; the empty requirement accepts every rustc."""

    rust_version: str | None = None  # the package's rust-version (a minimum)
    channel: str | None = None  # rust-toolchain's channel, host suffix removed
    channel_file: str | None = None  # where the channel was read, for messages

    @property
    def any(self) -> bool:
        """Does the crate ask anything at all?"""
        return bool(self.rust_version or self.channel)

    @property
    def wants_prerelease(self) -> bool:
        """Does rust-toolchain ask for a beta or nightly compiler?"""
        return bool(self.channel) and rustc_kind_of_channel(self.channel or "") != STABLE

    def describe(self) -> str:
        """The requirement in words, naming where each part comes from."""
        parts = []
        if self.rust_version:
            parts.append(f"rust-version {self.rust_version} (Cargo.toml)")
        if self.channel:
            parts.append(f"channel {self.channel} ({self.channel_file or 'rust-toolchain'})")
        return " and ".join(parts) or "any rustc"

    def problem(self, version: str) -> str | None:
        """Why rustc `version` does not satisfy this requirement, or None when it does (pure)."""
        numbers = version_numbers(version)
        if numbers is None:
            return f"rustc {version} has a version this tool cannot read" if self.any else None
        if self.rust_version:
            minimum = version_numbers(self.rust_version)
            if minimum and numbers < minimum:
                return f"rustc {version} is older than rust-version {self.rust_version}"
        if self.channel:
            return _channel_problem(self.channel, version, numbers)
        return None

    def install_command(self) -> str:
        """The rustup command that installs a toolchain meeting this requirement."""
        return f"rustup toolchain install {self.channel or self.rust_version or STABLE}"


ANY_RUSTC = RustRequirement()  # a crate that states neither rust-version nor a toolchain file


def rustc_kind_of_channel(channel: str) -> str:
    """stable, beta or nightly for a channel name (pure): numbered channels are stable releases."""
    for kind in (BETA, NIGHTLY):
        if channel == kind or channel.startswith(kind + "-"):
            return kind
    return STABLE


def _channel_problem(channel: str, version: str, numbers: tuple[int, int, int]) -> str | None:
    kind = rustc_kind_of_channel(channel)
    if rustc_kind(version) != kind:
        return f"rustc {version} is not a {kind} release, as channel {channel} asks"
    pinned = _RUST_VERSION.match(channel)
    if pinned is None:
        return None  # stable / beta / nightly[-date]: any release of that channel (the date is not checked)
    wanted = (int(pinned.group(1)), int(pinned.group(2)))
    if numbers[:2] != wanted or (pinned.group(3) is not None and numbers[2] != int(pinned.group(3))):
        return f"rustc {version} is not {channel}, as channel {channel} asks"
    return None


def toolchain_file_channel(path: Path) -> str | None:
    """The channel a rust-toolchain(.toml) file names (None when it names only a path or components)."""
    text = path.read_text(encoding="utf-8")
    if path.name == "rust-toolchain" and "[toolchain]" not in text:
        # The legacy file holds just the channel on one line.
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        return parse_channel(lines[0], str(path)) if lines else None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}", hint="fix the file the way rustup reads it") from error
    table = data.get("toolchain")
    channel = table.get("channel") if isinstance(table, dict) else None
    if channel is None:
        return None
    if not isinstance(channel, str):
        raise ConfigError(f"{path}: toolchain.channel must be a string", hint='e.g. channel = "1.96"')
    return parse_channel(channel, str(path))


def find_toolchain_file(crate_dir: Path, workspace_root: Path | None) -> Path | None:
    """The rust-toolchain file rustup would use for the crate: the nearest one from the crate up to its workspace."""
    top = (workspace_root or crate_dir).resolve()
    folder = crate_dir.resolve()
    folders = [folder]
    while folder != top and folder.parent != folder and folder.is_relative_to(top):
        folder = folder.parent
        folders.append(folder)
    for candidate in (directory / name for directory in folders for name in TOOLCHAIN_FILES):
        if candidate.is_file():
            return candidate
    return None


def read_requirement(rust_version: str | None, crate_dir: Path, workspace_root: Path | None) -> RustRequirement:
    """The crate's requirement: `rust_version` from cargo metadata plus its rust-toolchain file, if any."""
    found = find_toolchain_file(crate_dir, workspace_root)
    channel = toolchain_file_channel(found) if found else None
    return RustRequirement(rust_version, channel, str(found) if found and channel else None)
