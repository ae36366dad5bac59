"""The list of package channels, in the order they are made, and which of them a release makes.

Each channel is the module tooling.packagers.<name>, exporting CHANNEL
(base.Channel). Modules load on first use, so commands that make no package
never import them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tooling.config_schema import CHANNEL_NAMES
from tooling.errors import ConfigError
from tooling.versioning.versions import parse_version

if TYPE_CHECKING:
    from tooling.packagers.base import Channel

CHANNELS = CHANNEL_NAMES


def load(name: str) -> Channel:
    """The channel called `name`."""
    if name not in CHANNELS:
        raise ConfigError(f"unknown package channel {name!r}", hint="channels: " + ", ".join(CHANNELS))
    channel: Channel = importlib.import_module(f"tooling.packagers.{name}").CHANNEL
    return channel


def is_prerelease(version: str) -> bool:
    """Does `version` (semver) carry a prerelease part, as in 1.2.0-beta.1?"""
    return bool(parse_version(version).prerelease)


def prerelease_track(version: str) -> str:
    """The first prerelease identifier of `version`: beta for 1.3.0-beta.1, "" for a stable version (pure).

    Channels that keep prereleases under a separate name (homebrew, scoop, winget, aur) name it after this.
    """
    return (parse_version(version).prerelease or "").split(".")[0]


def planned_channels(packages: Mapping[str, Any], version: str) -> tuple[str, ...]:
    """The channels a release of `version` makes, in registry order (pure).

    packages: the checked [tool.release.packages] table. A prerelease skips
    the channels whose `prerelease` option says "skip".
    """
    enabled = set(packages.get("channels", ()))
    pre = is_prerelease(version)
    return tuple(
        name
        for name in CHANNELS
        if name in enabled and not (pre and packages.get(name, {}).get("prerelease") == "skip")
    )
