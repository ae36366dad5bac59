"""A release assembled from CI's per-target build folders is byte-identical to one built on one machine.

When a project outgrows one machine, the CI matrix builds each target on its own runner and the release job
imports their folders (`--prebuilt`, `invoke release --from-artifacts`). The session's `package_dist` is
exactly that: every target built by its own `nox -s build-<triple>` session into a folder of its own, then
packaged from those folders. Here the same targets are built and packaged by one `invoke package` run;
the two releases must hold the same bytes: SHA256SUMS, and every package of every channel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BUILDABLE_HERE, ROOT, require_tool

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def digests(dist: Path) -> dict[str, str]:
    """Every file of the release (binaries, archives, packages ...) with its sha256, from dist/manifest.json."""
    record = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    return {a["path"]: a["sha256"] for a in record["artifacts"]}


def test_a_release_from_per_target_folders_equals_a_local_all_targets_release(
    package_dist: Path, tmp_path: Path
) -> None:
    require_tool("cargo")
    local = tmp_path / "dist"
    program = shutil.which("invoke") or str(Path(sys.executable).parent / "invoke")
    argv = [program, "package", "--dist", str(local), "--unsigned"]
    for triple in BUILDABLE_HERE:
        argv += ["--target", triple]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    ours, theirs = digests(local), digests(package_dist)
    assert any(path.startswith("packages/") for path in ours), "the channels made packages"
    differing = sorted(path for path in ours.keys() | theirs.keys() if ours.get(path) != theirs.get(path))
    assert differing == [], f"files that differ: {differing}"
    assert (local / "SHA256SUMS").read_bytes() == (package_dist / "SHA256SUMS").read_bytes()
