"""Which release the regression gate compares with when it is given a git ref, or nothing."""

from __future__ import annotations

from pathlib import Path

from tooling.build.baseline import baseline_folder, latest_release_before_head


def test_the_default_baseline_is_the_latest_stable_release_before_head() -> None:
    tags = ["v1.0.0", "v1.2.0", "v1.10.0", "v1.11.0-beta.1", "nightly", "v1.9.3"]
    assert latest_release_before_head(tags, [], "v") == "v1.10.0"
    # HEAD is the release being checked: it compares with the one before it.
    assert latest_release_before_head(tags, ["v1.10.0"], "v") == "v1.9.3"
    assert latest_release_before_head(["v0.1.0-rc.1", "nightly"], [], "v") is None
    assert latest_release_before_head(["release-2.0.0", "v3.0.0"], [], "release-") == "release-2.0.0"


def test_a_baseline_is_kept_per_commit_and_target() -> None:
    folder = baseline_folder(Path("/cache"), "crcsum", "a" * 40, "x86_64-unknown-linux-gnu")
    assert folder == Path("/cache/regression-baselines/crcsum") / ("a" * 40) / "x86_64-unknown-linux-gnu" / "dist"
