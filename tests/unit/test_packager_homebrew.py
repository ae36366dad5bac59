"""The Homebrew channel: formula rendering, class names, licenses and the checks before any file is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.packager_fixtures import channel_release, channel_settings, compare_with_expected, fixture_release
from tooling.errors import PackageError
from tooling.packagers import homebrew
from tooling.packagers.base import Release


def rendered(release: Release | None = None, **settings: object) -> dict[str, bytes]:
    """Check and render `release` (default: the fixture release) as the packages step does."""
    table = channel_settings("homebrew", **settings)
    narrowed = channel_release("homebrew", table, release)
    homebrew.check(narrowed, table)
    return homebrew.render(narrowed, table)


def formula_text(files: dict[str, bytes]) -> str:
    (content,) = files.values()
    return content.decode()


def without_docs(release: Release) -> Release:
    """`release` with archives that hold no completions and no man page."""
    archives = tuple(
        dataclasses.replace(a, files=tuple(f for f in a.files if not f.startswith(("complete/", "man/"))))
        for a in release.archives
    )
    return dataclasses.replace(release, archives=archives)


def test_stable_release_is_one_formula_for_four_platforms() -> None:
    files = rendered()
    assert list(files) == ["Formula/crcsum.rb"]
    compare_with_expected("homebrew", "stable", files)


def test_stable_formula_uses_the_musl_linux_archives_by_default() -> None:
    text = formula_text(rendered())
    assert "x86_64-unknown-linux-musl.tar.gz" in text and "aarch64-unknown-linux-musl.tar.gz" in text
    assert "linux-gnu" not in text and "windows" not in text


def test_linux_libc_setting_chooses_the_gnu_archives() -> None:
    text = formula_text(rendered(linux_libc="gnu"))
    assert "x86_64-unknown-linux-gnu.tar.gz" in text and "musl" not in text


def test_prerelease_is_a_separate_formula_named_after_its_first_identifier() -> None:
    files = rendered(fixture_release("1.2.0-rc.1"))
    assert list(files) == ["Formula/crcsum-rc.rb"]
    text = formula_text(files)
    assert "class CrcsumRc < Formula" in text and 'version "1.2.0-rc.1"' in text
    assert '  conflicts_with "crcsum", because: ' in text  # both link bin/crcsum
    compare_with_expected("homebrew", "prerelease", files)


def test_prerelease_identifier_is_lower_cased() -> None:
    assert list(rendered(fixture_release("2.0.0-Beta.3"))) == ["Formula/crcsum-beta.rb"]


def test_two_license_or_expression_is_any_of() -> None:
    files = rendered(fixture_release(license="MIT OR Apache-2.0"))
    assert '  license any_of: ["MIT", "Apache-2.0"]\n' in formula_text(files)
    compare_with_expected("homebrew", "license-any-of", files)


def test_release_without_completions_or_man_page_installs_only_the_binary() -> None:
    files = rendered(without_docs(fixture_release()))
    text = formula_text(files)
    assert "completion" not in text and "man1" not in text and "conflicts_with" not in text
    compare_with_expected("homebrew", "no-completions", files)


def test_macos_arm_only_release_says_what_it_needs() -> None:
    files = rendered(fixture_release(triples=("aarch64-apple-darwin", "x86_64-pc-windows-msvc")))
    text = formula_text(files)
    assert "  depends_on :macos\n" in text and "    depends_on arch: :arm64\n" in text
    assert "on_linux" not in text and "on_intel" not in text
    compare_with_expected("homebrew", "macos-arm-only", files)


def test_formula_setting_names_the_file_and_class() -> None:
    files = rendered(formula="crc-sum")
    assert list(files) == ["Formula/crc-sum.rb"]
    assert "class CrcSum < Formula" in formula_text(files)


def test_every_binary_is_installed_and_the_crate_named_one_is_tested() -> None:
    text = formula_text(rendered(fixture_release(binaries=("crcsum-extra", "crcsum"))))
    assert '    bin.install "crcsum-extra"\n    bin.install "crcsum"\n' in text
    assert 'shell_output("#{bin}/crcsum --version")' in text


def test_description_is_one_line() -> None:
    text = formula_text(rendered(fixture_release(description="Print CRC-32\n  checksums")))
    assert '  desc "Print CRC-32 checksums"\n' in text


def test_template_override_from_the_project(tmp_path: Path) -> None:
    (tmp_path / "homebrew").mkdir()
    (tmp_path / "homebrew" / "formula.rb.j2").write_text("class {{ class_name }} < Formula # {{ license }}\nend\n")
    files = rendered(fixture_release(templates=tmp_path))
    assert files == {"Formula/crcsum.rb": b'class Crcsum < Formula # "MIT"\nend\n'}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("crcsum", "Crcsum"),
        ("my-tool", "MyTool"),
        ("my_tool.x", "MyToolX"),
        ("gtk+", "Gtkx"),
        ("python@3.12", "PythonAT312"),
        ("crcsum-rc", "CrcsumRc"),
        ("crcsum@beta", "Crcsum@beta"),  # Homebrew's own rule: no class can have this name (see PRERELEASE_SEPARATOR)
    ],
)
def test_class_name_follows_homebrews_rule(name: str, expected: str) -> None:
    assert homebrew.class_name(name) == expected


@pytest.mark.parametrize(
    ("expression", "ruby"),
    [
        ("MIT", '"MIT"'),
        ("mit", '"MIT"'),
        ("MIT OR Apache-2.0", 'any_of: ["MIT", "Apache-2.0"]'),
        ("MIT AND BSD-3-Clause", 'all_of: ["MIT", "BSD-3-Clause"]'),
        ("MIT OR (Apache-2.0 AND BSD-3-Clause)", 'any_of: ["MIT", { all_of: ["Apache-2.0", "BSD-3-Clause"] }]'),
        ("GPL-2.0-only WITH LLVM-exception", '"GPL-2.0-only" => { with: "LLVM-exception" }'),
        ("MIT OR Apache-2.0 WITH LLVM-exception", 'any_of: ["MIT", { "Apache-2.0" => { with: "LLVM-exception" } }]'),
    ],
)
def test_license_is_written_in_homebrews_dsl(expression: str, ruby: str) -> None:
    assert homebrew.license_ruby(expression) == ruby


@pytest.mark.parametrize(
    ("changes", "settings", "field"),
    [
        ({"homepage": ""}, {}, "homepage"),
        ({"description": ""}, {}, "description"),
        ({"license": ""}, {}, "license"),
        ({"license": "Foo-License"}, {}, "license"),
        ({"license": "MIT/Apache-2.0"}, {}, "license"),
        ({"version": ""}, {}, "version"),
        ({"version": "1.2"}, {}, "version"),
        ({}, {"formula": "CrcSum"}, "formula"),
        ({}, {"formula": "crc sum"}, "formula"),
        ({}, {"formula": "7zip"}, "formula"),
        ({}, {"formula": "crcsum@beta"}, "formula"),
        ({"binaries": ("crc sum",)}, {}, "binaries"),
    ],
)
def test_bad_input_is_refused_naming_the_channel_and_field(
    changes: dict[str, object], settings: dict[str, object], field: str
) -> None:
    table = channel_settings("homebrew", **settings)
    release = channel_release("homebrew", table, fixture_release(**changes))
    with pytest.raises(PackageError) as caught:
        homebrew.check(release, table)
    assert str(caught.value).startswith(f"homebrew: {field}: ")
