"""The fake repositories' state, as a test sets it up: branches, tags, releases and their assets, git objects
(blobs, trees, commits, named as git names them), forks and pull requests.

A repository and its forks share one GitObjects store, as a fork network does on GitHub: a commit made in
the upstream is there for the fork's refs too.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Git's file modes as the API spells them; a tree is "040000" in the API and "40000" inside a tree object.
FILE_MODE = "100644"
TREE_MODE = "040000"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's name of the empty tree


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fake_sha(*parts: str) -> str:
    """A stable 40-hex object name for things the test does not name itself."""
    return hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()


def git_name(kind: str, body: bytes) -> str:
    """The object name git gives `body` as a `kind` object (blob, tree, commit)."""
    return hashlib.sha1(f"{kind} {len(body)}".encode() + b"\0" + body, usedforsecurity=False).hexdigest()


def object_type(mode: str) -> str:
    return {TREE_MODE: "tree", "160000": "commit"}.get(mode, "blob")


@dataclass(frozen=True)
class Person:
    """An author or committer line: name, e-mail and an ISO date (UTC, "Z")."""

    name: str
    email: str
    date: str

    def line(self) -> str:
        when = datetime.fromisoformat(self.date.replace("Z", "+00:00"))
        return f"{self.name} <{self.email}> {int(when.timestamp())} +0000"


@dataclass(frozen=True)
class Commit:
    tree: str
    parents: tuple[str, ...]
    message: str
    author: Person
    committer: Person


@dataclass
class GitObjects:
    """The git objects of one fork network, each under the name git itself would give it."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    # tree sha -> its entries: name -> (mode, sha)
    trees: dict[str, dict[str, tuple[str, str]]] = field(default_factory=lambda: {EMPTY_TREE: {}})
    commits: dict[str, Commit] = field(default_factory=dict)

    def add_blob(self, data: bytes) -> str:
        sha = git_name("blob", data)
        self.blobs[sha] = data
        return sha

    def add_tree(self, entries: Mapping[str, tuple[str, str]]) -> str:
        # Git sorts a tree's entries by name, a subtree's name as if it ended in "/".
        ordered = sorted(entries.items(), key=lambda item: item[0] + ("/" if item[1][0] == TREE_MODE else ""))
        body = b"".join(
            f"{mode.lstrip('0')} {name}".encode() + b"\0" + bytes.fromhex(sha) for name, (mode, sha) in ordered
        )
        sha = git_name("tree", body)
        self.trees[sha] = dict(entries)
        return sha

    def add_commit(self, commit: Commit) -> str:
        lines = [f"tree {commit.tree}", *(f"parent {parent}" for parent in commit.parents)]
        lines += [f"author {commit.author.line()}", f"committer {commit.committer.line()}", "", commit.message]
        sha = git_name("commit", "\n".join(lines).encode())
        self.commits[sha] = commit
        return sha

    def files(self, tree: str, prefix: str = "") -> dict[str, tuple[str, str]]:
        """Every file below `tree`: path -> (mode, blob sha)."""
        found: dict[str, tuple[str, str]] = {}
        for name, (mode, sha) in self.trees[tree].items():
            if mode == TREE_MODE:
                found |= self.files(sha, f"{prefix}{name}/")
            else:
                found[prefix + name] = (mode, sha)
        return found

    def tree_of_files(self, files: Mapping[str, tuple[str, str]]) -> str:
        """The tree holding exactly `files` (path -> (mode, sha)), its subtrees stored too."""
        here: dict[str, tuple[str, str]] = {}
        below: dict[str, dict[str, tuple[str, str]]] = {}
        for path, entry in files.items():
            head, slash, rest = path.partition("/")
            if slash:
                below.setdefault(head, {})[rest] = entry
            else:
                here[head] = entry
        for name, subtree in below.items():
            here[name] = (TREE_MODE, self.tree_of_files(subtree))
        return self.add_tree(here)

    def entry(self, tree: str, path: str) -> tuple[str, str] | None:
        """(mode, sha) of `path` below `tree` ("" is the tree itself); None when there is nothing there."""
        found: tuple[str, str] | None = (TREE_MODE, tree)
        for name in [part for part in path.split("/") if part]:
            if found is None or found[0] != TREE_MODE:
                return None
            found = self.trees[found[1]].get(name)
        return found

    def is_ancestor(self, older: str, newer: str) -> bool:
        """Is `older` reachable from `newer` (or the same commit)?"""
        seen, todo = set(), [newer]
        while todo:
            sha = todo.pop()
            if sha == older:
                return True
            if sha not in seen and sha in self.commits:
                seen.add(sha)
                todo.extend(self.commits[sha].parents)
        return False


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
class Pull:
    """A pull request into the repository that keeps it, from a branch of a repository of its network."""

    id: int
    number: int
    title: str
    body: str | None
    head_repo: RepoState = field(repr=False)
    head_ref: str
    base_ref: str
    user: str
    state: str = "open"
    draft: bool = False
    maintainer_can_modify: bool = False
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    @property
    def head_label(self) -> str:
        return f"{self.head_repo.owner}:{self.head_ref}"


@dataclass
class RepoState:
    """One repository. Ids come from one counter, so a release id never equals an asset id by chance.

    A branch head that names no commit of `objects` (the default "main") is taken as a root commit
    with an empty tree, so that git operations work on any repository a test sets up.
    """

    owner: str = "acme"
    name: str = "tool"
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=lambda: {"main": fake_sha("branch", "main")})
    tags: dict[str, Tag] = field(default_factory=dict)
    releases: dict[int, Release] = field(default_factory=dict)
    assets: dict[int, Asset] = field(default_factory=dict)
    objects: GitObjects = field(default_factory=GitObjects, repr=False)
    fork_of: RepoState | None = field(default=None, repr=False)  # the parent, for a fork
    push: bool | None = None  # permissions.push in the repository's JSON; None: not said
    pulls: dict[int, Pull] = field(default_factory=dict, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001), repr=False)

    def __post_init__(self) -> None:
        for head in self.branches.values():
            if head not in self.objects.commits:
                robot = Person("fake", "fake@example.invalid", "2020-01-01T00:00:00Z")
                self.objects.commits[head] = Commit(EMPTY_TREE, (), "initial", robot, robot)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def source(self) -> RepoState | None:
        """The root of the fork network, for a fork (GitHub's `source`)."""
        root = self.fork_of
        while root is not None and root.fork_of is not None:
            root = root.fork_of
        return root

    def is_repo(self, owner: str, name: str) -> bool:
        # GitHub: "The name is not case sensitive" (owner and repo alike).
        return (owner.lower(), name.lower()) == (self.owner.lower(), self.name.lower())

    def fork(self, owner: str, name: str | None = None) -> RepoState:
        """A fork owned by `owner`: the branches as they are now, the git objects shared."""
        return RepoState(
            owner=owner,
            name=name or self.name,
            default_branch=self.default_branch,
            branches=dict(self.branches),
            objects=self.objects,
            fork_of=self,
        )

    # --- git content, for tests ---

    def tree_of(self, ref: str | None = None) -> str | None:
        """The tree of a branch (default: the default branch) or of a commit sha; None when there is none."""
        commit = self.commit_of(ref or self.default_branch)
        found = self.objects.commits.get(commit) if commit else None
        return found.tree if found else None

    def files(self, ref: str | None = None) -> dict[str, bytes]:
        """Every file of a branch (default: the default branch) or commit: path -> bytes."""
        tree = self.tree_of(ref)
        assert tree is not None, f"{self.full_name} has no branch or commit {ref}"
        return {path: self.objects.blobs[sha] for path, (_, sha) in self.objects.files(tree).items()}

    def commit_files(self, branch: str, changes: Mapping[str, bytes | None], message: str = "change") -> str:
        """A commit on `branch` that writes (bytes) or deletes (None) files; the branch moves to it."""
        parent = self.branches[branch]
        files = self.objects.files(self.objects.commits[parent].tree)
        for path, data in changes.items():
            if data is None:
                files.pop(path, None)
            else:
                files[path] = (FILE_MODE, self.objects.add_blob(data))
        person = Person("fake", "fake@example.invalid", now())
        tree = self.objects.tree_of_files(files)
        self.branches[branch] = self.objects.add_commit(Commit(tree, (parent,), message, person, person))
        return self.branches[branch]

    def open_pulls(self) -> list[Pull]:
        return [pull for pull in self.pulls.values() if pull.state == "open"]

    def add_pull(self, head_repo: RepoState, head_ref: str, base_ref: str, **fields: Any) -> Pull:
        """A pull request from `head_repo`'s branch `head_ref` into `base_ref`; `fields`: Pull's other members."""
        fields.setdefault("title", f"Changes of {head_ref}")
        fields.setdefault("body", None)
        fields.setdefault("user", head_repo.owner)
        number = len(self.pulls) + 1
        pull = Pull(
            id=next(self._ids), number=number, head_repo=head_repo, head_ref=head_ref, base_ref=base_ref, **fields
        )
        self.pulls[number] = pull
        return pull

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
