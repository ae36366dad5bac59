"""Binary facts are kept by content: a file cargo did not change is not parsed again, a changed one is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.build import binary
from tooling.build.binary import BinaryFacts, cached_facts, facts_cache_path, facts_from_json


def test_facts_survive_their_json_form() -> None:
    facts = BinaryFacts("ELF", "x86_64", ("2.17", "2.2.5"), "/lib64/ld-linux-x86-64.so.2", needed=("libc.so.6",))
    import json
    from dataclasses import asdict

    assert facts_from_json(json.loads(json.dumps(asdict(facts)))) == facts


def test_a_file_is_parsed_once_per_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bytes] = []

    def read_facts(path: Path) -> BinaryFacts:
        parsed.append(path.read_bytes())
        return BinaryFacts("ELF", "aarch64" if b"arm" in path.read_bytes() else "x86_64")

    monkeypatch.setattr(binary, "read_facts", read_facts)
    program = tmp_path / "crcsum"
    program.write_bytes(b"\x7fELF x86 build")
    cache = tmp_path / "cache"
    first = cached_facts(program, cache)
    again = cached_facts(program, cache)
    assert first == again == BinaryFacts("ELF", "x86_64") and len(parsed) == 1
    program.write_bytes(b"\x7fELF arm build")  # a new build: other bytes, parsed afresh
    assert cached_facts(program, cache).arch == "aarch64" and len(parsed) == 2


def test_a_damaged_cache_entry_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binary, "read_facts", lambda path: BinaryFacts("PE", "x86_64"))
    program = tmp_path / "crcsum.exe"
    program.write_bytes(b"MZ")
    cache = tmp_path / "cache"
    import hashlib

    kept = facts_cache_path(cache, hashlib.sha256(b"MZ").hexdigest())
    kept.parent.mkdir(parents=True)
    kept.write_text("{not json", encoding="utf-8")
    assert cached_facts(program, cache) == BinaryFacts("PE", "x86_64")
    assert facts_from_json(__import__("json").loads(kept.read_text(encoding="utf-8"))) == BinaryFacts("PE", "x86_64")
