"""zig is reached through one stable link per version, so cargo's fingerprint is the same from every venv."""

from __future__ import annotations

from pathlib import Path

from tooling.build.zig import stable_link


def fake_zig(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "zig").write_text("#!/bin/sh\n")
    return folder / "zig"


def test_two_environments_get_the_same_path(tmp_path: Path) -> None:
    first = stable_link(tmp_path / "cache", "0.17.1", fake_zig(tmp_path / "venv-a" / "ziglang"))
    second = stable_link(tmp_path / "cache", "0.17.1", fake_zig(tmp_path / "venv-b" / "ziglang"))
    assert first == second == tmp_path / "cache" / "zig" / "0.17.1" / "zig"
    assert first.resolve() == (tmp_path / "venv-a" / "ziglang" / "zig").resolve()


def test_a_link_to_a_removed_environment_is_renewed(tmp_path: Path) -> None:
    gone = fake_zig(tmp_path / "old" / "ziglang")
    link = stable_link(tmp_path / "cache", "0.17.1", gone)
    gone.unlink()
    renewed = stable_link(tmp_path / "cache", "0.17.1", fake_zig(tmp_path / "new" / "ziglang"))
    assert renewed == link and renewed.resolve() == (tmp_path / "new" / "ziglang" / "zig").resolve()


def test_each_zig_version_has_its_own_link(tmp_path: Path) -> None:
    a = stable_link(tmp_path / "cache", "0.17.1", fake_zig(tmp_path / "a"))
    b = stable_link(tmp_path / "cache", "0.18.0", fake_zig(tmp_path / "b"))
    assert a != b and a.resolve() != b.resolve()
