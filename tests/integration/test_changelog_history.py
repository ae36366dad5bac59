"""CHANGELOG.md from a scripted history with real git and git-cliff: groups, idempotence, agreement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.test_bump import scripted_history
from tests.integration.versioning_repo import fixed_clock, make_repo
from tooling import proc
from tooling.versioning.changelog import release_data
from tooling.versioning.commands import run_changelog
from tooling.versioning.commits import parse_commits
from tooling.versioning.project import Project

__all__ = ["fixed_clock"]
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fixed_clock")]


def test_changelog_for_a_tagged_version_is_idempotent(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.2.3")
    scripted_history(repo)
    repo.tag("v1.3.0")
    (repo.root / "CHANGELOG.md").write_text("# Changelog\n\n## [1.2.3] - 2025-12-01\n\n- hand-written\n")
    config = repo.config()
    run_changelog(config, "1.3.0", stdout=False, runner=proc.Runner())
    first = repo.read("CHANGELOG.md")
    run_changelog(config, "1.3.0", stdout=False, runner=proc.Runner())
    assert repo.read("CHANGELOG.md") == first
    assert first.count("## [1.3.0]") == 1
    assert "- hand-written" in first  # older, hand-written sections are kept
    assert first.index("## [1.3.0]") < first.index("## [1.2.3]")
    date = re.search(r"## \[1\.3\.0\] - (\S+)", first)
    assert date and date[1] == "2026-01-01"  # the tagged commit's date, not today's
    assert "- tweak things a bit (" in first.split("### Other")[1]


def test_git_cliff_groups_agree_with_the_commit_parser(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.2.3")
    scripted_history(repo)
    repo.commit("chore(deps): bump clap")
    repo.commit("ci: cache cargo")
    repo.commit("Feat: capitalised type")
    project = Project.load(repo.config())
    data = release_data(project.repo, project.cliff_config, tag="v1.3.0", since="v1.2.3")
    ours = {c.sha: c.group for c in parse_commits(project.repo.log("v1.2.3"))}
    theirs = {change.sha: change.group for change in data.changes}
    assert theirs == ours
    assert len(theirs) == 8
