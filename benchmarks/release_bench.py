"""`invoke release --dry-run`, warm, in a clone of this repository: where its wall time goes.

Each round cleans the clone's dist/ (untimed) and runs the whole dry run as a process. The steps'
own timings (its --json report) split the time: the steps whose work is cargo's (build, cargo-test,
cargo-package) and the ones that compress (archive, packages) against everything else, which is the
tool's own work (goal: under 5% of the wall time). The comparison's baseline is the time of those
cargo and compression steps, so the ratio is wall time / (cargo + compression).

    python benchmarks/release_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_lib import MIN_ROUNDS, Comparison, write_results
from tooling.build.plan import default_target_dir
from tooling.config import load_config

ROOT = Path(__file__).resolve().parent.parent
INVOKE = str(Path(sys.executable).parent / "invoke")
CARGO_STEPS = ("build", "cargo-test", "cargo-package")
COMPRESSION_STEPS = ("archive", "packages")


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def compare(rounds: int) -> Comparison:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RELEASE_"))}
    # The cargo folder this repository's builds use: warm, only the crate itself compiles again.
    env["CARGO_TARGET_DIR"] = str(default_target_dir(load_config(ROOT, {})))
    comparison = Comparison(
        "invoke release --dry-run (warm)",
        "whole run",
        "its cargo and compression steps",
        goal="everything else < 5% (ratio < 1.053)",
    )
    shares: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="release-bench-") as folder:
        clone = Path(folder) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        for _ in range(rounds + 1):  # the first run warms up and is not counted
            run([INVOKE, "clean"], clone, env)
            started = time.perf_counter()
            report = _json_of(run([INVOKE, "release", "--dry-run", "--json"], clone, env))
            wall = time.perf_counter() - started
            steps = {str(step["name"]): float(step.get("seconds", 0.0)) for step in report["steps"]}
            cargo = sum(steps.get(name, 0.0) for name in CARGO_STEPS)
            compression = sum(steps.get(name, 0.0) for name in COMPRESSION_STEPS)
            shares.append({"wall": wall, "cargo": cargo, "compression": compression})
    for share in shares[1:]:
        comparison.ours.append(share["wall"])
        comparison.baseline.append(share["cargo"] + share["compression"])
    counted = shares[1:]
    wall = statistics.median(s["wall"] for s in counted)
    cargo = statistics.median(s["cargo"] for s in counted)
    compression = statistics.median(s["compression"] for s in counted)
    comparison.notes = (
        f"medians: wall {wall:.2f} s, cargo steps {cargo:.2f} s ({cargo / wall:.0%}), compression steps "
        f"{compression:.2f} s ({compression / wall:.0%}), everything else {wall - cargo - compression:.2f} s "
        f"({(wall - cargo - compression) / wall:.0%})"
    )
    print(comparison.notes)
    return comparison


def _json_of(stdout: str) -> dict[str, list[dict[str, object]]]:
    """The --json report: the last thing the run prints on stdout."""
    report: dict[str, list[dict[str, object]]] = json.loads(stdout[stdout.index("{") :])
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    args = parser.parse_args(argv)
    write_results([compare(args.rounds)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
