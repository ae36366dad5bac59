"""A fixed release for the channel tests: the sample's archives with stand-in hashes and URLs.

Unit tests render every channel from `fixture_release()` and compare with the
expected files in tests/fixtures/packages/<channel>/ (regenerate them with
REGENERATE_PACKAGE_FIXTURES=1 and review the diff).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tooling.artifacts.shell_docs import COMPLETION_FILES, MAN_FILE
from tooling.config_schema import CHANNEL_TABLES, check_table
from tooling.packagers.base import Archive, Release

FIXTURES = Path(__file__).parent / "fixtures" / "packages"
REGENERATE = "REGENERATE_PACKAGE_FIXTURES"

NAME = "crcsum"
VERSION = "1.2.0"
BASE_URL = "https://example.invalid/crcsum/releases/download"

TRIPLES = {
    "x86_64-unknown-linux-gnu": ("linux", "x86_64", "gnu", "tar.gz"),
    "aarch64-unknown-linux-gnu": ("linux", "aarch64", "gnu", "tar.gz"),
    "x86_64-unknown-linux-musl": ("linux", "x86_64", "musl", "tar.gz"),
    "aarch64-unknown-linux-musl": ("linux", "aarch64", "musl", "tar.gz"),
    "x86_64-apple-darwin": ("macos", "x86_64", "system", "tar.gz"),
    "aarch64-apple-darwin": ("macos", "aarch64", "system", "tar.gz"),
    "x86_64-pc-windows-msvc": ("windows", "x86_64", "msvc", "zip"),
}


def _files(os_name: str) -> tuple[str, ...]:
    exe = NAME + (".exe" if os_name == "windows" else "")
    extras = [path.format(bin=NAME) for path in COMPLETION_FILES.values()] + [MAN_FILE.format(bin=NAME)]
    return tuple(sorted([exe, "CHANGELOG.md", "LICENSE", "README.md", *extras]))


def fixture_archive(triple: str, version: str = VERSION) -> Archive:
    os_name, arch, libc, fmt = TRIPLES[triple]
    top = f"{NAME}-{version}-{triple}"
    return Archive(
        triple=triple,
        os=os_name,
        arch=arch,
        libc=libc,
        file=f"{top}.{fmt}",
        url=f"{BASE_URL}/v{version}/{top}.{fmt}",
        sha256=hashlib.sha256(triple.encode()).hexdigest(),
        format=fmt,
        top=top,
        files=_files(os_name),
    )


def fixture_release(version: str = VERSION, triples: tuple[str, ...] = tuple(TRIPLES), **changes: Any) -> Release:
    """The sample crate's release of `version` with archives for `triples` (every known one by default)."""
    release = Release(
        name=NAME,
        version=version,
        tag=f"v{version}",
        prerelease="-" in version,
        binaries=(NAME,),
        description="Print CRC-32 checksums of files, computed by a small C routine",
        homepage="https://example.invalid/crcsum",
        license="MIT",
        maintainer="Crcsum Maintainers <maintainers@example.invalid>",
        repository="https://example.invalid/crcsum",
        archives=tuple(fixture_archive(t, version) for t in triples),
        sums_url=f"{BASE_URL}/v{version}/SHA256SUMS",
        epoch=1_700_000_000,
    )
    return dataclasses.replace(release, **changes)


def channel_settings(channel: str, **values: Any) -> dict[str, Any]:
    """The channel's [tool.release.packages.<channel>] table with `values` (underscores as dashes), defaults filled."""
    return check_table(CHANNEL_TABLES[channel], {key.replace("_", "-"): value for key, value in values.items()})


def compare_with_expected(channel: str, case: str, rendered: Mapping[str, bytes]) -> None:
    """Assert `rendered` equals tests/fixtures/packages/<channel>/<case>/ file by file (or rewrite it)."""
    folder = FIXTURES / channel / case
    if os.environ.get(REGENERATE):
        for old in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
            old.unlink() if old.is_file() else old.rmdir()
        for name, content in rendered.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
    expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert sorted(rendered) == sorted(expected), f"{channel}/{case}: files differ (regenerate with {REGENERATE}=1)"
    for name, content in rendered.items():
        assert content == expected[name], f"{channel}/{case}/{name} differs from the expected file"


def channel_release(channel: str, settings: Mapping[str, Any], release: Release | None = None) -> Release:
    """`release` (default: fixture_release()) narrowed to the archives `channel` packages, as the packages step does."""
    from tooling.packagers.base import archives_for
    from tooling.packagers.registry import load

    release = release or fixture_release()
    planned = tuple((a.os, a.arch, a.libc) for a in release.archives)
    chosen = archives_for(load(channel), release.archives, planned, settings, allow_partial=False)
    return dataclasses.replace(release, archives=chosen)
