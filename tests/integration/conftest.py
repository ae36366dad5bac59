"""Fixtures that run the real build once per test run and share the results."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool

BUILDABLE_HERE = (
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-gnu",
)


def run_nox(session: str, dist: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`nox -s <session>` exactly as a developer runs it, with dist/ redirected."""
    env = {**os.environ, "RELEASE_DIST_DIR": str(dist)}
    env.pop("NOX_CURRENT_SESSION", None)
    return subprocess.run(
        [sys.executable, "-m", "nox", "-s", session, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def cross_dist(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Build a target through its nox session the first time a test asks; return dist/<triple>."""
    dist = tmp_path_factory.mktemp("dist")
    built: dict[str, Path] = {}
    failures: dict[str, str] = {}

    def get(triple: str) -> Path:
        if triple in failures:
            pytest.fail(failures[triple])
        if triple not in built:
            for tool in ("cargo", "rustc"):
                require_tool(tool, "building the sample crate")
            result = run_nox(f"build-{triple}", dist)
            if result.returncode != 0:
                failures[triple] = (
                    f"nox -s build-{triple} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-6000:]}"
                )
                pytest.fail(failures[triple])
            built[triple] = dist / triple
        return built[triple]

    return get
