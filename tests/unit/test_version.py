"""Semver bumps, bump part from commits, tag ordering and previous-release selection (pure)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import semver

from tooling.errors import ConfigError, GitStateError, VersionError
from tooling.versioning.cli_surface import binary_problem, check_cli_binary
from tooling.versioning.commands import format_lint_report
from tooling.versioning.commits import parse_commit
from tooling.versioning.project import default_base, shallow_refusal, shown_path
from tooling.versioning.settings import parse_versioning
from tooling.versioning.versions import (
    VersionRange,
    choose_range,
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


# --- which commits notes and changelog sections cover -----------------------------

TAGS = release_tags(["v1.2.0", "v1.3.0", "v1.4.0-rc.1"])
TAGGED = {"v1.2.0", "v1.3.0", "v1.4.0-rc.1"}


def span(requested: str | None, crate: str = "1.3.0", unreleased: bool = False) -> VersionRange:
    return choose_range(requested, unreleased=unreleased, crate_version=crate, tags=TAGS, tagged=TAGGED, prefix="v")


def test_a_released_version_covers_the_previous_release_up_to_its_tag() -> None:
    chosen = span("1.3.0")
    assert (chosen.tag, chosen.until, chosen.unreleased) == ("v1.3.0", "v1.3.0", False)
    assert chosen.previous is not None and chosen.previous.name == "v1.2.0"
    assert span("v1.3.0").tag == "v1.3.0"  # the tag prefix is accepted too


def test_the_first_release_has_no_previous_tag() -> None:
    chosen = choose_range(None, unreleased=False, crate_version="0.1.0", tags=[], tagged={"v0.1.0"}, prefix="v")
    assert (chosen.previous, chosen.until, chosen.unreleased) == (None, "v0.1.0", False)


def test_a_version_without_a_tag_is_refused_unless_unreleased() -> None:
    with pytest.raises(VersionError, match=r"9\.9\.9 is not released: there is no tag v9\.9\.9") as caught:
        span("9.9.9")
    assert "--unreleased for the commits since v1.4.0-rc.1 up to HEAD under the title 9.9.9" in str(caught.value.hint)
    chosen = span("1.4.0", unreleased=True)
    assert (chosen.until, chosen.unreleased) == ("HEAD", True)
    assert chosen.previous is not None and chosen.previous.name == "v1.3.0"  # a stable release skips the rc


def test_cargo_versions_being_prepared_cover_the_commits_up_to_head() -> None:
    """The release workflow's `invoke notes` (no --version) works before the tag exists."""
    chosen = span(None, crate="1.4.0")
    assert (chosen.tag, chosen.until, chosen.unreleased) == ("v1.4.0", "HEAD", True)
    tagged = span(None, crate="1.3.0")
    assert (tagged.until, tagged.unreleased) == ("v1.3.0", False)


def test_unreleased_for_a_released_version_is_refused() -> None:
    with pytest.raises(VersionError, match=r"1\.3\.0 is released already \(tag v1\.3\.0\)"):
        span("1.3.0", unreleased=True)
    with pytest.raises(VersionError, match="is released already"):
        span(None, crate="1.3.0", unreleased=True)


def test_a_version_being_prepared_must_be_newer_than_every_release() -> None:
    with pytest.raises(VersionError, match=r"--version 1\.2\.5 is not newer than the latest release v1\.4\.0-rc\.1"):
        span("1.2.5", unreleased=True)
    with pytest.raises(VersionError, match=r"Cargo\.toml's version 1\.1\.0 is not newer") as caught:
        span(None, crate="1.1.0")
    assert "invoke bump" in str(caught.value.hint)


def test_bad_version_strings_are_version_errors() -> None:
    with pytest.raises(VersionError, match="not a semantic version"):
        span("one.two")


# --- shallow clones, default paths, binaries to compare --------------------------------


def test_shallow_clones_are_refused_with_the_reason_and_the_fix() -> None:
    assert shallow_refusal(False, "bump", Path("/repo")) is None
    refusal = shallow_refusal(True, "bump", Path("/repo"))
    assert isinstance(refusal, GitStateError)
    assert "/repo is a shallow clone" in refusal.message
    assert "0.1.1 where the whole history says 0.2.0" in refusal.message
    assert "git fetch --unshallow --tags" in str(refusal.hint) and "fetch-depth: 0" in str(refusal.hint)
    for command in ("notes", "changelog", "commit-lint", "cli-diff"):
        other = shallow_refusal(True, command, Path("/repo"))
        assert other is not None and f"`invoke {command}`" in other.message


def test_default_paths_live_in_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    assert default_base(repo, repo) == repo
    assert default_base(repo / "tools", repo) == repo / "tools"  # a config inside the repository: beside it
    assert default_base(tmp_path / "elsewhere", repo) == repo  # a config outside: at the repository root
    assert shown_path(repo / "docs" / "a.md", repo) == "docs/a.md"
    assert shown_path(tmp_path / "b.md", repo) == str(tmp_path / "b.md")


@pytest.mark.parametrize(
    ("exists", "is_file", "executable", "problem"),
    [
        (True, True, True, None),
        (False, False, False, "no such file"),
        (True, False, True, "is not a file"),
        (True, True, False, "is not executable"),
    ],
)
def test_binary_problems(exists: bool, is_file: bool, executable: bool, problem: str | None) -> None:
    assert binary_problem(exists, is_file, executable) == problem


def test_cli_binary_check_names_the_option_and_the_fix(tmp_path: Path) -> None:
    script = tmp_path / "old-crcsum"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(VersionError, match=r"--cli-old .*old-crcsum: is not executable") as caught:
        check_cli_binary(script, "--cli-old")
    assert "chmod +x" in str(caught.value.hint)
    with pytest.raises(VersionError, match=r"--cli-new .*missing: no such file"):
        check_cli_binary(tmp_path / "missing", "--cli-new")
    script.chmod(0o755)
    assert check_cli_binary(script, "--cli-old") == script


def test_lint_report_names_the_exempt_history() -> None:
    assert format_lint_report([], 3, "v1.0.0") == "all 3 commits since v1.0.0 follow the conventional-commit rules."
    report = format_lint_report([], 2, None, "0a147bd2fc2e51978ee490799a1107b18a553e94")
    assert report == "all 2 commits after 0a147bd (commit-lint-since) follow the conventional-commit rules."
    both = format_lint_report([], 1, "v1.0.0", "0a147bd2fc2e")
    assert "since v1.0.0 and after 0a147bd (commit-lint-since)" in both


def test_commit_lint_since_is_a_versioning_setting() -> None:
    assert parse_versioning({"commit-lint-since": "0a147bd"}).commit_lint_since == "0a147bd"
    with pytest.raises(ConfigError, match="commit-lint-since must be") as caught:
        parse_versioning({"commit-lint-since": 7})
    assert caught.value.hint
