from __future__ import annotations

import pytest

from tooling.errors import TargetError
from tooling.targets import ARCHIVE_FORMATS, BUILDERS, SMOKE_METHODS, all_targets, get_target, select_targets

REQUIRED = {
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-pc-windows-gnu",
}


def test_table_has_every_required_target_with_consistent_facts() -> None:
    rows = {t.triple: t for t in all_targets()}
    assert set(rows) >= REQUIRED
    for target in rows.values():
        assert target.builder in BUILDERS
        assert target.smoke in SMOKE_METHODS
        assert target.archive in ARCHIVE_FORMATS
        assert target.triple.startswith(target.arch)
        assert (target.exe_suffix == ".exe") == (target.os == "windows")
        assert (target.archive == "zip") == (target.os == "windows")
        assert target.glibc_floor == (target.os == "linux" and target.libc == "gnu")
        assert (target.macos_min is not None) == (target.os == "macos")


def test_smoke_column_matches_what_an_x86_64_linux_host_can_do() -> None:
    assert get_target("x86_64-unknown-linux-musl").smoke == "native"
    assert get_target("aarch64-unknown-linux-gnu").smoke == "qemu-user"
    assert get_target("x86_64-pc-windows-gnu").smoke == "wine"
    assert get_target("aarch64-apple-darwin").smoke == "structural"


def test_macos_defaults_are_rusts_own() -> None:
    assert get_target("aarch64-apple-darwin").macos_min == "11.0"
    assert get_target("x86_64-apple-darwin").macos_min == "10.12"


def test_select_by_pattern_keeps_table_order() -> None:
    chosen = [t.triple for t in select_targets(["*-linux-musl", "x86_64-unknown-linux-gnu"])]
    assert chosen == ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]


def test_select_with_exclusion() -> None:
    chosen = {t.triple for t in select_targets(["*", "!*-windows-msvc", "!*-apple-*"])}
    assert chosen == REQUIRED - {"x86_64-pc-windows-msvc", "x86_64-apple-darwin", "aarch64-apple-darwin"}


def test_select_star_is_everything() -> None:
    assert len(select_targets(["*"])) == len(all_targets())


def test_pattern_matching_nothing_is_an_error() -> None:
    with pytest.raises(TargetError, match="matches no known target") as caught:
        select_targets(["*-freebsd"])
    assert "x86_64-unknown-linux-gnu" in str(caught.value)


def test_unknown_triple_lists_the_known_ones() -> None:
    with pytest.raises(TargetError, match="unknown target triple 'riscv64gc-unknown-linux-gnu'") as caught:
        get_target("riscv64gc-unknown-linux-gnu")
    assert "aarch64-apple-darwin" in str(caught.value)


def test_no_pattern_at_all_is_an_error() -> None:
    with pytest.raises(TargetError, match="no target pattern given") as caught:
        select_targets([])
    assert '"*"' in str(caught.value.hint)


def test_exclusions_that_remove_everything_name_the_patterns() -> None:
    with pytest.raises(TargetError, match=r"the target patterns '\*-apple-\*', '!\*-darwin' select no target") as e:
        select_targets(["*-apple-*", "!*-darwin"])
    assert "narrow the exclusions" in str(e.value.hint)


def test_only_exclusions_select_nothing_and_say_how_to_include() -> None:
    with pytest.raises(TargetError, match="select no target") as caught:
        select_targets(["!*-windows-msvc"])
    assert '["*", "!*-windows-msvc"]' in str(caught.value.hint)
