"""`python -m tooling doctor --all` on this machine: it names every target and tool, and installs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling import targets
from tooling.build.toolchain import NO_RUSTUP_ADD_ENV

pytestmark = pytest.mark.integration

Snapshot = dict[str, tuple[int, int]]
REQUIRED = ("git", "gpg", "minisign", "qemu-aarch64")  # .ci/install-deps installs them


def rustlib_snapshot() -> Snapshot:
    """(mtime_ns, size) of everything under each rustup toolchain's lib/rustlib, two levels deep.

    `rustup target add` creates lib/rustlib/<triple>/ and rewrites the
    `components` and manifest files there, so any install shows up here.
    """
    rustup_home = Path(os.environ.get("RUSTUP_HOME", Path.home() / ".rustup"))
    snapshot: Snapshot = {}
    for rustlib in sorted(rustup_home.glob("toolchains/*/lib/rustlib")):
        for entry in [rustlib, *rustlib.iterdir(), *(p for d in rustlib.iterdir() if d.is_dir() for p in d.iterdir())]:
            stat = entry.lstat()
            snapshot[str(entry)] = (stat.st_mtime_ns, stat.st_size)
    return snapshot


def test_doctor_all_names_every_target_and_tool_and_installs_nothing() -> None:
    present = {tool: require_tool(tool, "the doctor must report it found") for tool in REQUIRED}
    # Without the switch the doctor plans `rustup target add`: it must still not run it.
    env = {key: value for key, value in os.environ.items() if key != NO_RUSTUP_ADD_ENV}
    before = rustlib_snapshot()
    result = subprocess.run(
        [sys.executable, "-m", "tooling", "doctor", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert rustlib_snapshot() == before, "doctor changed a rustup toolchain"
    assert "rustup target add --toolchain" not in "\n".join(
        line for line in output.splitlines() if line.startswith("+ ")
    ), "doctor ran rustup target add"
    for target in targets.all_targets():
        assert target.triple in output
    for tool in ("rust std", "gpg", "minisign", "qemu-aarch64", "wine", "git-cliff", "zig", "cargo-zigbuild"):
        assert tool in output, f"{tool} not named:\n{output}"
    assert "(every target)" in output
    for tool, path in present.items():
        row = next(line for line in output.splitlines() if f"│ {tool} " in line)
        assert Path(path).name in row and "missing" not in row, row


def test_doctor_strict_fails_only_on_missing_tools() -> None:
    """--strict exits with ToolchainError's code exactly when a row says missing."""
    from tooling.errors import ToolchainError

    result = subprocess.run(
        [sys.executable, "-m", "tooling", "doctor", "--all", "--strict"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    has_missing = any(" missing " in line for line in output.splitlines() if line.startswith("│"))
    assert result.returncode == (ToolchainError.exit_code if has_missing else 0), output
