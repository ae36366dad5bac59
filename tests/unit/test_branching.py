"""Branch policy and release-tag trigger rules (pure)."""

from __future__ import annotations

import re

import pytest
import semver

from tooling.errors import ConfigError, GitStateError, VersionError
from tooling.versioning.branching import check_branch, check_release_tag
from tooling.versioning.settings import VersioningConfig, parse_versioning

V = semver.Version.parse
CONFIG = VersioningConfig()


@pytest.mark.parametrize(
    ("branch", "current", "new"),
    [
        ("main", "1.2.3", "2.0.0"),
        ("main", "1.2.3", "1.2.4"),
        ("release/1.2", "1.2.3", "1.2.4"),
        ("release/1.2", "1.2.4", "1.2.5-rc.1"),
    ],
)
def test_allowed(branch: str, current: str, new: str) -> None:
    check_branch(branch, V(current), V(new), CONFIG)


@pytest.mark.parametrize(
    ("branch", "current", "new", "message"),
    [
        ("feature/x", "1.2.3", "1.2.4", "branch 'feature/x' may not release"),
        ("release/1.2", "1.2.3", "1.3.0", "releases 1.2.x only, not 1.3.0"),
        ("release/1.3", "1.2.3", "1.3.0", "only makes patch releases"),
        (None, "1.2.3", "1.2.4", "HEAD is detached"),
    ],
)
def test_refused(branch: str | None, current: str, new: str, message: str) -> None:
    with pytest.raises(GitStateError, match=message):
        check_branch(branch, V(current), V(new), CONFIG)


def test_custom_branch_names() -> None:
    config = parse_versioning({"main-branch": "trunk", "release-branches": "maint-{major}.{minor}.x"})
    check_branch("trunk", V("1.0.0"), V("2.0.0"), config)
    check_branch("maint-1.0.x", V("1.0.0"), V("1.0.1"), config)
    with pytest.raises(GitStateError):
        check_branch("main", V("1.0.0"), V("1.0.1"), config)


def test_release_tags() -> None:
    assert str(check_release_tag("v1.2.3", "1.2.3", CONFIG)) == "1.2.3"
    with pytest.raises(VersionError, match=re.escape("does not match the crate version 1.2.3")):
        check_release_tag("v1.2.4", "1.2.3", CONFIG)
    with pytest.raises(VersionError, match="release tags look like v<semver>"):
        check_release_tag("1.2.3", "1.2.3", CONFIG)
    with pytest.raises(VersionError, match="not a semantic version"):
        check_release_tag("v1.2", "1.2.3", CONFIG)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"sign-tag": True}, "unknown key tool.release.versioning.sign-tag"),
        ({"sign-tags": "yes"}, "tool.release.versioning.sign-tags must be true or false"),
        ({"release-branches": "release/{major}"}, "must contain {major} and {minor}"),
        ({"release-branches": "release/{x}"}, "unknown placeholder"),
        ({"acknowledged-breaking": ["2.0"]}, "acknowledged-breaking: '2.0' is not a semantic version"),
        ({"signing-key": "ABC"}, "signing-key is set but sign-tags is false"),
    ],
)
def test_config_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}").replace("(", r"\(")):
        parse_versioning(table)
