"""The deb channel: rendered control/copyright/changelog, Debian versions, sizes, and the checks before any file."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import stat
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.packager_fixtures import channel_release, channel_settings, compare_with_expected, fixture_release
from tooling import proc
from tooling.errors import PackageError
from tooling.packagers import deb
from tooling.packagers.base import BuildJob, Release

STEMS = ("crcsum_1.2.0_amd64", "crcsum_1.2.0_arm64")
TREE_FILES = (
    "DEBIAN/control",
    "usr/share/doc/crcsum/changelog",
    "usr/share/doc/crcsum/copyright",
    "usr/share/lintian/overrides/crcsum",
)


def rendered(release: Release | None = None, **settings: object) -> dict[str, bytes]:
    """Check and render `release` (default: the fixture release) as the packages step does."""
    table = channel_settings("deb", **settings)
    narrowed = channel_release("deb", table, release)
    deb.check(narrowed, table)
    return deb.render(narrowed, table)


def text(files: dict[str, bytes], path: str) -> str:
    return files[path].decode()


# --- whole renders, compared with the expected files -------------------------------------------------


def test_stable_release_renders_one_tree_per_architecture() -> None:
    files = rendered()
    assert sorted(files) == sorted(f"{stem}/{path}" for stem in STEMS for path in TREE_FILES)
    compare_with_expected("deb", "stable", files)


def test_stable_control_holds_the_fields_and_no_depends_for_static_musl() -> None:
    control = text(rendered(), "crcsum_1.2.0_arm64/DEBIAN/control")
    assert control.startswith("Package: crcsum\nVersion: 1.2.0\nArchitecture: arm64\n")
    assert "Maintainer: Crcsum Maintainers <maintainers@example.invalid>\n" in control
    assert "Section: utils\nPriority: optional\nHomepage: https://example.invalid/crcsum\n" in control
    assert "Depends:" not in control
    assert "aarch64-unknown-linux-musl (statically linked" in control
    # Installed-Size needs the files: build adds it.
    assert "Installed-Size" not in control


def test_prerelease_is_marked_with_a_tilde_that_sorts_before_the_release() -> None:
    files = rendered(fixture_release("1.2.0-beta.1"))
    assert sorted({path.split("/")[0] for path in files}) == ["crcsum_1.2.0~beta.1_amd64", "crcsum_1.2.0~beta.1_arm64"]
    assert "Version: 1.2.0~beta.1\n" in text(files, "crcsum_1.2.0~beta.1_amd64/DEBIAN/control")
    changelog = text(files, "crcsum_1.2.0~beta.1_amd64/usr/share/doc/crcsum/changelog")
    assert changelog.startswith("crcsum (1.2.0~beta.1) unstable; urgency=medium\n")
    compare_with_expected("deb", "prerelease", files)


def test_gnu_build_depends_on_what_settings_say() -> None:
    files = rendered(linux_libc="gnu", depends=["libc6 (>= 2.17)"], section="misc")
    control = text(files, "crcsum_1.2.0_amd64/DEBIAN/control")
    assert "Depends: libc6 (>= 2.17)\nSection: misc\n" in control
    assert "x86_64-unknown-linux-gnu (linked against the GNU C library)" in control
    # A dynamically linked binary is not overridden as static.
    assert "statically-linked-binary" not in text(files, "crcsum_1.2.0_amd64/usr/share/lintian/overrides/crcsum")
    compare_with_expected("deb", "gnu", files)


def test_two_licenses_point_to_common_licenses_and_leave_the_other_text_to_build() -> None:
    files = rendered(fixture_release(license="MIT OR Apache-2.0"))
    copyright_text = text(files, "crcsum_1.2.0_amd64/usr/share/doc/crcsum/copyright")
    assert "Files: *\nCopyright: Crcsum Maintainers <maintainers@example.invalid>\nLicense: MIT or Apache-2.0\n" in (
        copyright_text
    )
    assert "\n\nLicense: MIT\n\nLicense: Apache-2.0\n On Debian systems" in copyright_text
    assert copyright_text.endswith("/usr/share/common-licenses/Apache-2.0.\n")


def test_changelog_entry_is_dated_from_the_release_epoch() -> None:
    changelog = text(rendered(), "crcsum_1.2.0_amd64/usr/share/doc/crcsum/changelog")
    assert changelog.endswith(" -- Crcsum Maintainers <maintainers@example.invalid>  Tue, 14 Nov 2023 22:13:20 +0000\n")


def test_a_project_template_overrides_the_channels_own(tmp_path: Path) -> None:
    (tmp_path / "deb").mkdir()
    (tmp_path / "deb" / "changelog.j2").write_text("{{ package }} ({{ version }}) stable; urgency=low\n")
    files = rendered(fixture_release(templates=tmp_path))
    assert text(files, "crcsum_1.2.0_amd64/usr/share/doc/crcsum/changelog") == "crcsum (1.2.0) stable; urgency=low\n"
    # The other files still come from the channel's templates.
    assert text(files, "crcsum_1.2.0_amd64/DEBIAN/control").startswith("Package: crcsum\n")


# --- versions, names, sizes (pure helpers) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("semver", "debian"),
    [
        ("1.2.0", "1.2.0"),
        ("1.2.0-beta.1", "1.2.0~beta.1"),
        ("2.0.0-alpha", "2.0.0~alpha"),
        ("1.0.0-0.3.7", "1.0.0~0.3.7"),
        ("1.2.0-rc.1+build.5", "1.2.0~rc.1"),  # build metadata has no order in semver: dropped
        ("1.2.0+build.5", "1.2.0"),
    ],
)
def test_debian_version_of_semver(semver: str, debian: str) -> None:
    assert deb.debian_version(semver) == debian


def test_hyphen_inside_the_prerelease_is_refused_naming_version() -> None:
    with pytest.raises(PackageError, match=r"^deb: version: 1\.2\.0-rc-1: Debian reads the part after a hyphen"):
        deb.debian_version("1.2.0-rc-1")
    with pytest.raises(PackageError, match=r"^deb: version: "):
        rendered(fixture_release("1.2.0-rc-1"))


def test_debian_architecture_names() -> None:
    assert deb.DEB_ARCH == {"x86_64": "amd64", "aarch64": "arm64"}


def test_installed_size_rounds_each_file_up_and_counts_a_kib_per_folder() -> None:
    assert deb.installed_size([], 0) == 0
    assert deb.installed_size([0, 1, 1024, 1025], 3) == 0 + 1 + 1 + 2 + 3
    assert deb.installed_size([919_248], 7) == 898 + 7


def test_installed_size_goes_after_maintainer_and_replaces_an_old_one() -> None:
    control = "Package: a\nMaintainer: A <a@b>\nInstalled-Size: 1\nSection: utils\nDescription: x\n y\n"
    assert deb.with_installed_size(control, 42) == (
        "Package: a\nMaintainer: A <a@b>\nInstalled-Size: 42\nSection: utils\nDescription: x\n y\n"
    )


def test_md5sums_lists_installed_paths_sorted() -> None:
    sums = deb.md5sums({"usr/share/doc/a/copyright": b"c", "usr/bin/a": b"b"})
    assert sums == (
        f"{hashlib.md5(b'b').hexdigest()}  usr/bin/a\n{hashlib.md5(b'c').hexdigest()}  usr/share/doc/a/copyright\n"
    )


def test_description_wraps_extra_paragraphs_and_ends_with_what_is_installed() -> None:
    release = fixture_release(
        description="Checks files.\n\nIt reads every file named on its command line and prints a checksum per file, "
        "one line each, in the order given.",
        binaries=("crcsum", "crcfix"),
    )
    synopsis, extended = deb.description_fields(release, release.archives[0])
    assert synopsis == "Checks files"  # a synopsis is not a sentence
    assert extended[:3] == [
        "It reads every file named on its command line and prints a checksum per file,",
        "one line each, in the order given.",
        ".",
    ]
    assert "the commands crcsum and crcfix of crcsum 1.2.0" in " ".join(extended)
    assert all(len(line) <= deb.TEXT_WIDTH for line in extended)


def test_license_expression_in_copyright_format() -> None:
    assert deb.dep5_license("MIT OR Apache-2.0") == "MIT or Apache-2.0"
    assert deb.dep5_license("(MIT OR Apache-2.0) AND Unicode-DFS-2016") == "(MIT or Apache-2.0) and Unicode-DFS-2016"


@pytest.mark.parametrize(
    ("expression", "files", "sources"),
    [
        ("MIT", ["LICENSE"], {"MIT": ("LICENSE",)}),
        ("MIT OR Apache-2.0", ["LICENSE-APACHE", "LICENSE-MIT"], {"MIT": ("LICENSE-MIT",)}),
        ("Apache-2.0", ["LICENSE"], {}),  # Debian ships its text
        ("MIT AND ISC", ["LICENSE-ISC", "LICENSE-MIT"], {"MIT": ("LICENSE-MIT",), "ISC": ("LICENSE-ISC",)}),
    ],
)
def test_license_sources(expression: str, files: list[str], sources: dict[str, tuple[str, ...]]) -> None:
    assert deb.license_sources(expression, files) == sources


def test_license_without_a_text_in_the_archive_is_an_error_naming_license() -> None:
    with pytest.raises(PackageError, match=r"^deb: license: the release archive has no license file with the text"):
        deb.license_sources("MIT AND ISC", ["LICENSE"])


def test_fill_license_texts_fills_only_text_less_license_paragraphs() -> None:
    rendered_text = "Files: *\nLicense: MIT\n\nLicense: MIT\n\nLicense: Apache-2.0\n See there.\n"
    filled = deb.fill_license_texts(rendered_text, {"MIT": deb.dep5_text("MIT License\n\nPermission.\n")})
    assert filled == (
        "Files: *\nLicense: MIT\n\nLicense: MIT\n MIT License\n .\n Permission.\n\nLicense: Apache-2.0\n See there.\n"
    )


# --- bad inputs: PackageError naming the field, nothing rendered -------------------------------------


@pytest.mark.parametrize(
    ("changes", "settings", "field"),
    [
        ({"maintainer": "Crcsum Maintainers"}, {}, "maintainer"),
        ({"maintainer": "maintainers@example.invalid"}, {}, "maintainer"),
        ({"maintainer": "Ann <ann@example.invalid>, Bob <bob@example.invalid>"}, {}, "maintainer"),
        ({"maintainer": ""}, {}, "maintainer"),
        ({}, {"package": "Crc_Sum"}, "package"),
        ({"name": "c"}, {}, "package"),
        ({"name": "-crcsum"}, {}, "package"),
        ({"license": "Proprietary, all rights reserved"}, {}, "license"),
        ({"license": "MIT OR"}, {}, "license"),
        ({"license": "MIT AND ISC"}, {}, "license"),  # one LICENSE file cannot be the text of both
        ({"description": ""}, {}, "description"),
        ({}, {"linux_libc": "gnu"}, "depends"),  # a dynamically linked build needs its libc
        ({}, {"depends": ["libc6 >= 2.17"]}, "depends"),
        ({}, {"priority": "high"}, "priority"),
        ({}, {"section": "Utils"}, "section"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    changes: dict[str, object], settings: dict[str, object], field: str
) -> None:
    table = channel_settings("deb", **settings)
    release = channel_release("deb", table, fixture_release(**changes))
    with pytest.raises(PackageError, match=rf"^deb: {field}: "):
        deb.check(release, table)
    with pytest.raises(PackageError, match=rf"^deb: {field}: "):
        deb.render(release, table)


# --- build, with the archives on disk and dpkg-deb recorded instead of run -----------------------------


@dataclasses.dataclass(frozen=True)
class RecordingRunner(proc.Runner):
    """Records commands (and their environment) instead of running them; a dry run's result if dry_run."""

    calls: list[tuple[tuple[str, ...], dict[str, str]]] = dataclasses.field(default_factory=list)

    def run(self, argv: Sequence[str], **kwargs: Any) -> proc.Result:
        self.calls.append((tuple(argv), dict(kwargs.get("env") or {})))
        return proc.Result(tuple(argv), 0, skipped=self.dry_run)


ARCHIVE_FILES = {
    "crcsum": b"\x7fELF binary",
    "LICENSE": b"MIT License\n\nPermission is hereby granted.\n",
    "README.md": b"# crcsum\n",
    "CHANGELOG.md": b"# Changelog\n",
    "complete/crcsum.bash": b"complete -F _crcsum crcsum\n",
    "complete/_crcsum": b"#compdef crcsum\n",
    "complete/crcsum.fish": b"complete -c crcsum\n",
    "complete/_crcsum.ps1": b"# PowerShell\n",
    "man/crcsum.1": b".TH CRCSUM 1\n",
}


def write_archives(release: Release, dist: Path) -> None:
    """The release's archives as real tar.gz files in `dist` (entries as the fixture lists them)."""
    dist.mkdir()
    for archive in release.archives:
        with tarfile.open(dist / archive.file, "w:gz") as handle:
            for name in archive.files:
                data = ARCHIVE_FILES[name]
                info = tarfile.TarInfo(f"{archive.top}/{name}")
                info.size, info.mode = len(data), 0o755 if name == "crcsum" else 0o644
                handle.addfile(info, io.BytesIO(data))


def built(tmp_path: Path, runner: RecordingRunner, release: Release | None = None) -> tuple[Release, Path]:
    """Render and build the (fixture) release's musl packages into tmp_path/folder; (release, folder)."""
    table = channel_settings("deb")
    release = channel_release("deb", table, release)
    write_archives(release, tmp_path / "dist")
    folder = tmp_path / "folder"
    for name, content in deb.render(release, table).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    (tmp_path / "scratch").mkdir()
    deb.build(BuildJob(release, table, folder, tmp_path / "dist", runner, tmp_path / "scratch"))
    return release, folder


def test_build_completes_each_tree_and_packs_it_with_dpkg_deb(tmp_path: Path) -> None:
    runner = RecordingRunner()
    release, folder = built(tmp_path, runner)
    trees = [tmp_path / "scratch" / "deb" / stem for stem in STEMS]
    assert runner.calls == [
        (
            ("dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(folder / f"{tree.name}.deb")),
            {"SOURCE_DATE_EPOCH": str(release.epoch)},
        )
        for tree in trees
    ]
    # The rendered trees are gone from the channel folder: only the .deb files (made by dpkg-deb) stay.
    assert list(folder.iterdir()) == []
    tree = trees[0]
    installed = {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}
    assert installed == {
        "DEBIAN/control",
        "DEBIAN/md5sums",
        "usr/bin/crcsum",
        "usr/share/bash-completion/completions/crcsum",
        "usr/share/zsh/vendor-completions/_crcsum",
        "usr/share/fish/vendor_completions.d/crcsum.fish",
        "usr/share/man/man1/crcsum.1.gz",
        "usr/share/doc/crcsum/changelog.gz",
        "usr/share/doc/crcsum/copyright",
        "usr/share/lintian/overrides/crcsum",
    }
    assert (tree / "usr/bin/crcsum").read_bytes() == ARCHIVE_FILES["crcsum"]
    assert gzip.decompress((tree / "usr/share/man/man1/crcsum.1.gz").read_bytes()) == ARCHIVE_FILES["man/crcsum.1"]
    changelog = gzip.decompress((tree / "usr/share/doc/crcsum/changelog.gz").read_bytes()).decode()
    assert changelog.startswith("crcsum (1.2.0) unstable; urgency=medium\n")
    copyright_text = (tree / "usr/share/doc/crcsum/copyright").read_text()
    assert copyright_text.endswith("\n\nLicense: MIT\n MIT License\n .\n Permission is hereby granted.\n")


def test_build_writes_md5sums_installed_size_modes_and_times(tmp_path: Path) -> None:
    release, _ = built(tmp_path, RecordingRunner())
    tree = tmp_path / "scratch" / "deb" / STEMS[1]
    files = {
        p.relative_to(tree).as_posix(): p.read_bytes()
        for p in tree.rglob("*")
        if p.is_file() and not p.relative_to(tree).as_posix().startswith("DEBIAN/")
    }
    assert (tree / "DEBIAN/md5sums").read_text() == deb.md5sums(files)
    folders = [p for p in tree.rglob("*") if p.is_dir() and p.name != "DEBIAN"]
    control = (tree / "DEBIAN/control").read_text()
    size = deb.installed_size((len(data) for data in files.values()), len(folders))
    assert f"\nMaintainer: {release.maintainer}\nInstalled-Size: {size}\nSection: utils\n" in control
    for path in [tree, *tree.rglob("*")]:
        wanted = 0o755 if path.is_dir() or path == tree / "usr/bin/crcsum" else 0o644
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path
        assert path.stat().st_mtime == release.epoch, path


def test_build_in_a_dry_run_keeps_the_rendered_trees(tmp_path: Path) -> None:
    _, folder = built(tmp_path, RecordingRunner(dry_run=True))
    assert sorted(p.name for p in folder.iterdir()) == sorted(STEMS)


def test_build_without_man_page_or_completions_installs_the_binary_and_docs_only(tmp_path: Path) -> None:
    release = fixture_release()
    bare = tuple(
        dataclasses.replace(a, files=tuple(f for f in a.files if not f.startswith(("complete/", "man/"))))
        for a in release.archives
    )
    built(tmp_path, RecordingRunner(), dataclasses.replace(release, archives=bare))
    tree = tmp_path / "scratch" / "deb" / STEMS[0]
    assert {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()} == {
        "DEBIAN/control",
        "DEBIAN/md5sums",
        "usr/bin/crcsum",
        "usr/share/doc/crcsum/changelog.gz",
        "usr/share/doc/crcsum/copyright",
        "usr/share/lintian/overrides/crcsum",
    }


def test_the_default_package_name_is_the_crate_name_in_debian_form() -> None:
    assert deb.package_name(fixture_release(name="Crc_Sum"), channel_settings("deb")) == "crc-sum"
    assert deb.package_name(fixture_release(), channel_settings("deb", package="crcsum-tool")) == "crcsum-tool"
    release = channel_release("deb", channel_settings("deb"), fixture_release(name="Crc_Sum"))
    names = sorted(deb.render(release, channel_settings("deb")))
    assert names[0].startswith("crc-sum_1.2.0_amd64/")
