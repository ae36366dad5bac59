"""The linkage check: libraries a binary needs against what its platform guarantees."""

from __future__ import annotations

import pytest

from tooling.build.binary import BinaryFacts, linkage_problems, unexpected_libraries
from tooling.targets import get_target

# What the sample crate's real builds need (read from them with LIEF).
SAMPLE_NEEDS = {
    "x86_64-unknown-linux-gnu": ("libc.so.6", "libpthread.so.0", "libdl.so.2"),
    "aarch64-unknown-linux-gnu": ("libc.so.6", "ld-linux-aarch64.so.1", "libpthread.so.0", "libdl.so.2"),
    "x86_64-unknown-linux-musl": (),
    "aarch64-apple-darwin": ("/usr/lib/libSystem.B.dylib",),
    "x86_64-pc-windows-gnu": (
        "KERNEL32.dll",
        "ntdll.dll",
        "bcryptprimitives.dll",
        "api-ms-win-core-synch-l1-2-0.dll",
        "api-ms-win-crt-heap-l1-1-0.dll",
    ),
}


@pytest.mark.parametrize("triple", SAMPLE_NEEDS)
def test_what_rust_std_links_is_guaranteed(triple: str) -> None:
    assert unexpected_libraries(SAMPLE_NEEDS[triple], get_target(triple)) == []


@pytest.mark.parametrize(
    ("triple", "library"),
    [
        ("x86_64-unknown-linux-gnu", "libssl.so.3"),
        ("aarch64-unknown-linux-gnu", "libz.so.1"),
        ("x86_64-pc-windows-gnu", "libssl-3-x64.dll"),
        ("aarch64-apple-darwin", "/opt/homebrew/opt/openssl@3/lib/libssl.3.dylib"),
        ("aarch64-apple-darwin", "@rpath/libgit2.dylib"),
    ],
)
def test_anything_else_fails_naming_the_library_and_the_remedy(triple: str, library: str) -> None:
    target = get_target(triple)
    [problem] = linkage_problems([*SAMPLE_NEEDS.get(triple, ()), library], target)
    assert problem.startswith(f"linkage: needs {library}, which {target.os} does not guarantee")
    assert "vendored" in problem
    assert f'[tool.release.target."{triple}"] allowed-libraries' in problem


def test_frameworks_are_part_of_macos() -> None:
    needed = ["/System/Library/Frameworks/Security.framework/Versions/A/Security", "/usr/lib/libc++.1.dylib"]
    assert unexpected_libraries(needed, get_target("x86_64-apple-darwin")) == []


def test_allowed_libraries_match_by_file_name_or_glob() -> None:
    target = get_target("x86_64-unknown-linux-gnu")
    assert unexpected_libraries(["libz.so.1", "libssl.so.3"], target, ["libz.so.*"]) == ["libssl.so.3"]
    mac = get_target("aarch64-apple-darwin")
    assert unexpected_libraries(["/opt/homebrew/lib/libgit2.1.9.dylib"], mac, ["libgit2.*.dylib"]) == []


def test_windows_names_match_in_any_case() -> None:
    assert unexpected_libraries(["WS2_32.DLL", "Userenv.dll"], get_target("x86_64-pc-windows-gnu")) == []
    # ... but Linux names are exact: LIBC.SO.6 is not glibc.
    assert unexpected_libraries(["LIBC.SO.6"], get_target("x86_64-unknown-linux-gnu")) == ["LIBC.SO.6"]


def test_the_manifest_records_the_linkage() -> None:
    facts = BinaryFacts("ELF", "x86_64", ("2.17",), "/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",))
    assert facts.summary()["linkage"] == ["libc.so.6"]
