"""SHA256SUMS text: the exact line format checksum tools read, and parsing it back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tooling.artifacts import checksum
from tooling.errors import ManifestError

A = hashlib.sha256(b"a").hexdigest()
B = hashlib.sha256(b"b").hexdigest()


def test_lines_are_hash_two_spaces_name_sorted() -> None:
    text = checksum.render_sums({"z.tar.gz": A, "a.zip": B})
    assert text == f"{B}  a.zip\n{A}  z.tar.gz\n"


def test_parse_reads_back_what_render_wrote_and_binary_mode_lines() -> None:
    digests = {"x-1.0-x86_64-unknown-linux-gnu.tar.gz": A, "x-1.0.cdx.json": B}
    assert checksum.parse_sums(checksum.render_sums(digests)) == digests
    assert checksum.parse_sums(f"{A.upper()} *bin.exe\n") == {"bin.exe": A}


@pytest.mark.parametrize("name", ["with\nnewline", "back\\slash", "/absolute", "-dash", ""])
def test_names_a_checksum_tool_would_escape_are_refused(name: str) -> None:
    with pytest.raises(ManifestError):
        checksum.sums_line(A, name)


def test_a_digest_must_be_lowercase_hex_of_the_right_length() -> None:
    with pytest.raises(ManifestError, match="not a lowercase SHA-256"):
        checksum.sums_line("abc", "file")


def test_malformed_and_duplicate_lines_name_the_line() -> None:
    with pytest.raises(ManifestError, match="line 2"):
        checksum.parse_sums(f"{A}  ok\nnot a checksum line\n")
    with pytest.raises(ManifestError, match="twice"):
        checksum.parse_sums(f"{A}  same\n{B}  same\n")


def test_sidecar_names_the_file_by_its_base_name(tmp_path: Path) -> None:
    artifact = tmp_path / "tool-1.0-x86_64-unknown-linux-gnu.tar.gz"
    artifact.write_bytes(b"a")
    sidecar = checksum.write_sidecar(artifact, A)
    assert sidecar.name == artifact.name + ".sha256"
    assert sidecar.read_text() == f"{A}  {artifact.name}\n"
    sums = checksum.write_sums(tmp_path, [("b", B), ("a", A)])
    assert sums.read_text() == f"{A}  a\n{B}  b\n"
    assert not list(tmp_path.glob("*.tmp"))
