"""The regression gate's baseline built from a git ref: the previous release's binaries for this machine.

`invoke regression --baseline v1.4.0` (or no --baseline at all: the latest release tag before HEAD)
builds that ref's binaries for the host the way a release builds them: the tool's own build, in a
worktree of the ref, with its configuration, into a folder of the cache named by the commit. A
second run finds it there. So the gate needs no download and runs the same on a laptop and in CI
for every pull request.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling import proc, ui
from tooling.cache import cache_dir
from tooling.config import CONFIG_ENV, ReleaseConfig, config_file
from tooling.errors import BuildError, GitStateError, PlanError
from tooling.git import GitRepo
from tooling.targets import Target


def baseline_folder(cache: Path, name: str, commit: str, triple: str) -> Path:
    """Where the baseline of `commit` for `triple` is kept (pure)."""
    return cache / "regression-baselines" / name / commit / triple / "dist"


def latest_release_before_head(tags: Sequence[str], head_tags: Sequence[str], prefix: str) -> str | None:
    """The newest release tag reachable from HEAD that is not HEAD's own (pure); None when there is none."""
    from tooling.versioning.versions import release_tags

    earlier = [tag for tag in release_tags(tags, prefix) if tag.name not in head_tags and not tag.is_prerelease]
    return max(earlier, key=lambda tag: tag.version).name if earlier else None


def default_ref(config: ReleaseConfig) -> str | None:
    """The latest stable release tag before HEAD, or None for a crate with no release yet."""
    from tooling.versioning.settings import parse_versioning

    repo = GitRepo.discover(config.crate_dir)
    prefix = parse_versioning(config.versioning).tag_prefix
    head = proc.read(["git", "tag", "--points-at", "HEAD"], cwd=repo.root).stdout.split()
    return latest_release_before_head(repo.tags(merged_into="HEAD"), head, prefix)


def build_baseline(config: ReleaseConfig, ref: str, target: Target, environ: Mapping[str, str] = os.environ) -> Path:
    """The dist/ folder of `ref`'s binaries for `target`, built once per commit and kept in the cache."""
    repo = GitRepo.discover(config.crate_dir)
    commit = repo.commit_sha(ref)
    if commit is None:
        raise PlanError(
            f"--baseline {ref}: no such file, folder or git ref",
            hint="pass the previous release's dist/ folder or archive, or a tag such as v1.4.0 (`git tag`)",
        )
    kept = baseline_folder(cache_dir(environ), config.name, commit, target.triple)
    if (kept / target.triple / target.executable(config.binaries[0])).is_file():
        ui.say(f"baseline {ref} ({commit[:12]}): kept in {kept}")
        return kept
    root = repo.root.resolve()
    settings = config_file(config, environ)
    if not settings.resolve().is_relative_to(root):
        raise GitStateError(
            f"--baseline {ref} builds that commit in a worktree, but the configuration {settings} is outside "
            f"the repository {root}",
            hint="pass the previous release's dist/ folder or archive instead",
        )
    with tempfile.TemporaryDirectory(prefix="regression-baseline-") as scratch:
        worktree = Path(scratch) / "checkout"
        repo.worktree_add(worktree, commit)
        try:
            env = {
                CONFIG_ENV: str(worktree / settings.resolve().relative_to(root)),
                "RELEASE_DIST_DIR": str(kept),
            }
            with ui.group(f"build the baseline {ref} ({commit[:12]}) for {target.triple}"):
                built = proc.Runner().run(
                    [sys.executable, "-m", "tooling", "build", "--target", target.triple],
                    env=env,
                    cwd=worktree,
                    check=False,
                )
        finally:
            repo.worktree_remove(worktree)
    if not built.ok:
        raise BuildError(
            f"--baseline {ref}: building {target.triple} at {commit[:12]} failed (exit {built.returncode})",
            hint="pass the previous release's dist/ folder or archive instead of a ref",
        )
    return kept


def resolve_baseline(config: ReleaseConfig, given: str | None, environ: Mapping[str, str] = os.environ) -> Path | None:
    """What --baseline names: a folder or archive as it is; a git ref built for this machine; None given: the
    latest release tag before HEAD, built (None when the crate has no earlier release)."""
    if given is not None and Path(given).exists():
        return Path(given)
    ref = given if given is not None else default_ref(config)
    if ref is None:
        return None
    from tooling.build.regression import host_targets
    from tooling.build.toolchain import host_platform

    runnable = host_targets(config.targets, *host_platform())
    if not runnable:
        # The gate itself explains this (which targets, where to run it): let it.
        return Path(given or ref)
    return build_baseline(config, ref, runnable[0], environ)


def build_current(config: ReleaseConfig) -> Path:
    """This checkout's binaries for this machine, built now into dist/ (a warm build costs about a second)."""
    from tooling.build.regression import host_targets
    from tooling.build.toolchain import host_platform

    runnable = host_targets(config.targets, *host_platform())
    if not runnable:
        return config.dist_dir  # the gate explains which targets run where
    triple = runnable[0].triple
    with ui.group(f"build {triple} of this checkout for the regression gate"):
        built = proc.Runner().run([sys.executable, "-m", "tooling", "build", "--target", triple], check=False)
    if not built.ok:
        raise BuildError(
            f"building {triple} of this checkout failed (exit {built.returncode})",
            hint=f"run `nox -s build-{triple}` to see why, or pass --current with binaries built already",
        )
    return config.dist_dir
