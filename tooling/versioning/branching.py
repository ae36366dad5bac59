"""The branching policy: which branch may release which version, and which tags trigger a release.

Releases of any kind come from the main branch; patch releases of X.Y also come
from the release branch for X.Y (`release/X.Y` by default). Only a tag
`<prefix><semver>` whose version equals Cargo.toml's triggers a release.
All pure.
"""

from __future__ import annotations

import re

import semver

from tooling.errors import GitStateError, VersionError
from tooling.versioning.settings import VersioningConfig


def release_branch_regex(pattern: str) -> re.Pattern[str]:
    """`release/{major}.{minor}` as a regex with named groups."""
    escaped = re.escape(pattern).replace(r"\{major\}", r"(?P<major>\d+)").replace(r"\{minor\}", r"(?P<minor>\d+)")
    return re.compile(f"^{escaped}$")


def check_branch(branch: str | None, current: semver.Version, new: semver.Version, config: VersioningConfig) -> None:
    """Raise GitStateError unless `branch` may release `new` (coming from `current`)."""
    example = config.release_branches.format(major=new.major, minor=new.minor)
    if branch is None:
        raise GitStateError(
            "HEAD is detached: releases are cut from a branch",
            hint=f"check out {config.main_branch} (or {example} for a patch release)",
        )
    if branch == config.main_branch:
        return
    match = release_branch_regex(config.release_branches).match(branch)
    if not match:
        raise GitStateError(
            f"branch {branch!r} may not release: releases come from {config.main_branch!r}, "
            f"patch releases also from release branches ({config.release_branches})",
            hint=f"merge into {config.main_branch} and bump there, or use {example} for a patch release",
        )
    line = (int(match["major"]), int(match["minor"]))
    if (new.major, new.minor) != line:
        raise GitStateError(
            f"branch {branch!r} releases {line[0]}.{line[1]}.x only, not {new}",
            hint=f"bump {new} on {config.main_branch}; on {branch} use --part patch",
        )
    if new.patch == 0 and new.prerelease is None and (current.major, current.minor) != line:
        raise GitStateError(
            f"branch {branch!r} only makes patch releases; {new} starts a new minor line",
            hint=f"release {new} from {config.main_branch}",
        )


def check_release_tag(tag: str, crate_version: str, config: VersioningConfig) -> semver.Version:
    """The version a pushed tag releases; VersionError unless it is `<prefix><semver>` equal to Cargo.toml's."""
    prefix = config.tag_prefix
    if not tag.startswith(prefix):
        raise VersionError(
            f"tag {tag!r} does not trigger a release: release tags look like {prefix}<semver>",
            hint=f"tag the release commit as {prefix}{crate_version}",
        )
    try:
        version = semver.Version.parse(tag[len(prefix) :])
    except ValueError as error:
        raise VersionError(
            f"tag {tag!r} does not trigger a release: {tag[len(prefix) :]!r} is not a semantic version",
            hint=f"tag the release commit as {prefix}{crate_version}",
        ) from error
    if str(version) != crate_version:
        raise VersionError(
            f"tag {tag!r} does not match the crate version {crate_version} in Cargo.toml",
            hint="run `invoke bump` to set the version and tag together, or delete the stray tag",
        )
    return version
