"""Semver bumps, bump part from commits, tag ordering and previous-release selection (pure)."""

from __future__ import annotations

import re

import pytest
import semver

from tooling.errors import VersionError
from tooling.versioning.commits import parse_commit
from tooling.versioning.versions import (
    is_major_bump,
    latest_stable,
    next_version,
    parse_version,
    part_from_commits,
    previous_release,
    release_tags,
)


def v(text: str) -> semver.Version:
    return semver.Version.parse(text)


@pytest.mark.parametrize(
    ("current", "part", "pre", "expected"),
    [
        ("1.3.2", "major", None, "2.0.0"),
        ("1.3.2", "minor", None, "1.4.0"),
        ("1.3.2", "patch", None, "1.3.3"),
        ("0.1.0", "patch", None, "0.1.1"),
        ("1.3.2", "minor", "beta", "1.4.0-beta.1"),
        ("1.4.0-beta.1", None, "beta", "1.4.0-beta.2"),
        ("1.4.0-beta.2", None, "rc", "1.4.0-rc.1"),
        ("1.4.0-rc.1", "minor", None, "1.4.0"),
        ("1.4.0-rc.1", "patch", None, "1.4.0"),
        ("1.4.0-rc.1", "major", None, "2.0.0"),
        ("2.0.0-alpha.3", "major", None, "2.0.0"),
        ("1.4.1-beta.1", "minor", None, "1.5.0"),
        ("1.4.0-beta.2", "minor", "beta", "1.4.0-beta.3"),
        ("1.4.0-beta.2", "major", "alpha", "2.0.0-alpha.1"),
    ],
)
def test_next_version(current: str, part: str | None, pre: str | None, expected: str) -> None:
    assert str(next_version(v(current), part, pre)) == expected  # type: ignore[arg-type]


def test_prerelease_sequence_ends_in_the_stable_version() -> None:
    version = next_version(v("1.3.0"), "minor", "beta")
    seen = [str(version)]
    version = next_version(version, None, "beta")
    seen.append(str(version))
    version = next_version(version, "minor")
    seen.append(str(version))
    assert seen == ["1.4.0-beta.1", "1.4.0-beta.2", "1.4.0"]


def test_prerelease_cannot_go_backwards() -> None:
    with pytest.raises(VersionError, match="back to a beta"):
        next_version(v("1.4.0-rc.1"), None, "beta")


def test_prerelease_of_stable_needs_a_part() -> None:
    with pytest.raises(VersionError, match="needs a part"):
        next_version(v("1.4.0"), None, "rc")


def test_nothing_to_bump_and_bad_inputs() -> None:
    with pytest.raises(VersionError, match="nothing to bump"):
        next_version(v("1.4.0"), None)
    with pytest.raises(VersionError, match="unknown prerelease"):
        next_version(v("1.4.0"), "minor", "gamma")
    with pytest.raises(VersionError, match=re.escape("not alpha.N")):
        next_version(v("1.4.0-dev"), None, "beta")
    with pytest.raises(VersionError, match="not a semantic version"):
        parse_version("1.4")
    assert parse_version("v1.2.3", prefix="v") == v("1.2.3")


def commits(*messages: str) -> list:  # type: ignore[type-arg]
    return [parse_commit(m) for m in messages]


@pytest.mark.parametrize(
    ("messages", "current", "expected"),
    [
        (["docs: typo", "chore: deps"], "1.2.0", None),
        (["fix: crash", "docs: x"], "1.2.0", "patch"),
        (["perf: faster"], "1.2.0", "patch"),
        (["fix: a", "feat(cli): b"], "1.2.0", "minor"),
        (["feat!: drop --upper"], "1.2.0", "major"),
        (["fix: a\n\nBREAKING CHANGE: output format changed"], "1.2.0", "major"),
        (["feat!: drop --upper"], "0.4.1", "minor"),
        (["random words", "Merge branch x"], "1.2.0", None),
    ],
)
def test_part_from_commits(messages: list[str], current: str, expected: str | None) -> None:
    assert part_from_commits(commits(*messages), v(current)) == expected


def test_tags_are_ordered_by_semver_not_by_string() -> None:
    names = ["v1.10.0", "v1.9.0", "v1.10.0-rc.1", "v1.10.0-beta.2", "v1.10.0-beta.10", "latest", "v1.2", "x1.0.0"]
    ordered = [tag.name for tag in release_tags(names)]
    assert ordered == ["v1.9.0", "v1.10.0-beta.2", "v1.10.0-beta.10", "v1.10.0-rc.1", "v1.10.0"]


def test_stable_release_compares_with_previous_stable() -> None:
    tags = release_tags(["v1.3.0", "v1.3.1", "v1.4.0-beta.1", "v1.4.0-rc.1"])
    previous = previous_release(tags, v("1.4.0"))
    assert previous is not None and previous.name == "v1.3.1"


def test_prerelease_compares_with_the_tag_just_before() -> None:
    tags = release_tags(["v1.3.0", "v1.4.0-beta.1", "v1.4.0-beta.2", "v1.5.0"])
    previous = previous_release(tags, v("1.4.0-beta.3"))
    assert previous is not None and previous.name == "v1.4.0-beta.2"
    assert previous_release(tags, v("1.0.0")) is None
    stable = latest_stable(tags)
    assert stable is not None and stable.name == "v1.5.0"


def test_major_bump_rule() -> None:
    assert is_major_bump(v("1.3.0"), v("2.0.0"))
    assert not is_major_bump(v("1.3.0"), v("1.4.0"))
    assert is_major_bump(v("0.3.0"), v("0.4.0"))
    assert not is_major_bump(v("0.3.0"), v("0.3.1"))
