"""The fake repository's state: branches, tags, releases and their assets, as a test sets them up."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fake_sha(*parts: str) -> str:
    """A stable 40-hex object name for things the test does not name itself."""
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


@dataclass
class Tag:
    """A git tag: lightweight (message None) or annotated (a tag object with its own sha)."""

    name: str
    commit: str
    message: str | None = None

    @property
    def annotated(self) -> bool:
        return self.message is not None

    @property
    def object_sha(self) -> str:
        """What refs/tags/<name> points at: the tag object if annotated, else the commit."""
        return fake_sha("tag", self.name, self.commit, self.message or "") if self.annotated else self.commit


@dataclass
class Asset:
    """A release asset with the bytes that were uploaded."""

    id: int
    release_id: int
    name: str
    label: str | None
    content_type: str
    data: bytes
    state: str = "uploaded"  # "open": an upload that failed half-way (GitHub's 502), safe to delete
    created_at: str = field(default_factory=now)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


@dataclass
class Release:
    id: int
    tag_name: str
    target_commitish: str
    name: str | None
    body: str | None
    draft: bool
    prerelease: bool
    created_at: str = field(default_factory=now)
    published_at: str | None = None


@dataclass
class RepoState:
    """One repository. Ids come from one counter, so a release id never equals an asset id by chance."""

    owner: str = "acme"
    name: str = "tool"
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=lambda: {"main": fake_sha("branch", "main")})
    tags: dict[str, Tag] = field(default_factory=dict)
    releases: dict[int, Release] = field(default_factory=dict)
    assets: dict[int, Asset] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001), repr=False)

    def is_repo(self, owner: str, name: str) -> bool:
        # GitHub: "The name is not case sensitive" (owner and repo alike).
        return (owner.lower(), name.lower()) == (self.owner.lower(), self.name.lower())

    def add_tag(self, name: str, commit: str | None = None, message: str | None = None) -> Tag:
        """A tag on `commit` (default: the default branch's head); annotated when a message is given."""
        tag = Tag(name, commit or self.branches[self.default_branch], message)
        self.tags[name] = tag
        return tag

    def commit_of(self, commitish: str) -> str | None:
        """The commit a branch name or a full sha names; None if the repository has no such thing."""
        if commitish in self.branches:
            return self.branches[commitish]
        if len(commitish) == 40 and all(c in "0123456789abcdef" for c in commitish):
            return commitish
        return None

    def add_release(
        self,
        tag_name: str,
        *,
        draft: bool = False,
        prerelease: bool = False,
        name: str | None = None,
        body: str | None = "",
        target_commitish: str | None = None,
        assets: Mapping[str, bytes] | None = None,
    ) -> Release:
        """A release as if made earlier; a published one gets its tag if the repository lacks it."""
        release = Release(
            id=next(self._ids),
            tag_name=tag_name,
            target_commitish=target_commitish or self.default_branch,
            name=tag_name if name is None else name,
            body=body,
            draft=draft,
            prerelease=prerelease,
        )
        self.releases[release.id] = release
        if not draft:
            self.publish(release)
        for asset_name, data in (assets or {}).items():
            self.add_asset(release, asset_name, data)
        return release

    def publish(self, release: Release) -> None:
        """Publishing creates the tag from target_commitish when it does not exist yet, as GitHub does."""
        release.draft = False
        release.published_at = now()
        if release.tag_name not in self.tags:
            commit = self.commit_of(release.target_commitish) or self.branches[self.default_branch]
            self.add_tag(release.tag_name, commit)

    def add_asset(
        self,
        release: Release,
        name: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        label: str | None = None,
        state: str = "uploaded",
    ) -> Asset:
        asset = Asset(next(self._ids), release.id, name, label, content_type, data, state)
        self.assets[asset.id] = asset
        return asset

    def assets_of(self, release_id: int) -> list[Asset]:
        return sorted((a for a in self.assets.values() if a.release_id == release_id), key=lambda a: a.id)

    def published_release(self, tag_name: str) -> Release | None:
        return next((r for r in self.releases.values() if r.tag_name == tag_name and not r.draft), None)
