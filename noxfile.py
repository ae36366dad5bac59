"""Developer and CI entry points of this repository: `nox -l` lists them.

The release sessions (build-<triple>, build, doctor, ci-matrix, commit-lint)
come from the installed tool, exactly as in every crate set up with
`python -m tooling init`; this file adds the tool's own quality gates
(tests, lint, typecheck) and the benchmark.
"""

from __future__ import annotations

import nox

import tooling.nox_sessions  # noqa: F401 - registers build-<triple>, build, doctor, ci-matrix, commit-lint

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests"]


def _install(session: nox.Session, extra: str = "") -> None:
    """The project with its pinned tools (ziglang, cargo-zigbuild, lief ...)."""
    session.install("-e", f".{extra}")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage of tooling/; fail under 90 % (pytest options after --).

    Every Python process the tests start is measured too: python -m tooling, invoke, and
    nox with its build sessions, which run in this session's environment, where coverage
    is installed. With options after -- (e.g. `-- tests/unit`) the run is usually a subset:
    the coverage table is printed but the 90 % gate is not applied.
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


@nox.session
def bench(session: nox.Session) -> None:
    """Archive + checksum against GNU tar | gzip + sha256sum, and uploads against sequential curl, side by side."""
    # The upload benchmark's server is the tests' local GitHub (OpenAPI-checked: .ci/install-openapi).
    _install(session, "[test]")
    session.run("python", "benchmarks/archive_bench.py")
    session.run("python", "benchmarks/upload_bench.py", "--rounds", "5")
