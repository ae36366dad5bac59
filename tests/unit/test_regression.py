"""The regression gate without running anything: settings, run order, statistics, the decision, the table,
and the forms a baseline may take (fake binaries, an injected clock)."""

from __future__ import annotations

import io
import math
import tarfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tooling.build import regression
from tooling.build.regression import (
    NEW,
    NOISE_FLOOR_SECONDS,
    OLD,
    SIZE,
    TIME,
    Limits,
    Measure,
    Run,
    judge,
    parse_limits,
    parse_percent,
    parse_runs,
    run_order,
    run_regression_gate,
)
from tooling.config import ReleaseConfig, build_config
from tooling.errors import ConfigError, PlanError, ToolchainError, VerificationError
from tooling.targets import get_target

GNU = "x86_64-unknown-linux-gnu"
MUSL = "x86_64-unknown-linux-musl"
ARM = "aarch64-unknown-linux-gnu"
WIN = "x86_64-pc-windows-gnu"
LINUX_HOST = ("linux", "x86_64")
LIMITS = Limits(args=("--version",), runs=5, max_time_increase=0.10, max_size_increase=0.05)

CARGO_TOML = """
[package]
name = "tg"
version = "2.0.0"

[[bin]]
name = "tg"
path = "src/main.rs"

[[bin]]
name = "tg-helper"
path = "src/helper.rs"
"""


def measure(
    times: Sequence[float], size: int = 1000, binary: str = "tg", cpu: Sequence[float] | None = None
) -> Measure:
    """A measure of wall-clock `times` (and `cpu` times, if given)."""
    cpu_times = cpu if cpu is not None else [None] * len(times)
    return Measure(binary, size, tuple(Run(wall, used) for wall, used in zip(times, cpu_times, strict=True)))


# --- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ratio"), [("10%", 0.10), ("2.5 %", 0.025), ("0%", 0.0), (" 150% ", 1.5)])
def test_percentages_parse_as_ratios(text: str, ratio: float) -> None:
    assert parse_percent("max-time-increase", text) == pytest.approx(ratio)


@pytest.mark.parametrize("text", ["ten", "-5%", "10", "%", "1e2%", "", "5%%", "+5%"])
def test_a_bad_percentage_is_a_config_error_naming_the_key(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_percent("max-size-increase", text)
    assert "tool.release.regression.max-size-increase" in caught.value.message
    assert caught.value.hint is not None and '"5%"' in caught.value.hint


@pytest.mark.parametrize(("text", "runs"), [("15", 15), ("5", 5), (" 21 ", 21), ("1000", 1000)])
def test_runs_parse_as_a_count(text: str, runs: int) -> None:
    assert parse_runs(text) == runs


@pytest.mark.parametrize("text", ["0", "4", "1001", "ten", "-3", "1.5", ""])
def test_a_bad_number_of_runs_is_a_config_error_naming_the_key(text: str) -> None:
    with pytest.raises(ConfigError, match=r"tool\.release\.regression\.runs"):
        parse_runs(text)


def test_empty_settings_take_the_schema_defaults() -> None:
    assert parse_limits({}) == Limits(args=("--version",), runs=15, max_time_increase=0.10, max_size_increase=0.05)


@pytest.mark.parametrize(
    ("settings", "key"),
    [({"runs": 15}, "runs"), ({"max-time-increase": 0.1}, "max-time-increase"), ({"args": "--help"}, "args")],
)
def test_values_of_the_wrong_type_are_config_errors(settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"tool\.release\.regression\.{key}"):
        parse_limits(settings)


def test_settings_from_pyproject_reach_the_limits(make_config: Callable[..., ReleaseConfig]) -> None:
    config = make_config(
        regression={"args": ["--help"], "runs": "21", "max-time-increase": "25%", "max-size-increase": "1.5%"}
    )
    assert parse_limits(config.regression) == Limits(("--help",), 21, 0.25, 0.015)


# --- run order and statistics -----------------------------------------------------------


def test_runs_alternate_old_new_new_old() -> None:
    assert run_order(4) == (OLD, NEW, NEW, OLD, OLD, NEW, NEW, OLD)


@pytest.mark.parametrize("runs", [1, 5, 15, 16])
def test_every_pair_holds_one_run_of_each_and_each_side_runs_runs_times(runs: int) -> None:
    order = run_order(runs)
    assert order.count(OLD) == order.count(NEW) == runs
    assert all({order[i], order[i + 1]} == {OLD, NEW} for i in range(0, len(order), 2))
    # Neither side always goes first: half the pairs start with each (one more for an odd count).
    assert abs(order[0::2].count(OLD) - order[0::2].count(NEW)) <= 1


def test_a_measure_has_median_fastest_and_slowest() -> None:
    odd, even = measure([0.030, 0.010, 0.020]), measure([0.040, 0.010, 0.020, 0.030])
    assert (odd.median, odd.fastest, odd.slowest) == (0.020, 0.010, 0.030)
    assert even.median == pytest.approx(0.025)


def test_an_extended_measure_keeps_the_runs_in_order() -> None:
    assert measure([0.01, 0.02], size=7).extended(measure([0.03], size=8)) == measure([0.01, 0.02, 0.03], size=7)


@pytest.mark.parametrize(
    ("old", "new", "ratio"), [(100, 120, 0.2), (100, 95, -0.05), (100, 100, 0.0), (0, 0, 0.0), (0, 5, math.inf)]
)
def test_increase_is_a_ratio(old: float, new: float, ratio: float) -> None:
    assert regression.increase(old, new) == pytest.approx(ratio)


def test_the_paired_increase_compares_runs_that_ran_back_to_back() -> None:
    # Bursts of other work slowed pairs 3 and 4 (both runs) and the old run of pair 5:
    # the medians say the new binary is 63% faster, the pairs say 10% slower.
    old = measure([0.010, 0.010, 0.030, 0.030, 0.030])
    new = measure([0.011, 0.011, 0.033, 0.033, 0.011])
    assert regression.increase(old.median, new.median) == pytest.approx(-0.633, abs=0.001)
    assert regression.paired_increase(old.times, new.times) == pytest.approx(0.10)
    assert regression.paired_difference(old.times, new.times) == pytest.approx(0.001)


@pytest.mark.parametrize(("count", "low_rank"), [(5, 0), (10, 1), (15, 3), (30, 9), (60, 22)])
def test_the_median_interval_spans_the_sign_test_ranks(count: int, low_rank: int) -> None:
    values = [float(i) for i in range(count)][::-1]  # given in any order
    assert regression.median_interval(values) == (low_rank, count - 1 - low_rank)


def test_a_verdict_is_settled_when_the_interval_clears_the_limit() -> None:
    old = measure([0.020] * 5)
    assert regression.settled(old, measure([0.024] * 5), LIMITS)  # wholly above
    assert regression.settled(old, measure([0.021] * 5), LIMITS)  # wholly below
    straddling = measure([0.020, 0.025, 0.020, 0.025, 0.025])
    assert not regression.settled(old, straddling, LIMITS)
    tiny_old, tiny_new = measure([0.001] * 5), measure([0.001, 0.0012, 0.001, 0.0012, 0.0012])
    assert regression.settled(tiny_old, tiny_new, LIMITS), "under the noise floor, more rounds change nothing"


# --- the decision -----------------------------------------------------------------------


def test_the_same_binary_passes() -> None:
    times = [0.020, 0.021, 0.022, 0.020, 0.025]
    assert judge(measure(times), measure(times), LIMITS) == []


def test_a_binary_20_percent_slower_fails_on_time() -> None:
    old = measure([0.020, 0.021, 0.022, 0.020, 0.025])
    new = measure([t * 1.2 for t in old.times])
    [finding] = judge(old, new, LIMITS)
    assert (finding.what, finding.old, finding.new) == (TIME, old.median, new.median)
    assert finding.increase == pytest.approx(0.2)
    assert finding.limit == 0.10


def test_a_binary_2_percent_slower_passes() -> None:
    old = measure([0.020, 0.021, 0.022, 0.020, 0.025])
    assert judge(old, measure([t * 1.02 for t in old.times]), LIMITS) == []


def test_exactly_the_limit_passes() -> None:
    old = measure([0.020] * 5, size=1000)
    assert judge(old, measure([0.022] * 5, size=1050), LIMITS) == []


def test_a_slower_median_that_the_pairs_do_not_confirm_passes() -> None:
    # Other work delayed the new run of pairs 2 and 3 and the old run of pair 5: the medians differ by 50%,
    # while most pairs ran alike.
    old = measure([0.020, 0.020, 0.020, 0.030, 0.030])
    new = measure([0.020, 0.030, 0.030, 0.030, 0.020])
    assert regression.increase(old.median, new.median) == pytest.approx(0.5)
    assert regression.paired_increase(old.times, new.times) == pytest.approx(0.0)
    assert judge(old, new, LIMITS) == []


def test_a_settled_wall_clock_verdict_stands_whatever_the_cpu_time_says() -> None:
    # A binary that now waits 4 ms at start-up (a sleep, a lookup) uses no more CPU: the wall clock tells.
    old = measure([0.020] * 5, cpu=[0.015] * 5)
    new = measure([0.024] * 5, cpu=[0.015] * 5)
    [finding] = judge(old, new, LIMITS)
    assert (finding.what, finding.basis) == (TIME, regression.WALL)


def test_scattered_wall_clock_times_leave_the_verdict_to_the_cpu_time() -> None:
    old = measure([0.020, 0.020, 0.020, 0.030, 0.030], cpu=[0.015] * 5)
    new = measure([0.020, 0.030, 0.030, 0.030, 0.020], cpu=[0.018] * 5)
    basis, time_up, difference = regression.time_basis(old, new, LIMITS)
    assert basis == regression.CPU
    assert (time_up, difference) == pytest.approx((0.2, 0.003))
    [finding] = judge(old, new, LIMITS)
    assert finding.basis == regression.CPU
    assert finding.increase == pytest.approx(0.2)
    assert "(+20.0% run for run in CPU time (wall-clock times scattered), limit 10%)" in finding.describe()
    assert regression.table_row(old, new, LIMITS)[2:] == [
        "20.00 → 30.00 ms (+0.0%, CPU +20.0%)",
        "20.00..30.00 | 20.00..30.00 ms",
        "FAIL: time +20.0% > 10% (CPU)",
    ]


def test_a_measure_knows_cpu_times_only_when_every_run_has_one() -> None:
    assert measure([0.02, 0.03], cpu=[0.01, 0.02]).cpu_times == (0.01, 0.02)
    assert measure([0.02, 0.03]).cpu_times is None
    partial = Measure("tg", 10, (Run(0.02, 0.01), Run(0.03, None)))
    assert partial.cpu_times is None


def test_a_time_increase_below_the_noise_floor_passes_whatever_the_percentage() -> None:
    old = measure([0.0010] * 5)
    below = measure([0.0010 + NOISE_FLOOR_SECONDS * 0.8] * 5)  # +20% of a 1 ms start
    above = measure([0.0010 + NOISE_FLOOR_SECONDS * 2] * 5)
    assert judge(old, below, LIMITS) == []
    assert [f.what for f in judge(old, above, LIMITS)] == [TIME]


def test_a_binary_6_percent_larger_fails_on_size() -> None:
    [finding] = judge(measure([0.02] * 5, size=100_000), measure([0.02] * 5, size=106_000), LIMITS)
    assert (finding.what, finding.old, finding.new) == (SIZE, 100_000, 106_000)
    assert finding.increase == pytest.approx(0.06)


def test_a_smaller_and_faster_binary_passes() -> None:
    assert judge(measure([0.02] * 5, size=100), measure([0.01] * 5, size=50), LIMITS) == []


def test_larger_and_slower_gives_both_findings() -> None:
    findings = judge(measure([0.02] * 5, size=100), measure([0.03] * 5, size=200), LIMITS)
    assert [f.what for f in findings] == [SIZE, TIME]


def test_a_zero_limit_fails_any_size_increase() -> None:
    strict = Limits(("--version",), 5, 0.10, 0.0)
    assert [f.what for f in judge(measure([0.02] * 5, size=100), measure([0.02] * 5, size=101), strict)] == [SIZE]


# --- presenting -------------------------------------------------------------------------


def test_a_table_row_shows_sizes_medians_spread_and_verdict() -> None:
    old = measure([0.0200, 0.0210, 0.0190, 0.0200, 0.0250], size=100_000)
    new = measure([t * 1.2 for t in old.times], size=106_000)
    assert regression.table_row(old, new, LIMITS) == [
        "tg",
        "100,000 → 106,000 B (+6.0%)",
        "20.00 → 24.00 ms (+20.0%)",
        "19.00..25.00 | 22.80..30.00 ms",
        "FAIL: size +6.0% > 5%; time +20.0% > 10%",
    ]
    assert regression.table_row(old, old, LIMITS)[-1] == "ok"
    assert len(regression.table_row(old, old, LIMITS)) == len(regression.COLUMNS)


def test_the_gate_error_has_the_numbers_exit_7_and_names_the_setting() -> None:
    old = measure([0.020] * 5, size=100_000)
    error = regression.gate_error(judge(old, measure([0.024] * 5, size=106_000), LIMITS), LIMITS)
    assert isinstance(error, VerificationError) and error.exit_code == 7
    assert "tg: size 100,000 → 106,000 bytes (+6.0%, limit 5%)" in error.message
    assert "tg: start-up time medians 20.00 → 24.00 ms (+20.0% run for run, limit 10%)" in error.message
    assert error.hint is not None
    assert "max-size-increase / max-time-increase in [tool.release.regression]" in error.hint
    assert "runs = 5" in error.hint


def test_a_size_only_failure_names_only_the_size_setting() -> None:
    error = regression.gate_error(judge(measure([0.02] * 5, size=100), measure([0.02] * 5, size=110), LIMITS), LIMITS)
    assert error.hint is not None
    assert "max-size-increase" in error.hint and "max-time-increase" not in error.hint and "runs" not in error.hint


# --- which target, and where its binaries are -------------------------------------------


def test_host_targets_are_those_that_run_natively() -> None:
    targets = [get_target(t) for t in (ARM, GNU, WIN, MUSL, "aarch64-apple-darwin")]
    assert [t.triple for t in regression.host_targets(targets, "linux", "x86_64")] == [GNU, MUSL]
    assert [t.triple for t in regression.host_targets(targets, "macos", "aarch64")] == ["aarch64-apple-darwin"]
    assert regression.host_targets([get_target(ARM)], "linux", "x86_64") == []


@pytest.mark.parametrize(
    ("name", "triple"),
    [
        (f"tg-2.0.0-{GNU}.tar.gz", GNU),
        (f"tg-2.0.0-{MUSL}.tar.zst", MUSL),
        (f"tg-2.0.0-{WIN}.zip", WIN),
        (f"tg-2.0.0-{ARM}", ARM),
        (GNU, GNU),
        ("dist", None),
        (f"{GNU}-backup", None),
        ("tg-2.0.0.tar.gz", None),
    ],
)
def test_a_name_carries_a_triple_only_where_it_stands_whole(name: str, triple: str | None) -> None:
    assert regression.named_triple(name, [GNU, MUSL, ARM, WIN]) == triple


# --- the gate, end to end with fake binaries and an injected clock ------------------------


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., ReleaseConfig]:
    """build_config over a crate with two binaries (tg, tg-helper); dist/ is tmp_path/dist."""
    crate = tmp_path / "crate"
    crate.mkdir()
    (crate / "Cargo.toml").write_text(CARGO_TOML)

    def make(**table: Any) -> ReleaseConfig:
        table = {"crate": "crate/Cargo.toml", "targets": [GNU, ARM], "binaries": ["tg"], **table}
        return build_config(table, tmp_path, {})

    return make


class Clock:
    """A timer for the gate: a run of a binary file takes the seconds `seconds` gives it, and the CPU seconds
    `cpu` gives (none by default: wall-clock time alone); every call is recorded."""

    def __init__(
        self,
        seconds: Callable[[Path], float] = lambda path: 0.020,
        cpu: Callable[[Path], float | None] = lambda path: None,
    ) -> None:
        self.seconds, self.cpu = seconds, cpu
        self.calls: list[tuple[str, tuple[str, ...]]] = []  # ("warm" or "time", argv), in order

    def time(self, argv: Sequence[str]) -> Run:
        self.calls.append(("time", tuple(argv)))
        return Run(self.seconds(Path(argv[0])), self.cpu(Path(argv[0])))

    def warm(self, argv: Sequence[str]) -> None:
        self.calls.append(("warm", tuple(argv)))

    @property
    def timed(self) -> list[tuple[str, ...]]:
        return [argv for kind, argv in self.calls if kind == "time"]

    @property
    def warmed(self) -> list[tuple[str, ...]]:
        return [argv for kind, argv in self.calls if kind == "warm"]


def write_binary(path: Path, size: int = 1000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF" + bytes(size - 4))
    return path


def gate(config: ReleaseConfig, baseline: Path, clock: Clock, current: Path | None = None, **kw: Any) -> int:
    return run_regression_gate(
        config, baseline=baseline, current=current, timer=clock.time, warm=clock.warm, host=kw.get("host", LINUX_HOST)
    )


def test_the_gate_passes_identical_builds_timing_each_side_alternately(
    make_config: Callable[..., ReleaseConfig], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(regression={"runs": "6", "args": ["--help", "-q"]})
    old = write_binary(tmp_path / "previous" / GNU / "tg")
    new = write_binary(config.dist_dir / GNU / "tg")
    clock = Clock()
    assert gate(config, tmp_path / "previous", clock) == 0
    assert clock.calls[:2] == [("warm", (str(old), "--help", "-q")), ("warm", (str(new), "--help", "-q"))]
    sides = {str(old): OLD, str(new): NEW}
    assert tuple(sides[argv[0]] for argv in clock.timed) == run_order(6)
    assert all(argv[1:] == ("--help", "-q") for argv in clock.timed)
    shown = capsys.readouterr().err
    assert "tg 2.0.0: regression gate against previous" in shown and "ok" in shown


def test_the_gate_fails_with_exit_7_when_the_new_binary_is_slower(
    make_config: Callable[..., ReleaseConfig], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(regression={"runs": "5"})
    write_binary(tmp_path / "previous" / GNU / "tg")
    write_binary(config.dist_dir / GNU / "tg")
    clock = Clock(lambda path: 0.024 if config.dist_dir in path.parents else 0.020)
    with pytest.raises(VerificationError) as caught:
        gate(config, tmp_path / "previous", clock)
    assert caught.value.exit_code == 7
    assert "start-up time medians 20.00 → 24.00 ms (+20.0% run for run, limit 10%)" in caught.value.message
    assert "FAIL: time +20.0% > 10%" in capsys.readouterr().err


def rounds_clock(config: ReleaseConfig, rounds: Sequence[Sequence[float]], cpu_ratio: float | None = None) -> Clock:
    """A clock on which old runs take 20 ms and the new run of pair i in round r rounds[r][i] times that.

    Rounds past the last repeat it. With cpu_ratio, runs report CPU times too: 15 ms, the new ones that
    times cpu_ratio.
    """
    new_runs: list[Path] = []

    def seconds(path: Path) -> float:
        if config.dist_dir not in path.parents:
            return 0.020
        new_runs.append(path)
        index = len(new_runs) - 1
        ratios = rounds[min(index // len(rounds[0]), len(rounds) - 1)]
        return 0.020 * ratios[index % len(ratios)]

    def cpu(path: Path) -> float | None:
        if cpu_ratio is None:
            return None
        return 0.015 * (cpu_ratio if config.dist_dir in path.parents else 1.0)

    return Clock(seconds, cpu)


@pytest.fixture
def one_binary(make_config: Callable[..., ReleaseConfig], tmp_path: Path) -> ReleaseConfig:
    """A config timing 5 pairs a round, with tg in tmp_path/previous/<gnu>/ and in dist/<gnu>/."""
    config = make_config(regression={"runs": "5"})
    write_binary(tmp_path / "previous" / GNU / "tg")
    write_binary(config.dist_dir / GNU / "tg")
    return config


def test_a_clear_slowdown_fails_after_one_round(one_binary: ReleaseConfig, tmp_path: Path) -> None:
    clock = rounds_clock(one_binary, [[1.2] * 5])
    with pytest.raises(VerificationError):
        gate(one_binary, tmp_path / "previous", clock)
    assert [kind for kind, argv in clock.calls] == ["warm"] * 2 + ["time"] * 10


def test_a_clear_pass_takes_one_round(one_binary: ReleaseConfig, tmp_path: Path) -> None:
    clock = rounds_clock(one_binary, [[1.05] * 5])
    assert gate(one_binary, tmp_path / "previous", clock) == 0
    assert len(clock.timed) == 10


def test_an_unclear_round_is_timed_again_until_all_pairs_settle_it(
    one_binary: ReleaseConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Round one alone would fail (median +25%), but its pairs straddle the limit; two calm rounds outvote it.
    clock = rounds_clock(one_binary, [[1.0, 1.25, 1.0, 1.25, 1.25], [1.0] * 5])
    assert gate(one_binary, tmp_path / "previous", clock) == 0
    assert [kind for kind, argv in clock.calls] == (["warm"] * 2 + ["time"] * 10) * 3
    shown = capsys.readouterr().err
    assert shown.count("too close to 10%: timing more pairs") == 2
    assert "tg: +0.0% to +25.0% run for run" in shown


def test_a_verdict_that_never_settles_stops_after_max_rounds_with_a_warning(
    one_binary: ReleaseConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No CPU times (as on Windows): every round's median is +25%, and the median of all pairs decides.
    clock = rounds_clock(one_binary, [[1.0, 1.25, 1.0, 1.25, 1.25]])
    with pytest.raises(VerificationError):
        gate(one_binary, tmp_path / "previous", clock)
    assert len(clock.timed) == 2 * 5 * regression.MAX_ROUNDS
    pairs = 5 * regression.MAX_ROUNDS
    assert (
        f"wall-clock times scatter too much on this machine for a clear verdict after {pairs} pairs; "
        "the median of the pairs decides" in capsys.readouterr().err
    )


@pytest.mark.parametrize(("cpu_ratio", "fails"), [(1.0, False), (1.2, True)])
def test_when_wall_clock_times_never_settle_the_cpu_time_decides(
    one_binary: ReleaseConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cpu_ratio: float,
    fails: bool,
) -> None:
    clock = rounds_clock(one_binary, [[1.0, 1.25, 1.0, 1.25, 1.25]], cpu_ratio=cpu_ratio)
    if fails:
        with pytest.raises(VerificationError, match=r"\+20\.0% run for run in CPU time \(wall-clock times scattered"):
            gate(one_binary, tmp_path / "previous", clock)
    else:
        assert gate(one_binary, tmp_path / "previous", clock) == 0
    shown = capsys.readouterr().err
    assert "the CPU time they used decides" in shown
    assert ("FAIL: time +20.0% > 10% (CPU)" if fails else "ok (CPU)") in shown


def test_every_shipped_binary_is_compared_and_only_the_grown_one_fails(
    make_config: Callable[..., ReleaseConfig], tmp_path: Path
) -> None:
    config = make_config(binaries=["tg", "tg-helper"], regression={"runs": "5"})
    for name, new_size in (("tg", 1000), ("tg-helper", 1200)):
        write_binary(tmp_path / "previous" / GNU / name, 1000)
        write_binary(config.dist_dir / GNU / name, new_size)
    with pytest.raises(VerificationError) as caught:
        gate(config, tmp_path / "previous", Clock())
    assert caught.value.message == "regression gate: tg-helper: size 1,000 → 1,200 bytes (+20.0%, limit 5%)"


def _archive_members(top: str, files: dict[str, bytes]) -> dict[str, bytes]:
    return {f"{top}/{name}": data for name, data in files.items()}


def write_tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as handle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            handle.addfile(info, io.BytesIO(data))
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return path


BASELINE_FORMS: dict[str, Callable[[Path, bytes], Path]] = {
    # a dist/ folder as the build leaves it
    "dist folder": lambda root, data: write_binary(root / "dist-old" / GNU / "tg").parent.parent,
    # one target's folder of it
    "dist/<triple> folder": lambda root, data: write_binary(root / "dist-old" / GNU / "tg").parent,
    # a release archive unpacked by hand
    "unpacked archive": lambda root, data: write_binary(root / f"tg-1.9.0-{GNU}" / "tg").parent,
    "tar.gz archive": lambda root, data: write_tar_gz(
        root / f"tg-1.9.0-{GNU}.tar.gz", _archive_members(f"tg-1.9.0-{GNU}", {"tg": data, "README.md": b"hi"})
    ),
    "zip archive": lambda root, data: write_zip(
        root / f"tg-1.9.0-{GNU}.zip", _archive_members(f"tg-1.9.0-{GNU}", {"tg": data})
    ),
}


@pytest.mark.parametrize("form", list(BASELINE_FORMS))
def test_every_baseline_form_finds_the_previous_binary(
    form: str, make_config: Callable[..., ReleaseConfig], tmp_path: Path
) -> None:
    config = make_config(regression={"runs": "5"})
    write_binary(config.dist_dir / GNU / "tg", 1000)
    baseline = BASELINE_FORMS[form](tmp_path / "given", b"\x7fELF" + bytes(996))
    clock = Clock()
    assert gate(config, baseline, clock) == 0
    old_binary = Path(clock.warmed[0][0])
    assert old_binary.name == "tg" and config.dist_dir not in old_binary.parents
    if form.endswith("archive") and "unpacked" not in form:
        assert not old_binary.exists(), "an archive is unpacked into a temporary folder, removed afterwards"


def test_the_current_side_may_be_an_archive_too(make_config: Callable[..., ReleaseConfig], tmp_path: Path) -> None:
    config = make_config(regression={"runs": "5"})
    old = write_binary(tmp_path / "old" / GNU / "tg", 1000)
    new = write_tar_gz(tmp_path / f"tg-2.0.0-{GNU}.tar.gz", {f"tg-2.0.0-{GNU}/tg": bytes(1100)})
    with pytest.raises(VerificationError, match=r"size 1,000 → 1,100 bytes"):
        gate(config, old.parent, Clock(), current=new)


def test_a_triple_in_the_baseline_name_picks_that_target(
    make_config: Callable[..., ReleaseConfig], tmp_path: Path
) -> None:
    # gnu comes first in the targets, but the previous release's archive is the musl one: compare musl with musl.
    config = make_config(targets=[GNU, MUSL], regression={"runs": "5"})
    write_binary(config.dist_dir / GNU / "tg")
    musl = write_binary(config.dist_dir / MUSL / "tg")
    baseline = write_tar_gz(tmp_path / f"tg-1.9.0-{MUSL}.tar.gz", {f"tg-1.9.0-{MUSL}/tg": bytes(1000)})
    clock = Clock()
    assert gate(config, baseline, clock) == 0
    assert clock.warmed[1][0] == str(musl)


def test_a_windows_host_times_the_exe(make_config: Callable[..., ReleaseConfig], tmp_path: Path) -> None:
    config = make_config(targets=[GNU, WIN], regression={"runs": "5"})
    write_binary(tmp_path / "old" / WIN / "tg.exe")
    new = write_binary(config.dist_dir / WIN / "tg.exe")
    clock = Clock()
    assert gate(config, tmp_path / "old", clock, host=("windows", "x86_64")) == 0
    assert clock.warmed[1][0] == str(new)


def test_a_missing_baseline_is_a_plan_error(make_config: Callable[..., ReleaseConfig], tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"--baseline .*nowhere does not exist"):
        gate(make_config(), tmp_path / "nowhere", Clock())


def test_a_baseline_without_the_binaries_is_a_plan_error_naming_it(
    make_config: Callable[..., ReleaseConfig], tmp_path: Path
) -> None:
    config = make_config()
    write_binary(config.dist_dir / GNU / "tg")
    write_binary(tmp_path / "old" / ARM / "tg")  # only a target this machine cannot run
    with pytest.raises(PlanError) as caught:
        gate(config, tmp_path / "old", Clock())
    assert f"--baseline {tmp_path / 'old'} holds no binaries" in caught.value.message
    assert f"{GNU}/tg" in caught.value.message and "--current" not in caught.value.message


def test_a_damaged_archive_is_a_plan_error(make_config: Callable[..., ReleaseConfig], tmp_path: Path) -> None:
    broken = tmp_path / f"tg-1.9.0-{GNU}.tar.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(PlanError, match=r"--baseline .*cannot unpack"):
        gate(make_config(), broken, Clock())


def test_a_file_that_is_no_archive_is_a_plan_error(make_config: Callable[..., ReleaseConfig], tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="neither a folder nor a release archive"):
        gate(make_config(), write_binary(tmp_path / "tg"), Clock())


def test_no_target_for_this_machine_is_a_toolchain_error(make_config: Callable[..., ReleaseConfig]) -> None:
    config = make_config(targets=[GNU, ARM])
    with pytest.raises(ToolchainError, match="none of the configured targets runs natively"):
        gate(config, config.dist_dir, Clock(), host=("macos", "aarch64"))


def test_bad_settings_stop_the_gate_before_anything_runs(
    make_config: Callable[..., ReleaseConfig], tmp_path: Path
) -> None:
    clock = Clock()
    with pytest.raises(ConfigError, match="max-time-increase"):
        gate(make_config(regression={"max-time-increase": "ten"}), tmp_path, clock)
    assert clock.warmed == clock.timed == []
