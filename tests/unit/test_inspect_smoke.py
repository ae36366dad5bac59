from __future__ import annotations

from pathlib import Path

import pytest

from tooling.build.binary import BinaryFacts, problems
from tooling.build.smoke import binary_name, check_output, expected_strings, plan_smoke, smoke_method
from tooling.config import TargetSettings
from tooling.targets import get_target

DEFAULT_EXPECT = TargetSettings().smoke_expect


def check(facts: BinaryFacts, triple: str, floor: str = "2.17", macos_min: str | None = None) -> list[str]:
    return problems(facts, get_target(triple), floor, macos_min)


def test_good_gnu_binary_has_no_problems() -> None:
    facts = BinaryFacts("ELF", "aarch64", ("2.17",), "/lib/ld-linux-aarch64.so.1")
    assert check(facts, "aarch64-unknown-linux-gnu") == []


def test_symbol_newer_than_the_floor_is_named() -> None:
    facts = BinaryFacts("ELF", "x86_64", ("2.2.5", "2.17", "2.34"), "/lib64/ld-linux-x86-64.so.2")
    assert check(facts, "x86_64-unknown-linux-gnu") == [
        "glibc floor: expected no symbol version newer than GLIBC_2.17, found GLIBC_2.34"
    ]


def test_versions_compare_numerically_not_as_strings() -> None:
    # 2.9 is older than 2.17; a string comparison would say otherwise.
    facts = BinaryFacts("ELF", "x86_64", ("2.9", "2.17"), "/lib64/ld-linux-x86-64.so.2")
    assert check(facts, "x86_64-unknown-linux-gnu") == []
    assert facts.glibc_max == "2.17"


def test_wrong_architecture_and_format() -> None:
    assert check(BinaryFacts("ELF", "x86_64", (), None), "aarch64-unknown-linux-musl") == [
        "architecture: expected aarch64, found x86_64"
    ]
    assert check(BinaryFacts("ELF", "x86_64"), "x86_64-pc-windows-gnu") == ["format: expected PE, found ELF"]


def test_musl_must_be_static_without_glibc() -> None:
    facts = BinaryFacts("ELF", "x86_64", ("2.17",), "/lib64/ld-linux-x86-64.so.2")
    found = check(facts, "x86_64-unknown-linux-musl")
    assert "musl: expected no glibc symbols, found GLIBC_2.17" in found
    assert "musl: expected a static binary, found interpreter /lib64/ld-linux-x86-64.so.2" in found


def test_macos_minimum_and_signature() -> None:
    unsigned_new = BinaryFacts("MachO", "aarch64", macos_minos="15.0", code_signed=False)
    assert check(unsigned_new, "aarch64-apple-darwin", macos_min="11.0") == [
        "macOS minimum: expected 11.0, found 15.0",
        "code signature: arm64 macOS refuses to run unsigned binaries; found none",
    ]
    good = BinaryFacts("MachO", "x86_64", macos_minos="10.12", code_signed=True)
    assert check(good, "x86_64-apple-darwin", macos_min="10.12") == []


def test_smoke_method_per_host() -> None:
    linux_arm = get_target("aarch64-unknown-linux-gnu")
    assert smoke_method(linux_arm, "linux", "x86_64") == "qemu-user"
    assert smoke_method(linux_arm, "linux", "aarch64") == "native"
    assert smoke_method(get_target("x86_64-unknown-linux-musl"), "linux", "x86_64") == "native"
    assert smoke_method(get_target("x86_64-pc-windows-gnu"), "linux", "x86_64") == "wine"
    assert smoke_method(get_target("x86_64-pc-windows-gnu"), "windows", "x86_64") == "native"
    assert smoke_method(get_target("aarch64-apple-darwin"), "linux", "x86_64") == "structural"
    assert smoke_method(get_target("aarch64-apple-darwin"), "macos", "aarch64") == "native"
    assert smoke_method(get_target("x86_64-unknown-linux-gnu"), "macos", "aarch64") == "structural"


def test_every_table_row_smoke_column_agrees_with_the_rule_on_x86_64_linux() -> None:
    from tooling.targets import all_targets

    for target in all_targets():
        assert smoke_method(target, "linux", "x86_64") == target.smoke, target.triple


@pytest.mark.parametrize(
    ("triple", "head"),
    [
        ("x86_64-unknown-linux-gnu", ["/d/crcsum"]),
        ("aarch64-unknown-linux-musl", ["qemu-aarch64", "/d/crcsum"]),
        ("x86_64-pc-windows-gnu", ["/usr/lib/wine/wine64", "/d/crcsum"]),
    ],
)
def test_smoke_commands(triple: str, head: list[str]) -> None:
    plan = plan_smoke(
        get_target(triple),
        Path("/d/crcsum"),
        ("--version",),
        host_os="linux",
        host_arch="x86_64",
        wine="/usr/lib/wine/wine64",
        wine_prefix=Path("/cache/wine"),
    )
    assert list(plan.argv) == [*head, "--version"]
    if plan.method == "wine":
        env = dict(plan.env)
        assert env["WINEPREFIX"] == "/cache/wine"
        assert env["WINEDEBUG"] == "-all"
        assert plan.needs_shim


def test_structural_smoke_has_no_command() -> None:
    plan = plan_smoke(
        get_target("x86_64-apple-darwin"),
        Path("/d/crcsum"),
        ("--version",),
        host_os="linux",
        host_arch="x86_64",
        wine=None,
        wine_prefix=Path("/w"),
    )
    assert (plan.method, plan.argv) == ("structural", ())


def test_expected_output() -> None:
    expected = expected_strings(("crcsum {version}", "{triple}"), "0.1.0", "aarch64-unknown-linux-gnu")
    assert expected == [("crcsum 0.1.0",), ("aarch64-unknown-linux-gnu",)]
    assert check_output("crcsum 0.1.0 (aarch64-unknown-linux-gnu)\n", expected) == []
    assert check_output("crcsum 0.1.0 (x86_64-unknown-linux-gnu)\n", expected) == ["'aarch64-unknown-linux-gnu'"]


RIPGREP = "ripgrep 15.2.0\n\nfeatures:+pcre2\nsimd(compile):+SSE2,-SSSE3\n"


def test_the_default_expectation_fits_common_version_lines() -> None:
    expected = expected_strings(DEFAULT_EXPECT, "15.2.0", "x86_64-unknown-linux-gnu", crate="ripgrep", binary="rg")
    assert expected == [("ripgrep", "rg"), ("15.2.0",)]
    assert check_output(RIPGREP, expected) == []  # the crate's name, several lines
    assert check_output("rg 15.2.0\n", expected) == []  # the binary's name
    assert check_output("RipGrep v15.2.0 (rev abc)\n", expected) == []  # any case, a "v" before
    assert check_output("ripgrep 15.1.0\n", expected) == ["'15.2.0'"]
    assert check_output("grep 15.2.0\n", expected) == ["'ripgrep' or 'rg'"]


def test_one_name_gives_one_spelling() -> None:
    assert expected_strings(("{name} {version}",), "1.0.0", "t", crate="tool", binary="tool") == [("tool 1.0.0",)]
    assert expected_strings(("{binary}-{crate}",), "1.0.0", "t", crate="c", binary="b") == [("b-c",)]


def test_binary_name_drops_the_exe_suffix() -> None:
    assert binary_name(Path("/d/rg.exe"), get_target("x86_64-pc-windows-gnu")) == "rg"
    assert binary_name(Path("/d/rg"), get_target("x86_64-unknown-linux-gnu")) == "rg"
