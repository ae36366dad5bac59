"""What every benchmark shares: alternating rounds, medians with their spread, and the results files.

A comparison times our side and a baseline doing the same work, alternately (who goes first
changes every round, so neither always meets a warm or a cold cache), and reports the median,
min and max of each side and the ratio of the medians. `write_results` prints them as a table
and writes them under bench/results/ as JSON (one file per run, and latest.json).
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
MIN_ROUNDS = 5


@dataclass
class Comparison:
    """One benchmark: our figure and the baseline's, in seconds per round."""

    name: str
    ours_label: str
    baseline_label: str
    ours: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    goal: str = ""  # what the figure should be, in words (e.g. "ratio <= 1.0")
    notes: str = ""

    @property
    def ratio(self) -> float:
        return statistics.median(self.ours) / statistics.median(self.baseline)

    @property
    def overhead(self) -> float:
        """Our median minus the baseline's, in seconds."""
        return statistics.median(self.ours) - statistics.median(self.baseline)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.update(
            {
                "ours_median": statistics.median(self.ours),
                "ours_min": min(self.ours),
                "ours_max": max(self.ours),
                "baseline_median": statistics.median(self.baseline),
                "baseline_min": min(self.baseline),
                "baseline_max": max(self.baseline),
                "ratio": self.ratio,
                "overhead_seconds": self.overhead,
            }
        )
        return data


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def alternate(
    comparison: Comparison,
    ours: Callable[[], object],
    baseline: Callable[[], object],
    rounds: int,
    before_each: Callable[[], object] | None = None,
) -> Comparison:
    """Time `ours` and `baseline` alternately for `rounds` rounds; `before_each` (untimed) resets the scene."""
    for number in range(rounds):
        pair = [("ours", ours), ("baseline", baseline)]
        for side, action in pair if number % 2 == 0 else reversed(pair):
            if before_each is not None:
                before_each()
            (comparison.ours if side == "ours" else comparison.baseline).append(timed(action))
    return comparison


def seconds(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}..{max(values):.3f})"


def table(comparisons: Sequence[Comparison]) -> str:
    """The results as a Markdown table (pure)."""
    lines = [
        "| benchmark | ours: median (min..max) | baseline: median (min..max) | ratio | goal |",
        "|---|---|---|---|---|",
    ]
    for c in comparisons:
        # A pipe inside a cell ("tar | gzip") would end it.
        what = f"{c.name}: {c.ours_label} vs {c.baseline_label}".replace("|", "\\|")
        lines.append(
            f"| {what} | {seconds(c.ours)} | {seconds(c.baseline)} | {c.ratio:.2f}x ({c.overhead:+.3f} s) | {c.goal} |"
        )
    return "\n".join(lines) + "\n"


def write_results(comparisons: Sequence[Comparison], folder: Path = RESULTS) -> Path:
    """Print the table and write bench/results/<UTC time>.json and latest.json; returns the file written."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    data = {
        "when": stamp,
        "machine": {"cpus": _cpus(), "system": platform.platform(), "python": platform.python_version()},
        "benchmarks": [c.to_json() for c in comparisons],
    }
    text = json.dumps(data, indent=2) + "\n"
    path = folder / f"{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (folder / "latest.json").write_text(text, encoding="utf-8")
    (folder / "latest.md").write_text(table(comparisons), encoding="utf-8")
    print(table(comparisons))
    print(f"results: {path}")
    return path


def _cpus() -> int:
    import os

    return os.cpu_count() or 1
