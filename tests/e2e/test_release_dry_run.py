"""`invoke release --dry-run` on this repository: every step completes, and nothing leaves the machine.

The run happens in a clone of this repository's HEAD (the dry run needs a clean tree and commits its
rehearsal in a worktree of the clone), building in the cargo target folder the other tests of the
sample warmed (the `package_dist` fixture built every target there first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling.build.plan import default_target_dir
from tooling.config import load_config

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

INVOKE = str(Path(sys.executable).parent / "invoke")


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_a_dry_run_of_this_repository_completes_every_step_and_changes_nothing(
    package_dist: Path, tmp_path: Path
) -> None:
    for tool in ("git", "cargo", "cargo-deny", "git-cliff", "dpkg"):
        require_tool(tool)
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(ROOT), str(clone), cwd=tmp_path)
    head = git("rev-parse", "HEAD", cwd=clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "RELEASE_"))}
    env["CARGO_TARGET_DIR"] = str(default_target_dir(load_config(ROOT, {})))
    done = subprocess.run([INVOKE, "release", "--dry-run", "--json"], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=1500, check=False)  # fmt: skip
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-8000:]}"
    report = json.loads(done.stdout[done.stdout.index("{") :])
    steps = {step["name"]: step for step in report["steps"]}
    assert report["result"] == "released" and report["dry_run"] is True
    assert {name: step["status"] for name, step in steps.items()} == dict.fromkeys(steps, "done")
    order = list(steps)
    assert (order[0], order[-1]) == ("preflight", "announce")
    version = report["version"]
    assert version != load_config(ROOT, {}).version, "the dry run rehearses the next version"

    # What stays on this machine was done for real, with the new version built into the binaries ...
    dist = clone / "dist"
    host = dist / "x86_64-unknown-linux-gnu" / "crcsum"
    printed = subprocess.run([str(host), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"crcsum {version}" in printed
    assert (dist / "SHA256SUMS").is_file() and (dist / "announce" / "post.txt").is_file()
    assert "installs ran and their binaries passed" in steps["install-test"]["detail"]
    # ... and what would leave it was only described.
    assert steps["push"]["detail"].startswith("would push main and v")
    assert steps["publish-github"]["detail"].startswith(f"would create v{version} with ")
    assert "rehearsed in a worktree, no tag made" in steps["bump"]["detail"]
    # The checkout is as it was: no commit, no tag, no leftover worktree, Cargo.toml unchanged.
    assert git("rev-parse", "HEAD", cwd=clone) == head
    assert git("tag", cwd=clone) == ""
    assert git("status", "--porcelain", "--untracked-files=no", cwd=clone) == ""
    assert len(git("worktree", "list", cwd=clone).splitlines()) == 1
