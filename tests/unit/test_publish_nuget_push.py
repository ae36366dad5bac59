"""The Chocolatey publisher against a local NuGet v2 feed: push, converge, retry, refuse, keep the key secret.

The .nupkg is rendered from the fixture release the way the packages step makes it; the feed
(tests/nuget_feed.py) checks every push the way NuGet's protocol describes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT
from tests.nuget_feed import NuGetFeed, Stored, entry_xml, multipart_parts
from tests.packager_fixtures import channel_release, channel_settings, fixture_release
from tooling import proc
from tooling.config import load_config
from tooling.errors import ConfigError, PublishError
from tooling.packagers import chocolatey
from tooling.publish import nuget_push, retry
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome

CANARY = "canary-nuget-key-7f3a9c1e"
VARIABLE = "CHOCOLATEY_API_KEY"
NUSPEC = "crcsum.nuspec"
EPOCH = 1_700_000_000
FAST = retry.Clock(sleep=lambda seconds: None, draw=lambda: 0.0)


def nupkg(version: str, **changes: Any) -> bytes:
    """The Chocolatey package of the fixture release, packed as the packages step packs it."""
    table = channel_settings("chocolatey")
    release = channel_release("chocolatey", table, fixture_release(version, **changes))
    files = chocolatey.CHANNEL.render(release, table)
    return chocolatey.nupkg_bytes(files, NUSPEC, EPOCH)


@pytest.fixture
def config() -> Any:
    return load_config(ROOT, {})


@pytest.fixture
def folder(tmp_path: Path, config: Any) -> Path:
    """dist/packages/chocolatey/ holding the release's .nupkg."""
    path = tmp_path / "dist" / "packages" / "chocolatey"
    path.mkdir(parents=True)
    (path / f"crcsum.{config.version}.nupkg").write_bytes(nupkg(config.version))
    return path


@pytest.fixture
def feed() -> Iterator[NuGetFeed]:
    with NuGetFeed(api_key=CANARY) as server:
        yield server
    assert not server.violations, server.violations


def make_job(
    config: Any, folder: Path, feed_url: str, *, dry_run: bool = False, key: str | None = CANARY, **settings: Any
) -> ChannelJob:
    table = {**config.publish["chocolatey"], "feed": feed_url, **settings}
    environ = {} if key is None else {str(table["api-key-env"]): key}
    return ChannelJob(
        channel="chocolatey",
        files=folder,
        config=config,
        settings=table,
        tag=f"v{config.version}",
        environ=environ,
        runner=proc.Runner(dry_run=dry_run),
        scratch=folder.parent / "scratch",
    )


def push(job: ChannelJob) -> Outcome:
    return nuget_push.publish(job, clock=FAST, policy=retry.Policy(budget_seconds=30))


def assert_key_kept_secret(feed: NuGetFeed, output: str, tmp_path: Path) -> None:
    assert CANARY not in output
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or CANARY.encode() not in path.read_bytes(), path
    for request in feed.requests:
        assert CANARY not in request.path
        # Reads never carry the key; only pushes do.
        assert request.method == "PUT" or request.api_key is None


# --- the feed setting ------------------------------------------------------------------------


def test_the_feed_is_required_and_its_error_names_the_setting_with_an_example() -> None:
    with pytest.raises(ConfigError) as caught:
        nuget_push.feed_from_setting("  ")
    assert "tool.release.publish.chocolatey.feed" in caught.value.message
    assert 'feed = "https://' in (caught.value.hint or "")


@pytest.mark.parametrize(
    "setting",
    ["https://feed.example.invalid", "https://feed.example.invalid/", "https://feed.example.invalid/api/v2/package"],
)
def test_a_feed_root_or_its_push_url_push_to_the_same_place(setting: str) -> None:
    feed = nuget_push.feed_from_setting(setting)
    assert feed.push_url == "https://feed.example.invalid/api/v2/package/"
    assert (
        feed.entry_url("crcsum", "1.2.0") == "https://feed.example.invalid/api/v2/Packages(Id='crcsum',Version='1.2.0')"
    )


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("ftp://feed.example.invalid/", r"not an http\(s\) URL"),
        ("http://feed.example.invalid/", "unencrypted"),
        ("https://feed.example.invalid/?key=x", "query"),
    ],
)
def test_a_feed_that_is_no_https_url_is_refused(setting: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        nuget_push.feed_from_setting(setting)


# --- pieces ----------------------------------------------------------------------------------------


def test_the_multipart_body_holds_the_package_as_its_one_part(folder: Path) -> None:
    path = next(folder.glob("*.nupkg"))
    body = nuget_push.MultipartBody(path)
    data = b"".join(iter(lambda: body.read(1000), b""))
    assert len(data) == len(body)
    parts = multipart_parts(body.content_type, data)
    assert len(parts) == 1
    assert parts[0][1] == path.read_bytes()
    assert f'filename="{path.name}"' in parts[0][0]["content-disposition"]


def test_the_hash_is_read_from_the_feeds_entry() -> None:
    stored = Stored("crcsum", "0.1.0", b"bytes of a package")
    remote = nuget_push.entry_hash(entry_xml(stored, "http://127.0.0.1:1"))
    assert remote == nuget_push.Remote(stored.hash, "SHA512")


NAMESPACES = (
    'xmlns="http://www.w3.org/2005/Atom" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
    'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"'
)


@pytest.mark.parametrize(
    "document",
    [
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><entry>&a;</entry>',
        b'<entry xmlns="http://www.w3.org/2005/Atom"><title>crcsum</title></entry>',
        b"<html><body><p>Sign in</p></body></html>",
        b'{"PackageHash": "abc", "PackageHashAlgorithm": "SHA512"}',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Packages</title></feed>',
        # The hash in the right elements, but not inside an Atom entry: no entry.
        f"<feed {NAMESPACES}><m:properties><d:PackageHash>x</d:PackageHash></m:properties></feed>".encode(),
    ],
)
def test_a_reply_that_is_no_atom_entry_is_no_entry(document: bytes) -> None:
    assert nuget_push.entry_hash(document) is None


def test_a_real_entry_without_a_hash_is_an_entry_without_a_hash() -> None:
    document = f"<entry {NAMESPACES}><m:properties><d:Version>0.1.0</d:Version></m:properties></entry>".encode()
    assert nuget_push.entry_hash(document) == nuget_push.Remote(None, None)


def test_a_missing_package_names_the_file_and_the_command_that_makes_it(config: Any, tmp_path: Path) -> None:
    job = make_job(config, tmp_path, "https://feed.example.invalid")
    with pytest.raises(PublishError, match=r"crcsum\.0\.1\.0\.nupkg does not exist") as caught:
        nuget_push.publish(job)
    assert "invoke package" in (caught.value.hint or "")


# --- against the feed ----------------------------------------------------------------------------


def test_the_first_run_pushes_and_the_second_changes_nothing(
    config: Any, folder: Path, feed: NuGetFeed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = push(make_job(config, folder, feed.url))
    assert first.state == PUBLISHED
    assert [(r.path, r.status) for r in feed.pushes()] == [("/api/v2/package/", 201)]
    stored = feed.packages[("crcsum", config.version)]
    assert stored.data == next(folder.glob("*.nupkg")).read_bytes()

    second = push(make_job(config, folder, feed.url))
    assert second.state == UNCHANGED
    assert len(feed.pushes()) == 1  # the preflight found it: nothing sent
    captured = capsys.readouterr()
    assert_key_kept_secret(feed, captured.out + captured.err, tmp_path)


def test_a_409_for_the_same_package_is_success(config: Any, folder: Path, feed: NuGetFeed) -> None:
    push(make_job(config, folder, feed.url))
    feed.fail_next("entry", 404)  # the preflight does not see it (as while a package awaits moderation)
    outcome = push(make_job(config, folder, feed.url))
    assert outcome.state == UNCHANGED
    assert [r.status for r in feed.pushes()] == [201, 409]


def test_another_package_with_the_same_version_is_an_error(config: Any, folder: Path, feed: NuGetFeed) -> None:
    feed.store(nupkg(config.version, description="Another package under the same version"))
    with pytest.raises(PublishError, match="cannot be replaced") as caught:
        push(make_job(config, folder, feed.url))
    assert f"crcsum {config.version}" in caught.value.message
    assert feed.pushes() == []  # seen by the preflight

    feed.fail_next("entry", 404)
    with pytest.raises(PublishError, match="its hash differs"):
        push(make_job(config, folder, feed.url))
    assert [r.status for r in feed.pushes()] == [409]


@pytest.mark.parametrize("fault", [500, 503, "drop"])
def test_a_transient_failure_is_retried(config: Any, folder: Path, feed: NuGetFeed, fault: int | str) -> None:
    feed.fail_next("push", fault)
    assert push(make_job(config, folder, feed.url)).state == PUBLISHED
    assert [r.status for r in feed.pushes()] == [None if fault == "drop" else fault, 201]


def test_a_push_whose_reply_was_lost_is_found_on_the_retry(config: Any, folder: Path, feed: NuGetFeed) -> None:
    feed.fail_next("push", "lost")  # stored, then the connection closes
    outcome = push(make_job(config, folder, feed.url))
    assert outcome.state == PUBLISHED
    assert [r.status for r in feed.pushes()] == [None, 409]


def test_a_feed_failing_past_the_budget_gives_one_error(config: Any, folder: Path, feed: NuGetFeed) -> None:
    feed.fail_next("push", 500, times=50)
    clock = retry.Clock(sleep=lambda seconds: None, draw=lambda: 1.0, monotonic=iter(range(0, 10_000, 5)).__next__)
    expected = r"chocolatey: pushing crcsum\.0\.1\.0\.nupkg: the feed answered 500; gave up"
    with pytest.raises(PublishError, match=expected):
        nuget_push.publish(make_job(config, folder, feed.url), clock=clock, policy=retry.Policy(budget_seconds=20))


@pytest.mark.parametrize("variable", [VARIABLE, "MY_FEED_KEY"])
def test_a_bad_key_gives_one_error_naming_the_channel_and_the_variable(
    config: Any, folder: Path, feed: NuGetFeed, tmp_path: Path, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    job = make_job(config, folder, feed.url, key="wrong-key-" + CANARY[::-1], **{"api-key-env": variable})
    with pytest.raises(PublishError) as caught:
        push(job)
    assert caught.value.message.startswith("chocolatey: ")
    assert variable in caught.value.message and variable in (caught.value.hint or "")
    assert "401" in caught.value.message
    assert [r.status for r in feed.pushes()] == [401]  # refused once: not retried
    captured = capsys.readouterr()
    assert "wrong-key" not in captured.out + captured.err + str(caught.value)


def test_a_missing_key_is_named_before_anything_is_sent(config: Any, folder: Path, feed: NuGetFeed) -> None:
    with pytest.raises(ConfigError, match=f"no API key: {VARIABLE} is not set"):
        push(make_job(config, folder, feed.url, key=None))
    assert feed.pushes() == []


def test_a_dry_run_sends_no_push(
    config: Any, folder: Path, feed: NuGetFeed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = push(make_job(config, folder, feed.url, dry_run=True))
    assert outcome.state == WOULD_PUBLISH
    assert feed.pushes() == []
    assert [r.method for r in feed.requests] == ["GET"]  # the read-only preflight ran
    captured = capsys.readouterr()
    assert "would push crcsum.0.1.0.nupkg" in captured.err
    assert_key_kept_secret(feed, captured.out + captured.err, tmp_path)


def test_a_feed_whose_entry_shows_no_hash_takes_a_409_as_done_and_says_so(
    config: Any, folder: Path, feed: NuGetFeed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    push(make_job(config, folder, feed.url))
    # The feed's entries show no hash (as one awaiting moderation): the preflight cannot decide, the push's 409 does.
    monkeypatch.setattr(nuget_push, "entry_hash", lambda document: nuget_push.Remote(None, None))
    outcome = push(make_job(config, folder, feed.url))
    assert outcome.state == UNCHANGED and "not compared" in outcome.detail
    assert [r.status for r in feed.pushes()] == [201, 409]
    assert "shows no hash to compare" in capsys.readouterr().err


@pytest.mark.parametrize("lookup", [404, 200])  # 200: the feed answers something that is not an entry
def test_a_409_with_no_entry_to_compare_is_an_error(config: Any, folder: Path, feed: NuGetFeed, lookup: int) -> None:
    push(make_job(config, folder, feed.url))
    feed.fail_next("entry", lookup, times=2)
    with pytest.raises(PublishError, match=r"answered 409.*shows no entry of it") as caught:
        push(make_job(config, folder, feed.url))
    assert "--skip chocolatey" in (caught.value.hint or "")


def test_a_200_that_is_no_entry_does_not_stop_the_push(config: Any, folder: Path, feed: NuGetFeed) -> None:
    """A feed (or a proxy before it) answering the lookup with a page that is not an entry: the push still goes."""
    feed.fail_next("entry", 200)  # 200, text/plain: no Atom entry
    outcome = push(make_job(config, folder, feed.url))
    assert outcome.state == PUBLISHED
    assert [r.status for r in feed.pushes()] == [201]


def test_the_api_key_is_not_in_the_clients_repr() -> None:
    client = nuget_push.FeedClient(requests.Session(), CANARY, retry.Policy(), retry.Clock())
    assert CANARY not in repr(client)


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("https://[feed", "is not a valid URL: its host is malformed"),
        ("https://feed.example.invalid:70000/", "is not a valid URL: its port"),
        (f"https://user:{CANARY}@feed.example.invalid/", "user name or a secret inside the URL"),
        ("http://127.0.0.2:8080/", None),  # all of 127.0.0.0/8 is this machine
    ],
)
def test_a_feed_url_is_checked_like_every_url_a_secret_goes_to(setting: str, problem: str | None) -> None:
    if problem is None:
        assert nuget_push.feed_from_setting(setting).root == setting.rstrip("/")
        return
    with pytest.raises(ConfigError, match=problem) as caught:
        nuget_push.feed_from_setting(setting)
    assert caught.value.message.startswith("chocolatey: tool.release.publish.chocolatey.feed")
    assert CANARY not in str(caught.value)


def test_a_package_that_cannot_be_read_is_a_publish_error_naming_it(config: Any, folder: Path) -> None:
    path = next(folder.glob("*.nupkg"))
    path.unlink()
    path.mkdir()  # is_file() is false for a folder; the same name as a folder cannot be read either
    package = nuget_push.Package(path, "crcsum", config.version, "")
    with pytest.raises(PublishError, match=f"cannot read {path}"):
        package.hash_as("SHA512")
    client = nuget_push.FeedClient(requests.Session(), CANARY, retry.Policy(), FAST)
    with pytest.raises(PublishError, match=f"cannot read {path}"):
        client.send("PUT", "http://127.0.0.1:9/api/v2/package/", "pushing", push=path)


def test_a_package_file_that_cannot_be_read_is_named(
    config: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(PublishError, match=r"cannot read .*crcsum\.0\.1\.0\.nupkg: Permission denied"):
        nuget_push.find_package(make_job(config, folder, "https://feed.example.invalid"))


def test_the_package_must_be_the_one_its_name_says(config: Any, folder: Path) -> None:
    path = next(folder.glob("*.nupkg"))
    path.write_bytes(nupkg("0.2.0"))
    with pytest.raises(PublishError, match=r"holds package crcsum 0\.2\.0"):
        nuget_push.find_package(make_job(config, folder, "https://feed.example.invalid"))


def test_the_file_name_follows_the_packagers_id_and_nuget_version(config: Any, folder: Path) -> None:
    changed = dataclasses.replace(
        config, version="1.0.0-beta.2", packages={**config.packages, "chocolatey": {"id": "crcsum.portable"}}
    )
    job = make_job(changed, folder, "https://feed.example.invalid")
    assert nuget_push.expected_file_name(job) == "crcsum.portable.1.0.0-beta0002.nupkg"
