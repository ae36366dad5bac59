"""Dist verification: every corrupted, missing, extra or unlisted file is found and named."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tooling import manifest
from tooling.artifacts import checksum, verify
from tooling.errors import VerificationError
from tooling.manifest import Artifact, Manifest


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ARCHIVE = b"archive bytes"
SBOM = b"{}"


def release() -> tuple[Manifest, dict[str, verify.FileFacts], dict[str, str]]:
    """A consistent dist: one archive, an SBOM, their sidecars and SHA256SUMS."""
    record = Manifest("tool", "1.0.0")
    files = {"tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz": ARCHIVE, "tool-1.0.0.cdx.json": SBOM}
    kinds = {"tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz": "archive", "tool-1.0.0.cdx.json": "sbom"}
    texts = {}
    for name, data in list(files.items()):
        record.add(Artifact(name, kinds[name], None, len(data), sha(data), kinds[name]))
        texts[name + ".sha256"] = checksum.sums_line(sha(data), name)
    texts["SHA256SUMS"] = checksum.render_sums({n: sha(d) for n, d in files.items()})
    for name, text in texts.items():
        files[name] = text.encode()
        record.add(Artifact(name, "checksum", None, len(text), sha(text.encode()), "checksum"))
    on_disk = {name: verify.FileFacts(len(data), sha(data)) for name, data in files.items()}
    return record, on_disk, texts


def test_a_consistent_dist_has_no_problems() -> None:
    assert verify.find_problems(*release()) == []


def test_a_flipped_byte_names_the_file() -> None:
    record, on_disk, texts = release()
    name = "tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz"
    on_disk[name] = verify.FileFacts(len(ARCHIVE), sha(b"Archive bytes"))
    problems = verify.find_problems(record, on_disk, texts)
    assert {p.path for p in problems} == {name}
    assert any("manifest.json" in p.reason for p in problems)
    assert any("SHA256SUMS" in p.reason for p in problems)
    assert any(".sha256" in p.reason for p in problems)


def test_missing_and_extra_files_are_named() -> None:
    record, on_disk, texts = release()
    del on_disk["tool-1.0.0.cdx.json"]
    on_disk["sneaky.exe"] = verify.FileFacts(1, sha(b"x"))
    on_disk["x86_64-unknown-linux-gnu/manifest.json"] = verify.FileFacts(1, sha(b"y"))  # bookkeeping: fine
    problems = verify.find_problems(record, on_disk, texts)
    reasons = {p.path: p.reason for p in problems}
    assert reasons["tool-1.0.0.cdx.json"].startswith("missing")
    assert reasons["sneaky.exe"].startswith("extra file")
    assert "x86_64-unknown-linux-gnu/manifest.json" not in reasons


def test_an_archive_left_out_of_sha256sums_is_reported() -> None:
    record, on_disk, texts = release()
    texts["SHA256SUMS"] = checksum.render_sums({"tool-1.0.0.cdx.json": sha(SBOM)})
    on_disk["SHA256SUMS"] = verify.FileFacts(len(texts["SHA256SUMS"]), sha(texts["SHA256SUMS"].encode()))
    record.add(
        Artifact("SHA256SUMS", "checksum", None, len(texts["SHA256SUMS"]), on_disk["SHA256SUMS"].sha256, "checksum")
    )
    problems = verify.find_problems(record, on_disk, texts)
    assert [(p.path, p.reason) for p in problems] == [
        ("tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz", "not listed in SHA256SUMS")
    ]


def test_a_signature_named_by_an_artifact_must_be_recorded() -> None:
    record, on_disk, texts = release()
    sums = next(a for a in record.artifacts if a.path == "SHA256SUMS")
    record.add(Artifact(**{**sums.__dict__, "signatures": ("SHA256SUMS.asc",)}))
    problems = verify.find_problems(record, on_disk, texts)
    assert [p.path for p in problems] == ["SHA256SUMS.asc"]


def test_check_dist_on_disk_raises_one_error_naming_each_bad_file(tmp_path: Path) -> None:
    record, _, texts = release()
    (tmp_path / "tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz").write_bytes(ARCHIVE)
    (tmp_path / "tool-1.0.0.cdx.json").write_bytes(SBOM)
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    manifest.write(tmp_path / manifest.MANIFEST_NAME, record)
    assert verify.check_or_raise(tmp_path, None) == len(record.artifacts)

    corrupted = tmp_path / "tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz"
    data = bytearray(corrupted.read_bytes())
    data[3] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    (tmp_path / "leftover.tmp").write_bytes(b"")
    with pytest.raises(VerificationError) as caught:
        verify.check_or_raise(tmp_path, None)
    assert corrupted.name in str(caught.value)
    assert "leftover.tmp" in str(caught.value)


def test_no_manifest_is_a_problem(tmp_path: Path) -> None:
    assert [p.path for p in verify.check_dist(tmp_path, None)] == ["manifest.json"]
