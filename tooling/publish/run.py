"""`invoke publish`: a finished, verified dist/ attached to the GitHub release of its tag, then published.

Nothing is uploaded that did not pass the same checks as `invoke verify`:
the folder matches its plan (every target, channel and install script), every
file its manifest and SHA256SUMS, and every signature the plan asked for
verifies. The files attached are the release files at the top of dist/: the
archives, the SBOM, the install scripts, SHA256SUMS with the `.sha256` files,
and the signatures. Package channels' files (dist/packages/) are not: their
channels publish them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tooling import proc
from tooling.artifacts import dist, sign, steps, verify
from tooling.config import ReleaseConfig
from tooling.errors import ConfigError, GitStateError
from tooling.git import GitRepo
from tooling.manifest import Manifest
from tooling.publish.releases import DEFAULT_JOBS, LocalAsset, PublishResult, publish_release
from tooling.publish.retry import DEFAULT_BUDGET_SECONDS

# The kinds of file a GitHub release carries (the top of dist/ only).
ATTACHED_KINDS = ("archive", "sbom", "installer", "checksum", "signature")


def release_files(record: Manifest, dist_dir: Path) -> list[LocalAsset]:
    """Every file of the manifest a release attaches, in name order (pure apart from joining paths)."""
    return [
        LocalAsset(dist_dir / a.path, a.path, a.size, a.sha256)
        for a in sorted(record.artifacts, key=lambda a: a.path)
        if a.kind in ATTACHED_KINDS and "/" not in a.path
    ]


def release_commit(config: ReleaseConfig, runner: proc.Runner) -> str:
    """The full sha of HEAD in the crate's repository: the commit the release tag must point at."""
    repo = GitRepo.discover(config.crate_dir, runner)
    sha = repo.commit_sha("HEAD")
    if sha is None:
        raise GitStateError(f"{repo.root} has no commit", hint="commit and tag the release first (invoke bump)")
    return sha


def check_release_folder(config: ReleaseConfig, *, unsigned: bool, environ: Mapping[str, str]) -> Manifest:
    """The manifest of a dist/ that is complete and verified; an unsigned one only with `unsigned`."""
    plan = steps.recorded_plan(config.dist_dir)
    if not plan.sign_backends and not unsigned:
        raise ConfigError(
            f"{config.dist_dir} was made unsigned; a public release should carry signatures",
            hint="make it with signing keys (invoke package), or pass --unsigned to publish it as it is",
        )
    steps.check_against_plan(config.dist_dir, plan, allow_partial=False)
    settings = sign.sign_settings(config.sign, environ, config.root, plan.sign_backends)
    verify.check_or_raise(config.dist_dir, settings, check_signatures=bool(plan.sign_backends))
    return dist.load(config.dist_dir)


def run_publish(
    config: ReleaseConfig,
    *,
    notes: str | None,
    replace: bool,
    unsigned: bool,
    jobs: int,
    runner: proc.Runner,
    environ: Mapping[str, str],
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> PublishResult:
    """Check dist/, then make (or finish) and publish the GitHub release of the crate's version."""
    from tooling.versioning.commands import release_notes

    record = check_release_folder(config, unsigned=unsigned, environ=environ)
    tag = str(config.versioning.get("tag-prefix", "v")) + config.version
    body = notes if notes is not None else release_notes(config, config.version, runner)
    return publish_release(
        assets=release_files(record, config.dist_dir),
        tag=tag,
        version=config.version,
        commit=release_commit(config, runner),
        notes=body,
        repository=config.package.repository or None,
        environ=environ,
        runner=runner,
        replace=replace,
        jobs=jobs or DEFAULT_JOBS,
        budget_seconds=budget_seconds,
    )


def read_notes(path: str | None) -> str | None:
    """The notes file given with --notes, or None to render them from git history."""
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the notes file {path}: {error}", hint="pass a UTF-8 text file") from error


def check_budget(raw: str | None) -> float:
    """--retry-budget in seconds: a positive number (default: retry.DEFAULT_BUDGET_SECONDS)."""
    if raw is None:
        return DEFAULT_BUDGET_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"--retry-budget {raw!r} is not a positive number of seconds", hint="e.g. --retry-budget 300")
    return value
