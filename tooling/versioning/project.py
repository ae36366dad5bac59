"""The crate's repository as the versioning commands see it: config, settings, git, cliff config, templates.

Git always runs in the crate's repository (found from the crate's folder), so
a RELEASE_CONFIG kept outside that repository works. Paths configured in
[tool.release.versioning] are relative to the config file, like every path
in [tool.release]; the defaults (cliff.toml, packaging/templates,
docs/migrations) live in the config's folder when it is inside the crate's
repository, else at the repository's root: files a release commits must be
inside the repository.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import semver

from tooling import proc, resources
from tooling.config import ReleaseConfig
from tooling.errors import GitStateError
from tooling.git import GitRepo
from tooling.versioning.cli_surface import SurfaceChange
from tooling.versioning.notes import NotesInput, TargetAsset, migration_path, template_dirs
from tooling.versioning.settings import VersioningConfig, parse_versioning, resolve_file
from tooling.versioning.versions import ReleaseTag, VersionRange, choose_range, release_tags

DEFAULT_MIGRATIONS_DIR = "docs/migrations"

# What a command would get wrong in a shallow clone, for its refusal.
SHALLOW_CONSEQUENCES = {
    "bump": "the next version could be 0.1.1 where the whole history says 0.2.0, and the changelog would miss commits",
    "notes": "the notes would miss commits or compare with the wrong release",
    "changelog": "the section would miss commits or compare with the wrong release",
    "commit-lint": "it would check the wrong commits",
    "cli-diff": "the previous release and its tag would be missing",
}


def default_base(config_root: Path, repo_root: Path) -> Path:
    """Where default paths live: the config's folder inside the crate's repository, else the repository root."""
    return config_root if config_root.resolve().is_relative_to(repo_root.resolve()) else repo_root


def shallow_refusal(shallow: bool, command: str, where: Path) -> GitStateError | None:
    """The refusal of `command` in a shallow clone (None in a full one) (pure).

    No automatic deepening: fetching changes the clone and needs the network,
    and the user (or the CI workflow) should know and fix it once.
    """
    if not shallow:
        return None
    consequence = SHALLOW_CONSEQUENCES.get(command, "its answer would be incomplete")
    return GitStateError(
        f"{where} is a shallow clone: `invoke {command}` reads the git history since the last release, "
        f"and part of it (commits, tags) is missing here, so the answer would be wrong: {consequence}",
        hint="fetch the whole history and the tags: git fetch --unshallow --tags "
        "(on GitHub Actions: actions/checkout with fetch-depth: 0)",
    )


def shown_path(path: Path, root: Path) -> str:
    """`path` relative to `root` when inside it (as notes and summaries show it), else absolute."""
    resolved = path.resolve()
    base = root.resolve()
    return resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else str(path)


@dataclass(frozen=True)
class Project:
    """The configuration and repository every versioning command works on."""

    config: ReleaseConfig
    versioning: VersioningConfig
    repo: GitRepo
    cliff_config: Path
    templates: tuple[Path, ...]
    base: Path  # where default paths live (see default_base)

    @classmethod
    def load(cls, config: ReleaseConfig, runner: proc.Runner | None = None) -> Project:
        """The crate's repository; git writes (commit, tag) go through `runner`."""
        versioning = parse_versioning(config.versioning)
        repo = GitRepo.discover(config.crate_dir, runner)
        base = default_base(config.root, repo.root)
        cliff = resolve_file(
            config.root, versioning.cliff_config, base / "cliff.toml", resources.resource_path("cliff.toml")
        )
        templates = tuple(template_dirs(config.root, versioning.templates, base))
        return cls(config, versioning, repo, cliff, templates, base)

    def require_full_history(self, command: str) -> None:
        """GitStateError when the clone is shallow: `command` reads history that is not all here."""
        refusal = shallow_refusal(self.repo.is_shallow(), command, self.repo.root)
        if refusal is not None:
            raise refusal

    @property
    def changelog_path(self) -> Path:
        if self.versioning.changelog:
            return self.config.root / self.versioning.changelog
        return self.config.crate_dir / "CHANGELOG.md"

    @property
    def migrations_dir(self) -> Path:
        if self.versioning.migrations_dir:
            return self.config.root / self.versioning.migrations_dir
        return self.base / DEFAULT_MIGRATIONS_DIR

    def migration_path(self, previous: str, new: str) -> Path:
        return migration_path(self.migrations_dir, previous, new)

    def in_repo(self, path: Path) -> str:
        """`path` as the notes show it: relative to the repository root."""
        return shown_path(path, self.repo.root)

    def outside_repo(self, paths: Sequence[Path]) -> list[Path]:
        """The paths a release commit could not hold, because they are not in the crate's repository."""
        root = self.repo.root.resolve()
        return [path for path in paths if not path.resolve().is_relative_to(root)]

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


def version_range(project: Project, version: str | None, *, unreleased: bool = False) -> VersionRange:
    """The commits of `version` (None: Cargo.toml's), by the rules of versions.choose_range."""
    if not project.repo.has_commits():
        raise GitStateError("the repository has no commits yet", hint="commit the crate first")
    return choose_range(
        version,
        unreleased=unreleased,
        crate_version=project.config.version,
        tags=project.tags(),
        tagged=set(project.repo.tags()),
        prefix=project.versioning.tag_prefix,
    )
