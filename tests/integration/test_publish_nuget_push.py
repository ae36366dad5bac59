"""The Chocolatey publisher with the package `invoke package` made, and the fake feed checked against NuGet's client.

The fake feed (tests/nuget_feed.py) is only worth what its reading of the push protocol is worth, so
NuGet's own client (Debian's `nuget`) pushes to it first: its request must pass the same checks the
publisher's does. Then the real .nupkg of dist/packages/chocolatey/ is pushed, found identical on a
second run, and a dry run sends nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tests.nuget_feed import NuGetFeed
from tooling import proc
from tooling.config import load_config
from tooling.publish import nuget_push, retry
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob

pytestmark = pytest.mark.integration

CANARY = "canary-nuget-key-2e91b07d"
FAST = retry.Clock(sleep=lambda seconds: None, draw=lambda: 0.0)

# A package in the nuspec namespace NuGet 2.8.7 still reads (it refuses Chocolatey's newer one).
DEMO_NUSPEC = """<?xml version="1.0"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>pushdemo</id>
    <version>1.0.0</version>
    <authors>Publish Tests</authors>
    <description>A package NuGet's own client pushes to the fake feed.</description>
  </metadata>
  <files><file src="tools/**" target="tools" /></files>
</package>
"""


@pytest.fixture
def feed() -> Iterator[NuGetFeed]:
    with NuGetFeed(api_key=CANARY) as server:
        yield server
    assert not server.violations, server.violations


@pytest.fixture
def channel_dir(package_dist: Path) -> Path:
    """dist/packages/chocolatey/ as `invoke package` made it."""
    return package_dist / "packages" / "chocolatey"


def nuget(*argv: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Debian's nuget, its caches and config under `home` (mono's nuget mishandles absolute paths: use `cwd`)."""
    program = require_tool("nuget", "checks the fake feed against NuGet's own client")
    return subprocess.run(
        [program, *argv, "-NonInteractive"],
        cwd=cwd,
        env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_fake_feed_accepts_nugets_own_push_and_answers_it_like_a_feed(feed: NuGetFeed, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "tools").mkdir(parents=True)
    (source / "pushdemo.nuspec").write_text(DEMO_NUSPEC, encoding="utf-8")
    (source / "tools" / "readme.txt").write_text("pushed by nuget\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    packed = nuget(
        "pack", "pushdemo.nuspec", "-OutputDirectory", str(out), "-NoPackageAnalysis", home=tmp_path, cwd=source
    )
    assert packed.returncode == 0, packed.stdout + packed.stderr

    pushed = nuget("push", "pushdemo.1.0.0.nupkg", CANARY, "-Source", feed.url + "/", home=tmp_path, cwd=out)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert [(r.path, r.status, r.api_key) for r in feed.pushes()] == [("/api/v2/package/", 201, CANARY)]
    assert feed.packages[("pushdemo", "1.0.0")].data == (out / "pushdemo.1.0.0.nupkg").read_bytes()

    again = nuget("push", "pushdemo.1.0.0.nupkg", CANARY, "-Source", feed.url + "/", home=tmp_path, cwd=out)
    assert again.returncode != 0 and "409" in again.stdout + again.stderr  # NuGet reads the 409 as a conflict
    wrong = nuget("push", "pushdemo.1.0.0.nupkg", "not-the-key", "-Source", feed.url + "/", home=tmp_path, cwd=out)
    assert wrong.returncode != 0  # NuGet takes the 401 as a request for credentials it may not prompt for
    assert [r.status for r in feed.pushes()] == [201, 409, 401]


def make_job(config: Any, folder: Path, feed: NuGetFeed, *, dry_run: bool = False) -> ChannelJob:
    return ChannelJob(
        channel="chocolatey",
        files=folder,
        config=config,
        settings={**config.publish["chocolatey"], "feed": feed.url},
        tag=f"v{config.version}",
        environ={"CHOCOLATEY_API_KEY": CANARY},
        runner=proc.Runner(dry_run=dry_run),
        scratch=folder.parent / "scratch",
    )


def test_the_release_package_is_pushed_once_then_found_identical(
    feed: NuGetFeed, channel_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "chocolatey"
    shutil.copytree(channel_dir, folder)
    config = load_config(ROOT, {})
    (nupkg,) = folder.glob("*.nupkg")

    dry = nuget_push.publish(make_job(config, folder, feed, dry_run=True), clock=FAST)
    assert dry.state == WOULD_PUBLISH and feed.pushes() == []

    feed.fail_next("push", 503)
    first = nuget_push.publish(make_job(config, folder, feed), clock=FAST)
    assert first.state == PUBLISHED
    assert [r.status for r in feed.pushes()] == [503, 201]
    assert feed.packages[("crcsum", config.version)].data == nupkg.read_bytes()

    second = nuget_push.publish(make_job(config, folder, feed), clock=FAST)
    assert second.state == UNCHANGED
    assert len(feed.pushes()) == 2

    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or CANARY.encode() not in path.read_bytes(), path
