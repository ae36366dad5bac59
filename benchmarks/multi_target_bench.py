"""Several targets in one cargo run against one run per target, cold: the sample's Linux targets.

Both sides build the same targets from an empty cargo target folder (so nothing is shared with an
earlier round), through the tool's own build (`build_targets`: cargo, strip, verify, smoke run),
with build-mode "combined" (one `cargo zigbuild --target A --target B ...`) and "per-target".

    python benchmarks/multi_target_bench.py [--rounds 5] [--target T ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_lib import MIN_ROUNDS, Comparison, alternate, write_results
from tooling import proc, ui
from tooling.build.plan import COMBINED, PER_TARGET
from tooling.build.run import build_targets
from tooling.build.toolchain import probe_system
from tooling.config import load_config
from tooling.targets import get_target

ROOT = Path(__file__).resolve().parent.parent
LINUX = (
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
)


def compare(rounds: int, triples: tuple[str, ...] = LINUX) -> Comparison:
    config = load_config(ROOT)
    facts = probe_system(config.rustc)
    targets = [get_target(triple) for triple in triples]
    scratch = Path(tempfile.mkdtemp(prefix="multi-target-bench-"))
    saved = os.environ.get("CARGO_TARGET_DIR")

    def cold_build(mode: str) -> None:
        folder = scratch / mode
        if folder.exists():
            shutil.rmtree(folder)
        os.environ["CARGO_TARGET_DIR"] = str(folder / "target")
        chosen = dataclasses.replace(config, build_mode=mode, dist_dir=folder / "dist")
        build_targets(chosen, targets, facts, proc.Runner())

    comparison = Comparison(
        f"cold build of {len(targets)} targets ({', '.join(triples)})",
        "one cargo run",
        "one cargo run per target",
        goal="ratio < 1 (the faster is the default)",
    )
    ui.console.quiet = True
    try:
        return alternate(comparison, lambda: cold_build(COMBINED), lambda: cold_build(PER_TARGET), rounds)
    finally:
        ui.console.quiet = False
        shutil.rmtree(scratch, ignore_errors=True)
        if saved is None:
            os.environ.pop("CARGO_TARGET_DIR", None)
        else:
            os.environ["CARGO_TARGET_DIR"] = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument("--target", action="append", help="a triple (repeatable); default: the 4 Linux targets")
    args = parser.parse_args(argv)
    write_results([compare(args.rounds, tuple(args.target) if args.target else LINUX)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
