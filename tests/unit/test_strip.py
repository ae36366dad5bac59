"""Stripping decisions (tooling.build.strip) and the checks that a binary is stripped and still signed."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tooling import proc
from tooling.build import strip
from tooling.build.binary import BinaryFacts, signature_matches, strip_problems
from tooling.build.toolchain import ROUTE_RUSTUP, Toolchain
from tooling.errors import BuildError

LLVM = strip.StripTool("/usr/bin/llvm-objcopy", "llvm-objcopy")


@pytest.mark.parametrize(
    ("profile", "strips"), [("release", True), ("bench", True), ("dist", True), ("dev", False), ("test", False)]
)
def test_the_tool_strips_every_profile_but_the_debug_ones(profile: str, strips: bool) -> None:
    assert strip.tool_strips(profile) is strips


def test_cargo_is_told_not_to_strip_only_where_the_tool_does() -> None:
    assert strip.cargo_strip_env("release") == {"CARGO_PROFILE_RELEASE_STRIP": "false"}
    assert strip.cargo_strip_env("fast-dist") == {"CARGO_PROFILE_FAST_DIST_STRIP": "false"}
    assert strip.cargo_strip_env("dev") == {}


def test_strip_arguments_per_format() -> None:
    src, dest = Path("/t/crcsum"), Path("/t/stripped/crcsum")
    assert strip.strip_argv(LLVM, "ELF", src, dest) == ["/usr/bin/llvm-objcopy", "--strip-debug", str(src), str(dest)]
    assert strip.strip_argv(LLVM, "PE", src, dest)[1:2] == ["--strip-debug"]
    # Mach-O debug info is the STABS debug map, which only --discard-all removes.
    assert strip.strip_argv(LLVM, "MachO", src, dest)[1:3] == ["--strip-debug", "--discard-all"]
    with pytest.raises(BuildError, match="format unknown"):
        strip.strip_argv(LLVM, "unknown", src, dest)


def test_llvm_objcopy_is_preferred_over_rustups_rust_objcopy() -> None:
    both = [("llvm-objcopy", "/usr/bin/llvm-objcopy"), ("rust-objcopy", "/rustup/bin/rust-objcopy")]
    assert strip.choose_tool(both) == LLVM
    assert strip.choose_tool([("llvm-objcopy", None), both[1]]) == strip.StripTool(
        "/rustup/bin/rust-objcopy", "rust-objcopy"
    )
    assert strip.choose_tool([("llvm-objcopy", None), ("rust-objcopy", None)]) is None


def test_no_objcopy_is_an_error_naming_the_tool_and_the_remedy(tmp_path: Path) -> None:
    rustc = tmp_path / "bin" / "rustc"  # a sysroot without lib/rustlib/*/bin/rust-objcopy
    chosen = Toolchain(
        "x86_64-apple-darwin", ROUTE_RUSTUP, "cargo-zigbuild", rustc, rustc.with_name("cargo"), "1.95.0", False
    )
    with pytest.raises(BuildError) as caught:
        strip.find_tool(chosen, which=lambda name: None)
    assert "llvm-objcopy" in caught.value.message
    assert caught.value.hint is not None and "apt-get install llvm" in caught.value.hint


def test_strip_problems_name_the_tool_and_what_was_left() -> None:
    assert strip_problems(BinaryFacts("ELF", "x86_64"), "llvm-objcopy") == []
    left = BinaryFacts("ELF", "x86_64", debug_info=(".debug_info", ".debug_line", ".debug_str", ".debug_abbrev", ".x"))
    assert strip_problems(left, "rust-objcopy") == [
        "stripping: rust-objcopy left debug info in the binary "
        "(.debug_info, .debug_line, .debug_str, .debug_abbrev, ...)"
    ]


def test_summary_records_whether_stripped() -> None:
    assert BinaryFacts("PE", "x86_64").summary()["stripped"] is True
    assert BinaryFacts("PE", "x86_64", debug_info=("/4",)).summary()["stripped"] is False


def _signed(pages: list[bytes], page_shift: int = 12) -> tuple[bytes, int]:
    """A file of `pages` followed by a SuperBlob holding one SHA-256 CodeDirectory over them."""
    code = b"".join(pages)
    hashes = b"".join(hashlib.sha256(page).digest() for page in pages)
    header_size = 44
    directory = (
        struct.pack(
            ">IIIIIIIIIBBBBI",
            0xFADE0C02,
            header_size + len(hashes),
            0x20400,
            2,
            header_size,
            0,
            0,
            len(pages),
            len(code),
            32,
            2,
            0,
            page_shift,
            0,
        )
        + hashes
    )
    blob = struct.pack(">IIIII", 0xFADE0CC0, 20 + len(directory), 1, 0, 20) + directory
    return code + blob, len(code)


def test_signature_page_hashes_are_checked() -> None:
    data, offset = _signed([b"\x01" * 4096, b"\x02" * 4096])
    assert signature_matches(data, offset)
    tampered = b"\x03" + data[1:]
    assert not signature_matches(tampered, offset)
    assert not signature_matches(b"\x00" * 64, 0)  # no SuperBlob there


class FailingRunner(proc.Runner):
    """Answers every command as rust-objcopy with incomplete llvm-tools does, instead of running it."""

    def run(self, argv: Sequence[str], **kwargs: Any) -> proc.Result:
        return proc.Result(tuple(argv), 1, stderr="error: unable to load llvm-objcopy component\n")


def test_a_failing_strip_is_a_build_error_naming_the_tool(tmp_path: Path) -> None:
    tool = strip.StripTool("/rustup/bin/rust-objcopy", "rust-objcopy")
    with pytest.raises(BuildError) as caught:
        strip.strip_binary(tool, "MachO", tmp_path / "crcsum", tmp_path / "stripped" / "crcsum", FailingRunner())
    assert caught.value.message == ("rust-objcopy could not strip crcsum: error: unable to load llvm-objcopy component")
    assert caught.value.hint == strip.STRIP_REMEDY
