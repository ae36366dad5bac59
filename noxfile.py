"""Developer and CI entry points: `nox -l` lists them.

Sessions are thin: they install the pinned tools into their own environment
and call `python -m tooling`, where all logic lives. One `build-<triple>`
session exists for every row of tooling/targets.toml.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import nox
import nox.command

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT))

from tooling.targets import all_targets  # noqa: E402 - needs the path above

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests"]


def _install(session: nox.Session, extra: str = "") -> None:
    """The project with its pinned tools (ziglang, cargo-zigbuild, lief ...).

    While `nox -s tests` measures coverage, coverage sets COVERAGE_PROCESS_CONFIG for every
    child process; a build session a test starts then runs `python -m tooling` in its own
    venv, which measures itself only if coverage is installed there too. Ordinary builds
    stay without it.
    """
    requirements = ["-e", f".{extra}"]
    if "COVERAGE_PROCESS_CONFIG" in os.environ:
        pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
        test_extra = pyproject["project"]["optional-dependencies"]["test"]
        requirements += [pin for pin in test_extra if pin.startswith("coverage==")]
    session.install(*requirements)


def _run_tool(session: nox.Session, *argv: str) -> None:
    """Run one of our entry points; its documented exit code becomes nox's own (nox would say 1 for any failure)."""
    try:
        session.run(*argv, *session.posargs)
    except nox.command.CommandFailed as failed:
        # The tool has printed its message; the code tells CI which kind of failure it was.
        raise SystemExit(failed.return_code or 1) from None


def _tooling(session: nox.Session, *args: str) -> None:
    """`python -m tooling <args>` behind the error boundary."""
    _run_tool(session, "python", "-m", "tooling", *args)


def _register_build_session(triple: str) -> None:
    def build_one(session: nox.Session) -> None:
        _install(session)
        _tooling(session, "build", "--target", triple)

    build_one.__doc__ = f"Build, verify and smoke-run {triple} into dist/{triple}/."
    build_one.__name__ = f"build_{triple.replace('-', '_')}"
    nox.session(name=f"build-{triple}")(build_one)


for _target in all_targets():
    _register_build_session(_target.triple)


@nox.session(name="build")
def build_all(session: nox.Session) -> None:
    """Build every configured target this machine can build; list the rest with the reason."""
    _install(session)
    _tooling(session, "build", "--ready-only")


@nox.session
def doctor(session: nox.Session) -> None:
    """Every tool each target and step needs, found or missing, with its install command (read-only; -- --fix)."""
    _install(session)
    _tooling(session, "doctor", "--all")


@nox.session(name="ci-matrix")
def ci_matrix(session: nox.Session) -> None:
    """Print the GitHub Actions build matrix (JSON) from the release plan: every target not skipped."""
    _install(session)
    _tooling(session, "ci-matrix")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage of tooling/; fail under 90 % (pytest options after --).

    Every Python process the tests start (python -m tooling, invoke, nox build sessions)
    is measured too. With options after -- (e.g. `-- tests/unit`) the run is usually a
    subset: the coverage table is printed but the 90 % gate is not applied.
    """
    _install(session, "[test]")
    # Leftovers of an interrupted run would be combined into this one.
    session.run("coverage", "erase")
    try:
        session.run("coverage", "run", "-m", "pytest", *session.posargs)
    finally:
        # Report even when a test failed: the table shows what the run reached.
        session.run("coverage", "combine", "--quiet")
        gate = ["--fail-under=0"] if session.posargs else []
        session.run("coverage", "report", *gate)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting check."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over tooling/, noxfile.py and tasks.py."""
    _install(session, "[dev]")
    session.run("mypy")


@nox.session(name="commit-lint")
def commit_lint(session: nox.Session) -> None:
    """Check the commits since the last release tag against the conventional-commit rules."""
    _install(session)
    _run_tool(session, "invoke", "commit-lint")


@nox.session
def bench(session: nox.Session) -> None:
    """Archive + checksum speed against GNU tar | gzip + sha256sum on a 50 MB binary (options after --)."""
    _install(session)
    session.run("python", "benchmarks/archive_bench.py", *session.posargs)
