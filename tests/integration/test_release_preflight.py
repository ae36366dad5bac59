"""`invoke release` says what would fail, before it changes anything: the preflight's checks.

A throwaway repository of the sample crate whose configuration plans a target this machine cannot
build (MSVC) and a .deb of a libc the release does not build: the release stops at once, exit 17,
naming both, with no commit, no tag and no dist/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling.errors import GateError

pytestmark = pytest.mark.integration

GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


def test_a_release_that_would_fail_later_stops_in_the_preflight(tmp_path: Path) -> None:
    require_tool("git")
    repo = tmp_path / "crcsum"
    shutil.copytree(ROOT / "sample", repo, ignore=shutil.ignore_patterns("target"))
    (repo / "pyproject.toml").write_text(
        "[tool.release]\n"
        'crate = "Cargo.toml"\n'
        'targets = ["x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"]\n'
        "[tool.release.packages]\n"
        'channels = ["deb"]\n'
        "[tool.release.packages.deb]\n"
        'linux-libc = "musl"\n',
        encoding="utf-8",
    )
    (repo / "tasks.py").write_text("from tooling.invoke_tasks import namespace  # noqa: F401\n", encoding="utf-8")
    (repo / ".gitignore").write_text("/dist/\n", encoding="utf-8")
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=M", "-c", "user.email=m@example.invalid", "commit", "--quiet", "-m", "feat: crcsum",
        cwd=repo)  # fmt: skip
    git("remote", "add", "origin", str(tmp_path / "nowhere.git"), cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RELEASE_"))}
    env["GITHUB_TOKEN"] = "ghp_preflight_test_token"
    env["RELEASE_NO_RUSTUP_ADD"] = "1"
    done = subprocess.run([str(Path(sys.executable).parent / "invoke"), "release", "--bump", "minor"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == GateError.exit_code, done.stderr[-4000:]
    assert "preflight: the release would fail later" in done.stderr
    assert "x86_64-pc-windows-msvc is not built here" in done.stderr and "--from-artifacts" in done.stderr
    assert "deb: archives" in done.stderr
    assert "Traceback" not in done.stderr
    assert git("rev-parse", "HEAD", cwd=repo) == head and git("tag", cwd=repo) == ""
    assert not (repo / "dist").exists()
