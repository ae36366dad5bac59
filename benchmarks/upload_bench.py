"""Upload speed: `invoke publish`'s upload path against sequential curl, side by side, to one local GitHub.

Both sides send the same files to the same server: the local GitHub of
tests/github_fake, which checks every request and reply against GitHub's
OpenAPI description and hashes what it stores (a cost both sides pay alike).

  ours  tooling.publish.releases.publish_release in-process, --jobs uploads at
        once, onto a draft release made beforehand: its whole run, so the
        preflight reads, the uploads (streamed from disk and hashed on the
        way), the re-check of the draft and the publishing PATCH;
  curl  one `curl --data-binary @file` per file, one after another (a shell
        loop's way), onto a second draft release.

The files: --files random files of --min-mib to --max-mib MiB, or the release
files of a finished dist/ given with --dist. Rounds alternate who goes first;
the medians are compared. Each round starts from an empty repository and is
checked: every asset stored with the local file's size and sha256.

    python benchmarks/upload_bench.py [--files 24] [--min-mib 2] [--max-mib 4] [--rounds 3] [--jobs 4] [--dist D]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

# The local GitHub lives with the tests, at the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest  # the fake reports a missing description as a pytest skip

from tests.github_fake import FakeGitHub, github_description
from tests.github_fake.state import fake_sha
from tooling import proc, ui
from tooling.artifacts import dist as dist_folder
from tooling.publish.github import MEDIA_TYPE
from tooling.publish.releases import LocalAsset, publish_release
from tooling.publish.run import release_files

OWNER, REPO = "acme", "bench"
MIB = 1024 * 1024


def make_files(folder: Path, count: int, min_mib: float, max_mib: float) -> list[LocalAsset]:
    """`count` files of random bytes (incompressible, like archives), sizes drawn between the bounds."""
    rng = random.Random(20240611)  # noqa: S311 - test data, not secrets: fixed seed on purpose
    assets = []
    for number in range(count):
        data = rng.randbytes(int(rng.uniform(min_mib, max_mib) * MIB))
        path = folder / f"bench-{number:03d}.tar.gz"
        path.write_bytes(data)
        assets.append(LocalAsset(path, path.name, len(data), hashlib.sha256(data).hexdigest()))
    return assets


def reset(gh: FakeGitHub) -> None:
    """An empty repository: the fake hashes every listed asset, so earlier rounds' releases would cost."""
    gh.state.releases.clear()
    gh.state.assets.clear()
    gh.state.tags.clear()


def ours(gh: FakeGitHub, assets: Sequence[LocalAsset], round_number: int, jobs: int) -> int:
    """publish_release onto a draft made beforehand (as a re-run finds it); returns the release id."""
    version = f"1.0.{round_number}"
    commit = fake_sha("bench", version)
    gh.state.add_tag(f"v{version}", commit)
    draft = gh.state.add_release(f"v{version}", draft=True, target_commitish=commit)
    environ = {"GITHUB_API_URL": gh.api_url, "GITHUB_TOKEN": gh.token, "GITHUB_REPOSITORY": f"{OWNER}/{REPO}"}
    publish_release(
        assets=assets, tag=f"v{version}", version=version, commit=commit, notes="benchmark", repository=None,
        environ=environ, runner=proc.Runner(), jobs=jobs,
    )  # fmt: skip
    return draft.id


def with_curl(gh: FakeGitHub, assets: Sequence[LocalAsset], round_number: int, headers: Path) -> int:
    """One curl per file, one after another, onto a second draft; returns the release id."""
    draft = gh.state.add_release(f"curl-{round_number}", draft=True)
    base = f"{gh.uploads_url}/repos/{OWNER}/{REPO}/releases/{draft.id}/assets"
    runner = proc.Runner()
    for asset in assets:
        argv = [
            "curl", "--silent", "--show-error", "--fail", "--output", "/dev/null",
            "--header", f"@{headers}",  # the token from a file, not the command line
            "--data-binary", f"@{asset.path}", f"{base}?name={quote(asset.name)}",
        ]  # fmt: skip
        runner.run(argv, effect=proc.Effect.REMOTE, capture=True, echo=False, timeout=300)
    return draft.id


def check_stored(gh: FakeGitHub, release_id: int, assets: Sequence[LocalAsset], who: str) -> None:
    """Every file on the release once, with its size and sha256: a fast wrong upload is no result."""
    stored = {a.name: (len(a.data), a.digest) for a in gh.state.assets_of(release_id)}
    wanted = {a.name: (a.size, "sha256:" + a.sha256) for a in assets}
    if stored != wanted:
        raise SystemExit(f"{who}: the release does not hold the files as sent ({len(stored)} of {len(wanted)})")


def timed(action: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the medians, the throughput and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--min-mib", type=float, default=2.0)
    parser.add_argument("--max-mib", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=4, help="uploads at once on our side")
    parser.add_argument("--dist", type=Path, default=None, help="upload this dist/'s release files instead")
    args = parser.parse_args(argv)
    if not shutil.which("curl"):
        print("the benchmark needs curl", file=sys.stderr)
        return 2
    try:
        description = github_description()
    except (pytest.skip.Exception, pytest.fail.Exception) as missing:
        print(f"the local GitHub needs GitHub's OpenAPI description: {missing}", file=sys.stderr)
        return 2

    with (
        tempfile.TemporaryDirectory(prefix="upload-bench-") as folder,
        FakeGitHub(description, owner=OWNER, repo=REPO) as gh,
    ):
        root = Path(folder)
        if args.dist is not None:
            assets = release_files(dist_folder.load(args.dist), args.dist)
            source = f"the {len(assets)} release files of {args.dist}"
        else:
            assets = make_files(root, args.files, args.min_mib, args.max_mib)
            source = f"{len(assets)} random files of {args.min_mib:g}-{args.max_mib:g} MiB"
        headers = root / "curl-headers"
        headers.write_text(
            f"Authorization: Bearer {gh.token}\nAccept: {MEDIA_TYPE}\nContent-Type: application/octet-stream\n",
            encoding="utf-8",
        )
        headers.chmod(0o600)
        mib = sum(a.size for a in assets) / MIB
        times: dict[str, list[float]] = {"ours": [], "curl": []}
        ui.console.quiet = True  # no progress bars or tables between the figures
        for round_number in range(args.rounds):
            reset(gh)
            pair = [
                ("ours", lambda r=round_number: ours(gh, assets, r, args.jobs)),
                ("curl", lambda r=round_number: with_curl(gh, assets, r, headers)),
            ]
            # Alternate who goes first so neither always meets a warm or cold page cache.
            for name, action in pair if round_number % 2 == 0 else reversed(pair):
                seconds, release_id = timed(action)
                check_stored(gh, release_id, assets, name)
                times[name].append(seconds)
        ui.console.quiet = False
        requests = len(gh.requests)

    ours_median, curl_median = statistics.median(times["ours"]), statistics.median(times["curl"])
    print(f"input: {source}, {mib:.1f} MiB in all; {args.rounds} alternating rounds; local GitHub on 127.0.0.1")
    for label, median, runs in (
        (f"publish_release, {args.jobs} at once", ours_median, times["ours"]),
        ("curl, one file after another", curl_median, times["curl"]),
    ):
        print(
            f"  {label:<30}: median {median:6.3f} s  ({mib / median:6.1f} MiB/s)  "
            f"runs {', '.join(f'{t:.3f}' for t in runs)}"
        )
    print(f"  {'ratio publish_release/curl':<30}: {ours_median / curl_median:.2f}x (below 1: faster than curl)")
    print(f"  {'requests served':<30}: {requests} (ours adds the preflight, re-check and publish)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
