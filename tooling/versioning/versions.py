"""Semantic versions: parsing, bumps, the bump part implied by commits, tag ordering.

Everything here is pure. Versions are `semver.Version` objects; release tags
are `<prefix><semver>` (prefix "v" by default) and are ordered by semver,
never by date or by string.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import semver

from tooling.errors import VersionError
from tooling.versioning.commits import ConventionalCommit

Part = Literal["major", "minor", "patch"]
PARTS: tuple[Part, ...] = ("major", "minor", "patch")
PRE_TOKENS: tuple[str, ...] = ("alpha", "beta", "rc")  # in increasing order


def parse_version(text: str, *, prefix: str = "") -> semver.Version:
    """`text` (optionally starting with `prefix`) as a semantic version, or VersionError."""
    raw = text[len(prefix) :] if prefix and text.startswith(prefix) else text
    try:
        return semver.Version.parse(raw)
    except (ValueError, TypeError) as error:
        raise VersionError(
            f"{text!r} is not a semantic version",
            hint="write it as MAJOR.MINOR.PATCH, optionally with -alpha.N, -beta.N or -rc.N",
        ) from error


def pre_token(version: semver.Version) -> tuple[str, int] | None:
    """("beta", 2) for 1.4.0-beta.2; None for a stable version; VersionError for other prerelease forms."""
    if version.prerelease is None:
        return None
    token, _, number = version.prerelease.partition(".")
    if token not in PRE_TOKENS or not number.isdigit():
        raise VersionError(
            f"cannot bump {version}: its prerelease part {version.prerelease!r} is not alpha.N, beta.N or rc.N",
            hint="set the version by hand to a supported form first",
        )
    return token, int(number)


def _base_bump(current: semver.Version, part: Part) -> semver.Version:
    """Bump `part`; a prerelease of the resulting version is finalised instead (1.4.0-rc.1 + minor = 1.4.0)."""
    is_pre = current.prerelease is not None
    major, minor, patch = current.major, current.minor, current.patch
    if part == "major":
        if is_pre and minor == 0 and patch == 0:
            return semver.Version(major, 0, 0)
        return semver.Version(major + 1, 0, 0)
    if part == "minor":
        if is_pre and patch == 0:
            return semver.Version(major, minor, 0)
        return semver.Version(major, minor + 1, 0)
    if is_pre:
        return semver.Version(major, minor, patch)
    return semver.Version(major, minor, patch + 1)


def next_version(current: semver.Version, part: Part | None, pre: str | None = None) -> semver.Version:
    """The version after `current` for a bump of `part`, optionally as a `pre` (alpha|beta|rc) release.

    1.3.2 minor → 1.4.0; 1.3.2 minor+beta → 1.4.0-beta.1; 1.4.0-beta.1 beta → 1.4.0-beta.2;
    1.4.0-beta.2 rc → 1.4.0-rc.1; 1.4.0-rc.1 patch (or minor) → 1.4.0.
    """
    if part is not None and part not in PARTS:
        raise VersionError(f"unknown bump part {part!r}", hint="use major, minor or patch")
    if pre is not None and pre not in PRE_TOKENS:
        raise VersionError(f"unknown prerelease kind {pre!r}", hint="use alpha, beta or rc")
    current_pre = pre_token(current)
    if pre is None:
        if part is None:
            raise VersionError("nothing to bump", hint="pass --part major|minor|patch, --pre alpha|beta|rc or --auto")
        return _base_bump(current, part)
    if part is None:
        if current_pre is None:
            raise VersionError(
                f"{current} is a stable version: a prerelease needs a part to bump",
                hint=f"e.g. --part minor --pre {pre} gives {_base_bump(current, 'minor')}-{pre}.1",
            )
        base = semver.Version(current.major, current.minor, current.patch)
    else:
        base = _base_bump(current, part)
    same_base = current_pre is not None and (base.major, base.minor, base.patch) == (
        current.major,
        current.minor,
        current.patch,
    )
    if same_base and current_pre is not None:
        token, number = current_pre
        if PRE_TOKENS.index(pre) < PRE_TOKENS.index(token):
            raise VersionError(
                f"cannot go from {current} back to a {pre} release",
                hint=f"prereleases advance alpha → beta → rc; use --pre {token} or a later kind",
            )
        if token == pre:
            return base.replace(prerelease=f"{pre}.{number + 1}")
    return base.replace(prerelease=f"{pre}.1")


def part_from_commits(commits: Iterable[ConventionalCommit], current: semver.Version) -> Part | None:
    """The bump part the commits ask for: breaking → major (minor below 1.0), feat → minor, fix/perf → patch.

    None when no commit asks for a release (only docs, chores, non-conventional commits ...).
    """
    breaking = False
    feature = False
    fix = False
    for commit in commits:
        breaking = breaking or commit.breaking
        feature = feature or commit.type == "feat"
        fix = fix or commit.type in ("fix", "perf")
    if breaking:
        return "major" if current.major >= 1 else "minor"
    if feature:
        return "minor"
    if fix:
        return "patch"
    return None


def is_major_bump(previous: semver.Version, new: semver.Version) -> bool:
    """Does `new` allow breaking changes after `previous`? From 1.0 a new major; below 1.0 a new minor."""
    if new.major >= 1:
        return new.major > previous.major
    return (new.major, new.minor) > (previous.major, previous.minor)


@dataclass(frozen=True, order=True)
class ReleaseTag:
    """A git tag that names a release: ordered by its version."""

    version: semver.Version
    name: str

    @property
    def is_prerelease(self) -> bool:
        return self.version.prerelease is not None


def release_tags(names: Iterable[str], prefix: str = "v") -> list[ReleaseTag]:
    """The tags of `names` that are `<prefix><semver>`, sorted by semver (oldest first); others are ignored."""
    tags = []
    for name in names:
        if not name.startswith(prefix):
            continue
        try:
            version = semver.Version.parse(name[len(prefix) :])
        except ValueError:
            continue
        tags.append(ReleaseTag(version, name))
    return sorted(tags, key=lambda tag: (tag.version, tag.name))


def previous_release(tags: Sequence[ReleaseTag], version: semver.Version) -> ReleaseTag | None:
    """The release `version` is compared with: the greatest older tag.

    A stable version skips prereleases (1.4.0 compares with 1.3.x, not 1.4.0-rc.1);
    a prerelease compares with the tag just before it, prerelease or not.
    """
    stable = version.prerelease is None
    older = [tag for tag in tags if tag.version < version and (not stable or not tag.is_prerelease)]
    return max(older, default=None, key=lambda tag: tag.version)


def latest_stable(tags: Sequence[ReleaseTag]) -> ReleaseTag | None:
    """The greatest stable release among `tags`."""
    return max((tag for tag in tags if not tag.is_prerelease), default=None, key=lambda tag: tag.version)


@dataclass(frozen=True)
class VersionRange:
    """The commits the notes or changelog section of one version cover: after `previous`, up to `until`."""

    version: semver.Version
    tag: str  # the version's tag name (it may not exist yet)
    previous: ReleaseTag | None
    until: str  # the version's tag, or "HEAD" for a version not released yet
    unreleased: bool


def choose_range(
    requested: str | None,
    *,
    unreleased: bool,
    crate_version: str,
    tags: Sequence[ReleaseTag],
    tagged: Container[str],
    prefix: str,
) -> VersionRange:
    """Which commits `notes`/`changelog` describe for `requested` (None: Cargo.toml's version) (pure).

    `tags` are the release tags reachable from HEAD; `tagged` holds every tag name.
    - A released version (its tag exists) covers the previous release up to its tag.
    - An explicit version without a tag is refused, unless `unreleased` says it is
      being prepared: then the commits since the last release up to HEAD carry its title.
    - Without --version, Cargo.toml's version is the one being prepared: tagged, it
      is a release; untagged, it covers the commits up to HEAD as if --unreleased
      (the release workflow writes the notes before or after tagging alike).
    A version being prepared must be newer than every release, or the range would be wrong.
    """
    version = parse_version(requested if requested is not None else crate_version, prefix=prefix)
    tag = f"{prefix}{version}"
    previous = previous_release(tags, version)
    if tag in tagged:
        if unreleased:
            raise VersionError(
                f"{version} is released already (tag {tag}): --unreleased is for a version without a tag",
                hint=f"drop --unreleased to describe {tag}, or name the version you are preparing",
            )
        return VersionRange(version, tag, previous, tag, unreleased=False)
    latest = max(tags, default=None, key=lambda t: t.version)
    if requested is not None and not unreleased:
        since = f"since {latest.name}" if latest else "in the whole history"
        raise VersionError(
            f"{version} is not released: there is no tag {tag}",
            hint=f"check the version (latest release: {latest.name if latest else 'none'}), or pass --unreleased "
            f"for the commits {since} up to HEAD under the title {version}",
        )
    if latest is not None and version <= latest.version:
        source = f"--version {requested}" if requested is not None else f"Cargo.toml's version {version}"
        raise VersionError(
            f"{source} is not newer than the latest release {latest.name}, so it cannot be the version being prepared",
            hint=f"name a version after {latest.version}, or set it in Cargo.toml with `invoke bump`",
        )
    return VersionRange(version, tag, previous, "HEAD", unreleased=True)
