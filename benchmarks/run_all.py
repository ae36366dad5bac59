"""`nox -s bench`: every benchmark, side by side, in one run; a table and JSON under bench/results/.

Each comparison alternates our side and its baseline for --rounds rounds (at least 5) and reports
median, min and max of both and the ratio of the medians:

  (a) a warm no-op `nox -s build-<host>` against its own cargo-zigbuild command; invoke --list, clean
      and verify against a bare Python start-up (benchmarks/overhead_bench.py);
  (b) the 4 Linux targets in one cargo run against one run per target, cold
      (benchmarks/multi_target_bench.py; --skip-cold leaves it out: it takes many minutes);
  (c) archive + checksum against GNU tar | gzip + sha256sum on a 50 MB binary (benchmarks/archive_bench.py);
  (d) uploads against sequential curl to the local GitHub (benchmarks/upload_bench.py);
  (e) `invoke release --dry-run`, warm, with the share of its wall time spent in cargo and in compression
      (benchmarks/release_bench.py).

    python benchmarks/run_all.py [--rounds 5] [--skip-cold]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import archive_bench, multi_target_bench, overhead_bench, release_bench, upload_bench
from benchmarks.bench_lib import MIN_ROUNDS, Comparison, alternate, write_results
from tooling import ui
from tooling.artifacts import archive


def archive_comparison(rounds: int, size_mb: int = 50) -> Comparison:
    """(c) the same reproducible tar.gz and its SHA-256, ours against GNU's tools."""
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as folder:
        root = Path(folder)
        stage, binary = archive_bench.staged_binary(root, size_mb)
        out = root / "out"

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()

        comparison = Comparison(
            f"archive + checksum of a {size_mb} MB binary",
            "tooling.archive + sha256",
            "GNU tar | gzip -n + sha256sum",
            goal="ratio <= 1.0",
        )
        level = archive.DEFAULT_LEVEL
        return alternate(
            comparison,
            lambda: archive_bench.ours(binary, out, level),
            lambda: archive_bench.gnu(binary, out, level, stage),
            rounds,
            before_each=fresh,
        )


def upload_comparison(rounds: int) -> Comparison:
    """(d) 24 files of 2-4 MiB to the local GitHub: publish_release (4 at once) against one curl after another."""
    from benchmarks.upload_bench import MEDIA_TYPE, OWNER, REPO, FakeGitHub, github_description

    comparison = Comparison("upload of 24 files (2-4 MiB)", "publish_release, 4 at once", "sequential curl")
    with (
        tempfile.TemporaryDirectory(prefix="upload-bench-") as folder,
        FakeGitHub(github_description(), owner=OWNER, repo=REPO) as gh,
    ):
        root = Path(folder)
        assets = upload_bench.make_files(root, 24, 2.0, 4.0)
        headers = root / "curl-headers"
        headers.write_text(
            f"Authorization: Bearer {gh.token}\nAccept: {MEDIA_TYPE}\nContent-Type: application/octet-stream\n",
            encoding="utf-8",
        )
        headers.chmod(0o600)
        rounds_done = {"ours": 0, "curl": 0}

        def ours() -> None:
            upload_bench.reset(gh)
            release = upload_bench.ours(gh, assets, rounds_done["ours"], 4)
            upload_bench.check_stored(gh, release, assets, "ours")
            rounds_done["ours"] += 1

        def curl() -> None:
            upload_bench.reset(gh)
            release = upload_bench.with_curl(gh, assets, rounds_done["curl"], headers)
            upload_bench.check_stored(gh, release, assets, "curl")
            rounds_done["curl"] += 1

        ui.console.quiet = True
        try:
            return alternate(comparison, ours, curl, rounds)
        finally:
            ui.console.quiet = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument("--skip-cold", action="store_true", help="leave out the cold multi-target builds (b)")
    args = parser.parse_args(argv)
    if args.rounds < MIN_ROUNDS:
        parser.error(f"--rounds must be at least {MIN_ROUNDS}: a median of fewer runs says little")
    comparisons = [*overhead_bench.compare(args.rounds)]
    if not args.skip_cold:
        comparisons.append(multi_target_bench.compare(args.rounds))
    comparisons.append(archive_comparison(args.rounds))
    comparisons.append(upload_comparison(args.rounds))
    comparisons.append(release_bench.compare(args.rounds))
    write_results(comparisons)
    return 0


if __name__ == "__main__":
    sys.exit(main())
