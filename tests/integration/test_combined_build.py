"""build-mode = "combined": the sample's two glibc Linux targets in one cargo run, each verified and smoke-run.

One `cargo zigbuild --target x86_64-unknown-linux-gnu.2.17 --target aarch64-unknown-linux-gnu.2.17` (a
single command in the output), then per target what a one-target build does: strip, verify, smoke run
(aarch64 under qemu-user), dist/<triple>/ and its partial manifest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool

pytestmark = pytest.mark.integration

TRIPLES = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu")


def test_two_targets_build_in_one_cargo_run_and_each_is_verified(tmp_path: Path) -> None:
    for tool in ("cargo", "qemu-aarch64"):
        require_tool(tool)
    config = tmp_path / "pyproject.toml"
    config.write_text(
        "[tool.release]\n"
        f'crate = "{ROOT / "sample" / "Cargo.toml"}"\n'
        f"targets = {json.dumps(list(TRIPLES))}\n"
        'dist-dir = "dist"\n'
        'build-mode = "combined"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "RELEASE_CONFIG": str(config)}
    env.pop("RELEASE_DIST_DIR", None)
    done = subprocess.run([sys.executable, "-m", "tooling", "build"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=1800, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-6000:]
    commands = [line for line in done.stderr.splitlines() if line.startswith("+ ") and " zigbuild " in line]
    assert len(commands) == 1, commands
    assert re.findall(r"--target (\S+)", commands[0]) == [f"{triple}.2.17" for triple in TRIPLES]
    for triple in TRIPLES:
        partial = json.loads((tmp_path / "dist" / triple / "manifest.json").read_text(encoding="utf-8"))
        (binary,) = partial["artifacts"]
        assert binary["path"] == f"{triple}/crcsum" and binary["target"] == triple
        assert f"crcsum 0.1.0 ({triple})" in binary["facts"]["smoke"]
        assert binary["facts"]["arch"] == triple.split("-")[0]
