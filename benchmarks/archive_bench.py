"""Archive + checksum speed: tooling.archive against GNU tar | gzip + sha256sum, side by side.

Both sides do the same work on the same 50 MB binary-like file: a reproducible
tar.gz at one compression level (GNU tar with --sort, fixed owner, mode and
mtime, and `gzip -n`), then its SHA-256. Rounds alternate between the two so
that cache and CPU-frequency effects hit both alike; the medians are compared.

    python benchmarks/archive_bench.py [--size-mb 50] [--level 6] [--rounds 5] [--max-ratio 1.1]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tooling import proc
from tooling.artifacts import archive, checksum
from tooling.targets import get_target

EPOCH = 1_700_000_000


def make_binary(path: Path, size: int) -> None:
    """Bytes that compress roughly like a stripped executable (about 2:1): random runs between repetitive ones."""
    rng = random.Random(20240601)  # noqa: S311 - test data, not secrets: fixed seed on purpose
    vocabulary = [rng.randbytes(rng.randint(4, 24)) for _ in range(512)]
    with path.open("wb") as handle:
        written = 0
        while written < size:
            block = rng.randbytes(4096) + b"".join(rng.choice(vocabulary) for _ in range(300))
            handle.write(block)
            written += len(block)
        handle.truncate(size)
    path.chmod(0o755)


def staged_binary(root: Path, size_mb: int) -> tuple[Path, Path]:
    """(the staging folder, the binary-like file inside its top folder), as GNU tar archives it."""
    stage = root / "stage"
    top = stage / "bench-1.0.0-x86_64-unknown-linux-gnu"
    top.mkdir(parents=True)
    binary = top / "bench"
    make_binary(binary, size_mb * 1024 * 1024)
    return stage, binary


def ours(binary: Path, out: Path, level: int) -> str:
    plan = archive.plan_archive(
        name="bench",
        version="1.0.0",
        target=get_target("x86_64-unknown-linux-gnu"),
        fmt="tar.gz",
        binaries=[binary],
        extra_files=[],
        extra_base=binary.parent,
    )
    written = archive.write_archive(plan, out / plan.file_name, epoch=EPOCH, level=level)
    checksum.write_sidecar(written.path, written.sha256)
    return written.sha256


def gnu(binary: Path, out: Path, level: int, stage: Path) -> str:
    target = out / "gnu.tar.gz"
    proc.Runner().run(
        [
            "tar",
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            f"--mtime=@{EPOCH}",
            "--mode=u+rwX,go+rX,go-w",
            f"--use-compress-program=gzip -n -{level}",
            "-cf",
            str(target),
            "-C",
            str(stage),
            "bench-1.0.0-x86_64-unknown-linux-gnu",
        ],
        echo=False,
    )
    result = proc.read(["sha256sum", str(target)])
    (out / "gnu.tar.gz.sha256").write_text(result.stdout)
    return result.stdout.split()[0]


def timed(action: Callable[[], str]) -> tuple[float, str]:
    started = time.perf_counter()
    digest = action()
    return time.perf_counter() - started, digest


def main(argv: list[str] | None = None) -> int:
    """Run the comparison, print the medians and the ratio; exit 1 if it exceeds --max-ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--level", type=int, default=archive.DEFAULT_LEVEL)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=None, help="fail when ours/GNU is above this")
    args = parser.parse_args(argv)
    for tool in ("tar", "gzip", "sha256sum"):
        if not shutil.which(tool):
            print(f"benchmark needs GNU {tool}", file=sys.stderr)
            return 2

    with tempfile.TemporaryDirectory(prefix="archive-bench-") as folder:
        root = Path(folder)
        stage, binary = staged_binary(root, args.size_mb)
        ours_times: list[float] = []
        gnu_times: list[float] = []
        ours_digests: set[str] = set()
        sizes: dict[str, int] = {}
        for round_number in range(args.rounds):
            out = root / f"round{round_number}"
            out.mkdir()
            # Alternate who goes first so neither always meets a warm or cold cache.
            pair = [
                ("ours", lambda out=out: ours(binary, out, args.level)),
                ("gnu", lambda out=out: gnu(binary, out, args.level, stage)),
            ]
            for name, action in pair if round_number % 2 == 0 else reversed(pair):
                seconds, digest = timed(action)
                (ours_times if name == "ours" else gnu_times).append(seconds)
                if name == "ours":
                    ours_digests.add(digest)
            sizes["ours"] = next(out.glob("bench-*.tar.gz")).stat().st_size
            sizes["gnu"] = (out / "gnu.tar.gz").stat().st_size
            shutil.rmtree(out)
        ours_median, gnu_median = statistics.median(ours_times), statistics.median(gnu_times)
        ratio = ours_median / gnu_median
        mb = args.size_mb
        print(f"input: {mb} MiB binary-like file, gzip level {args.level}, {args.rounds} alternating rounds")
        print(
            f"  tooling.archive + sha256 : median {ours_median:6.3f} s  ({mb / ours_median:6.1f} MiB/s)  "
            f"runs {', '.join(f'{t:.3f}' for t in ours_times)}"
        )
        print(
            f"  GNU tar|gzip + sha256sum : median {gnu_median:6.3f} s  ({mb / gnu_median:6.1f} MiB/s)  "
            f"runs {', '.join(f'{t:.3f}' for t in gnu_times)}"
        )
        print(f"  archive size             : ours {sizes['ours']:,} bytes, GNU {sizes['gnu']:,} bytes")
        print(f"  ratio ours/GNU           : {ratio:.2f}x (goal <= 1.10x)")
        print(
            f"  reproducible             : {'yes' if len(ours_digests) == 1 else 'NO'} "
            f"({len(ours_digests)} distinct archive hash(es) over {args.rounds} runs)"
        )
        if len(ours_digests) != 1:
            return 1
        if args.max_ratio is not None and ratio > args.max_ratio:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
