"""Conventional-commit parsing, grouping and lint rules (pure)."""

from __future__ import annotations

import pytest

from tooling.versioning.commits import lint_commits, lint_message, parse_commit


def test_parse_header_scope_bang_and_footers() -> None:
    commit = parse_commit(
        "feat(cli)!: drop --upper\n\nUpper case is now --case upper.\n\n"
        "BREAKING CHANGE: --upper is gone;\n  use --case upper instead\nRefs: #12"
    )
    assert (commit.type, commit.scope, commit.description, commit.bang) == ("feat", "cli", "drop --upper", True)
    assert commit.conventional and commit.breaking and commit.group == "Added"
    assert commit.body == "Upper case is now --case upper."
    assert commit.breaking_notes == ("--upper is gone;\nuse --case upper instead",)
    assert [f.token for f in commit.footers] == ["BREAKING CHANGE", "Refs"]


def test_bang_without_footer_uses_the_description_as_note() -> None:
    commit = parse_commit("refactor!: rename the check subcommand")
    assert commit.breaking and commit.breaking_notes == ("rename the check subcommand",)
    assert commit.group == "Changed"


def test_non_conventional_commits_go_to_other() -> None:
    for message in ("Initial import", "feature: without the right type", "fix:missing space", "WIP"):
        commit = parse_commit(message)
        assert commit.group == "Other", message
        assert not commit.breaking


@pytest.mark.parametrize(
    ("message", "group"),
    [
        ("fix: a", "Fixed"),
        ("perf: a", "Changed"),
        ("docs(readme): a", "Documentation"),
        ("ci: a", "Maintenance"),
        ("security: a", "Security"),
        ("remove: a", "Removed"),
        ("deprecate: a", "Deprecated"),
        ("Feat: a", "Added"),
    ],
)
def test_groups(message: str, group: str) -> None:
    assert parse_commit(message).group == group


def test_lint_accepts_good_messages() -> None:
    assert lint_message("fix(cli): reject empty input") == []
    assert lint_message("feat!: new output\n\nBREAKING CHANGE: columns swapped") == []
    assert lint_message("Merge branch 'release/1.2'") == []


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("Initial import", 'is not "type(scope): description"'),
        ("feature: stuff", "unknown type 'feature'"),
        ("Fix: stuff", "must be lower-case"),
        ("fix(): stuff", "empty scope"),
        ("fix: stuff.", "ends with a period"),
        ("fix: " + "x" * 120, "characters long"),
        ("fix: a\nbody without blank line", "second line must be blank"),
        ("fix: a\n\nbreaking change - removed x", "BREAKING CHANGE: <what changed"),
    ],
)
def test_lint_problems(message: str, problem: str) -> None:
    assert any(problem in text for text in lint_message(message)), lint_message(message)


def test_lint_commits_reports_only_offenders() -> None:
    report = lint_commits([("a" * 40, "fix: ok"), ("b" * 40, "bad one"), ("c" * 40, "chore: fine")])
    assert [(p.sha[0], p.subject) for p in report] == [("b", "bad one")]
    assert lint_commits([("a", "feat: x")], types=("fix",))[0].problems[0].startswith("unknown type 'feat'")
