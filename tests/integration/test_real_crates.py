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
from tooling.targets import all_targets

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
            # --force: these runs are about what happens once cargo runs (absent-sys is otherwise skipped up front).
            runs[key] = Run(run_tooling(config, dist, "build", "--target", HOST, "--force"), dist)
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


# --- smoke defaults and per-target settings -----------------------------------------------

HOST_TABLE = f"""
[tool.release.target."{HOST}"]
features = ["extra"]
env = {{ FIXTURE_GREETING = "hello-from-env" }}
rustflags = ["--cfg", "fixture_flag"]
smoke-expect = ["{{name}}", "{{version}}", "extra-feature-on", "hello-from-env", "cfg-flag-on"]
"""


def test_default_smoke_accepts_a_multi_line_version_of_another_name(
    fixture_build: Callable[[str, str], Run],
) -> None:
    """`ft --version` prints "Fancy-Tool v0.4.2" and more lines: the crate's name in another case counts."""
    run = fixture_build("multiline-version", "")
    assert run.result.returncode == 0, run.output[-4000:]
    [entry] = read(run.dist / HOST / "manifest.json").artifacts
    assert entry.path == f"{HOST}/ft"
    assert entry.facts["smoke"] == "native: Fancy-Tool v0.4.2"


def test_target_table_features_env_and_rustflags_reach_the_build(fixture_build: Callable[[str, str], Run]) -> None:
    run = fixture_build("multiline-version", HOST_TABLE)
    assert run.result.returncode == 0, run.output[-4000:]
    printed = subprocess.run([run.dist / HOST / "ft", "--version"], capture_output=True, text=True, check=True).stdout
    assert "features: extra-feature-on" in printed
    assert "greeting: hello-from-env" in printed
    assert "cfg: cfg-flag-on" in printed


def test_a_smoke_expectation_the_output_lacks_fails_the_build_and_says_where_to_set_it(
    fixture_build: Callable[[str, str], Run],
) -> None:
    run = fixture_build("multiline-version", '\n[tool.release.target."x86_64-*"]\nsmoke-expect = ["{binary} 9.9"]\n')
    assert run.result.returncode != 0
    assert "smoke test (native) of ft for x86_64-unknown-linux-gnu failed: output lacks 'ft 9.9'" in run.output
    assert f'[tool.release.target."{HOST}"]' in run.output
    assert not (run.dist / HOST / "ft").exists(), "a binary that fails its smoke test never reaches dist/"


# --- the linkage check --------------------------------------------------------------------


def test_a_non_system_shared_library_fails_the_build_naming_it(fixture_build: Callable[[str, str], Run]) -> None:
    run = fixture_build("links-libz", "")
    assert run.result.returncode != 0, run.output[-3000:]
    assert "linkage: needs libz.so.1, which linux does not guarantee" in run.output
    assert "vendored" in run.output
    assert "allowed-libraries" in run.output
    assert not (run.dist / HOST / "links-libz").exists(), "an unverified binary never reaches dist/"


def test_an_allowed_library_passes_and_the_manifest_records_the_linkage(
    fixture_build: Callable[[str, str], Run],
) -> None:
    run = fixture_build("links-libz", f'\n[tool.release.target."{HOST}"]\nallowed-libraries = ["libz.so.*"]\n')
    assert run.result.returncode == 0, run.output[-4000:]
    [entry] = read(run.dist / HOST / "manifest.json").artifacts
    assert "libz.so.1" in entry.facts["linkage"]
    assert "libc.so.6" in entry.facts["linkage"]
    assert entry.facts["smoke"].startswith("native: links-libz 0.2.0 (zlib ")


# --- failures in a few lines ----------------------------------------------------------------


def test_a_missing_c_library_fails_in_a_few_lines_with_the_log_kept(fixture_build: Callable[[str, str], Run]) -> None:
    """absent-sys asks the linker for libabsentfixture, which no machine has, after 40 lines of build noise."""
    run = fixture_build("absent-sys", "")
    assert run.result.returncode == 6, run.output[-3000:]
    stderr = run.result.stderr
    report = stderr[stderr.index("error: building x86_64-unknown-linux-gnu failed") :]
    assert len(report.strip().splitlines()) <= 20, report
    assert 'unable to find dynamic system library "absentfixture"' in report
    assert "vendored/static feature" in report
    assert "Traceback" not in stderr
    log = Path(report.rsplit("full cargo output: ", 1)[1].split()[0])
    assert log.is_file()
    assert "absent-sys: probing for libabsentfixture, step 40" in log.read_text(encoding="utf-8")


def test_a_target_whose_native_dependency_will_fail_is_skipped_up_front(tmp_path: Path) -> None:
    """absent-sys asks pkg-config for a library nothing provides: the plan skips the target, build runs no cargo."""
    require_tool("cargo", "resolving the dependency graph")
    config = write_config(tmp_path, "absent-sys")
    checked = run_tooling(config, tmp_path / "dist", "check")
    assert checked.returncode == 0, checked.stderr
    text = checked.stdout + checked.stderr
    plan_rows = [line for line in text.splitlines() if HOST in line and "skipped" in line]
    assert plan_rows, text
    assert "native dependencies" in plan_rows[0]

    built = run_tooling(config, tmp_path / "dist", "build", "--target", HOST)
    assert built.returncode == 4, built.stdout + built.stderr  # ToolchainError: nothing here can be built
    assert f"skipping {HOST}: native dependencies: absent-sys" in built.stderr
    assert "--force" in built.stderr
    assert "Compiling" not in built.stdout + built.stderr, "skipped up front: cargo never ran"
    assert "Traceback" not in built.stderr


def test_check_lists_the_links_crate_per_target_before_building(tmp_path: Path) -> None:
    require_tool("cargo", "resolving the dependency graph")
    config = tmp_path / "pyproject.toml"
    config.write_text(
        f'[tool.release]\ncrate = "{FIXTURES / "absent-sys" / "Cargo.toml"}"\n'
        f'targets = ["{HOST}", "aarch64-apple-darwin"]\n',
        encoding="utf-8",
    )
    result = run_tooling(config, tmp_path / "dist", "check")
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    assert "native dependencies, per target" in text
    rows = [line for line in text.splitlines() if "absent-sys 0.1.0" in line and "absentfixture" in line]
    assert len(rows) == 2, text  # one row per target
    assert not (tmp_path / "dist").exists(), "check builds nothing"


def test_check_names_openssl_sys_the_targets_and_the_vendored_remedy_without_building(tmp_path: Path) -> None:
    """A CLI on openssl-sys (from the crates registry): every target's row says openssl-sys and `vendored`."""
    require_tool("cargo", "resolving the dependency graph")
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.release]\ncrate = "{FIXTURES / "uses-openssl" / "Cargo.toml"}"\n', encoding="utf-8")
    result = run_tooling(config, tmp_path / "dist", "check")
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    rows = [line for line in text.splitlines() if "openssl-sys 0.9" in line]
    assert len(rows) == len(all_targets()), text  # one row per configured target ("*")
    assert all("vendored feature available but off" in row for row in rows), text
    assert "enable openssl-sys's `vendored` feature" in text
    assert "Compiling" not in text and not (tmp_path / "dist").exists(), "check builds nothing"
