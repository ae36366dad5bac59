"""Shared test helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT.parent / "shared" / "schemas"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str, why: str = "") -> str:
    """Path of `name`; under CI=true a missing tool fails the test, elsewhere it skips."""
    path = shutil.which(name) or (name if Path(name).is_file() else None)
    if path:
        return path
    message = f"{name} is not installed" + (f" ({why})" if why else "")
    if in_ci():
        pytest.fail(message + "; CI must install it (.ci/run)")
    pytest.skip(message)


def require_schemas() -> Path:
    """../shared/schemas; may only be missing outside CI."""
    if SCHEMAS.is_dir():
        return SCHEMAS
    if in_ci():
        pytest.fail(f"{SCHEMAS} is missing; CI runs with shared/ beside the clone")
    pytest.skip(f"{SCHEMAS} is absent on this machine")


# --- the real cross-builds, once per test run, shared by integration and e2e tests ---

BUILDABLE_HERE = (
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-gnu",
)


def run_nox(
    session: str, dist: Path, *extra: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`nox -s <session>` exactly as a developer runs it, with dist/ redirected."""
    env = {**os.environ, "RELEASE_DIST_DIR": str(dist), **(env_extra or {})}
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


@pytest.fixture(scope="session")
def package_dist(cross_dist: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/ of `invoke package --unsigned` for every target built here, every channel on: a complete release.

    The release is of the targets this machine builds (named with --target; the
    MSVC one is built on a Windows runner), so its plan holds exactly them. The
    sample's pyproject.toml turns all nine package channels and the install
    scripts on, so dist/packages/<channel>/ holds each channel's files, made by
    the real tools.
    """
    builds = [cross_dist(triple) for triple in BUILDABLE_HERE]
    dist = tmp_path_factory.mktemp("packaged") / "dist"
    program = shutil.which("invoke") or str(Path(sys.executable).parent / "invoke")
    argv = [program, "package", "--dist", str(dist), "--unsigned"]
    for triple, build in zip(BUILDABLE_HERE, builds, strict=True):
        argv += ["--target", triple, "--prebuilt", str(build)]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"invoke package failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    )
    return dist
