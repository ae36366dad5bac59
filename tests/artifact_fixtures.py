"""Fake build output for artifact tests: small binaries and partial manifests, no compiler."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from tooling import manifest
from tooling.targets import get_target

NAME = "crcsum"
VERSION = "0.1.0"


def fake_binary(path: Path, seed: int, size: int = 64 * 1024) -> Path:
    """A file of `size` bytes that compresses like a program (text-ish runs between random bytes)."""
    rng = random.Random(seed)
    chunks = []
    while sum(map(len, chunks)) < size:
        chunks.append(rng.randbytes(512))
        chunks.append(bytes(rng.choice(b"abcdefgh\x00") for _ in range(512)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(chunks)[:size])
    path.chmod(0o700)  # deliberately not 0755: archives must normalise it
    return path


def make_dist(dist: Path, triples: Sequence[str], *, name: str = NAME, version: str = VERSION) -> Path:
    """dist/<triple>/<binary> and dist/<triple>/manifest.json for each triple, like a build job leaves them."""
    for index, triple in enumerate(triples):
        target = get_target(triple)
        binary = fake_binary(dist / triple / target.executable(name), seed=index)
        partial = manifest.Manifest(name, version)
        partial.add(manifest.describe_file(dist, binary, kind="binary", target=triple, step="build"))
        manifest.write(dist / triple / manifest.MANIFEST_NAME, partial)
    return dist
