"""`invoke release`: one ordered list of named steps, run, timed and recorded in dist/release-state.json.

Each step checks, acts, and is checked again by what follows it: gates only
look, the artifact steps are the chain of `invoke package`, publishing
converges (tooling.publish). After every step the state is saved with the
sha256 of each file the step made, so `--resume` continues from the first
unfinished step, after hashing again everything it is about to trust.

A dry run does everything that stays on this machine: the gates, the bump
(in a throwaway worktree, so the checkout is untouched and the binaries carry
the new version), the build, archives, signatures, packages and install
tests; pushing, publishing and announcing only say what they would send.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import semver

from tooling import proc, ui
from tooling.config import ReleaseConfig
from tooling.errors import ConfigError, ReleaseError
from tooling.release import state as release_state
from tooling.release.state import DONE, FAILED, SKIPPED, ReleaseState, StepRecord
from tooling.versioning.project import Project
from tooling.versioning.versions import previous_release

BUMP_CHOICES = ("auto", "major", "minor", "patch")
PRE_CHOICES = ("alpha", "beta", "rc")


@dataclass(frozen=True)
class ReleaseOptions:
    """The command line of `invoke release`."""

    version: str | None = None
    bump: str | None = None  # auto, major, minor or patch
    pre: str | None = None  # alpha, beta or rc
    dry_run: bool = False
    resume: bool = False
    skip: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    from_artifacts: tuple[Path, ...] = ()
    unsigned: bool = False
    json: bool = False
    retry_budget: float = 600.0
    remote: str = "origin"
    # A promotion (tooling.release.promote): gates whose prerelease verdict stands (gate -> detail), and the
    # version its binaries print.
    carried: Mapping[str, str] = field(default_factory=dict)
    smoke_version: str | None = None


@dataclass(frozen=True)
class Step:
    """One named step: its action returns the line the summary shows."""

    name: str
    action: Callable[[ReleaseRun], str]
    gate: bool = False
    summary: str = ""


@dataclass
class ReleaseRun:
    """Everything the steps share: the config of the checkout being released, the versions, the state."""

    config: ReleaseConfig
    options: ReleaseOptions
    project: Project
    current: semver.Version  # Cargo.toml's version when the release started
    new: semver.Version
    state: ReleaseState
    environ: Mapping[str, str]
    scratch: Path
    existing_tag: bool = False  # HEAD already carries the release tag: nothing to bump
    original_config: ReleaseConfig | None = None  # the user's checkout, when a dry run rehearses elsewhere
    cli_binaries: tuple[Path, Path] | None = None  # previous release's binary and this one's (host builds)

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    @property
    def tag(self) -> str:
        return self.project.tag_name(self.new)

    @property
    def remote_runner(self) -> proc.Runner:
        """For what leaves this machine: pushes, uploads, posts (dry in a dry run)."""
        return proc.Runner(dry_run=self.dry_run)

    def previous_tag(self) -> str | None:
        previous = previous_release(self.project.tags(), self.new)
        return previous.name if previous else None

    def regression_baseline(self) -> Path | None:
        from tooling.release.actions import regression_baseline

        return regression_baseline(self)


def _gate(name: str, summary: str) -> Step:
    from tooling.release import gates

    return Step(name, getattr(gates, "gate_" + name.replace("-", "_")), gate=True, summary=summary)


def steps() -> tuple[Step, ...]:
    """Every step of a release, in order (built lazily: the modules behind them are imported on use)."""
    from tooling.release import actions

    return (
        Step("preflight", actions.preflight, summary="dist/, remote, token and tools are ready"),
        _gate("clean-tree", "no uncommitted changes"),
        _gate("branch", "the branch may release this version"),
        _gate("cargo-test", "cargo test --locked"),
        _gate("cargo-package", "cargo package --locked"),
        _gate("deny", "advisories, licenses and bans (cargo-deny)"),
        _gate("breaking", "CLI and commits against the kind of bump"),
        Step("bump", actions.bump, summary="version, changelog, commit and tag"),
        _gate("version", "tag and Cargo.toml agree"),
        _gate("changelog", "the changelog has the version"),
        Step("build", actions.chain("build"), summary="build, verify and smoke-run every target"),
        _gate("regression", "binary size and start-up time"),
        Step("archive", actions.chain("archive"), summary="reproducible archives"),
        Step("sbom", actions.chain("sbom"), summary="CycloneDX SBOM"),
        Step("checksum", actions.chain("checksum"), summary="install scripts and SHA256SUMS"),
        Step("packages", actions.chain("packages"), summary="package channels"),
        Step("sign", actions.chain("sign"), summary="GPG and minisign signatures"),
        Step("verify", actions.chain("verify"), summary="the release folder against plan, sums, signatures"),
        Step("install-test", actions.install_test, summary="install.sh and .deb, installed binaries run"),
        Step("push", actions.push, summary="release commit and tag to the remote"),
        Step("publish-github", actions.publish_github, summary="the GitHub release"),
        Step("publish-channels", actions.publish_channels, summary="taps, buckets, AUR, winget, feeds, crates"),
        Step("release-branch", actions.release_branch, summary="release/X.Y after a major or minor release"),
        Step("announce", actions.announce, summary="announcement, short post, webhook"),
    )


def step_names() -> tuple[str, ...]:
    return tuple(step.name for step in steps())


def check_step_names(names: Sequence[str], option: str, known: Sequence[str]) -> None:
    """ConfigError for a name that is no step (pure)."""
    for name in names:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, known, n=1)
            raise ConfigError(
                f"{option} {name!r}: there is no such step",
                hint=(f"did you mean {close[0]!r}? " if close else "") + "steps: " + ", ".join(known),
            )
    if option == "--skip" and "preflight" in names:
        raise ConfigError(
            "--skip preflight: the preflight cannot be skipped", hint="it only checks, it changes nothing"
        )


def chosen(step: Step, options: ReleaseOptions) -> bool:
    """Does this run carry out `step` (pure)? The preflight always runs."""
    if step.name == "preflight":
        return True
    if options.only:
        return step.name in options.only
    return step.name not in options.skip


def check_options(options: ReleaseOptions) -> None:
    """ConfigError for options that contradict each other (pure)."""
    known = step_names()
    check_step_names(options.skip, "--skip", known)
    check_step_names(options.only, "--only", known)
    if options.only and options.skip:
        raise ConfigError(
            "--only and --skip exclude each other", hint="name the steps to run, or the ones to leave out"
        )
    if options.bump is not None and options.bump not in BUMP_CHOICES:
        raise ConfigError(f"--bump {options.bump!r} is not a bump", hint="use --bump " + ", ".join(BUMP_CHOICES))
    if options.pre is not None and options.pre not in PRE_CHOICES:
        raise ConfigError(f"--pre {options.pre!r} is not a prerelease kind", hint="use --pre " + ", ".join(PRE_CHOICES))
    if options.version is not None and (options.bump or options.pre):
        raise ConfigError("--version names the release; --bump and --pre compute it", hint="pass one of them")
    if options.resume and options.dry_run:
        raise ConfigError("a dry run cannot be resumed", hint="run the dry run again: it keeps nothing to resume")


# --- running -------------------------------------------------------------------------------------


@contextmanager
def step_block(name: str) -> Iterator[None]:
    """A folded, timed block of output per step (::group:: on GitHub Actions)."""
    with ui.group(f"release: {name}"):
        yield


def run_steps(run: ReleaseRun, plan: Sequence[Step], save: Callable[[ReleaseState], None]) -> None:
    """Carry out `plan` in order, recording each step; a failing step is recorded, then its error raised."""
    dist = run.config.dist_dir
    for step in plan:
        if not chosen(step, run.options):
            if step.name in run.options.skip and not run.state.finished(step.name):
                run.state.put(StepRecord(step.name, SKIPPED, detail="skipped with --skip"))
                if step.name not in run.state.skipped_by_name:
                    run.state.skipped_by_name.append(step.name)
                save(run.state)
            continue
        if run.state.finished(step.name) and not run.options.only:
            continue
        if step.name in run.options.carried:
            run.state.put(StepRecord(step.name, DONE, detail=run.options.carried[step.name]))
            save(run.state)
            continue
        before = release_state.snapshot(dist) if dist.is_dir() else {}
        started = time.monotonic()
        try:
            with step_block(step.name):
                detail = step.action(run)
        except ReleaseError as error:
            first_line = (error.message.splitlines() or [""])[0]
            run.state.put(StepRecord(step.name, FAILED, round(time.monotonic() - started, 3), first_line))
            save(run.state)
            raise
        after = release_state.snapshot(run.config.dist_dir) if run.config.dist_dir.is_dir() else {}
        made = release_state.made_by_step(before, after)
        run.state.put(StepRecord(step.name, DONE, round(time.monotonic() - started, 3), detail, made))
        if step.name in run.state.skipped_by_name:
            run.state.skipped_by_name.remove(step.name)
        save(run.state)


def summary_rows(state: ReleaseState, order: Sequence[str]) -> list[list[str]]:
    """One row per step: name, status, seconds, files made, detail (pure)."""
    rows = []
    for name in order:
        step = state.record(name)
        if step is None:
            rows.append([name, "not run", "-", "-", ""])
            continue
        files = str(len(step.outputs)) if step.outputs else "-"
        rows.append([name, step.status, f"{step.seconds:.1f} s", files, step.detail])
    return rows


def json_report(state: ReleaseState, order: Sequence[str], error: ReleaseError | None) -> dict[str, object]:
    """What `--json` prints: the release, each step, and how it ended (pure)."""
    report: dict[str, object] = {
        "name": state.name,
        "version": state.version,
        "tag": state.tag,
        "commit": state.commit,
        "dry_run": state.dry_run,
        "skipped_by_name": list(state.skipped_by_name),
        "steps": [
            {
                "name": name,
                "status": record.status,
                "seconds": record.seconds,
                "detail": record.detail,
                "files": sorted(record.outputs),
            }
            if (record := state.record(name)) is not None
            else {"name": name, "status": "not run"}
            for name in order
        ],
        "result": "released" if error is None else "failed",
    }
    if error is not None:
        report["error"] = {
            "class": type(error).__name__,
            "exit_code": error.exit_code,
            "message": error.message,
            "hint": error.hint,
        }
    return report


def run_release(config: ReleaseConfig, options: ReleaseOptions, environ: Mapping[str, str] = os.environ) -> int:
    """`invoke release`: every step in order, the summary table at the end (and the JSON report with --json)."""
    from tooling.release.actions import open_run

    check_options(options)
    order = step_names()
    with (
        tempfile.TemporaryDirectory(prefix="release-run-") as scratch,
        open_run(config, options, environ, Path(scratch)) as (run, save),
    ):
        error: ReleaseError | None = None
        try:
            run_steps(run, steps(), save)
        except ReleaseError as caught:
            error = caught
        finally:
            title = f"{run.config.name} {run.new}: release" + (" (dry run)" if run.dry_run else "")
            ui.summary(title, ["step", "status", "time", "files", "detail"], summary_rows(run.state, order))
            if options.json:
                print(json.dumps(json_report(run.state, order, error), indent=2))
                sys.stdout.flush()
        if error is not None:
            raise error
    return 0
