"""Every entry point ends through the one error boundary: a message, a hint, the documented exit code.

Each invoke task and each nox session that reads the configuration is run
for real against a broken [tool.release]; none may print a traceback, and each
must exit with ConfigError's code. Messages are printed literally, a closed
pipe ends quietly, and on GitHub Actions errors are also annotations.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tooling.errors import BROKEN_PIPE_EXIT, ConfigError

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
# Required arguments of tasks that have them; every other task runs bare.
TASK_ARGS = {
    "cli-diff": ["--old", "v0.0.1"],
    "check-tag": ["--tag", "v0.1.0"],
    "backport": ["--commit", "HEAD"],
    "promote": ["--tag", "v0.2.0-beta.1"],
}
# nox sessions that do not read [tool.release] (quality gates and the benchmarks).
SESSIONS_WITHOUT_CONFIG = {"tests", "lint", "typecheck", "bench"}
# Arguments of sessions that need some (after nox's `--`).
SESSION_ARGS: dict[str, list[str]] = {}


@pytest.fixture(scope="module")
def broken_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pyproject.toml whose [tool.release] has a misspelt key."""
    folder = tmp_path_factory.mktemp("broken")
    path = folder / "pyproject.toml"
    path.write_text('[tool.release]\ncrate = "Cargo.toml"\nglibcc = "2.17"\n', encoding="utf-8")
    return path


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("NOX_CURRENT_SESSION", None)
    env.pop("GITHUB_ACTIONS", None)
    return env


def invoke_tasks() -> list[str]:
    listing = subprocess.run(
        [str(BIN / "invoke"), "--list", "--list-format", "json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [entry["name"] for entry in json.loads(listing.stdout)["tasks"]]


def nox_sessions() -> list[str]:
    """Every session of `nox -l` (its JSON form lists only the default ones)."""
    listing = subprocess.run(
        [sys.executable, "-m", "nox", "--list"], cwd=ROOT, capture_output=True, text=True, check=True, env=environment()
    )
    return [line[2:].split(" -> ")[0] for line in listing.stdout.splitlines() if line[:2] in ("* ", "- ")]


def run_broken(argv: list[str], broken_config: Path) -> subprocess.CompletedProcess[str]:
    """`argv` run in this project with RELEASE_CONFIG pointing at the broken configuration."""
    env = environment(RELEASE_CONFIG=str(broken_config))
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600, check=False)


def assert_config_failure(result: subprocess.CompletedProcess[str], what: str) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, f"{what} printed a traceback:\n{output[-3000:]}"
    assert result.returncode == ConfigError.exit_code, f"{what} exited {result.returncode}:\n{output[-3000:]}"
    assert "unknown key tool.release.glibcc" in output, output[-3000:]
    assert "did you mean 'glibc'?" in output


def test_every_invoke_task_reports_a_config_mistake_with_its_code(broken_config: Path) -> None:
    tasks = invoke_tasks()
    assert {"build", "package", "verify", "clean", "bump", "notes", "status"} <= set(tasks)
    for name in tasks:
        result = run_broken([str(BIN / "invoke"), name, *TASK_ARGS.get(name, [])], broken_config)
        assert_config_failure(result, f"invoke {name}")


def test_every_nox_session_that_reads_the_config_reports_it_with_its_code(broken_config: Path) -> None:
    sessions = [s for s in nox_sessions() if s not in SESSIONS_WITHOUT_CONFIG]
    assert "build-x86_64-unknown-linux-gnu" in sessions and "doctor" in sessions and "commit-lint" in sessions
    for name in sessions:
        given = ["--", *SESSION_ARGS[name]] if name in SESSION_ARGS else []
        argv = [sys.executable, "-m", "nox", "-s", name, *given]
        assert_config_failure(run_broken(argv, broken_config), f"nox -s {name}")


def test_python_m_tooling_reports_it_too(broken_config: Path) -> None:
    for command in (["build"], ["doctor"], ["ci-matrix"], ["--dry-run", "build"]):
        result = run_broken([sys.executable, "-m", "tooling", *command], broken_config)
        assert_config_failure(result, f"python -m tooling {' '.join(command)}")


def test_github_actions_gets_an_error_annotation(broken_config: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tooling", "ci-matrix"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**environment(RELEASE_CONFIG=str(broken_config)), "GITHUB_ACTIONS": "true"},
    )
    assert result.returncode == ConfigError.exit_code
    assert "::error::unknown key tool.release.glibcc%0Ahint: did you mean 'glibc'?" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "tooling", "targets", "--format", "json"],
        [str(BIN / "invoke"), "status"],
        [str(BIN / "invoke"), "--list"],
    ],
    ids=["python -m tooling", "invoke task", "invoke --list"],
)
def test_a_closed_pipe_ends_quietly(argv: list[str]) -> None:
    """The reader is gone before the first write (as with `| head` on a long listing): no traceback."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(argv, cwd=ROOT, stdout=writer, stderr=subprocess.PIPE, text=True, env=environment())
    finally:
        os.close(writer)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == BROKEN_PIPE_EXIT
