"""CHANGELOG.md splicing and Cargo version edits (pure)."""

from __future__ import annotations

import re

import pytest

from tooling.errors import VersionError
from tooling.versioning.cargo_edit import set_lock_version, set_manifest_version
from tooling.versioning.changelog import HEADER, cliff_range, strip_ansi, upsert_section


def section(version: str, line: str) -> str:
    return f"## [{version}] - 2026-01-01\n\n### Fixed\n\n- {line}\n"


def test_new_file_gets_the_keep_a_changelog_header() -> None:
    text = upsert_section("", "1.0.0", section("1.0.0", "a"))
    assert text.startswith(HEADER)
    assert text.count("## [1.0.0]") == 1


def test_regenerating_a_version_replaces_it_and_is_idempotent() -> None:
    text = upsert_section("", "1.0.0", section("1.0.0", "a"))
    text = upsert_section(text, "1.1.0", section("1.1.0", "b"))
    again = upsert_section(text, "1.0.0", section("1.0.0", "a"))
    assert again == text
    changed = upsert_section(text, "1.0.0", section("1.0.0", "c"))
    assert "- c" in changed and "- a" not in changed and changed.count("## [") == 2


def test_sections_are_kept_in_semver_order_below_unreleased() -> None:
    text = "# Changelog\n\n## [Unreleased]\n\n- wip\n\n## [1.10.0] - x\n\n- ten\n\n## [1.2.0] - x\n\n- two\n"
    text = upsert_section(text, "1.9.0", section("1.9.0", "nine"))
    order = [line for line in text.splitlines() if line.startswith("## [")]
    assert [line.split("]")[0] for line in order] == ["## [Unreleased", "## [1.10.0", "## [1.9.0", "## [1.2.0"]
    text = upsert_section(text, "2.0.0", section("2.0.0", "two!"))
    assert text.index("## [2.0.0]") < text.index("## [1.10.0]") and text.index("[Unreleased]") < text.index("2.0.0")


def test_link_references_stay_at_the_bottom() -> None:
    text = "# Changelog\n\n## [1.0.0] - x\n\n- a\n\n[1.0.0]: https://example.invalid/v1.0.0\n"
    text = upsert_section(text, "0.9.0", section("0.9.0", "old"))
    assert text.rstrip().endswith("[1.0.0]: https://example.invalid/v1.0.0")
    assert text.index("## [0.9.0]") > text.index("## [1.0.0]")


MANIFEST = """\
[package]
name = "crcsum"   # the tool
version = "0.1.0" # bumped by invoke bump
edition = "2021"

[dependencies]
clap = { version = "4", features = ["derive"] }
"""

LOCK = """\
version = 3

[[package]]
name = "clap"
version = "0.1.0"
source = "registry+https://example.invalid/index"

[[package]]
name = "crcsum"
version = "0.1.0"
dependencies = [
 "clap",
]
"""


def test_manifest_edit_keeps_comments_and_formatting() -> None:
    text = set_manifest_version(MANIFEST, "0.2.0")
    assert text == MANIFEST.replace('version = "0.1.0" #', 'version = "0.2.0" #')


def test_workspace_version() -> None:
    text = '[workspace]\nmembers = ["a"]\n\n[workspace.package]\nversion = "1.0.0"  # shared\n'
    assert set_manifest_version(text, "1.1.0", workspace=True) == text.replace("1.0.0", "1.1.0")
    with pytest.raises(VersionError, match="inherits its version"):
        set_manifest_version('[package]\nname = "a"\nversion.workspace = true\n', "1.1.0")


def test_lock_edit_touches_only_the_crate() -> None:
    text = set_lock_version(LOCK, "crcsum", "0.1.0", "0.2.0")
    assert text.count('version = "0.2.0"') == 1
    assert 'name = "clap"\nversion = "0.1.0"' in text
    with pytest.raises(VersionError, match=re.escape("Cargo.lock has no entry for other 0.1.0")):
        set_lock_version(LOCK, "other", "0.1.0", "0.2.0")


def test_other_group_keeps_the_subject_as_written() -> None:
    from tooling.versioning.changelog import _change

    commit = {
        "group": "<!-- 8 -->Other",
        "message": "target table and config",
        "raw_message": "Foundation: target table and config\n\nbody",
        "id": "e03137d0",
        "conventional": True,
    }
    assert _change(commit).description == "Foundation: target table and config"
    added = {**commit, "group": "<!-- 3 -->Added", "raw_message": "feat: target table and config"}
    assert _change(added).description == "target table and config"


def test_git_cliff_colour_codes_are_stripped() -> None:
    raw = "\x1b[32;1mINFO \x1b[0m \x1b[1m\x1b[90mgit_cliff\x1b[39m\x1b[0m > Using configuration\nError: bad"
    assert strip_ansi(raw) == "INFO  git_cliff > Using configuration\nError: bad"


def test_cliff_ranges_are_commit_ids() -> None:
    """A lone id means the commit and all before it: the first release's range (a lone tag name fails)."""
    assert cliff_range(None, "b642159") == "b642159"
    assert cliff_range("a1b2c3d", "b642159") == "a1b2c3d..b642159"
