"""The invoke tasks every crate gets: `invoke --list` shows them, `invoke --help <task>` explains one.

A project's tasks.py imports `namespace` from here (the one `python -m tooling
init` writes is two lines), so this repository and every crate set up with
`init` run one code path. Tasks are thin: they parse options and call the
modules beside this one, where all logic lives.
Every task runs behind the one error boundary (tooling.entry): a mistake is
one message and its documented exit code, never a traceback. Every task that
changes something takes --dry-run; invoke's own `--dry` means the same.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from tooling.entry import end_quietly_on_closed_pipe

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig
    from tooling.proc import Runner

DRY_RUN_HELP = "show the plan and what would change; change nothing (invoke's --dry does the same)"


def _guarded(action: Callable[[], int | None]) -> None:
    """Run `action` behind the error boundary; a non-zero code ends invoke with it."""
    from invoke.exceptions import Exit

    from tooling.entry import run_entry

    code = run_entry(action)
    if code:
        raise Exit(code=code)


def _runner(c: Context, dry_run: bool) -> Runner:
    """The runner every effect goes through: dry when --dry-run or invoke's --dry was given."""
    from tooling.proc import Runner

    return Runner(dry_run=dry_run or bool(c.config.run.dry))


def _config() -> ReleaseConfig:
    from tooling.config import load_config

    return load_config()


# ----------------------------------------------------------------------------
# Release artifacts: build, archive, sbom, checksum, packages, sign, package, verify, clean, merge-manifests
# ----------------------------------------------------------------------------

# Every chain task takes the same options, so `invoke package --target x` hands
# them down to build, archive, sbom, checksum and sign.
_CHAIN_HELP = {
    "dist": "artifact directory (default: tool.release.dist-dir, or $RELEASE_DIST_DIR)",
    "target": "triple or pattern (repeatable); default: every configured target (tool.release.targets)",
    "prebuilt": "a dist/<triple>/ folder from a CI build job, or a folder of them (repeatable); skips the build",
    "skip-build": "use the binaries already in dist/<triple>/ instead of building",
    "format": "archive format for Unix targets: tar.gz, tar.xz or tar.zst (default: tool.release.archive.unix)",
    "level": "compression level (default 6, as gzip): tar.gz, tar.xz, zip 0-9; tar.zst 1-19",
    "backend": "signer to use, gpg or minisign (repeatable); default: tool.release.sign.backends",
    "unsigned": "make no signatures (local trial runs)",
    "jobs": "targets archived in parallel (default: one per CPU)",
    "no-verify-signatures": "let package skip the gpg/minisign verification of the finished dist/",
    "allow-partial": "accept a dist/ that lacks some planned targets (local trials); extra files still fail",
    "force": "build targets whose native dependencies will fail here too (the plan skips them otherwise)",
    "dry-run": DRY_RUN_HELP,
}


def _chain_task(step: str, doc: str):  # type: ignore[no-untyped-def]
    """An invoke task running `step` of the artifact chain (after its prerequisites)."""

    def body(
        c: Context,
        dist: str | None = None,
        target: list[str] | None = None,
        prebuilt: list[str] | None = None,
        skip_build: bool = False,
        format: str | None = None,
        level: str | None = None,
        backend: list[str] | None = None,
        unsigned: bool = False,
        jobs: str | None = None,
        no_verify_signatures: bool = False,
        allow_partial: bool = False,
        force: bool = False,
        dry_run: bool = False,
    ) -> None:
        def action() -> None:
            from pathlib import Path

            from tooling.artifacts import steps
            from tooling.artifacts.archive import DEFAULT_LEVEL, check_format
            from tooling.config import archive_formats, check_compression_level, check_jobs

            config = steps.with_dist(_config(), dist)
            unix_format = check_format(format) if format else None
            # Checked before any work: one level goes to every archive format of the run.
            formats = archive_formats(config, steps.chosen_targets(config, tuple(target or ())), unix_format)
            options = steps.Options(
                targets=tuple(target or ()),
                prebuilt=tuple(Path(p).resolve() for p in prebuilt or ()),
                skip_build=skip_build,
                unix_format=unix_format,
                level=check_compression_level(DEFAULT_LEVEL if level is None else level, formats),
                backends=tuple(backend) if backend else None,
                unsigned=unsigned,
                jobs=check_jobs(jobs),
                check_signatures=not (no_verify_signatures or unsigned),
                allow_partial=allow_partial,
                force=force,
            )
            steps.run_step(step, steps.shared_context(config, options, _runner(c, dry_run)))

        _guarded(action)

    body.__doc__ = doc
    body.__name__ = step
    return task(body, name=step, help=_CHAIN_HELP, iterable=["target", "prebuilt", "backend"])


build = _chain_task(
    "build",
    "Build, verify and smoke-run every configured target this machine can build, or import prebuilt folders.",
)
archive = _chain_task("archive", "Reproducible archive per built target (runs build first).")
sbom = _chain_task("sbom", "CycloneDX SBOM of the crate's resolved dependencies (cargo metadata + Cargo.lock).")
checksum = _chain_task("checksum", "SHA256SUMS and <file>.sha256 for archives and SBOM (runs build, archive, sbom).")
packages = _chain_task(
    "packages",
    "Package-manager channels (tool.release.packages.channels) into dist/packages/<channel>/ (runs checksum).",
)
sign = _chain_task("sign", "GPG (.asc) and minisign (.minisig) signatures of SHA256SUMS and archives (runs packages).")
package = _chain_task(
    "package", "The whole release folder: build, archive, sbom, checksum, packages, sign, then verify and summarise."
)


@task(
    help={
        "dist": _CHAIN_HELP["dist"],
        "notes": "file with the release notes (default: rendered from git history, as `invoke notes`)",
        "replace": "replace assets already on the draft release that differ from dist/'s",
        "unsigned": "publish a dist/ made without signatures",
        "jobs": "uploads at once (default 4)",
        "retry-budget": "seconds one request may spend retrying faults before the run gives up (default 600)",
        "only": "run only this step: github or a channel of tool.release.publish.channels (repeatable)",
        "skip": "leave this step out (repeatable)",
        "dry-run": "run the read-only checks against GitHub and show what would be created and uploaded",
    },
    iterable=["only", "skip"],
)
def publish(
    c: Context,
    dist: str | None = None,
    notes: str | None = None,
    replace: bool = False,
    unsigned: bool = False,
    jobs: str | None = None,
    retry_budget: str | None = None,
    only: list[str] | None = None,
    skip: list[str] | None = None,
    dry_run: bool = False,
) -> None:
    """Publish the verified dist/: the GitHub release of the version's tag, then each channel (taps, AUR ...)."""

    def action() -> None:
        import os

        from tooling.artifacts import steps
        from tooling.config import check_jobs
        from tooling.publish.run import check_budget, read_notes, run_publish

        config = steps.with_dist(_config(), dist)
        run_publish(
            config,
            notes=read_notes(notes),
            replace=replace,
            unsigned=unsigned,
            jobs=check_jobs(jobs),
            runner=_runner(c, dry_run),
            environ=os.environ,
            budget_seconds=check_budget(retry_budget),
            only=tuple(only or ()),
            skip=tuple(skip or ()),
        )

    _guarded(action)


@task(
    name="binstall-metadata",
    help={"check": "change nothing; exit 1 when Cargo.toml's table differs", "dry-run": DRY_RUN_HELP},
)
def binstall_metadata(c: Context, check: bool = False, dry_run: bool = False) -> None:
    """Write [package.metadata.binstall] into the crate's Cargo.toml so cargo-binstall finds the release archives."""

    def action() -> int:
        from tooling.packagers.binstall import update_cargo_toml

        return update_cargo_toml(_config(), check=check, runner=_runner(c, dry_run))

    _guarded(action)


@task(
    help={
        "dist": _CHAIN_HELP["dist"],
        "no-signatures": "check files and checksums only, not the gpg/minisign signatures",
        "allow-partial": _CHAIN_HELP["allow-partial"],
    }
)
def verify(c: Context, dist: str | None = None, no_signatures: bool = False, allow_partial: bool = False) -> None:
    """Check dist/ against its release plan, manifest.json, SHA256SUMS, .sha256 files and signatures."""

    def action() -> None:
        from tooling import ui
        from tooling.artifacts import steps
        from tooling.artifacts import verify as dist_verify

        config = steps.with_dist(_config(), dist)
        settings = steps.settings_for(steps.ChainRun(config, steps.Options()))
        count = dist_verify.check_or_raise(config.dist_dir, settings, check_signatures=not no_signatures)
        steps.check_against_plan(config.dist_dir, steps.recorded_plan(config.dist_dir), allow_partial=allow_partial)
        ui.say(f"{config.dist_dir}: {count} artifacts match plan.json, manifest.json, checksums and signatures")

    _guarded(action)


@task(
    name="merge-manifests",
    help={
        "dist": _CHAIN_HELP["dist"],
        "input": "a partial manifest.json (repeatable); default: dist/*/manifest.json",
        "dry-run": DRY_RUN_HELP,
    },
    iterable=["input"],
)
def merge_manifests(c: Context, dist: str | None = None, input: list[str] | None = None, dry_run: bool = False) -> None:
    """Merge the build jobs' partial manifests into dist/manifest.json; conflicting entries fail."""

    def action() -> None:
        from pathlib import Path

        from tooling import ui
        from tooling.artifacts import dist as artifact_dist

        config = artifact_dist.with_dist(_config(), dist)
        merged = artifact_dist.merge_manifests(config.dist_dir, [Path(p) for p in input or ()], _runner(c, dry_run))
        ui.say(f"{config.dist_dir / 'manifest.json'}: {len(merged.artifacts)} artifacts")

    _guarded(action)


@task(
    help={
        "dist": _CHAIN_HELP["dist"],
        "keep-builds": "keep the per-target build folders dist/<triple>/",
        "dry-run": DRY_RUN_HELP,
    }
)
def clean(c: Context, dist: str | None = None, keep_builds: bool = False, dry_run: bool = False) -> None:
    """Delete dist/ (archives, checksums, signatures, SBOM, manifests, and binaries unless --keep-builds)."""

    def action() -> None:
        from tooling import ui
        from tooling.artifacts import dist as artifact_dist

        config = artifact_dist.with_dist(_config(), dist)
        runner = _runner(c, dry_run)
        removed = artifact_dist.clean(config.dist_dir, keep_builds, runner)
        verb = "would remove" if runner.dry_run else "removed"
        ui.say(f"{verb} {len(removed)} entries from {config.dist_dir}")

    _guarded(action)


# ----------------------------------------------------------------------------
# Versioning: bump, changelog, notes, commit-lint, cli-diff, check-tag
# ----------------------------------------------------------------------------


@task(
    help={
        "part": "major, minor or patch (on a prerelease, the part it finalises: 1.4.0-rc.1 --part minor → 1.4.0)",
        "pre": "make a prerelease: alpha, beta or rc (1.4.0-beta.1 --pre beta → 1.4.0-beta.2)",
        "auto": "derive the part from the conventional commits since the last stable tag",
        "dry-run": "show the next version and its release notes; change nothing (invoke's --dry does the same)",
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

    def action() -> int:
        from pathlib import Path

        from tooling.versioning.bump import run_bump

        return run_bump(
            _config(),
            part=part,
            pre=pre,
            auto=auto,
            dry_run=_runner(c, dry_run).dry_run,
            cli_old=Path(cli_old) if cli_old else None,
            cli_new=Path(cli_new) if cli_new else None,
        )

    _guarded(action)


@task(
    help={
        "version": "the version whose section to (re)generate (default: Cargo.toml's version; "
        "up to HEAD when it is not tagged yet)",
        "unreleased": "the version has no tag yet: the commits since the last release up to HEAD, titled with it",
        "stdout": "print the section instead of writing CHANGELOG.md",
        "dry-run": DRY_RUN_HELP,
    }
)
def changelog(
    c: Context, version: str | None = None, unreleased: bool = False, stdout: bool = False, dry_run: bool = False
) -> None:
    """(Re)generate one version's CHANGELOG.md section from git history with git-cliff (idempotent)."""

    def action() -> int:
        from tooling.versioning.commands import run_changelog

        return run_changelog(_config(), version, stdout=stdout, runner=_runner(c, dry_run), unreleased=unreleased)

    _guarded(action)


@task(
    help={
        "version": "the version (default: Cargo.toml's version; commits up to HEAD when it is not tagged yet)",
        "unreleased": "the version has no tag yet: the commits since the last release up to HEAD, titled with it",
        "output": "write the notes to this file instead of printing them",
        "dry-run": DRY_RUN_HELP,
    }
)
def notes(
    c: Context,
    version: str | None = None,
    unreleased: bool = False,
    output: str | None = None,
    dry_run: bool = False,
) -> None:
    """Release notes of one version: highlights, changes, breaking changes, contributors, install, verify."""

    def action() -> int:
        from pathlib import Path

        from tooling.versioning.commands import run_notes

        return run_notes(
            _config(), version, Path(output) if output else None, _runner(c, dry_run), unreleased=unreleased
        )

    _guarded(action)


@task(name="commit-lint", help={"since": "check commits after this ref (default: the latest release tag)"})
def commit_lint(c: Context, since: str | None = None) -> None:
    """Check that the commits since the last release tag follow the conventional-commit rules."""

    def action() -> int:
        from tooling.versioning.commands import run_commit_lint

        return run_commit_lint(_config(), since)

    _guarded(action)


@task(
    name="cli-diff",
    help={
        "old": "previous release: a binary path, or a git ref (tag) to build on the host",
        "new": "new binary path or git ref (default: build HEAD)",
        "write-guide": "write docs/migrations/<from>-to-<to>.md when breaking changes are found",
        "dry-run": DRY_RUN_HELP,
    },
)
def cli_diff(c: Context, old: str, new: str | None = None, write_guide: bool = False, dry_run: bool = False) -> None:
    """Compare the CLI (subcommands, flags) of two builds; fail on breaking changes without a major bump."""

    def action() -> int:
        from tooling.versioning.commands import run_cli_diff

        return run_cli_diff(_config(), old, new, write_guide=write_guide, runner=_runner(c, dry_run))

    _guarded(action)


@task(name="check-tag", help={"tag": "the pushed tag, e.g. v1.2.3 (in CI: $GITHUB_REF_NAME)"})
def check_tag(c: Context, tag: str) -> None:
    """Release gate: only a tag v<semver> equal to Cargo.toml's version triggers a release."""

    def action() -> int:
        from tooling.versioning.commands import run_check_tag

        return run_check_tag(_config(), tag)

    _guarded(action)


@task(
    help={
        "version": "the version to release (instead of --bump)",
        "bump": "auto (from the conventional commits; the default), major, minor or patch",
        "pre": "make a prerelease: alpha, beta or rc (it goes to the channels' beta tracks)",
        "dry-run": "do everything that stays on this machine (the bump in a throwaway worktree); "
        "push, publish and announce only show what they would send",
        "resume": "continue the release in dist/ from its first unfinished step, after re-checking what it made",
        "skip": "leave out this step (repeatable; a skipped gate is written into the release notes)",
        "only": "run only this step (repeatable), e.g. --only announce",
        "from-artifacts": "a CI build job's dist/<triple>/ folder, or a folder of them (repeatable): no build here",
        "unsigned": "make no signatures (a local trial)",
        "json": "print the steps and the result as JSON on stdout at the end",
        "retry-budget": "seconds one request may spend retrying faults (default 600)",
        "remote": "the git remote to push the release commit, tag and branch to (default origin)",
    },
    iterable=["skip", "only", "from_artifacts"],
)
def release(
    c: Context,
    version: str | None = None,
    bump: str | None = None,
    pre: str | None = None,
    dry_run: bool = False,
    resume: bool = False,
    skip: list[str] | None = None,
    only: list[str] | None = None,
    from_artifacts: list[str] | None = None,
    unsigned: bool = False,
    json: bool = False,
    retry_budget: str | None = None,
    remote: str = "origin",
) -> None:
    """The whole release: gates, bump and tag, build, artifacts, install tests, publish, announce (resumable)."""

    def action() -> int:
        from pathlib import Path

        from tooling.publish.run import check_budget
        from tooling.release.pipeline import ReleaseOptions, run_release

        options = ReleaseOptions(
            version=version,
            bump=bump,
            pre=pre,
            dry_run=dry_run or bool(c.config.run.dry),
            resume=resume,
            skip=tuple(skip or ()),
            only=tuple(only or ()),
            from_artifacts=tuple(Path(p) for p in from_artifacts or ()),
            unsigned=unsigned,
            json=json,
            retry_budget=check_budget(retry_budget),
            remote=remote,
        )
        return run_release(_config(), options)

    _guarded(action)


@task(
    help={
        "from": "the prerelease's release folder (default: dist/, which is then moved to dist-<prerelease>)",
        "rebuild": "build the commit again (the binaries then print the stable version) instead of promoting "
        "the prerelease's binaries",
        "resume": "continue an interrupted promotion from its first unfinished step",
        "dry-run": "do everything that stays on this machine; push, publish, announce only say what they would send",
        "unsigned": "the prerelease was made without signatures, and so is the release (a local trial)",
        "json": "print the steps and the result as JSON on stdout at the end",
        "remote": "the git remote to push the release commit, tag and branch to (default origin)",
    }
)
def promote(
    c: Context,
    tag: str,
    from_: str | None = None,
    rebuild: bool = False,
    resume: bool = False,
    dry_run: bool = False,
    unsigned: bool = False,
    json: bool = False,
    remote: str = "origin",
) -> None:
    """The stable release of a prerelease (e.g. v1.3.0-beta.2): its commit and verified binaries, nothing rebuilt."""

    def action() -> int:
        from pathlib import Path

        from tooling.release.promote import run_promote

        return run_promote(
            _config(),
            tag,
            source=Path(from_) if from_ else None,
            rebuild=rebuild,
            resume=resume,
            dry_run=dry_run or bool(c.config.run.dry),
            unsigned=unsigned,
            json_output=json,
            remote=remote,
        )

    _guarded(action)


@task(
    help={
        "commit": "the commit to bring onto the release branch (a fix already on the main branch)",
        "branch": "the release branch (default: the newest one, by version)",
        "dry-run": DRY_RUN_HELP,
    }
)
def backport(c: Context, commit: str, branch: str | None = None, dry_run: bool = False) -> None:
    """Cherry-pick a fix onto a release branch, with a Backported-from trailer (in a worktree; nothing pushed)."""

    def action() -> int:
        from tooling.release.branches import run_backport

        return run_backport(_config(), commit, branch=branch, dry_run=dry_run or bool(c.config.run.dry))

    _guarded(action)


@task(
    help={
        "baseline": "the previous release: its dist/ folder, a folder of its binaries, one of its archives, or a git "
        "ref (e.g. v1.4.0) whose binaries are built for this machine (default: the latest release tag before HEAD)",
        "current": "the new build: a dist/ folder, binaries or an archive (default: this checkout's binaries for "
        "this machine, built into dist/ first)",
    }
)
def regression(c: Context, baseline: str | None = None, current: str | None = None) -> None:
    """Binary regression gate: size and start-up time of the host's binaries against a previous release."""

    def action() -> int:
        from pathlib import Path

        from tooling import ui
        from tooling.build.baseline import build_current, resolve_baseline
        from tooling.build.regression import run_regression_gate

        config = _config()
        chosen = resolve_baseline(config, baseline)
        if chosen is None:
            ui.say(f"{config.name} has no earlier release to compare with: the regression gate has nothing to do")
            return 0
        return run_regression_gate(config, baseline=chosen, current=Path(current) if current else build_current(config))

    _guarded(action)


@task
def status(c: Context) -> None:
    """Show the configured crate, version and targets."""

    def action() -> None:
        config = _config()
        print(f"{config.name} {config.version} ({config.crate_manifest})")
        for target in config.targets:
            print(f"  {target.triple}")

    _guarded(action)


# The collection invoke loads from a project's tasks.py (`from tooling.invoke_tasks import namespace`).
namespace = Collection.from_module(sys.modules[__name__])

# `invoke --list | head` closes the pipe while invoke itself prints.
end_quietly_on_closed_pipe()
