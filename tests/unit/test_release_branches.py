"""The pure decisions of release branches, backports and main's CHANGELOG.md follow-up."""

from __future__ import annotations

from pathlib import Path

import pytest
import semver

from tooling.git import RawCommit
from tooling.release.branches import (
    backport_sources,
    backport_trailer,
    changelog_has_section,
    changelog_patch,
    find_backport,
    followup_commit_message,
    followup_instructions,
    heredoc_delimiter,
    latest_release_branch,
    main_changelog_wanted,
    push_remote,
    release_branch_for,
    release_line,
)
from tooling.versioning.changelog import upsert_section
from tooling.versioning.settings import VersioningConfig

DEFAULT = VersioningConfig()
CUSTOM = VersioningConfig(release_branches="maint-{major}-{minor}.x", main_branch="trunk")
SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.mark.parametrize(
    ("version", "config", "expected"),
    [
        ("1.4.0", DEFAULT, "release/1.4"),
        ("2.0.0", DEFAULT, "release/2.0"),
        ("0.3.0", DEFAULT, "release/0.3"),
        ("1.4.0", CUSTOM, "maint-1-4.x"),
        ("1.4.1", DEFAULT, None),  # a patch continues a line, it starts none
        ("1.4.0-rc.1", DEFAULT, None),  # a prerelease starts nothing yet
        ("2.0.0-beta.2", DEFAULT, None),
    ],
)
def test_release_branch_for(version: str, config: VersioningConfig, expected: str | None) -> None:
    assert release_branch_for(semver.Version.parse(version), config) == expected


def test_release_line_reads_the_configured_pattern_only() -> None:
    assert release_line("release/1.4", DEFAULT) == (1, 4)
    assert release_line("release/10.12", DEFAULT) == (10, 12)
    assert release_line("maint-3-1.x", CUSTOM) == (3, 1)
    for name in ("main", "release/1", "release/1.4.2", "release/x.y", "old/release/1.4", "maint-3-1.x"):
        assert release_line(name, DEFAULT) is None, name


def test_latest_release_branch_orders_lines_by_number_not_text() -> None:
    branches = ["main", "release/1.9", "release/1.10", "release/0.99", "feature/release/9.9", "release/1.2"]
    assert latest_release_branch(branches, DEFAULT) == "release/1.10"
    assert latest_release_branch(["release/2.0", "release/1.10"], DEFAULT) == "release/2.0"
    assert latest_release_branch(["main", "topic"], DEFAULT) is None
    assert latest_release_branch(["release/5.0", "maint-1-2.x"], CUSTOM) == "maint-1-2.x"


def test_backport_trailer_names_the_full_commit() -> None:
    assert backport_trailer(SHA) == f"Backported-from: {SHA}"


def test_backport_sources_reads_our_trailer_and_cherry_pick_x() -> None:
    message = f"fix: a thing\n\nbody\n\nSigned-off-by: A <a@example.invalid>\nBackported-from: {SHA}\n"
    assert backport_sources(message) == {SHA}
    assert backport_sources(f"fix: b\n\n(cherry picked from commit {OTHER})") == {OTHER}
    assert backport_sources(f"fix: c\n\nbackported-from: {SHA.upper()}") == {SHA}
    # Mentions that are not a trailer, and abbreviated ids, are not origins.
    assert backport_sources(f"fix: d\n\nsee Backported-from: {SHA} in the log") == set()
    assert backport_sources("fix: e\n\nBackported-from: 0123456") == set()


def test_find_backport_finds_the_commit_naming_its_origin() -> None:
    commits = [
        RawCommit("a" * 40, "Ada", "ada@example.invalid", "fix: unrelated"),
        RawCommit("b" * 40, "Ada", "ada@example.invalid", f"fix: it\n\n{backport_trailer(SHA)}"),
    ]
    found = find_backport(commits, SHA)
    assert found is not None and found.sha == "b" * 40
    assert find_backport(commits, OTHER) is None
    assert find_backport([], SHA) is None


def test_push_remote_prefers_origin() -> None:
    assert push_remote(["upstream", "origin"]) == "origin"
    assert push_remote(["upstream"]) == "upstream"
    assert push_remote([]) == "origin"


@pytest.mark.parametrize(
    ("version", "branch", "config", "expected"),
    [
        ("1.4.3", "release/1.4", DEFAULT, True),
        ("1.4.3", "maint-1-4.x", CUSTOM, True),
        ("1.5.1", "main", DEFAULT, False),  # main has its own section already
        ("1.5.1", "trunk", CUSTOM, False),
        ("1.4.3-rc.1", "release/1.4", DEFAULT, False),
        ("1.4.3", None, DEFAULT, False),
        ("1.4.3", "topic", DEFAULT, False),
    ],
)
def test_main_changelog_wanted(version: str, branch: str | None, config: VersioningConfig, expected: bool) -> None:
    assert main_changelog_wanted(semver.Version.parse(version), branch, config) is expected


CHANGELOG = """# Changelog

## [1.5.0] - 2026-03-01

### Features

- a feature

## [v1.4.2] - 2026-02-01

### Bug Fixes

- an older fix
"""


def test_changelog_has_section_by_heading_only() -> None:
    assert changelog_has_section(CHANGELOG, "1.5.0")
    assert changelog_has_section(CHANGELOG, "1.4.2")  # written with the tag prefix
    assert not changelog_has_section(CHANGELOG, "1.4.3")
    assert not changelog_has_section(CHANGELOG, "1.5")
    assert not changelog_has_section("- mentions [1.4.3] in a line\n", "1.4.3")
    assert not changelog_has_section("", "1.4.3")


def test_followup_commit_message_is_conventional() -> None:
    message = followup_commit_message("1.4.3", "release/1.4")
    assert message == "docs(changelog): add 1.4.3 from release/1.4"


SECTION = "## [1.4.3] - 2026-03-05\n\n### Bug Fixes\n\n- the backported fix\n"


def test_changelog_patch_adds_exactly_the_section() -> None:
    new = upsert_section(CHANGELOG, "1.4.3", SECTION)
    patch = changelog_patch(CHANGELOG, new, "CHANGELOG.md")
    lines = patch.splitlines()
    assert lines[:2] == ["--- a/CHANGELOG.md", "+++ b/CHANGELOG.md"]
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]
    assert removed == []
    assert "\n".join(added).strip() == SECTION.strip()
    assert changelog_patch(CHANGELOG, CHANGELOG, "CHANGELOG.md") == ""


def test_changelog_patch_creates_a_missing_file_and_marks_a_missing_newline() -> None:
    created = changelog_patch("", "# Changelog\n", "docs/CHANGELOG.md")
    assert created.splitlines()[:2] == ["--- /dev/null", "+++ b/docs/CHANGELOG.md"]
    marked = changelog_patch("# Changelog", "# Changelog\n\nmore\n", "CHANGELOG.md")
    assert "\\ No newline at end of file" in marked.splitlines()


def test_heredoc_delimiter_avoids_lines_of_the_text() -> None:
    assert heredoc_delimiter("a\nb\n") == "CHANGELOG_PATCH"
    assert heredoc_delimiter("x\nCHANGELOG_PATCH\n") == "CHANGELOG_PATCH_"
    assert heredoc_delimiter("CHANGELOG_PATCH\nCHANGELOG_PATCH_\n") == "CHANGELOG_PATCH__"


def test_followup_instructions_with_a_remote() -> None:
    patch = changelog_patch(CHANGELOG, upsert_section(CHANGELOG, "1.4.3", SECTION), "CHANGELOG.md")
    commands = followup_instructions(
        root=Path("/src/my crate"),
        main="main",
        back_to="release/1.4",
        changelog="CHANGELOG.md",
        patch=patch,
        message="docs(changelog): add 1.4.3 from release/1.4",
        remote="origin",
    )
    assert commands[:3] == ["cd '/src/my crate'", "git switch main", "git pull --ff-only origin main"]
    assert commands[3] == "git apply <<'CHANGELOG_PATCH'"
    end = commands.index("CHANGELOG_PATCH")
    assert "\n".join(commands[4:end]) + "\n" == patch
    assert commands[end + 1 :] == [
        "git commit -m 'docs(changelog): add 1.4.3 from release/1.4' -- CHANGELOG.md",
        "git push origin main",
        "git switch release/1.4",
    ]


def test_followup_instructions_without_a_remote_neither_pull_nor_push() -> None:
    commands = followup_instructions(
        root=Path("/src/crate"),
        main="trunk",
        back_to=None,
        changelog="CHANGELOG.md",
        patch="--- a/CHANGELOG.md\n+++ b/CHANGELOG.md\n",
        message="docs(changelog): add 1.4.3 from maint-1-4.x",
        remote=None,
    )
    assert "git switch trunk" in commands
    assert not any(command.startswith(("git pull", "git push")) for command in commands)
    assert commands[-1].startswith("git commit -m ")
