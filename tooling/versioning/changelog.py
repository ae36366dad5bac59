"""CHANGELOG.md sections from git history, through git-cliff and the checked-in cliff.toml.

git-cliff parses and groups the commits of one version (`release_data`); the
same data feeds the release notes. `upsert_section` (pure) splices a rendered
section into CHANGELOG.md, replacing the version's old section if there is
one, so regenerating a version is idempotent.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver

from tooling import proc
from tooling.epoch import epoch_from_env
from tooling.errors import CommandError, GitStateError
from tooling.files import write_atomic
from tooling.git import GitRepo
from tooling.versioning.commits import GROUP_ORDER

HEADER = """# Changelog

All notable changes to this project are documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
"""
_SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\]", re.MULTILINE)
_GROUP_PREFIX = re.compile(r"<!--.*?-->")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def git_cliff() -> str:
    """The git-cliff executable: beside this Python (its wheel installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "git-cliff"
    if beside.is_file():
        return str(beside)
    return shutil.which("git-cliff") or "git-cliff"


@dataclass(frozen=True)
class Change:
    """One commit as git-cliff grouped it."""

    group: str
    scope: str
    description: str
    sha: str
    breaking: bool
    breaking_description: str
    author: str
    email: str
    conventional: bool


@dataclass(frozen=True)
class ReleaseData:
    """The commits of one version, and the git-cliff context they came from."""

    version: str
    timestamp: int
    changes: tuple[Change, ...]
    context: list[dict[str, Any]]

    def groups(self) -> list[tuple[str, list[Change]]]:
        """(group, changes) in changelog order, empty groups left out."""
        names = list(GROUP_ORDER) + sorted({c.group for c in self.changes} - set(GROUP_ORDER))
        return [
            (name, [c for c in self.changes if c.group == name])
            for name in names
            if any(c.group == name for c in self.changes)
        ]

    @property
    def breaking(self) -> list[Change]:
        return [change for change in self.changes if change.breaking]

    @property
    def contributors(self) -> list[str]:
        """Authors, once each (by email), sorted by name."""
        seen: dict[str, str] = {}
        for change in self.changes:
            seen.setdefault(change.email.lower() or change.author, change.author)
        return sorted(set(seen.values()), key=str.lower)


def _change(commit: dict[str, Any]) -> Change:
    author = commit.get("author") or {}
    group = _GROUP_PREFIX.sub("", str(commit.get("group") or "Other")).strip()
    message = str(commit.get("message") or "")
    if group == "Other":
        # git-cliff strips any "word: " prefix as a type; under Other, show the subject as written.
        message = str(commit.get("raw_message") or message)
    return Change(
        group=group,
        scope=str(commit.get("scope") or ""),
        description=(message.splitlines() or [""])[0].strip(),
        sha=str(commit.get("id") or ""),
        breaking=bool(commit.get("breaking")),
        breaking_description=str(commit.get("breaking_description") or ""),
        author=str(author.get("name") or ""),
        email=str(author.get("email") or ""),
        conventional=bool(commit.get("conventional")),
    )


def strip_ansi(text: str) -> str:
    """`text` without terminal colour codes (git-cliff colours its log even when not on a terminal)."""
    return _ANSI.sub("", text)


def cliff_range(since_sha: str | None, until_sha: str) -> str:
    """git-cliff's RANGE argument (pure).

    Commit ids, never names: git-cliff reads a lone name such as "v1.0.0" or
    "HEAD" as an object id and fails, while a lone id means "this commit and
    everything before it", which is what the first release needs.
    """
    return f"{since_sha}..{until_sha}" if since_sha else until_sha


def _commit(repo: GitRepo, ref: str) -> str:
    sha = repo.commit_sha(ref)
    if sha is None:
        raise GitStateError(f"{ref} names no commit in {repo.root}", hint="check the tag or ref; `git tag` lists them")
    return sha


def _run_cliff(argv: list[str], what: str, stdin_text: str | None = None) -> str:
    """git-cliff's stdout; a failure is a CommandError with its own words, without colour codes."""
    # RUST_LOG=warn: git-cliff's INFO lines are noise in our output and in its error messages.
    result = proc.read(argv, env={"RUST_LOG": "warn"}, check=False, stdin_text=stdin_text)
    if not result.ok:
        detail = strip_ansi((result.stderr or result.stdout).strip())[-2000:]
        raise CommandError(
            f"git-cliff could not {what} (exit code {result.returncode})" + (f":\n{detail}" if detail else ""),
            hint="check the cliff.toml in use (tool.release.versioning.cliff-config) and the tags named above",
        )
    return result.stdout


def release_data(
    repo: GitRepo,
    cliff_config: Path,
    *,
    tag: str,
    since: str | None,
    until: str = "HEAD",
    timestamp: int | None = None,
) -> ReleaseData:
    """git-cliff's view of the commits in since..until, as the release `tag`.

    Tags inside the range are ignored, so a stable release after prereleases
    collects every commit since the previous stable tag. `timestamp` defaults
    to the time of `tag` if it exists, else SOURCE_DATE_EPOCH, else now.
    """
    commit_range = cliff_range(_commit(repo, since) if since else None, _commit(repo, until))
    argv = [
        git_cliff(),
        "--config",
        str(cliff_config),
        "--repository",
        str(repo.root),
        "--context",
        "--tag",
        tag,
        "--ignore-tags",
        ".*",
        "--",
        commit_range,
    ]
    output = _run_cliff(argv, f"read the commits of {tag}")
    try:
        context: list[dict[str, Any]] = json.loads(output or "[]")
    except json.JSONDecodeError as error:
        raise CommandError(f"git-cliff printed no JSON context: {error}") from error
    if not context:
        context = [{"version": tag, "commits": [], "timestamp": 0}]
    release = context[0]
    if timestamp is None:
        known = repo.has_tag(tag)
        timestamp = repo.commit_timestamp(tag) if known else (epoch_from_env() or int(time.time()))
    release["version"] = tag
    release["timestamp"] = timestamp
    return ReleaseData(tag, timestamp, tuple(_change(c) for c in release.get("commits") or []), [release])


def render_section(data: ReleaseData, cliff_config: Path) -> str:
    """The CHANGELOG.md section of one version, rendered by git-cliff from `data`."""
    output = _run_cliff(
        [git_cliff(), "--config", str(cliff_config), "--from-context", "-"],
        f"render the changelog section of {data.version}",
        stdin_text=json.dumps(data.context),
    )
    return output.strip() + "\n"


def _version_key(text: str) -> semver.Version | None:
    try:
        return semver.Version.parse(text.strip().removeprefix("v"))
    except ValueError:
        return None


def has_section(changelog: str, version: str) -> bool:
    """Does `changelog` hold the section of `version` (its heading `## [1.4.3]` or `## [v1.4.3]`)? (pure)"""
    return any(match["version"].strip().removeprefix("v") == version for match in _SECTION.finditer(changelog))


def upsert_section(changelog: str, version: str, section: str) -> str:
    """`changelog` with the section of `version` replaced by `section`, or inserted in semver order."""
    if not changelog.strip():
        changelog = HEADER
    section = section.strip("\n") + "\n"
    matches = list(_SECTION.finditer(changelog))
    for index, match in enumerate(matches):
        if match["version"].strip().removeprefix("v") == version:
            end = matches[index + 1].start() if index + 1 < len(matches) else _end_of_sections(changelog)
            rest = changelog[end:]
            return changelog[: match.start()] + section + ("\n" + rest if rest else "")
    new = _version_key(version)
    for match in matches:
        other = _version_key(match["version"])
        if other is not None and new is not None and other < new:
            return changelog[: match.start()] + section + "\n" + changelog[match.start() :]
    end = _end_of_sections(changelog)
    before = changelog[:end].rstrip("\n") + "\n\n"
    after = changelog[end:]
    return before + section + ("\n" + after if after.strip() else "")


def _end_of_sections(text: str) -> int:
    """Where link reference definitions (`[1.0.0]: https://...`) start at the bottom, else the end."""
    match = re.search(r"(?:^\[[^\]]+\]: \S+\n?)+\Z", text, re.MULTILINE)
    return match.start() if match else len(text)


def write_changelog(path: Path, version: str, section: str) -> bool:
    """Splice `section` into the file at `path`; True when the file changed."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = upsert_section(old, version, section)
    if new == old:
        return False
    write_atomic(path, new)
    return True
