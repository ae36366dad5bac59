"""The tool strips release binaries itself (tooling.build.strip), over real builds of the sample crate.

cargo is told not to strip, so the file cargo leaves in the target folder
still carries its debug info; the shipped one must not, its manifest entry
says so and names the tool, and arm64 macOS keeps a valid ad-hoc signature.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tooling.build.binary import read_facts
from tooling.build.plan import default_target_dir, profile_dir
from tooling.config import load_config
from tooling.manifest import read
from tooling.targets import get_target

pytestmark = pytest.mark.integration

CONFIG = load_config()
STRIPPED_HERE = (
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-pc-windows-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
)


@pytest.mark.parametrize("triple", STRIPPED_HERE)
def test_shipped_binary_is_stripped_and_says_so(cross_dist: Callable[[str], Path], triple: str) -> None:
    dist = cross_dist(triple)
    target = get_target(triple)
    name = target.executable("crcsum")
    as_cargo_left_it = read_facts(default_target_dir(CONFIG) / triple / profile_dir(CONFIG.profile) / name)
    assert not as_cargo_left_it.stripped, "cargo was told not to strip; its output should still carry debug info"

    shipped = read_facts(dist / name)
    assert shipped.stripped, shipped.debug_info
    [entry] = read(dist / "manifest.json").artifacts
    assert entry.facts["stripped"] is True
    assert entry.facts["strip_tool"] in ("llvm-objcopy", "rust-objcopy")
    if target.is_macos and target.arch == "aarch64":
        # llvm-objcopy re-signs what it rewrites: the page hashes must match the stripped file.
        assert shipped.code_signed and shipped.signature_valid
