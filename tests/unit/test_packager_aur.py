"""The AUR channel: the PKGBUILD from a release, pkgver's form, names, and the checks before any write."""

from __future__ import annotations

import dataclasses
import pwd
from pathlib import Path
from typing import Any

import pytest

from tests.packager_fixtures import channel_release, channel_settings, compare_with_expected, fixture_release
from tooling.errors import PackageError, VersionError
from tooling.packagers import aur
from tooling.packagers.base import Release


def narrowed(release: Release | None = None, **settings: Any) -> tuple[Release, dict[str, Any]]:
    table = channel_settings("aur", **settings)
    return channel_release("aur", table, release), table


def rendered(release: Release | None = None, **settings: Any) -> dict[str, bytes]:
    """Check and render `release` (default: the fixture release) as the packages step does."""
    chosen, table = narrowed(release, **settings)
    aur.check(chosen, table)
    return aur.render(chosen, table)


def pkgbuild(release: Release | None = None, **settings: Any) -> str:
    return rendered(release, **settings)["PKGBUILD"].decode()


def without_extras(release: Release) -> Release:
    """`release` with archives that hold no completions and no man page."""
    archives = tuple(
        dataclasses.replace(a, files=tuple(f for f in a.files if not f.startswith(("complete/", "man/"))))
        for a in release.archives
    )
    return dataclasses.replace(release, archives=archives)


# --- rendering --------------------------------------------------------------------------------


def test_stable_release_renders_only_the_pkgbuild() -> None:
    files = rendered()
    assert list(files) == ["PKGBUILD"]  # .SRCINFO comes from makepkg in build
    compare_with_expected("aur", "stable", files)


def test_stable_pkgbuild_fields() -> None:
    text = pkgbuild()
    release, _ = narrowed()
    musl = {a.arch: a for a in release.archives}
    assert text.startswith("# Maintainer: Crcsum Maintainers <maintainers@example.invalid>\n")
    for line in (
        "pkgname=crcsum-bin",
        "pkgver=1.2.0",
        "pkgrel=1",
        "pkgdesc='Print CRC-32 checksums of files, computed by a small C routine'",
        "arch=('x86_64' 'aarch64')",
        "url='https://example.invalid/crcsum'",
        "license=('MIT')",
        "provides=('crcsum')",
        "conflicts=('crcsum')",
        f"source_x86_64=('{musl['x86_64'].file}::{musl['x86_64'].url}')",
        f"sha256sums_x86_64=('{musl['x86_64'].sha256}')",
        f"source_aarch64=('{musl['aarch64'].file}::{musl['aarch64'].url}')",
        f"sha256sums_aarch64=('{musl['aarch64'].sha256}')",
        f'    x86_64) top="$srcdir/{musl["x86_64"].top}" ;;',
        '  install -Dm755 "$top/crcsum" "$pkgdir/usr/bin/crcsum"',
        '  install -Dm644 "$top/LICENSE" "$pkgdir/usr/share/licenses/$pkgname/LICENSE"',
        '  install -Dm644 "$top/README.md" "$pkgdir/usr/share/doc/$pkgname/README.md"',
        '  install -Dm644 "$top/complete/crcsum.bash" "$pkgdir/usr/share/bash-completion/completions/crcsum"',
        '  install -Dm644 "$top/complete/_crcsum" "$pkgdir/usr/share/zsh/site-functions/_crcsum"',
        '  install -Dm644 "$top/complete/crcsum.fish" "$pkgdir/usr/share/fish/vendor_completions.d/crcsum.fish"',
        '  install -Dm644 "$top/man/crcsum.1" "$pkgdir/usr/share/man/man1/crcsum.1"',
    ):
        assert line in text.splitlines(), line
    assert "linux-gnu" not in text and "_crcsum.ps1" not in text


def test_gnu_setting_takes_the_gnu_archives() -> None:
    text = pkgbuild(linux_libc="gnu")
    assert "x86_64-unknown-linux-gnu.tar.gz" in text and "musl" not in text


def test_prerelease_separate_is_its_own_package() -> None:
    files = rendered(fixture_release("1.2.0-beta.1"), prerelease="separate")
    compare_with_expected("aur", "prerelease", files)
    lines = files["PKGBUILD"].decode().splitlines()
    assert "pkgname=crcsum-beta-bin" in lines and "pkgver=1.2.0beta.1" in lines
    assert "provides=('crcsum')" in lines and "conflicts=('crcsum')" in lines


def test_stable_release_keeps_its_name_when_prereleases_are_separate() -> None:
    assert "pkgname=crcsum-bin" in pkgbuild(prerelease="separate").splitlines()


def test_release_without_completions_installs_none() -> None:
    files = rendered(without_extras(fixture_release()))
    compare_with_expected("aur", "no-completions", files)
    text = files["PKGBUILD"].decode()
    assert "complete/" not in text and "man1" not in text
    assert '"$pkgdir/usr/bin/crcsum"' in text


def test_one_architecture_only_when_the_release_plans_one() -> None:
    text = pkgbuild(fixture_release(triples=("x86_64-unknown-linux-musl",)))
    assert "arch=('x86_64')" in text and "aarch64" not in text


def test_package_setting_names_the_package_and_what_it_provides() -> None:
    lines = pkgbuild(package="crc-tools-bin").splitlines()
    assert "pkgname=crc-tools-bin" in lines and "provides=('crc-tools')" in lines
    lines = pkgbuild(fixture_release("2.0.0-rc.1"), package="crc-tools-bin", prerelease="separate").splitlines()
    assert "pkgname=crc-tools-beta-bin" in lines and "pkgver=2.0.0rc.1" in lines


def test_homepage_falls_back_to_the_repository() -> None:
    text = pkgbuild(fixture_release(homepage=""))
    assert "url='https://example.invalid/crcsum'" in text.splitlines()


def test_description_with_quotes_and_lines_stays_one_shell_word() -> None:
    text = pkgbuild(fixture_release(description='It\'s\n  "quoted"  $HOME'))
    assert "pkgdesc='It'\"'\"'s \"quoted\" $HOME'" in text.splitlines()


def test_license_expression_is_one_entry() -> None:
    assert "license=('MIT OR Apache-2.0')" in pkgbuild(fixture_release(license="MIT OR Apache-2.0")).splitlines()


def test_template_override_from_the_project(tmp_path: Path) -> None:
    (tmp_path / "aur").mkdir()
    (tmp_path / "aur" / "PKGBUILD.j2").write_text("pkgname={{ pkgname }}\npkgver={{ pkgver }}\n", encoding="utf-8")
    files = rendered(fixture_release(templates=tmp_path))
    assert files == {"PKGBUILD": b"pkgname=crcsum-bin\npkgver=1.2.0\n"}


# --- pkgver ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.2.0", "1.2.0"),
        ("1.2.0-beta.1", "1.2.0beta.1"),
        ("1.2.0-rc.10", "1.2.0rc.10"),
        ("1.2.0-alpha", "1.2.0alpha"),
        ("1.2.0-beta-2", "1.2.0beta_2"),
        ("1.2.0+build.5", "1.2.0+build.5"),
        ("1.2.0-rc.1+git-7", "1.2.0rc.1+git_7"),
    ],
)
def test_pkgver_form(version: str, expected: str) -> None:
    assert aur.pkgver(version) == expected
    assert "-" not in expected and ":" not in expected


@pytest.mark.parametrize("version", ["1.2.0-1", "1.2.0-0.3"])
def test_pkgver_refuses_a_prerelease_starting_with_a_number(version: str) -> None:
    with pytest.raises(VersionError, match=r"sorts before 1\.2\.0"):
        aur.pkgver(version)


def test_srcinfo_command_drops_root_to_the_unprivileged_user() -> None:
    assert aur.srcinfo_command(None) == ["makepkg", "--printsrcinfo"]
    nobody = pwd.struct_passwd(("nobody", "x", 65534, 65534, "nobody", "/nonexistent", "/usr/sbin/nologin"))
    assert aur.srcinfo_command(nobody) == [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        "makepkg",
        "--printsrcinfo",
    ]


# --- bad input: PackageError naming the field, before anything is rendered -------------------------


@pytest.mark.parametrize(
    ("release", "settings", "field"),
    [
        (fixture_release(), {"package": "Crcsum-Bin"}, "package"),
        (fixture_release(), {"package": "-crcsum"}, "package"),
        (fixture_release(), {"package": "crc sum"}, "package"),
        (fixture_release("1.2.0-1"), {"prerelease": "separate"}, "version"),
        (fixture_release(license=""), {}, "license"),
        (fixture_release(license="MIT/Apache-2.0"), {}, "license"),
        (fixture_release(description=""), {}, "description"),
        (fixture_release(maintainer=""), {}, "maintainer"),
        (fixture_release(homepage="", repository=""), {}, "homepage"),
    ],
)
def test_bad_input_is_refused_naming_the_field(release: Release, settings: dict[str, Any], field: str) -> None:
    chosen, table = narrowed(release, **settings)
    with pytest.raises(PackageError) as caught:
        aur.check(chosen, table)
    assert caught.value.message.startswith(f"aur: {field}: ")
