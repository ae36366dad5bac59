"""The crate's repository as the versioning commands see it: config, settings, git, cliff config, templates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import semver

from tooling import proc, resources
from tooling.config import ReleaseConfig
from tooling.git import GitRepo
from tooling.versioning.cli_surface import SurfaceChange
from tooling.versioning.notes import NotesInput, TargetAsset, template_dirs
from tooling.versioning.settings import VersioningConfig, parse_versioning, resolve_file
from tooling.versioning.versions import ReleaseTag, parse_version, previous_release, release_tags


@dataclass(frozen=True)
class Project:
    """The configuration and repository every versioning command works on."""

    config: ReleaseConfig
    versioning: VersioningConfig
    repo: GitRepo
    cliff_config: Path
    templates: tuple[Path, ...]

    @classmethod
    def load(cls, config: ReleaseConfig, runner: proc.Runner | None = None) -> Project:
        """The crate's repository; git writes (commit, tag) go through `runner`."""
        versioning = parse_versioning(config.versioning)
        repo = GitRepo.discover(config.root, runner)
        cliff = resolve_file(config.root, versioning.cliff_config, "cliff.toml", resources.resource_path("cliff.toml"))
        return cls(config, versioning, repo, cliff, tuple(template_dirs(config.root, versioning.templates)))

    @property
    def changelog_path(self) -> Path:
        if self.versioning.changelog:
            return self.config.root / self.versioning.changelog
        return self.config.crate_dir / "CHANGELOG.md"

    def tag_name(self, version: semver.Version | str) -> str:
        return f"{self.versioning.tag_prefix}{version}"

    def tags(self) -> list[ReleaseTag]:
        """Release tags reachable from HEAD, in semver order."""
        if not self.repo.has_commits():
            return []
        return release_tags(self.repo.tags(merged_into="HEAD"), self.versioning.tag_prefix)

    def notes_input(
        self, version: str, previous: str | None, cli: Sequence[SurfaceChange] = (), guide: str | None = None
    ) -> NotesInput:
        config = self.config
        return NotesInput(
            name=config.name,
            version=version,
            previous=previous,
            binaries=config.binaries,
            repository=config.package.repository or config.package.homepage,
            targets=tuple(TargetAsset(t.triple, config.archive_format(t)) for t in config.targets),
            checksums_file=self.versioning.checksums_file,
            signature_file=self.versioning.signature_file,
            tag=self.tag_name(version),
            cli_changes=tuple(cli),
            migration_guide=guide,
        )


def version_range(project: Project, version: str | None) -> tuple[str, str | None, str]:
    """(version, previous tag, until ref): an existing tag's range, or the commits since the last release."""
    tags = project.tags()
    if version is None:
        current = parse_version(project.config.version)
        tag = project.tag_name(current)
        if not project.repo.has_tag(tag):
            previous = previous_release(tags, current)
            return str(current), previous.name if previous else None, "HEAD"
        version = str(current)
    parsed = parse_version(version, prefix=project.versioning.tag_prefix)
    tag = project.tag_name(parsed)
    previous = previous_release(tags, parsed)
    until = tag if project.repo.has_tag(tag) else "HEAD"
    return str(parsed), previous.name if previous else None, until
