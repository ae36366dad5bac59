"""What every package channel relies on: archive choice, the release it sees, templates, the registry,
the packages step's order (check all, then write), and the completions and man pages in archives."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.packager_fixtures import fixture_archive, fixture_release
from tooling import manifest, proc
from tooling import plan as release_plan
from tooling.artifacts import shell_docs
from tooling.config import load_config
from tooling.config_schema import CHANNEL_NAMES
from tooling.errors import BuildError, ConfigError, FenceError, PackageError
from tooling.packagers import base, registry, run
from tooling.packagers.base import Channel, Release, Settings
from tooling.packagers.release import archives_of, download_url, template_dir
from tooling.targets import get_target

PLANNED_ALL = tuple((a.os, a.arch, a.libc) for a in fixture_release().archives)
LINUX_BOTH = (base.LINUX_X86_64, base.LINUX_AARCH64)
MUSL = ("x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl")


def channel(name: str = "test", platforms: tuple[tuple[str, str], ...] = LINUX_BOTH, **parts: Any) -> Channel:
    def render(release: Release, settings: Settings) -> dict[str, bytes]:
        return {"list.txt": "\n".join(a.file for a in release.archives).encode()}

    return Channel(name, "a channel for tests", platforms, parts.pop("render", render), **parts)


# --- choosing archives --------------------------------------------------------------------------


def test_linux_channels_take_the_configured_libc() -> None:
    release = fixture_release()
    musl = base.choose_archives(channel(), release.archives, PLANNED_ALL, {"linux-libc": "musl"}, allow_partial=False)
    gnu = base.choose_archives(channel(), release.archives, PLANNED_ALL, {"linux-libc": "gnu"}, allow_partial=False)
    assert [a.triple for a in musl] == ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]
    assert [a.triple for a in gnu] == ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]


def test_a_planned_platform_without_its_archive_names_the_channel_and_platform() -> None:
    release = fixture_release(triples=("x86_64-unknown-linux-musl",))
    with pytest.raises(PackageError) as caught:
        base.choose_archives(channel("deb"), release.archives, PLANNED_ALL, {"linux-libc": "musl"}, allow_partial=False)
    assert caught.value.message.startswith("deb: archives: no archive in dist/ for linux aarch64 (musl)")
    partial = base.choose_archives(
        channel("deb"), release.archives, PLANNED_ALL, {"linux-libc": "musl"}, allow_partial=True
    )
    assert [a.triple for a in partial] == ["x86_64-unknown-linux-musl"]


def test_a_libc_the_plan_does_not_build_is_not_replaced_by_the_other() -> None:
    planned = (("linux", "x86_64", "gnu"), ("linux", "aarch64", "gnu"))
    with pytest.raises(PackageError, match="none of its platforms"):
        base.choose_archives(
            channel(), fixture_release().archives, planned, {"linux-libc": "musl"}, allow_partial=False
        )


def test_windows_prefers_msvc_and_falls_back_to_gnu_when_only_it_is_built() -> None:
    windows = channel(platforms=(base.WINDOWS_X86_64,))
    gnu_zip = dataclasses.replace(fixture_archive("x86_64-pc-windows-msvc"), triple="x86_64-pc-windows-gnu", libc="gnu")
    both = (fixture_archive("x86_64-pc-windows-msvc"), gnu_zip)
    planned = (("windows", "x86_64", "msvc"), ("windows", "x86_64", "gnu"))
    assert base.choose_archives(windows, both, planned, {}, allow_partial=False)[0].libc == "msvc"
    assert base.choose_archives(windows, (gnu_zip,), planned, {}, allow_partial=False)[0].libc == "gnu"


# --- the release a channel sees ----------------------------------------------------------------


def test_completions_and_man_pages_count_only_when_every_archive_has_them() -> None:
    release = fixture_release()
    assert release.completions("crcsum") == {
        "bash": "complete/crcsum.bash",
        "zsh": "complete/_crcsum",
        "fish": "complete/crcsum.fish",
        "powershell": "complete/_crcsum.ps1",
    }
    assert release.man_page("crcsum") == "man/crcsum.1"
    assert release.license_files() == ("LICENSE",)
    bare = dataclasses.replace(release.archives[0], files=("crcsum", "LICENSE"))
    mixed = dataclasses.replace(release, archives=(bare, *release.archives[1:]))
    assert mixed.completions("crcsum") == {}
    assert mixed.man_page("crcsum") is None
    assert mixed.docs() == ("LICENSE",)


def test_download_urls_fill_the_template_and_drop_a_git_suffix() -> None:
    url = download_url(
        "{repository}/releases/download/{tag}/{file}",
        repository="https://example.invalid/crcsum.git",
        tag="v1.0.0",
        version="1.0.0",
        file="a.tar.gz",
    )
    assert url == "https://example.invalid/crcsum/releases/download/v1.0.0/a.tar.gz"


@pytest.mark.parametrize(
    ("template", "repository", "message"),
    [
        ("{repository}/{file}", "", "names {repository}, and the crate has no repository"),
        ("https://x/{nope}/{file}", "https://r", "names {nope}, which is not one of its placeholders"),
        ("https://x/{tag.upper}/{file}", "https://r", "names {tag.upper}, which is not one of its placeholders"),
        ("https://x/{file!r}", "https://r", "names {file}, which is not one of its placeholders"),
        ("https://x/{file", "https://r", "is not a URL template"),
    ],
)
def test_a_download_url_that_cannot_be_filled_is_one_clear_error(template: str, repository: str, message: str) -> None:
    with pytest.raises(PackageError) as caught:
        download_url(template, repository=repository, tag="v1", version="1", file="f")
    assert caught.value.message.startswith("packages: download-url: ")
    assert message in caught.value.message


def test_archives_of_reads_names_hashes_and_files_from_the_manifest() -> None:
    record = manifest.Manifest("crcsum", "1.0.0")
    triple = "x86_64-unknown-linux-musl"
    top = f"crcsum-1.0.0-{triple}"
    record.add(
        manifest.Artifact(
            path=f"{top}.tar.gz",
            kind="archive",
            target=triple,
            size=10,
            sha256="a" * 64,
            step="archive",
            facts={"format": "tar.gz", "files": [f"{top}/crcsum", f"{top}/complete/_crcsum"]},
        )
    )
    record.add(manifest.Artifact("crcsum-1.0.0.cdx.json", "sbom", None, 1, "b" * 64, "sbom"))
    (archive,) = archives_of(record, "https://d/{tag}/{file}", "v1.0.0", "")
    assert (archive.os, archive.arch, archive.libc, archive.top) == ("linux", "x86_64", "musl", top)
    assert archive.url == f"https://d/v1.0.0/{top}.tar.gz"
    assert archive.files == ("complete/_crcsum", "crcsum")


# --- templates --------------------------------------------------------------------------------


def test_a_project_template_replaces_the_packaged_one_by_name(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "x.j2").write_text("{{ release.name }} {{ extra | ruby }} {{ extra | sh }} {{ extra | xml }}")
    release = fixture_release(templates=tmp_path)
    text = base.render_template(release, "demo", "x.j2", extra="a\"b'<#{c}>&").decode()
    assert text == "crcsum \"a\\\"b'<\\#{c}>&\" 'a\"b'\"'\"'<#{c}>&' a&quot;b&apos;&lt;#{c}&gt;&amp;"


def test_a_broken_or_missing_template_is_a_package_error(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "x.j2").write_text("{{ undefined_name }}")
    release = fixture_release(templates=tmp_path)
    with pytest.raises(PackageError, match=r"demo: the template .*x\.j2 failed"):
        base.render_template(release, "demo", "x.j2")
    with pytest.raises(PackageError, match=r"no template demo/none\.j2"):
        base.render_template(release, "demo", "none.j2")


# --- archives on disk ------------------------------------------------------------------------


def _tar(path: Path, entries: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as handle:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            handle.addfile(info, io.BytesIO(data))
    return path


def test_unpack_archive_extracts_tar_and_zip_with_modes(tmp_path: Path) -> None:
    tar = _tar(tmp_path / "a.tar.gz", {"top/crcsum": b"ELF", "top/man/crcsum.1": b".TH"})
    top = base.unpack_archive(tar, tmp_path / "t")
    assert top == tmp_path / "t" / "top"
    assert (top / "crcsum").read_bytes() == b"ELF"
    assert (top / "crcsum").stat().st_mode & 0o777 == 0o755
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as handle:
        handle.writestr("top/crcsum.exe", b"MZ")
    assert (base.unpack_archive(tmp_path / "a.zip", tmp_path / "z") / "crcsum.exe").read_bytes() == b"MZ"


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "top/../../evil"])
def test_an_archive_entry_leaving_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    tar = _tar(tmp_path / "a.tar.gz", {name: b"x"})
    with pytest.raises(PackageError, match="leaves its folder"):
        base.unpack_archive(tar, tmp_path / "t")
    assert not (tmp_path / "evil").exists()


def test_an_archive_with_two_top_folders_is_refused(tmp_path: Path) -> None:
    tar = _tar(tmp_path / "a.tar.gz", {"one/a": b"x", "two/b": b"y"})
    with pytest.raises(PackageError, match="exactly one top folder"):
        base.unpack_archive(tar, tmp_path / "t")


# --- registry and plan ---------------------------------------------------------------------------


def test_a_prerelease_skips_the_channels_configured_to_skip_it() -> None:
    packages = {"channels": ["deb", "aur", "homebrew"], "aur": {"prerelease": "skip"}, "deb": {"prerelease": "mark"}}
    assert registry.planned_channels(packages, "1.2.0") == ("homebrew", "deb", "aur")
    assert registry.planned_channels(packages, "1.2.0-beta.1") == ("homebrew", "deb")


def test_an_unknown_channel_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown package channel 'pacman'"):
        registry.load("pacman")


def test_every_registered_channel_loads_and_names_itself() -> None:
    for name in CHANNEL_NAMES:
        loaded = registry.load(name)
        assert loaded.name == name
        assert loaded.platforms and loaded.summary


def test_the_plan_schema_lists_every_channel() -> None:
    schema = release_plan.plan_schema()
    assert schema["properties"]["packages"]["items"]["enum"] == list(CHANNEL_NAMES)


def test_package_diff_names_planned_channels_without_files_and_strays() -> None:
    config = load_config(ROOT, {})
    plan = dataclasses.replace(
        release_plan.plan_from_json(json.dumps(_plan_dict(config.name)), "plan.json"), packages=("deb", "aur")
    )
    diff = release_plan.package_diff(plan, ["packages/deb/a.deb", "packages/rpm/a.rpm", "SHA256SUMS"])
    assert diff.missing == ("packages/aur/",)
    assert diff.extra == ("packages/rpm/a.rpm",)


def _plan_dict(name: str) -> dict[str, Any]:
    return {
        "schema": 1,
        "name": name,
        "version": "1.0.0",
        "host": {"os": "linux", "arch": "x86_64"},
        "sign_backends": [],
        "sbom": "x.cdx.json",
        "packages": [],
        "installers": [],
        "targets": [
            {
                "triple": "x86_64-unknown-linux-musl",
                "where": "here",
                "runner": "ubuntu-24.04",
                "route": "rustup",
                "reason": "",
                "binaries": ["x86_64-unknown-linux-musl/x"],
                "archive": "x.tar.gz",
            }
        ],
    }


def test_a_plan_naming_an_unknown_channel_is_refused() -> None:
    data = {**_plan_dict("x"), "packages": ["deb", "flatpak"]}
    with pytest.raises(Exception, match="unknown channel"):
        release_plan.plan_from_json(json.dumps(data), "plan.json")


# --- the packages step ------------------------------------------------------------------------


def _record(tmp_path: Path, triples: tuple[str, ...]) -> tuple[manifest.Manifest, Any]:
    """A manifest listing the fixture archives of `triples`, and this repository's config over tmp_path/dist."""
    config = dataclasses.replace(load_config(ROOT, {}), dist_dir=tmp_path / "dist")
    config.dist_dir.mkdir()
    record = manifest.Manifest(config.name, config.version)
    for triple in triples:
        archive = fixture_archive(triple, config.version)
        files = [f"{archive.top}/{name}" for name in archive.files]
        record.add(
            manifest.Artifact(archive.file, "archive", triple, 1, archive.sha256, "archive", facts={"files": files})
        )
    return record, config


def test_every_channel_is_checked_before_any_file_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record, config = _record(tmp_path, MUSL)

    def refuse(release: Release, settings: Settings) -> None:
        raise base.fail("second", "license", "is not SPDX")

    fakes = {"first": channel("first"), "second": channel("second", check=refuse)}
    monkeypatch.setattr(registry, "load", fakes.__getitem__)
    config = dataclasses.replace(config, packages={"first": {}, "second": {}})
    with pytest.raises(PackageError, match="second: license: is not SPDX"):
        run.make_packages(config, record, ["first", "second"], MUSL, proc.Runner(), epoch=0, allow_partial=False)
    assert list(config.dist_dir.iterdir()) == []


def test_a_failed_build_leaves_the_previous_channel_folder_and_no_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, config = _record(tmp_path, MUSL)
    monkeypatch.setattr(registry, "load", {"demo": channel("demo")}.__getitem__)
    config = dataclasses.replace(config, packages={"demo": {}})
    made = run.make_packages(config, record, ["demo"], MUSL, proc.Runner(), epoch=0, allow_partial=False)
    listed = config.dist_dir / "packages" / "demo" / "list.txt"
    # Platform order of the channel: x86_64 before aarch64.
    assert listed.read_text().splitlines() == [f"crcsum-{config.version}-{t}.tar.gz" for t in MUSL]
    entry = next(a for a in made.artifacts if a.kind == "package")
    assert (entry.path, entry.facts) == ("packages/demo/list.txt", {"channel": "demo"})

    def broken(job: base.BuildJob) -> None:
        (job.folder / "half.deb").write_bytes(b"half")
        raise BuildError("the tool failed")

    monkeypatch.setattr(registry, "load", {"demo": channel("demo", build=broken)}.__getitem__)
    with pytest.raises(BuildError):
        run.make_packages(config, record, ["demo"], MUSL, proc.Runner(), epoch=0, allow_partial=False)
    assert sorted(p.name for p in (config.dist_dir / "packages").iterdir()) == ["demo"]
    assert sorted(p.name for p in (config.dist_dir / "packages" / "demo").iterdir()) == ["list.txt"]


def test_a_channel_turned_off_leaves_no_files_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record, config = _record(tmp_path, MUSL)
    monkeypatch.setattr(registry, "load", {"demo": channel("demo"), "other": channel("other")}.__getitem__)
    config = dataclasses.replace(config, packages={"demo": {}, "other": {}})
    record = run.make_packages(config, record, ["demo", "other"], MUSL, proc.Runner(), epoch=0, allow_partial=False)
    record = run.make_packages(config, record, ["other"], MUSL, proc.Runner(), epoch=0, allow_partial=False)
    assert [p.name for p in (config.dist_dir / "packages").iterdir()] == ["other"]
    assert [a.path for a in record.artifacts if a.kind == "package"] == ["packages/other/list.txt"]


def test_a_missing_build_tool_is_named_with_its_channel_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, config = _record(tmp_path, MUSL)
    needy = channel("demo", build=lambda job: None, tools=("no-such-packer-tool",))
    monkeypatch.setattr(registry, "load", {"demo": needy}.__getitem__)
    config = dataclasses.replace(config, packages={"demo": {}})
    with pytest.raises(Exception, match=r"no-such-packer-tool \(demo\)"):
        run.make_packages(config, record, ["demo"], MUSL, proc.Runner(), epoch=0, allow_partial=False)
    assert list(config.dist_dir.iterdir()) == []


# --- completions and man pages -------------------------------------------------------------------


def test_doc_commands_fill_bin_and_shell_for_every_binary() -> None:
    commands = shell_docs.doc_commands(
        {"b": Path("/d/b"), "a": Path("/d/a")}, ["{bin}", "completions", "--shell={shell}"], ["{bin}", "man"]
    )
    assert [c.path for c in commands] == [
        "complete/a.bash",
        "complete/_a",
        "complete/a.fish",
        "complete/_a.ps1",
        "man/a.1",
        "complete/b.bash",
        "complete/_b",
        "complete/b.fish",
        "complete/_b.ps1",
        "man/b.1",
    ]
    assert commands[1].argv == ("/d/a", "completions", "--shell=zsh")
    assert commands[4].argv == ("/d/a", "man")
    assert shell_docs.doc_commands({"a": Path("/a")}, [], []) == ()


def test_the_runnable_target_is_one_of_this_machine() -> None:
    targets = [
        get_target(t) for t in ("aarch64-unknown-linux-musl", "x86_64-pc-windows-gnu", "x86_64-unknown-linux-gnu")
    ]
    assert shell_docs.runnable_target(targets, "linux", "x86_64") == targets[2]
    assert shell_docs.runnable_target(targets[:2], "linux", "x86_64") is None


@pytest.mark.parametrize(
    ("completions", "man", "message"),
    [
        (["{bin}", "completions"], [], "lacks {shell}"),
        (["tool", "{shell}"], [], "lacks {bin}"),
        ([], ["man"], "tool.release.man = ['man'] lacks {bin}"),
    ],
)
def test_doc_commands_without_their_placeholders_are_config_errors(
    completions: list[str], man: list[str], message: str
) -> None:
    from tooling.config import check_doc_commands

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_doc_commands(completions, man)


def test_a_partial_trial_leaves_out_a_channel_with_no_archive_and_its_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, config = _record(tmp_path, MUSL)
    windows = channel("win", platforms=(base.WINDOWS_X86_64,))
    monkeypatch.setattr(registry, "load", {"demo": channel("demo"), "win": windows}.__getitem__)
    config = dataclasses.replace(config, packages={"demo": {}, "win": {}})
    stale = config.dist_dir / "packages" / "win" / "old.nupkg"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier release")
    planned = [*MUSL, "x86_64-pc-windows-msvc"]
    with pytest.raises(PackageError, match="win: archives: no archive in dist/ for windows x86_64"):
        run.make_packages(config, record, ["demo", "win"], planned, proc.Runner(), epoch=0, allow_partial=False)
    record = run.make_packages(config, record, ["demo", "win"], planned, proc.Runner(), epoch=0, allow_partial=True)
    assert [p.name for p in (config.dist_dir / "packages").iterdir()] == ["demo"]
    assert {a.facts["channel"] for a in record.artifacts if a.kind == "package"} == {"demo"}


def test_a_linked_packages_folder_is_refused_and_what_it_points_to_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, config = _record(tmp_path, MUSL)
    outside = tmp_path / "outside" / "victim"
    outside.mkdir(parents=True)
    (outside / "file").write_text("precious")
    (config.dist_dir / "packages").symlink_to(tmp_path / "outside")
    monkeypatch.setattr(registry, "load", {"demo": channel("demo")}.__getitem__)
    config = dataclasses.replace(config, packages={"demo": {}})
    with pytest.raises(FenceError, match="leads outside dist/"):
        run.make_packages(config, record, ["demo"], MUSL, proc.Runner(), epoch=0, allow_partial=False)
    assert (outside / "file").read_text() == "precious"


def test_a_broken_template_override_is_a_package_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "x.j2").write_text("{% if release.name %}never closed")
    with pytest.raises(PackageError, match=r"demo: the template demo/x\.j2 cannot be read"):
        base.render_template(fixture_release(templates=tmp_path), "demo", "x.j2")


def test_text_xml_cannot_carry_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "x.j2").write_text("<d>{{ release.description | xml }}</d>")
    release = fixture_release(templates=tmp_path, description="crc\x1bsum")
    with pytest.raises(PackageError, match="control character XML cannot carry"):
        base.render_template(release, "demo", "x.j2")


def test_blank_required_fields_count_as_missing() -> None:
    with pytest.raises(PackageError, match="demo: description: is empty"):
        base.require("demo", fixture_release(description="  \n "), "description")


def test_a_damaged_archive_is_a_package_error(tmp_path: Path) -> None:
    damaged = tmp_path / "a.tar.gz"
    damaged.write_bytes(b"\x1f\x8b\x08\x00broken")
    with pytest.raises(PackageError, match=r"cannot unpack a\.tar\.gz"):
        base.unpack_archive(damaged, tmp_path / "t")


def test_a_template_folder_that_does_not_exist_is_named(tmp_path: Path) -> None:
    config = dataclasses.replace(
        load_config(ROOT, {}), root=tmp_path, packages={**load_config(ROOT, {}).packages, "templates": "nope"}
    )
    with pytest.raises(PackageError, match=r"packages: templates: .*nope is not a folder"):
        template_dir(config)


def test_file_names_a_build_script_would_have_to_quote_are_refused() -> None:
    spaced = dataclasses.replace(
        fixture_archive("x86_64-unknown-linux-musl"), files=("crcsum", "READ ME $(touch x).md", "LICENSE")
    )
    release = fixture_release(archives=(spaced,))
    with pytest.raises(PackageError, match=r"aur: archives: the archives hold 'READ ME \$\(touch x\)\.md'"):
        base.require_plain_files("aur", release)
    base.require_plain_files("aur", fixture_release())


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("mit or apache-2.0", "MIT OR Apache-2.0"),
        ("MIT", "MIT"),
        ("MIT-ish", "MIT-ish"),
        ("MIT/Apache-2.0", "MIT/Apache-2.0"),
    ],
)
def test_licenses_are_written_as_spdx_spells_them(written: str, canonical: str) -> None:
    from tooling.packagers.licenses import canonical as spdx_form

    assert spdx_form(written) == canonical
