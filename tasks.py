"""Maintainer entry points: `invoke --list` shows them, `invoke --help <task>` explains one.

Tasks are thin: they parse options and call tooling/, where all logic lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.tasks import task

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig

# ----------------------------------------------------------------------------
# Release artifacts: build, checksum, sign, package, verify, clean, merge-manifests
# ----------------------------------------------------------------------------

# Every chain task takes the same options, so `invoke package --target x` hands
# them down to build, archive, sbom, checksum and sign.
_CHAIN_HELP = {
    "dist": "artifact directory (default: tool.release.dist-dir, or $RELEASE_DIST_DIR)",
    "target": "triple or pattern (repeatable); default: every configured target (tool.release.targets)",
    "prebuilt": "a dist/<triple>/ folder from a CI build job, or a folder of them (repeatable); skips nox",
    "skip-build": "use the binaries already in dist/<triple>/ instead of running the nox build sessions",
    "format": "archive format for Unix targets: tar.gz, tar.xz or tar.zst (default: tool.release.archive.unix)",
    "level": "compression level (default 6, as gzip; 1 fastest, 9 smallest; zstd up to 19)",
    "backend": "signer to use, gpg or minisign (repeatable); default: tool.release.sign.backends",
    "unsigned": "make no signatures (local trial runs)",
    "jobs": "targets archived in parallel (default: one per CPU)",
    "no-verify-signatures": "let package skip the gpg/minisign verification of the finished dist/",
}


def _run_chain(
    step: str,
    dist: str | None,
    target: list[str] | None,
    prebuilt: list[str] | None,
    skip_build: bool,
    format: str | None,
    level: int,
    backend: list[str] | None,
    unsigned: bool,
    jobs: int,
    no_verify_signatures: bool = False,
) -> None:
    from pathlib import Path

    from invoke.exceptions import Exit

    from tooling import ui
    from tooling.artifacts import steps as artifacts
    from tooling.artifacts.archive import check_format
    from tooling.config import load_config
    from tooling.errors import ReleaseError

    try:
        config = artifacts.with_dist(load_config(), dist)
        options = artifacts.Options(
            targets=tuple(target or ()),
            prebuilt=tuple(Path(p).resolve() for p in prebuilt or ()),
            skip_build=skip_build,
            unix_format=check_format(format) if format else None,
            level=int(level),
            backends=tuple(backend) if backend else None,
            unsigned=unsigned,
            jobs=int(jobs),
            check_signatures=not (no_verify_signatures or unsigned),
        )
        artifacts.run_step(step, artifacts.shared_context(config, options))
    except ReleaseError as error:
        ui.error(str(error))
        raise Exit(code=error.exit_code) from None


def _chain_task(step: str, doc: str):  # type: ignore[no-untyped-def]
    """An invoke task running `step` of the artifact chain (after its prerequisites)."""

    def body(
        c: Context,
        dist: str | None = None,
        target: list[str] | None = None,
        prebuilt: list[str] | None = None,
        skip_build: bool = False,
        format: str | None = None,
        level: int = 6,
        backend: list[str] | None = None,
        unsigned: bool = False,
        jobs: int = 0,
        no_verify_signatures: bool = False,
    ) -> None:
        _run_chain(
            step, dist, target, prebuilt, skip_build, format, level, backend, unsigned, jobs, no_verify_signatures
        )

    body.__doc__ = doc
    body.__name__ = step
    return task(body, name=step, help=_CHAIN_HELP, iterable=["target", "prebuilt", "backend"])


build = _chain_task(
    "build",
    "Build every target's binaries with its nox session (`nox -s build-<triple>`), or import prebuilt folders.",
)
archive = _chain_task("archive", "Reproducible archive per built target (runs build first).")
sbom = _chain_task("sbom", "CycloneDX SBOM of the crate's resolved dependencies (cargo metadata + Cargo.lock).")
checksum = _chain_task("checksum", "SHA256SUMS and <file>.sha256 for archives and SBOM (runs build, archive, sbom).")
sign = _chain_task("sign", "GPG (.asc) and minisign (.minisig) signatures of SHA256SUMS and archives (runs checksum).")
package = _chain_task(
    "package", "The whole release folder: build, archive, sbom, checksum, sign, then verify and summarise."
)


@task(
    help={
        "dist": _CHAIN_HELP["dist"],
        "no-signatures": "check files and checksums only, not the gpg/minisign signatures",
    }
)
def verify(c: Context, dist: str | None = None, no_signatures: bool = False) -> None:
    """Check everything in dist/ against manifest.json, SHA256SUMS, .sha256 files and signatures."""
    from invoke.exceptions import Exit

    from tooling import ui
    from tooling.artifacts import steps as artifacts
    from tooling.artifacts import verify as dist_verify
    from tooling.config import load_config
    from tooling.errors import ReleaseError

    try:
        config = artifacts.with_dist(load_config(), dist)
        settings = artifacts.settings_for(artifacts.ChainRun(config, artifacts.Options()))
        count = dist_verify.check_or_raise(config.dist_dir, settings, check_signatures=not no_signatures)
        ui.console.print(f"{config.dist_dir}: {count} artifacts match manifest.json, checksums and signatures")
    except ReleaseError as error:
        ui.error(str(error))
        raise Exit(code=error.exit_code) from None


@task(
    name="merge-manifests",
    help={"dist": _CHAIN_HELP["dist"], "input": "a partial manifest.json (repeatable); default: dist/*/manifest.json"},
    iterable=["input"],
)
def merge_manifests(c: Context, dist: str | None = None, input: list[str] | None = None) -> None:
    """Merge the build jobs' partial manifests into dist/manifest.json; conflicting entries fail."""
    from pathlib import Path

    from invoke.exceptions import Exit

    from tooling import ui
    from tooling.artifacts import dist as artifact_dist
    from tooling.artifacts import steps as artifacts
    from tooling.config import load_config
    from tooling.errors import ReleaseError

    try:
        config = artifacts.with_dist(load_config(), dist)
        merged = artifact_dist.merge_manifests(config.dist_dir, [Path(p) for p in input or ()])
        ui.console.print(f"{config.dist_dir / 'manifest.json'}: {len(merged.artifacts)} artifacts")
    except ReleaseError as error:
        ui.error(str(error))
        raise Exit(code=error.exit_code) from None


@task(help={"dist": _CHAIN_HELP["dist"], "keep-builds": "keep the per-target build folders dist/<triple>/"})
def clean(c: Context, dist: str | None = None, keep_builds: bool = False) -> None:
    """Delete dist/ (archives, checksums, signatures, SBOM, manifests, and binaries unless --keep-builds)."""
    from tooling import ui
    from tooling.artifacts import dist as artifact_dist
    from tooling.artifacts import steps as artifacts
    from tooling.config import load_config

    config = artifacts.with_dist(load_config(), dist)
    removed = artifact_dist.clean(config.dist_dir, keep_builds)
    ui.console.print(f"removed {len(removed)} entries from {config.dist_dir}")


# ----------------------------------------------------------------------------
# Versioning: bump, changelog, notes, commit-lint
# ----------------------------------------------------------------------------


def _versioning(call: Callable[[ReleaseConfig], int], dry_run: bool = False) -> None:
    """Run one tooling.bump command: a ReleaseError becomes its message and exit code, no traceback."""
    from invoke.exceptions import Exit

    from tooling import proc, ui
    from tooling.config import load_config
    from tooling.errors import ReleaseError

    proc.set_dry_run(dry_run)
    try:
        code = call(load_config())
    except ReleaseError as error:
        ui.error(str(error))
        raise Exit(code=error.exit_code) from None
    if code:
        raise Exit(code=code)


@task(
    help={
        "part": "major, minor or patch (on a prerelease, the part it finalises: 1.4.0-rc.1 --part minor → 1.4.0)",
        "pre": "make a prerelease: alpha, beta or rc (1.4.0-beta.1 --pre beta → 1.4.0-beta.2)",
        "auto": "derive the part from the conventional commits since the last stable tag",
        "dry-run": "show the next version and its release notes; change nothing",
        "cli-old": "binary of the previous release: its CLI is compared with --cli-new for breaking changes",
        "cli-new": "binary of this release (with --cli-old)",
    }
)
def bump(
    c: Context,
    part: str | None = None,
    pre: str | None = None,
    auto: bool = False,
    dry_run: bool = False,
    cli_old: str | None = None,
    cli_new: str | None = None,
) -> None:
    """Bump the version in Cargo.toml/Cargo.lock, update CHANGELOG.md, commit and tag v<version>."""
    from pathlib import Path

    from tooling.versioning.bump import run_bump

    _versioning(
        lambda config: run_bump(
            config,
            part=part,
            pre=pre,
            auto=auto,
            dry_run=dry_run,
            cli_old=Path(cli_old) if cli_old else None,
            cli_new=Path(cli_new) if cli_new else None,
        ),
        dry_run=dry_run,
    )


@task(
    help={
        "version": "the version whose section to (re)generate (default: Cargo.toml's version)",
        "stdout": "print the section instead of writing CHANGELOG.md",
    }
)
def changelog(c: Context, version: str | None = None, stdout: bool = False) -> None:
    """(Re)generate one version's CHANGELOG.md section from git history with git-cliff (idempotent)."""
    from tooling.versioning.commands import run_changelog

    _versioning(lambda config: run_changelog(config, version, stdout=stdout))


@task(
    help={
        "version": "the version (default: Cargo.toml's version; commits up to HEAD when it is not tagged yet)",
        "output": "write the notes to this file instead of printing them",
    }
)
def notes(c: Context, version: str | None = None, output: str | None = None) -> None:
    """Release notes of one version: highlights, changes, breaking changes, contributors, install, verify."""
    from pathlib import Path

    from tooling.versioning.commands import run_notes

    _versioning(lambda config: run_notes(config, version, Path(output) if output else None))


@task(name="commit-lint", help={"since": "check commits after this ref (default: the latest release tag)"})
def commit_lint(c: Context, since: str | None = None) -> None:
    """Check that the commits since the last release tag follow the conventional-commit rules."""
    from tooling.versioning.commands import run_commit_lint

    _versioning(lambda config: run_commit_lint(config, since))


@task(
    name="cli-diff",
    help={
        "old": "previous release: a binary path, or a git ref (tag) to build on the host",
        "new": "new binary path or git ref (default: build HEAD)",
        "write-guide": "write docs/migrations/<from>-to-<to>.md when breaking changes are found",
    },
)
def cli_diff(c: Context, old: str, new: str | None = None, write_guide: bool = False) -> None:
    """Compare the CLI (subcommands, flags) of two builds; fail on breaking changes without a major bump."""
    from tooling.versioning.commands import run_cli_diff

    _versioning(lambda config: run_cli_diff(config, old, new, write_guide=write_guide))


@task(name="check-tag", help={"tag": "the pushed tag, e.g. v1.2.3 (in CI: $GITHUB_REF_NAME)"})
def check_tag(c: Context, tag: str) -> None:
    """Release gate: only a tag v<semver> equal to Cargo.toml's version triggers a release."""
    from tooling.versioning.commands import run_check_tag

    _versioning(lambda config: run_check_tag(config, tag))


@task
def status(c: Context) -> None:
    """Show the configured crate, version and targets."""
    from tooling.config import load_config

    config = load_config()
    print(f"{config.name} {config.version} ({config.crate_manifest})")
    for target in config.targets:
        print(f"  {target.triple}")
