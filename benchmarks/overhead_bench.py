"""The tool's own overhead, whole processes, warm: what a developer waits for beyond cargo.

- `nox -s build-<host triple>` when nothing changed, against the very cargo-zigbuild command it runs
  (same argv, same environment): the difference is the tool's overhead (goal: under 1 s);
- `invoke --list`, `invoke clean` and `invoke verify` on a built dist/, against a bare Python start-up
  (`python -c pass`): the difference is what the tool adds (goal: each under 0.5 s in all).

    python benchmarks/overhead_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_lib import MIN_ROUNDS, Comparison, alternate, write_results
from tooling.build.run import plan_for
from tooling.build.toolchain import host_platform, probe_system, resolve
from tooling.build.zig import zig_path
from tooling.config import load_config
from tooling.targets import all_targets

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
INVOKE = str(Path(sys.executable).parent / "invoke")


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def host_triple() -> str:
    host_os, host_arch = host_platform()
    for target in all_targets():
        if (target.os, target.arch, target.libc) == (host_os, host_arch, "gnu" if host_os == "linux" else target.libc):
            return target.triple
    raise SystemExit(f"no gnu target of the table runs on this machine ({host_os} {host_arch})")


def build_comparison(rounds: int) -> Comparison:
    """(a) warm no-op `nox -s build-<host>` against its own cargo-zigbuild command."""
    config = load_config(ROOT)
    triple = host_triple()
    target = next(t for t in config.targets if t.triple == triple)
    toolchain = resolve(target, probe_system(config.rustc), config.rust_requirement)
    plan = plan_for(config, target, toolchain, zig_path() if toolchain.builder == "cargo-zigbuild" else None)
    cargo_env = {**os.environ, **plan.env}
    nox = [PYTHON, "-m", "nox", "-s", f"build-{triple}"]
    run(nox)  # warm: everything built once before the timing starts
    comparison = Comparison(
        f"warm no-op build of {triple}",
        f"nox -s build-{triple}",
        "its cargo-zigbuild command",
        goal="overhead < 1 s",
    )
    return alternate(comparison, lambda: run(nox), lambda: run(list(plan.argv), cargo_env, config.crate_dir), rounds)


def command_comparisons(rounds: int) -> list[Comparison]:
    """invoke --list, clean and verify on a built dist/, each against a bare Python start-up."""
    bare = [PYTHON, "-c", "pass"]
    results = []
    with tempfile.TemporaryDirectory(prefix="overhead-bench-") as folder:
        built = Path(folder) / "built"
        # A whole release of what this machine builds (the MSVC target is built on Windows runners).
        run([INVOKE, "package", "--dist", str(built), "--unsigned", "--allow-partial"])
        scratch = Path(folder) / "dist"

        def fresh_copy() -> None:
            if scratch.exists():
                shutil.rmtree(scratch)
            shutil.copytree(built, scratch, symlinks=True)

        cases = [
            ("invoke --list", [INVOKE, "--list"], None),
            (
                "invoke verify",
                [INVOKE, "verify", "--dist", str(scratch), "--no-signatures", "--allow-partial"],
                fresh_copy,
            ),
            ("invoke clean", [INVOKE, "clean", "--dist", str(scratch)], fresh_copy),
        ]
        for label, argv, reset in cases:
            comparison = Comparison(label, label, "python -c pass", goal="overhead < 0.5 s")
            results.append(
                alternate(comparison, lambda argv=argv: run(argv), lambda: run(bare), rounds, before_each=reset)
            )
    return results


def compare(rounds: int) -> list[Comparison]:
    return [build_comparison(rounds), *command_comparisons(rounds)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    args = parser.parse_args(argv)
    write_results(compare(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
