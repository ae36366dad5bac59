"""Fake build output for artifact tests: small binaries and partial manifests, no compiler."""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from pathlib import Path

from tooling import manifest
from tooling.artifacts import fence
from tooling.targets import Target, get_target

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


# --- binaries the archive step's re-verification accepts ---------------------------------

_ELF_MACHINE = {"x86_64": 62, "aarch64": 183}
_PE_MACHINE = {"x86_64": 0x8664, "aarch64": 0xAA64}


def executable_header(target: Target) -> bytes:
    """The smallest header LIEF reads as this target's format and architecture (ELF for Linux, PE for Windows)."""
    if target.os == "linux":
        ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, version 1
        # e_type EXEC, e_machine, e_version, entry, phoff, shoff, flags, ehsize, phentsize, 0 phdrs, shentsize, 0 shdrs
        return ident + struct.pack("<HHIQQQIHHHHHH", 2, _ELF_MACHINE[target.arch], 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)
    if target.os == "windows":
        dos = bytearray(64)
        dos[0:2] = b"MZ"
        struct.pack_into("<I", dos, 0x3C, 64)  # the PE header follows the DOS header
        coff = struct.pack("<HHIIIHH", _PE_MACHINE[target.arch], 0, 0, 0, 0, 240, 0x22)
        optional = bytearray(240)
        struct.pack_into("<H", optional, 0, 0x20B)  # PE32+
        for offset, value in ((32, 0x1000), (36, 0x200), (56, 0x1000), (60, 0x200), (108, 16)):
            struct.pack_into("<I", optional, offset, value)  # alignments, image and header sizes, directories
        return bytes(dos) + b"PE\0\0" + coff + bytes(optional)
    raise ValueError(f"no test header for {target.triple}")


def give_header(dist: Path, path: Path, target: Target) -> None:
    """Put `target`'s header at the start of a fake binary and record the new bytes in its partial manifest."""
    header = executable_header(target)
    path.write_bytes(header + path.read_bytes()[len(header) :])
    partial_path = path.parent / manifest.MANIFEST_NAME
    partial = manifest.read(partial_path)
    partial.add(manifest.describe_file(dist, path, kind="binary", target=partial.artifacts[0].target, step="build"))
    manifest.write(partial_path, partial)


def release_dist(dist: Path, triples: Sequence[str], *, marked: bool = True) -> Path:
    """make_dist with binaries that pass the archive step's checks, in a folder marked as the tool's."""
    make_dist(dist, triples)
    for triple in triples:
        target = get_target(triple)
        give_header(dist, dist / triple / target.executable("crcsum"), target)
    if marked:
        (dist / fence.MARKER_NAME).write_text(fence.MARKER_TEXT)
    return dist


def fake_binary_config(folder: Path) -> Path:
    """A pyproject.toml with this repository's [tool.release], less what runs the real binaries.

    Fake binaries cannot print completions or a man page, and the package
    channels unpack and run what they package, so those settings are dropped
    (and the install scripts, so the release files are the archives' alone).
    The signing table goes too: the tests sign with both signers and their own
    throwaway keys, where this repository's release signs with minisign only.
    """
    import tomllib

    import tomlkit

    root = Path(__file__).resolve().parent.parent
    table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["release"]
    for key in ("completions", "man", "packages", "install-scripts", "sign"):
        table.pop(key, None)
    table["crate"] = str(root / table["crate"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text(tomlkit.dumps({"tool": {"release": table}}), encoding="utf-8")
    return path
