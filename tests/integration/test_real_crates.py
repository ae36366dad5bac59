"""Real builds of small crates shaped like real-world CLIs (tests/fixtures/<name>).

Each fixture crate is built through `python -m tooling build`, exactly as a
nox session runs it, with RELEASE_CONFIG pointing at a pyproject.toml written
for it in a temporary folder. Every build happens once per test run and is
shared by the tests that look at it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling.build.requirement import version_numbers
from tooling.build.toolchain import probe_system
from tooling.manifest import read

pytestmark = pytest.mark.integration

FIXTURES = ROOT / "tests" / "fixtures"
HOST = "x86_64-unknown-linux-gnu"
DEBIAN_RUSTC = Path("/usr/bin/rustc")


@dataclass(frozen=True)
class Run:
    """One `python -m tooling <command>` over a fixture crate."""

    result: subprocess.CompletedProcess[str]
    dist: Path

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr


def write_config(folder: Path, fixture: str, table: str = "") -> Path:
    """A pyproject.toml whose [tool.release] ships `fixture`; extra TOML lines in `table`."""
    config = folder / "pyproject.toml"
    config.write_text(
        f'[tool.release]\ncrate = "{FIXTURES / fixture / "Cargo.toml"}"\ntargets = ["{HOST}"]\n{table}',
        encoding="utf-8",
    )
    return config


def run_tooling(config: Path, dist: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tooling <args>` with this fixture's configuration, as a nox session runs it."""
    env = {**os.environ, "RELEASE_CONFIG": str(config), "RELEASE_DIST_DIR": str(dist)}
    # cargo-zigbuild is installed beside this Python, which need not be on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "tooling", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Run]:
    """Build a fixture crate for the host target the first time a test asks (keyed by fixture and extra config)."""
    runs: dict[tuple[str, str], Run] = {}

    def get(fixture: str, table: str = "") -> Run:
        key = (fixture, table)
        if key not in runs:
            for tool in ("cargo", "rustc"):
                require_tool(tool, "building the fixture crates")
            folder = tmp_path_factory.mktemp(fixture)
            dist = folder / "dist"
            config = write_config(folder, fixture, table)
            runs[key] = Run(run_tooling(config, dist, "build", "--target", HOST), dist)
        return runs[key]

    return get


def debian_rustc_196() -> None:
    """Skip (fail under CI) unless this machine has the two rustcs the toolchain choice is about."""
    facts = probe_system()
    versions = {str(i.rustc): i.version for i in facts.installs}
    if versions.get(str(DEBIAN_RUSTC), "").startswith("1.96") and any(
        i.rustup_toolchain and (version_numbers(i.version) or (0, 0, 0)) < (1, 96, 0) for i in facts.installs
    ):
        return
    require_tool("/nonexistent/rustc-1.96-and-rustup-1.95", f"needs Debian's rustc 1.96 and rustup 1.95: {versions}")


# --- the crate's rust-version chooses the rustc -------------------------------------------


def test_rust_version_above_rustups_default_builds_with_debians_rustc(
    fixture_build: Callable[[str, str], Run],
) -> None:
    debian_rustc_196()
    run = fixture_build("needs-rust-196", "")
    assert run.result.returncode == 0, run.output[-4000:]
    manifest = read(run.dist / HOST / "manifest.json")
    [entry] = manifest.artifacts
    toolchain = entry.facts["toolchain"]
    assert f"rustc 1.96.0 at {DEBIAN_RUSTC}" in toolchain
    assert "meets rust-version 1.96 (Cargo.toml)" in toolchain
    assert "ruled out: rustc 1.95.0 (rustup " in toolchain
    # The binary really runs and says what it is.
    shipped = run.dist / HOST / "needs196"
    assert subprocess.run([shipped, "--version"], capture_output=True, text=True, check=True).stdout.startswith(
        "needs-rust-196 0.3.1"
    )


def test_check_shows_the_choice_and_its_reason(tmp_path: Path) -> None:
    debian_rustc_196()
    config = write_config(tmp_path, "needs-rust-196")
    result = run_tooling(config, tmp_path / "dist", "check")
    assert result.returncode == 0, result.stderr
    text = " ".join((result.stdout + result.stderr).split())
    assert "rust-version 1.96" in text
    assert "1.96.0" in text


def test_a_toolchain_file_no_rustc_meets_names_the_fix(tmp_path: Path) -> None:
    """rust-toolchain.toml asking for a release nobody installed: one message, the versions found, the fix."""
    require_tool("cargo", "asking cargo about the crate")
    crate = tmp_path / "crate"
    shutil.copytree(FIXTURES / "needs-rust-196", crate)
    (crate / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.80.0"\n', encoding="utf-8")
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.release]\ncrate = "{crate / "Cargo.toml"}"\ntargets = ["{HOST}"]\n', encoding="utf-8")
    result = run_tooling(config, tmp_path / "dist", "build", "--target", HOST)
    assert result.returncode == 4, result.stderr
    assert "channel 1.80.0" in result.stderr
    assert "rustup toolchain install 1.80.0" in result.stderr
    assert "Traceback" not in result.stderr
