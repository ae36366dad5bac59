"""The quality gates of `invoke release`: each checks one thing and stops the release with why and the fix.

A gate is a function of the release run that returns a one-line detail for
the summary, or raises GateError. Gates only look: they run in a dry run
too (cargo writes nothing but its own target folder, outside the checkout).
The decisions are pure functions below; the gates gather the facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tooling import proc
from tooling.errors import GateError, ReleaseError
from tooling.versioning.branching import check_branch

if TYPE_CHECKING:
    from tooling.release.pipeline import ReleaseRun

SKIP_HINT = "or, if you accept the risk, skip this gate by name: invoke release --skip {gate}"


def gate_error(gate: str, error: ReleaseError) -> GateError:
    """`error` as the gate's verdict: its message and hint, plus how to skip the gate (pure)."""
    hint = "; ".join(part for part in (error.hint, SKIP_HINT.format(gate=gate)) if part)
    return GateError(f"gate {gate}: {error.message}", hint=hint)


def dirty_problem(dirty: Sequence[str]) -> str | None:
    if not dirty:
        return None
    shown = ", ".join(dirty[:8]) + (" ..." if len(dirty) > 8 else "")
    return f"the working tree has uncommitted changes: {shown}"


def has_changelog_section(text: str, version: str) -> bool:
    """Does the changelog hold a heading for `version` (`## [1.2.0]`, `## 1.2.0`, `## v1.2.0 - date`) (pure)?"""
    pattern = rf"^##\s+\[?v?{re.escape(version)}\]?(\s|$|\()"
    return re.search(pattern, text, flags=re.MULTILINE) is not None


def tag_problem(tag: str, tag_commit: str | None, head: str | None, crate_version: str, version: str) -> str | None:
    """Why the release tag and Cargo.toml do not agree on the release, or None (pure)."""
    if crate_version != version:
        return f"Cargo.toml says {crate_version}, the release is {version}"
    if tag_commit is None:
        return f"there is no tag {tag}"
    if tag_commit != head:
        return f"tag {tag} points at {tag_commit[:12]}, not at the release commit {str(head)[:12]}"
    return None


def cargo_test_argv(manifest: Path, extra: Sequence[str]) -> list[str]:
    return ["cargo", "test", "--locked", "--manifest-path", str(manifest), *extra]


def cargo_package_argv(manifest: Path) -> list[str]:
    return ["cargo", "package", "--locked", "--manifest-path", str(manifest)]


# --- the gates --------------------------------------------------------------------------------


def gate_clean_tree(run: ReleaseRun) -> str:
    problem = dirty_problem(run.project.repo.dirty_paths())
    if problem:
        raise GateError(
            f"gate clean-tree: {problem}",
            hint="commit or stash them: a release is built from exactly what the tag holds",
        )
    return "no uncommitted changes"


def branch_of_tagged_commit(containing: Sequence[str], main: str, release_pattern: str) -> str | None:
    """The branch a detached, tagged HEAD was released from (pure): main if it holds the commit, else a
    release branch that does; None when no branch that may release holds it.

    containing: the remote branches holding HEAD (CI checks a tag out detached, and fetches the branches).
    """
    from tooling.versioning.branching import release_branch_regex

    if main in containing:
        return main
    pattern = release_branch_regex(release_pattern)
    return next((name for name in containing if pattern.match(name)), None)


def gate_branch(run: ReleaseRun) -> str:
    branch = run.project.repo.current_branch()
    if branch is None and run.existing_tag:
        # CI checks the tag out detached: the branch is the one that holds the tagged commit.
        listed = proc.read(
            ["git", "branch", "--remotes", "--contains", "HEAD", "--format=%(refname:lstrip=3)"],
            cwd=run.project.repo.root,
            check=False,
        ).stdout.split()
        versioning = run.project.versioning
        branch = branch_of_tagged_commit(listed, versioning.main_branch, versioning.release_branches)
    try:
        check_branch(branch, run.current, run.new, run.project.versioning)
    except ReleaseError as error:
        raise gate_error("branch", error) from error
    return f"{branch} may release {run.new}"


def _cargo_gate(run: ReleaseRun, gate: str, argv: list[str], what: str) -> str:
    from tooling.build.plan import default_target_dir

    # The tool's own target folder (outside the checkout): the tree stays clean, and re-runs are warm.
    env = {"CARGO_TARGET_DIR": str(default_target_dir(run.config) / "gates")}
    result = proc.Runner().run(argv, effect=proc.Effect.READ, env=env, check=False, capture=True)
    if not result.ok:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise GateError(
            f"gate {gate}: `{' '.join(argv[:3])}` failed (exit {result.returncode}):\n{tail}",
            hint=f"fix the crate until {what}, " + SKIP_HINT.format(gate=gate),
        )
    return "passed"


def gate_cargo_test(run: ReleaseRun) -> str:
    argv = cargo_test_argv(run.config.crate_manifest, run.config.gates.get("test-args", ()))
    return _cargo_gate(run, "cargo-test", argv, "`cargo test --locked` passes")


def gate_cargo_package(run: ReleaseRun) -> str:
    argv = cargo_package_argv(run.config.crate_manifest)
    return _cargo_gate(run, "cargo-package", argv, "`cargo package --locked` packages and builds it")


def gate_deny(run: ReleaseRun) -> str:
    from tooling.release.deny import check_dependencies

    return check_dependencies(run.config, proc.Runner())


def gate_breaking(run: ReleaseRun) -> str:
    """The CLI surface and the commits since the previous release against the version's kind of bump."""
    from tooling.release.actions import breaking_facts
    from tooling.versioning.bump import breaking_gate
    from tooling.versioning.cli_surface import breaking_changes

    previous, commits, changes = breaking_facts(run)
    if previous is None:
        return "first release: nothing to compare"
    try:
        breaking_gate(previous.version, run.new, commits, changes, run.project.versioning.acknowledged_breaking)
    except ReleaseError as error:
        raise gate_error("breaking", error) from error
    breaking = len(breaking_changes(changes)) + sum(1 for commit in commits if commit.breaking)
    return f"{len(changes)} CLI changes since {previous.name}, {breaking} breaking; allowed for {run.new}"


def gate_version(run: ReleaseRun) -> str:
    """The release tag and Cargo.toml agree (in a dry run: Cargo.toml of the rehearsal checkout)."""
    repo = run.project.repo
    crate_version = run.config.version
    if run.dry_run:
        if crate_version != str(run.new):
            raise GateError(f"gate version: Cargo.toml says {crate_version}, the release is {run.new}")
        return f"Cargo.toml says {crate_version} (dry run: no tag made)"
    problem = tag_problem(run.tag, repo.commit_sha(run.tag), repo.commit_sha("HEAD"), crate_version, str(run.new))
    if problem:
        raise GateError(
            f"gate version: {problem}",
            hint="release from the commit `invoke bump` tagged, or let `invoke release --bump` make both",
        )
    return f"{run.tag} and Cargo.toml agree"


def gate_changelog(run: ReleaseRun) -> str:
    path = run.project.changelog_path
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if not has_changelog_section(text, str(run.new)):
        raise GateError(
            f"gate changelog: {run.project.in_repo(path)} has no section for {run.new}",
            hint=f"run `invoke changelog --version {run.new}` and commit it, " + SKIP_HINT.format(gate="changelog"),
        )
    return f"{run.project.in_repo(path)} has {run.new}"


def gate_regression(run: ReleaseRun) -> str:
    """Size and start-up time of this machine's binaries against the previous release's."""
    from tooling.build.regression import run_regression_gate

    baseline = run.regression_baseline()
    if baseline is None:
        return "first release: nothing to compare"
    try:
        run_regression_gate(run.config, baseline=baseline)
    except ReleaseError as error:
        raise gate_error("regression", error) from error
    return f"within the limits against {baseline.name}"
