"""The nox sessions every crate gets: build-, setup- and smoke-<triple> per target, build, doctor, ci-matrix ...

A project's noxfile.py imports this module (the one `python -m tooling init`
writes is two lines), so this repository and every crate set up with `init`
run one code path, locally and in CI. Importing registers the sessions.

The sessions run in the Python environment that runs nox, where the tool and
its pinned helpers (ziglang, cargo-zigbuild, lief) are installed: nothing is
installed per session, so a warm build costs what cargo costs. Each session
runs `python -m tooling`, and its documented exit code becomes nox's own.
"""

from __future__ import annotations

import signal
import sys

import nox
import nox.command

from tooling.targets import all_targets


def _stop_on_sigterm(signum: int, frame: object) -> None:
    # nox stops its command on Ctrl-C but has no SIGTERM handling (a cancelled CI job sends SIGTERM):
    # as KeyboardInterrupt it reaches nox, which passes the stop on to the running tool.
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _stop_on_sigterm)


def run_tool(session: nox.Session, *argv: str) -> None:
    """Run one of the tool's entry points; its exit code becomes nox's (nox alone would say 1 for any failure)."""
    try:
        session.run(*argv, *session.posargs)
    except nox.command.CommandFailed as failed:
        # The tool has printed its message; the code tells CI which kind of failure it was.
        raise SystemExit(failed.return_code or 1) from None


def tooling(session: nox.Session, *args: str) -> None:
    """`python -m tooling <args>` with this environment's interpreter."""
    run_tool(session, sys.executable, "-m", "tooling", *args)


# The per-target sessions `<command>-<triple>`, each running `python -m tooling <command> --target <triple>`.
TARGET_SESSIONS = {
    "build": "Build, verify and smoke-run {triple} into dist/{triple}/.",
    "setup": "Install what building and smoke-running {triple} needs here (CI runners; apt-get, rustup).",
    "smoke": "Smoke-run the built binaries of dist/{triple}/ again here (CI: natively on its smoke-runner).",
}


def _register_target_session(command: str, triple: str) -> None:
    def run_one(session: nox.Session) -> None:
        tooling(session, command, "--target", triple)

    run_one.__doc__ = TARGET_SESSIONS[command].format(triple=triple)
    run_one.__name__ = f"{command}_{triple.replace('-', '_')}"
    nox.session(name=f"{command}-{triple}", venv_backend="none")(run_one)


for _target in all_targets():
    for _command in TARGET_SESSIONS:
        _register_target_session(_command, _target.triple)


@nox.session(name="setup-release", venv_backend="none")
def setup_release(session: nox.Session) -> None:
    """Install what the release job needs here: signers, package builders, the install tests' qemu (CI runners)."""
    tooling(session, "setup", "--release")


@nox.session(name="build", venv_backend="none")
def build_all(session: nox.Session) -> None:
    """Build every configured target this machine can build; list the rest with the reason."""
    tooling(session, "build", "--ready-only")


@nox.session(venv_backend="none")
def doctor(session: nox.Session) -> None:
    """Every tool each target and step needs, found or missing, with its install command (read-only; -- --fix)."""
    tooling(session, "doctor", "--all")


@nox.session(name="ci-matrix", venv_backend="none")
def ci_matrix(session: nox.Session) -> None:
    """Print the GitHub Actions build matrix (JSON) from the release plan: every target not skipped."""
    tooling(session, "ci-matrix")


@nox.session(name="commit-lint", venv_backend="none")
def commit_lint(session: nox.Session) -> None:
    """Check the commits since the last release tag against the conventional-commit rules."""
    run_tool(session, sys.executable, "-m", "invoke", "commit-lint")


@nox.session(venv_backend="none")
def regression(session: nox.Session) -> None:
    """Binary size and start-up time against the previous release (or `-- --baseline PATH|REF`)."""
    run_tool(session, sys.executable, "-m", "invoke", "regression")
