"""What every channel publisher shares: the job it gets, the outcome it reports, and the registry.

A publisher pushes one channel's files (made by tooling/packagers/ into
dist/packages/<channel>/, or the crate itself for cargo) to where users get
them. Each one follows the GitHub client's rules: a read-only preflight
before any write, idempotent (a second run changes nothing and makes no empty
commit), retries on transient faults, secrets only from the environment and
never printed, and a PublishError or GitHubError naming the channel.

A publisher is `publish(job) -> Outcome`, listed in PUBLISHERS by name
(modules load on first use).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling import proc
from tooling.config import ReleaseConfig
from tooling.config_schema import PUBLISHER_NAMES
from tooling.errors import ConfigError

# State of a channel after a run: what the summary shows and the manifest keeps.
PUBLISHED = "published"  # this run pushed it
UNCHANGED = "unchanged"  # it was there already, identical: nothing written
WOULD_PUBLISH = "would publish"  # dry run


@dataclass(frozen=True)
class ChannelJob:
    """One channel to push: its files, its settings, and how to act."""

    channel: str
    files: Path  # dist/packages/<channel>/ (cargo: the crate's folder)
    config: ReleaseConfig
    settings: Mapping[str, Any]  # the checked [tool.release.publish.<channel>] table
    tag: str
    environ: Mapping[str, str] = field(repr=False)  # holds the secrets: never in a repr or a message
    runner: proc.Runner  # dry_run: read-only checks only, every write shown
    scratch: Path  # a temporary folder outside dist/ (clones, staging), removed afterwards

    def secret(self, key: str) -> str:
        """The secret named by the setting `key` (e.g. "token-env"), or "" when that variable is unset."""
        return self.environ.get(str(self.settings[key]), "")


@dataclass(frozen=True)
class Outcome:
    """What a publisher did: its state, a line for the summary, and where users see it."""

    state: str
    detail: str
    url: str = ""


Publisher = Callable[[ChannelJob], Outcome]

# channel -> "module:function"; the module is imported only when the channel is pushed.
PUBLISHERS: Mapping[str, str] = {
    "homebrew": "tooling.publish.git_channels:publish_homebrew",
    "scoop": "tooling.publish.git_channels:publish_scoop",
    "aur": "tooling.publish.git_channels:publish_aur",
    "winget": "tooling.publish.winget_pr:publish",
    "chocolatey": "tooling.publish.nuget_push:publish",
    "cargo": "tooling.publish.cargo_publish:publish",
}
assert tuple(PUBLISHERS) == PUBLISHER_NAMES


def load(channel: str) -> Publisher:
    """The publisher of `channel`."""
    if channel not in PUBLISHERS:
        raise ConfigError(f"unknown publish channel {channel!r}", hint="channels: " + ", ".join(PUBLISHERS))
    module, _, function = PUBLISHERS[channel].partition(":")
    publisher: Publisher = getattr(importlib.import_module(module), function)
    return publisher
