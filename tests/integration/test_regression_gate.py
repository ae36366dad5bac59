"""The regression gate timing real programs: synthetic binaries compiled with gcc, no cargo.

One C program, compiled with different amounts of start-up work (a loop the
compiler must keep), calibrated on this machine so the baseline starts in
about WORKLOAD_SECONDS, and padded with bytes after the ELF image (which the
loader never reads) to exact sizes. The gate must trip on a binary doing 20%
more work, never on one doing 2% more, and trip on one 6% larger.

The gate runs with its default settings (15 pairs a round, 10% and 5%).
Measured with these binaries, 30 gate runs each, on a 2-core machine with
other work: the deciding increase of the same binary stayed within
-2.4%..+1.7%, of the 2% one within +0.3%..+3.5%, of the 20% one within
+17.4%..+20.6%, nearly always settled in one round (about 1 s a binary).
With the two cores oversubscribed (two busy loops, a process-spawning loop,
a writer syncing to disk; load 5), the wall-clock verdict stayed unsettled
in about half the comparisons, which the CPU time then decided: 0 of 25
trips for the same binary and for the 2% one, 25 of 25 for the 20% one, in
2 to 10 s a binary. This file passed 5 times in 5 s each, and 5 times under
that load (25 to 52 s each).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling import proc
from tooling.build.regression import run_regression_gate, time_command
from tooling.build.smoke import smoke_method
from tooling.build.toolchain import host_platform
from tooling.config import ReleaseConfig, build_config
from tooling.errors import CommandError, VerificationError
from tooling.targets import Target, all_targets

pytestmark = pytest.mark.integration

WORKLOAD_SECONDS = 0.025
PADDED_SIZE = 64 * 1024  # every synthetic binary is padded to this, so only the work differs

PROGRAM = r"""
#include <stdio.h>

/* Start-up work the optimiser must keep: WORK additions to a volatile. */
int main(void) {
    volatile unsigned long sink = 0;
    for (unsigned long i = 0; i < (unsigned long)(WORK); i++) sink += i;
    puts("synthetic 1.0.0");
    return 0;
}
"""


def host_gnu_target() -> Target:
    """The glibc Linux target of this machine: what gcc's binaries are."""
    host_os, host_arch = host_platform()
    for target in all_targets():
        if target.os == "linux" and target.libc == "gnu" and smoke_method(target, host_os, host_arch) == "native":
            return target
    pytest.skip(f"gcc's binaries here are no target of the table ({host_os} {host_arch})")


def compile_program(gcc: str, source: Path, out: Path, work: int) -> Path:
    proc.read([gcc, "-O1", f"-DWORK={work}UL", "-o", str(out), str(source)])
    return out


def pad(path: Path, size: int) -> Path:
    """Append zero bytes after the ELF image up to `size` bytes: the binary runs as before."""
    assert path.stat().st_size <= size
    with path.open("ab") as handle:
        handle.write(bytes(size - path.stat().st_size))
    return path


def median_cpu_seconds(binary: Path, runs: int = 9) -> float:
    """The median CPU time of `runs` runs: unlike wall-clock time, other work on the machine hardly moves it."""
    cpu = [time_command([str(binary)]).cpu for _ in range(runs + 1)][1:]  # the first run warms up
    assert all(seconds is not None for seconds in cpu), "Linux reports the CPU time of children"
    return statistics.median(seconds or 0.0 for seconds in cpu)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"base", "slower-2", "slower-20", "larger-6"}: the baseline and its variants, compiled and padded."""
    gcc = require_tool("gcc", "the regression gate's tests compile synthetic binaries")
    folder = tmp_path_factory.mktemp("synthetic")
    source = folder / "synthetic.c"
    source.write_text(PROGRAM)
    # Calibrate: the loop's cost per iteration on this machine, from a probe doing a known amount of work.
    probe_work = 2_000_000
    probe = median_cpu_seconds(compile_program(gcc, source, folder / "probe", probe_work))
    idle = median_cpu_seconds(compile_program(gcc, source, folder / "idle", 0))
    work = int(probe_work * WORKLOAD_SECONDS / max(probe - idle, 1e-4))
    binaries = {
        "base": compile_program(gcc, source, folder / "base", work),
        "slower-2": compile_program(gcc, source, folder / "slower-2", work * 102 // 100),
        "slower-20": compile_program(gcc, source, folder / "slower-20", work * 120 // 100),
    }
    for binary in binaries.values():
        pad(binary, PADDED_SIZE)
    binaries["larger-6"] = pad(Path(shutil.copy2(binaries["base"], folder / "larger-6")), PADDED_SIZE * 106 // 100)
    return binaries


@pytest.fixture
def gate_config(tmp_path: Path) -> ReleaseConfig:
    """A crate shipping the binary `synthetic` for this machine's glibc target; dist/ is tmp_path/dist."""
    crate = tmp_path / "crate"
    (crate / "src").mkdir(parents=True)
    (crate / "src" / "main.rs").write_text("fn main() {}\n")
    (crate / "Cargo.toml").write_text('[package]\nname = "synthetic"\nversion = "1.1.0"\nedition = "2021"\n')
    table = {
        "crate": "crate/Cargo.toml",
        "targets": [host_gnu_target().triple],
        "dist-dir": "dist",
        "regression": {"args": ["--version"]},
    }
    return build_config(table, tmp_path, {})


@pytest.fixture
def place(gate_config: ReleaseConfig, tmp_path: Path) -> Callable[[Path, Path], Path]:
    """place(binary, root): `binary` as root/<triple>/synthetic, as a build leaves it; returns root."""
    triple = gate_config.targets[0].triple

    def put(binary: Path, root: Path) -> Path:
        (root / triple).mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, root / triple / "synthetic")
        return root

    return put


def test_the_synthetic_workload_is_what_the_tests_assume(synthetic: dict[str, Path]) -> None:
    base = median_cpu_seconds(synthetic["base"])
    slower = median_cpu_seconds(synthetic["slower-20"])
    # Loose bands: the point is that the calibration worked, not a benchmark of this machine.
    assert WORKLOAD_SECONDS / 3 < base < WORKLOAD_SECONDS * 3
    assert slower > base * 1.12
    assert synthetic["larger-6"].stat().st_size == PADDED_SIZE * 106 // 100
    assert proc.read([str(synthetic["larger-6"]), "--version"]).stdout == "synthetic 1.0.0\n"
    # The CPU time of a run is the child's own, which never exceeds its wall-clock time (one thread).
    run = time_command([str(synthetic["base"])])
    assert run.cpu is not None and 0 < run.cpu <= run.wall + 0.002


def test_a_binary_that_fails_its_timed_run_is_a_command_error(
    synthetic: dict[str, Path], gate_config: ReleaseConfig, place: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    baseline = place(synthetic["base"], tmp_path / "previous")
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho 'unknown option --version' >&2\nexit 3\n")
    broken.chmod(0o755)
    place(broken, gate_config.dist_dir)
    with pytest.raises(CommandError, match=r"failed with exit code 3:\nunknown option --version"):
        run_regression_gate(gate_config, baseline=baseline)


def test_a_binary_20_percent_slower_trips_the_gate(
    synthetic: dict[str, Path], gate_config: ReleaseConfig, place: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    baseline = place(synthetic["base"], tmp_path / "previous")
    place(synthetic["slower-20"], gate_config.dist_dir)
    with pytest.raises(VerificationError) as caught:
        run_regression_gate(gate_config, baseline=baseline)
    assert caught.value.exit_code == 7
    assert "synthetic: start-up time medians" in caught.value.message
    assert "size" not in caught.value.message
    assert caught.value.hint is not None and "max-time-increase" in caught.value.hint


def test_a_binary_2_percent_slower_passes(
    synthetic: dict[str, Path], gate_config: ReleaseConfig, place: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    baseline = place(synthetic["base"], tmp_path / "previous")
    place(synthetic["slower-2"], gate_config.dist_dir)
    assert run_regression_gate(gate_config, baseline=baseline) == 0


def test_a_binary_6_percent_larger_trips_the_size_gate(
    synthetic: dict[str, Path], gate_config: ReleaseConfig, place: Callable[[Path, Path], Path], tmp_path: Path
) -> None:
    baseline = place(synthetic["base"], tmp_path / "previous")
    place(synthetic["larger-6"], gate_config.dist_dir)
    with pytest.raises(VerificationError) as caught:
        run_regression_gate(gate_config, baseline=baseline)
    size = f"{PADDED_SIZE:,} → {PADDED_SIZE * 106 // 100:,} bytes (+6.0%, limit 5%)"
    assert caught.value.message == f"regression gate: synthetic: size {size}"
    assert caught.value.hint is not None and "max-size-increase" in caught.value.hint


def test_the_baseline_may_be_the_previous_release_archive(
    synthetic: dict[str, Path],
    gate_config: ReleaseConfig,
    place: Callable[[Path, Path], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    top = f"synthetic-1.0.0-{gate_config.targets[0].triple}"
    archive = tmp_path / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(synthetic["base"], arcname=f"{top}/synthetic")
    place(synthetic["base"], gate_config.dist_dir)
    assert run_regression_gate(gate_config, baseline=archive) == 0
    shown = capsys.readouterr().err
    assert f"regression gate against {archive.name}" in shown and "ok" in shown


def test_invoke_regression_runs_the_gate_and_ends_with_its_exit_code(
    synthetic: dict[str, Path], tmp_path: Path, place: Callable[[Path, Path], Path], gate_config: ReleaseConfig
) -> None:
    """The task users and CI run: the configuration from RELEASE_CONFIG, a verdict as the exit code."""
    (tmp_path / "pyproject.toml").write_text(
        "[tool.release]\n"
        'crate = "crate/Cargo.toml"\n'
        f'targets = ["{gate_config.targets[0].triple}"]\n'
        'dist-dir = "dist"\n'
        "[tool.release.regression]\n"
        'args = ["--version"]\n'
    )
    baseline = place(synthetic["base"], tmp_path / "previous")
    place(synthetic["larger-6"], tmp_path / "dist")
    env = {**os.environ, "RELEASE_CONFIG": str(tmp_path / "pyproject.toml")}
    argv = [
        sys.executable,
        "-m",
        "invoke",
        "regression",
        "--baseline",
        str(baseline),
        "--current",
        str(tmp_path / "dist"),
    ]
    failed = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert failed.returncode == 7, failed.stderr
    assert "synthetic: size" in failed.stderr and "Traceback" not in failed.stderr
    place(synthetic["base"], tmp_path / "dist")
    passed = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert passed.returncode == 0, passed.stderr
