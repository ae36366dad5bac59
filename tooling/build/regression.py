"""The regression gate: is a shipped binary larger, or slower to start, than the previous release's?

For the configured target whose binaries run natively on this machine, each
binary of config.binaries is compared between a baseline (the previous
release) and the current build: its file size, and the time `<binary> <args>`
takes ([tool.release.regression] args). An increase beyond max-size-increase
or max-time-increase fails the gate with a VerificationError (exit 7).

Both sides may be given as a dist/ folder (holding <triple>/<binary>), a
dist/<triple>/ folder or an unpacked release archive (holding <binary>), or a
release archive file, unpacked into a temporary folder.

Keeping the timing noise small. The time that counts is wall-clock time,
what a user waits. On a 2-core machine busy with other work, one run of a
25 ms binary varies by a few per cent and now and then another process
doubles it; on one oversubscribed (load 5: busy loops, a process-spawning
loop, a writer syncing to disk) the medians of 15 runs of one binary against
itself differed by up to 30%. So:

- one untimed warm-up run of each binary: the first run pays for reading the
  file and resolving libraries, which a user pays once, not at every start;
- runs go in pairs, old and new back to back, in the order old, new, new,
  old, old, new ...: a drift (CPU frequency, another job starting or ending)
  weighs on both alike, and neither always runs first;
- the verdict uses the median of the pairs' ratios (new / old), not the
  ratio of the two medians: each pair ran under nearly the same load, so
  slow changes of the load cancel within it, and the median discards the
  pairs a burst split. Medians, not means: delayed runs move the mean;
- output goes to /dev/null: no pipe to drain between start and exit;
- while the verdict is unclear (the ~95% interval of the pairs' median
  straddles the limit), `runs` more pairs are timed and all pairs decide,
  up to MAX_ROUNDS rounds: a quiet machine settles it in one round;
- if wall-clock times still scatter too much, the CPU time the binaries used
  (which other processes hardly change: within 1% of itself, measured under
  that load) decides, with a warning; where the system does not report it
  (Windows), the median of the wall-clock pairs does;
- a time increase has to exceed NOISE_FLOOR_SECONDS too: a fraction of a
  millisecond is the jitter of starting a process, which no limit in per
  cent can tell apart on a binary that starts in one millisecond.

The table shows each side's median, fastest and slowest run beside the paired
increase, so a reader can tell a clear result from a noisy one.
"""

from __future__ import annotations

import math
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling import proc, ui
from tooling.build.smoke import smoke_method
from tooling.build.toolchain import host_platform
from tooling.config_schema import REGRESSION
from tooling.errors import CommandError, ConfigError, PackageError, PlanError, ToolchainError, VerificationError
from tooling.packagers.base import unpack_archive
from tooling.targets import ARCHIVE_FORMATS, Target, all_targets

if sys.platform != "win32":
    import resource  # Unix only: the CPU time of the timed runs

if TYPE_CHECKING:
    # Only a type here: tooling.config may then check these settings with parse_limits when it loads.
    from tooling.config import ReleaseConfig

OLD, NEW = "old", "new"
SIZE, TIME = "size", "start-up time"
WALL, CPU = "wall-clock", "CPU"  # what a time verdict rests on

# Fewer runs give a median no steadier than one run; more than this is a typo (and minutes of waiting).
MIN_RUNS, MAX_RUNS = 5, 1000
# Time differences below this are the jitter of starting a process, whatever the percentage.
NOISE_FLOOR_SECONDS = 0.00025
# getrusage exists on Unix only; elsewhere the wall-clock time alone decides.
HAS_CPU_TIMES = sys.platform != "win32"
# Rounds of `runs` pairs timed at most while the time verdict is unclear; and the z of the interval that decides.
MAX_ROUNDS = 4
CONFIDENCE_Z = 1.96
# A warm-up run that takes this long is stuck (a binary waiting for input it will never get).
RUN_TIMEOUT_SECONDS = 60.0

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_COUNT = re.compile(r"^\s*(\d+)\s*$")
_KEY = REGRESSION.path

COLUMNS = ("binary", "size old → new", "time old → new: medians (paired increase)", "min..max old | new", "verdict")


# --- settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """[tool.release.regression], parsed: what is timed, how often, and how much more is too much."""

    args: tuple[str, ...]
    runs: int
    max_time_increase: float  # a ratio: 0.1 for "10%"
    max_size_increase: float


def parse_percent(key: str, text: str) -> float:
    """ "10%" as 0.1; a ConfigError naming `key` for anything but a non-negative number of per cent (pure)."""
    match = _PERCENT.match(text)
    if match is None:
        raise ConfigError(
            f"{_KEY}.{key} = {text!r} is not a percentage",
            hint=f'write a non-negative number of per cent, e.g. {key} = "{REGRESSION.fields[key].default}"',
        )
    return float(match[1]) / 100


def parse_runs(text: str) -> int:
    """ "15" as 15; a ConfigError naming the key unless it is a whole number from MIN_RUNS to MAX_RUNS (pure)."""
    match = _COUNT.match(text)
    runs = int(match[1]) if match else None
    if runs is None or not MIN_RUNS <= runs <= MAX_RUNS:
        raise ConfigError(
            f"{_KEY}.runs = {text!r} is not a number of runs from {MIN_RUNS} to {MAX_RUNS}",
            hint=f'e.g. runs = "{REGRESSION.fields["runs"].default}": each binary runs that often, the median counts',
        )
    return runs


def parse_limits(settings: Mapping[str, Any]) -> Limits:
    """The gate's settings from config.regression, defaults filled in for keys it lacks (pure)."""
    values = {key: settings.get(key, field.default) for key, field in REGRESSION.fields.items()}
    args = values["args"]
    if not isinstance(args, list | tuple) or not all(isinstance(arg, str) for arg in args):
        raise ConfigError(f"{_KEY}.args must be a list of strings", hint='e.g. args = ["--version"]')
    for key in ("runs", "max-time-increase", "max-size-increase"):
        if not isinstance(values[key], str):
            raise ConfigError(f"{_KEY}.{key} must be a string", hint=f"e.g. {key} = {REGRESSION.fields[key].example}")
    return Limits(
        args=tuple(args),
        runs=parse_runs(values["runs"]),
        max_time_increase=parse_percent("max-time-increase", values["max-time-increase"]),
        max_size_increase=parse_percent("max-size-increase", values["max-size-increase"]),
    )


# --- measures and the decision (pure) ---------------------------------------------------


def run_order(runs: int) -> tuple[str, ...]:
    """old, new, new, old, old, new, ...: `runs` pairs, each side first in every other one (pure)."""
    pairs = ((OLD, NEW) if index % 2 == 0 else (NEW, OLD) for index in range(runs))
    return tuple(side for pair in pairs for side in pair)


def increase(old: float, new: float) -> float:
    """How much more `new` is than `old`, as a ratio: 0.2 for 20% more, negative for less (pure)."""
    if old <= 0:
        return 0.0 if new <= 0 else math.inf
    return new / old - 1


def exceeds(ratio: float, limit: float) -> bool:
    """Is `ratio` above `limit`? An increase of exactly the limit passes, whatever binary floating point
    makes of 1050 / 1000 - 1 (pure)."""
    return ratio - limit > 1e-9


@dataclass(frozen=True)
class Run:
    """One timed run: wall-clock seconds, and the CPU seconds it used (None where the system does not say)."""

    wall: float
    cpu: float | None = None


@dataclass(frozen=True)
class Measure:
    """One binary on one side: its size in bytes and its timed runs, in order (run i of each side is pair i)."""

    binary: str
    size: int
    runs: tuple[Run, ...]

    @property
    def times(self) -> tuple[float, ...]:
        """The wall-clock seconds of each run."""
        return tuple(run.wall for run in self.runs)

    @property
    def cpu_times(self) -> tuple[float, ...] | None:
        """The CPU seconds of each run, or None when a run lacks them."""
        cpu = tuple(run.cpu for run in self.runs if run.cpu is not None)
        return cpu if len(cpu) == len(self.runs) else None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def fastest(self) -> float:
        return min(self.times)

    @property
    def slowest(self) -> float:
        return max(self.times)

    def extended(self, more: Measure) -> Measure:
        """This measure with the runs of `more` added after its own (pure)."""
        return Measure(self.binary, self.size, self.runs + more.runs)


def pair_increases(old: Sequence[float], new: Sequence[float]) -> list[float]:
    """new / old - 1 of each pair (pure)."""
    return [increase(o, n) for o, n in zip(old, new, strict=True)]


def paired_increase(old: Sequence[float], new: Sequence[float]) -> float:
    """The median over the pairs of new / old - 1: 0.2 when new took 20% longer (pure)."""
    return statistics.median(pair_increases(old, new))


def pair_differences(old: Sequence[float], new: Sequence[float]) -> list[float]:
    """new - old of each pair, in seconds (pure)."""
    return [n - o for o, n in zip(old, new, strict=True)]


def paired_difference(old: Sequence[float], new: Sequence[float]) -> float:
    """The median over the pairs of new - old, in seconds (pure)."""
    return statistics.median(pair_differences(old, new))


def median_interval(values: Sequence[float]) -> tuple[float, float]:
    """A ~95% confidence interval of the median of `values`, from their order statistics (pure).

    Ranks n/2 -+ 1.96 * sqrt(n)/2 of the sorted values: the sign test's
    interval, which assumes no distribution (run times have long right tails).
    """
    ordered = sorted(values)
    count = len(ordered)
    low = max(0, math.floor((count - CONFIDENCE_Z * math.sqrt(count)) / 2))
    return ordered[low], ordered[count - 1 - low]


def settled(old: Measure, new: Measure, limits: Limits) -> bool:
    """Is the wall-clock verdict clear: the paired increase's interval wholly above or below the limit (pure)?

    So is a difference whose interval stays under NOISE_FLOOR_SECONDS: it
    passes however often it is timed again.
    """
    low, high = median_interval(pair_increases(old.times, new.times))
    limit = limits.max_time_increase
    _, most = median_interval(pair_differences(old.times, new.times))
    return exceeds(low, limit) or not exceeds(high, limit) or most <= NOISE_FLOOR_SECONDS


def time_basis(old: Measure, new: Measure, limits: Limits) -> tuple[str, float, float]:
    """(WALL or CPU, paired increase, paired difference): what the time verdict rests on (pure).

    Wall-clock time when its verdict is settled, or when no CPU times are known; CPU time otherwise.
    """
    old_cpu, new_cpu = old.cpu_times, new.cpu_times
    if settled(old, new, limits) or old_cpu is None or new_cpu is None:
        return WALL, paired_increase(old.times, new.times), paired_difference(old.times, new.times)
    return CPU, paired_increase(old_cpu, new_cpu), paired_difference(old_cpu, new_cpu)


@dataclass(frozen=True)
class Finding:
    """One limit a binary went over."""

    binary: str
    what: str  # SIZE or TIME
    old: float  # bytes, or seconds (the median)
    new: float
    increase: float  # a ratio: 0.2 for 20% more (for time, the paired increase)
    limit: float
    basis: str = WALL  # for time: what the increase was measured in

    def short(self) -> str:
        """ "time +20.3% > 10%" (pure)."""
        return f"{'size' if self.what == SIZE else 'time'} {percent(self.increase)} > {limit_text(self.limit)}"

    def describe(self) -> str:
        """The finding with its numbers, for the error message (pure)."""
        if self.what == SIZE:
            numbers = f"{self.old:,.0f} → {self.new:,.0f} bytes ({percent(self.increase)}"
        else:
            measured = "" if self.basis == WALL else f" in {self.basis} time (wall-clock times scattered)"
            numbers = f"medians {time_span(self.old, self.new)} ({percent(self.increase)} run for run{measured}"
        return f"{self.binary}: {self.what} {numbers}, limit {limit_text(self.limit)})"


def judge(old: Measure, new: Measure, limits: Limits) -> list[Finding]:
    """The limits `new` goes over, compared with `old` (pure).

    Size is exact: any increase above max-size-increase counts. Time counts
    when the paired increase (time_basis) is above max-time-increase and the
    paired difference above NOISE_FLOOR_SECONDS.
    """
    findings = []
    size_up = increase(old.size, new.size)
    if exceeds(size_up, limits.max_size_increase):
        findings.append(Finding(new.binary, SIZE, old.size, new.size, size_up, limits.max_size_increase))
    basis, time_up, difference = time_basis(old, new, limits)
    if exceeds(time_up, limits.max_time_increase) and difference > NOISE_FLOOR_SECONDS:
        findings.append(Finding(new.binary, TIME, old.median, new.median, time_up, limits.max_time_increase, basis))
    return findings


# --- presenting (pure) ------------------------------------------------------------------


def percent(ratio: float) -> str:
    """0.203 as "+20.3%" (pure)."""
    return f"{ratio * 100:+.1f}%"


def limit_text(ratio: float) -> str:
    """0.1 as "10%" (pure)."""
    return f"{ratio * 100:g}%"


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def time_span(old: float, new: float) -> str:
    """ "21.30 → 25.62 ms" (pure)."""
    return f"{milliseconds(old)} → {milliseconds(new)} ms"


def table_row(old: Measure, new: Measure, limits: Limits) -> list[str]:
    """One summary row: sizes, medians with the paired increase, fastest and slowest runs, the verdict (pure)."""
    findings = judge(old, new, limits)
    basis, time_up, _ = time_basis(old, new, limits)
    wall_up = paired_increase(old.times, new.times)
    by_cpu = f", {basis} {percent(time_up)}" if basis != WALL else ""
    spread = (
        f"{milliseconds(old.fastest)}..{milliseconds(old.slowest)} | "
        f"{milliseconds(new.fastest)}..{milliseconds(new.slowest)} ms"
    )
    verdict = "FAIL: " + "; ".join(f.short() for f in findings) if findings else "ok"
    return [
        new.binary,
        f"{old.size:,} → {new.size:,} B ({percent(increase(old.size, new.size))})",
        f"{time_span(old.median, new.median)} ({percent(wall_up)}{by_cpu})",
        spread,
        verdict + (f" ({basis})" if basis != WALL else ""),
    ]


def gate_error(findings: Sequence[Finding], limits: Limits) -> VerificationError:
    """The gate's failure: every finding with its numbers, and the settings that move the limits (pure)."""
    keys = sorted({"max-size-increase" if f.what == SIZE else "max-time-increase" for f in findings})
    hint = f"if the increase is intended, raise {' / '.join(keys)} in [{_KEY}] (pyproject.toml)"
    if any(f.what == TIME for f in findings):
        hint += f"; a result near the limit: time again with more runs (runs = {limits.runs} now)"
    return VerificationError(
        "regression gate: " + "; ".join(f.describe() for f in findings),
        hint=hint,
    )


# --- finding the binaries ---------------------------------------------------------------


def host_targets(targets: Sequence[Target], host_os: str, host_arch: str) -> list[Target]:
    """The targets among `targets` whose binaries run natively on this host, in order (pure)."""
    return [t for t in targets if smoke_method(t, host_os, host_arch) == "native"]


def is_archive(path: Path) -> bool:
    """Is `path` named like a release archive (pure)?"""
    return any(path.name.endswith("." + suffix) for suffix in ARCHIVE_FORMATS)


def named_triple(name: str, triples: Iterable[str]) -> str | None:
    """The triple a dist/<triple>/ folder's, an archive's or its top folder's name carries, if any (pure).

    Release archives are <name>-<version>-<triple>.<format> with a top folder
    <name>-<version>-<triple>; the triple must stand whole in the name.
    """
    for triple in sorted(triples, key=len, reverse=True):
        endings = ("-" + triple, *(f"-{triple}.{suffix}" for suffix in ARCHIVE_FORMATS))
        if name == triple or name.endswith(endings):
            return triple
    return None


def binary_folder_candidates(root: Path, target: Target) -> tuple[Path, ...]:
    """Where `target`'s binaries may lie under `root`: a dist/ folder's <triple>/, or `root` itself (pure)."""
    return (root / target.triple, root)


def find_binaries(root: Path, target: Target, names: Sequence[str]) -> dict[str, Path] | None:
    """{binary: file} of every binary in `names` for `target` under `root`, or None if a folder lacks one."""
    for folder in binary_folder_candidates(root, target):
        files = {name: folder / target.executable(name) for name in names}
        if all(path.is_file() for path in files.values()):
            return files
    return None


@dataclass(frozen=True)
class Side:
    """One side of the comparison as given, and the folder to look in (an archive's unpacked top folder)."""

    option: str  # --baseline or --current
    given: Path
    root: Path

    def triple(self, triples: Iterable[str]) -> str | None:
        """The triple this side's name says it holds, if it says one (pure)."""
        known = tuple(triples)
        return named_triple(self.given.name, known) or named_triple(self.root.name, known)


def open_side(option: str, given: Path, scratch: Path) -> Side:
    """`given` ready to look in: an archive is unpacked into `scratch`; a missing path is a PlanError."""
    if not given.exists():
        raise PlanError(
            f"{option} {given} does not exist",
            hint="pass a dist/ folder, a dist/<triple>/ folder or a release archive (.tar.gz, .zip ...)",
        )
    if given.is_file() and is_archive(given):
        try:
            return Side(option, given, unpack_archive(given, scratch / option.strip("-")))
        except PackageError as error:
            raise PlanError(f"{option} {given}: {error.message}", hint="download the release archive again") from error
    if not given.is_dir():
        raise PlanError(
            f"{option} {given} is neither a folder nor a release archive",
            hint="release archives end in " + ", ".join("." + f for f in ARCHIVE_FORMATS),
        )
    return Side(option, given, given)


def choose_binaries(
    candidates: Sequence[Target], old: Side, new: Side, names: Sequence[str]
) -> tuple[Target, dict[str, Path], dict[str, Path]]:
    """The first candidate target both sides hold every binary of, with those binaries.

    A side whose name carries a triple (an archive, a dist/<triple>/ folder)
    holds that target only: comparing a musl build with a gnu build would
    measure the libc, not the change.
    """
    triples = [t.triple for t in all_targets()]
    for target in candidates:
        if any(side.triple(triples) not in (None, target.triple) for side in (old, new)):
            continue
        old_files = find_binaries(old.root, target, names)
        new_files = find_binaries(new.root, target, names)
        if old_files is not None and new_files is not None:
            return target, old_files, new_files
    wanted = ", ".join(f"{t.triple}/{t.executable(n)}" for t in candidates for n in names)
    lacking = [side for side in (old, new) if not any(find_binaries(side.root, t, names) for t in candidates)]
    named = lacking or [old, new]  # both hold binaries, but of different targets
    where = " and ".join(f"{side.option} {side.given}" for side in named)
    raise PlanError(
        f"regression gate: {where} {'holds' if len(named) == 1 else 'hold'} no binaries to compare "
        f"(looked for {wanted}, in a dist/ folder or at the top of the folder)",
        hint="both sides need the same target's binaries, built for this machine: "
        "e.g. --baseline the previous release's archive for this platform, --current dist/",
    )


# --- measuring (the effects) -------------------------------------------------------------

Timer = Callable[[Sequence[str]], Run]


def warm_up(argv: Sequence[str]) -> None:
    """One untimed run through the tool's runner, before the timed ones.

    It pays for what a user pays once (reading the file, resolving
    libraries), and it is where a binary that fails or hangs is caught: the
    runner gives a timeout and an error with the binary's own output, which
    the timed runs do without.
    """
    proc.read(argv, timeout=RUN_TIMEOUT_SECONDS, echo=False)


def children_cpu_seconds() -> float:
    """CPU seconds (user + system) of every child this process has waited for (Unix; 0 elsewhere)."""
    if sys.platform != "win32":
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    return 0.0  # not called there: HAS_CPU_TIMES


def time_command(argv: Sequence[str]) -> Run:
    """One run of `argv`, its output discarded, timed; a CommandError when it fails.

    Its CPU time is what this process's waited-for children used during the
    run: the gate runs one child at a time, so that is this one's.

    The one use of subprocess outside tooling.proc, on purpose: proc's runner
    reads output through pipes in a session of its own, which added about
    0.2 ms and a wider spread to every run measured here (a 1 ms binary:
    median 1.10 vs 0.89 ms); a timed run needs none of what it adds: it only
    reads, prints nothing, and carries no secret. No timeout either: waiting
    with one polls at growing intervals (0.5, 1, 2 ... 50 ms), which rounded
    every time measured here up to 15.5, 31.5 or 63.5 ms. warm_up, which runs
    first, has the timeout.
    """
    command = [str(arg) for arg in argv]
    cpu_before = children_cpu_seconds() if HAS_CPU_TIMES else 0.0
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
    except OSError as error:
        raise CommandError(
            f"cannot run {command[0]}: {error.strerror or error}",
            hint="the binaries must be built for this machine (and executable: chmod +x)",
        ) from error
    elapsed = time.perf_counter() - started
    cpu = children_cpu_seconds() - cpu_before if HAS_CPU_TIMES else None
    if completed.returncode != 0:
        raise CommandError(
            f"{shlex.join(command)} failed with exit code {completed.returncode} while timing it",
            hint=f"run it by hand; [{_KEY}] args sets the arguments of the timed run",
        )
    return Run(elapsed, cpu)


def measure_pair(
    name: str, old: Path, new: Path, limits: Limits, timer: Timer, warm: Callable[[Sequence[str]], None]
) -> tuple[Measure, Measure]:
    """Size both files, then time both binaries: one warm-up run each, then `runs` each in run_order."""
    argv = {OLD: (str(old), *limits.args), NEW: (str(new), *limits.args)}
    for side in (OLD, NEW):
        warm(argv[side])
    runs: dict[str, list[Run]] = {OLD: [], NEW: []}
    for side in run_order(limits.runs):
        runs[side].append(timer(argv[side]))
    return (
        Measure(name, old.stat().st_size, tuple(runs[OLD])),
        Measure(name, new.stat().st_size, tuple(runs[NEW])),
    )


def measure_binary(
    name: str, old: Path, new: Path, limits: Limits, timer: Timer, warm: Callable[[Sequence[str]], None]
) -> tuple[Measure, Measure]:
    """Rounds of measure_pair, their pairs joined, until the time verdict is clear or MAX_ROUNDS were timed.

    On a quiet machine one round settles it either way; on a busy one the
    pairs scatter, and each further round narrows the interval of their median.
    """
    old_measure, new_measure = measure_pair(name, old, new, limits, timer, warm)
    for _ in range(MAX_ROUNDS - 1):
        if settled(old_measure, new_measure, limits):
            break
        low, high = median_interval(pair_increases(old_measure.times, new_measure.times))
        limit = limit_text(limits.max_time_increase)
        ui.say(f"{name}: {percent(low)} to {percent(high)} run for run, too close to {limit}: timing more pairs")
        more_old, more_new = measure_pair(name, old, new, limits, timer, warm)
        old_measure, new_measure = old_measure.extended(more_old), new_measure.extended(more_new)
    if not settled(old_measure, new_measure, limits):
        basis = time_basis(old_measure, new_measure, limits)[0]
        decides = "the CPU time they used decides" if basis == CPU else "the median of the pairs decides"
        ui.warn(
            f"{name}: wall-clock times scatter too much on this machine for a clear verdict after "
            f"{len(new_measure.times)} pairs; {decides} (a quieter machine would be surer)"
        )
    return old_measure, new_measure


def run_regression_gate(
    config: ReleaseConfig,
    *,
    baseline: Path,
    current: Path | None = None,
    timer: Timer = time_command,
    warm: Callable[[Sequence[str]], None] = warm_up,
    host: tuple[str, str] | None = None,
) -> int:
    """`invoke regression`: compare the host target's binaries with the baseline's; 0, or a VerificationError.

    current: the new build (default: config.dist_dir). timer, warm and host
    are for tests: how a run is timed, the warm-up run, and (os, arch) of this machine.
    """
    limits = parse_limits(config.regression)
    host_os, host_arch = host or host_platform()
    candidates = host_targets(config.targets, host_os, host_arch)
    if not candidates:
        raise ToolchainError(
            f"regression gate: none of the configured targets runs natively on this machine ({host_os} {host_arch})",
            hint="run the gate where one does, e.g. the CI runner of "
            + ", ".join(t.triple for t in config.targets[:3]),
        )
    with tempfile.TemporaryDirectory(prefix="regression-") as scratch:
        old_side = open_side("--baseline", baseline, Path(scratch))
        new_side = open_side("--current", current or config.dist_dir, Path(scratch))
        target, old_files, new_files = choose_binaries(candidates, old_side, new_side, config.binaries)
        rows, findings = [], []
        with ui.group(f"regression gate: {target.triple}, {limits.runs} pairs of runs (old, new) a round"):
            for name in config.binaries:
                ui.say(f"timing {name}: {shlex.join([name, *limits.args])}")
                old, new = measure_binary(name, old_files[name], new_files[name], limits, timer, warm)
                findings += judge(old, new, limits)
                rows.append(table_row(old, new, limits))
    ui.summary(
        f"{config.name} {config.version}: regression gate against {baseline.name} "
        f"(limits: size {limit_text(limits.max_size_increase)}, time {limit_text(limits.max_time_increase)})",
        COLUMNS,
        rows,
    )
    if findings:
        raise gate_error(findings, limits)
    return 0
