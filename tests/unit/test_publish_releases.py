"""Publishing a GitHub release: the pure decisions, then whole runs against the in-memory GitHub.

The runs show what a release engineer relies on: nothing is written before every check passed;
a re-run after any failure finishes the release with no asset twice and none missing; a reply
lost after GitHub acted is never answered with a second copy; a published release is never
changed; the token appears in no output.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.unit.test_publish_github import API, COMMIT, ENV, REPO, TOKEN, FakeClock, FakeGitHub, Fault
from tooling import proc
from tooling.errors import GitHubError, GitStateError, PublishError, VerificationError, VersionError
from tooling.publish import github, releases
from tooling.publish.github import RemoteAsset, RemoteRelease, RepositoryInfo
from tooling.publish.releases import ActionKind, LocalAsset, PublishResult, Recovery, RemoteFacts

TAG, VERSION = "v1.2.0", "1.2.0"


def local(name: str, data: bytes = b"data", path: Path | None = None) -> LocalAsset:
    return LocalAsset(path or Path("/dist") / name, name, len(data), hashlib.sha256(data).hexdigest())


def remote(
    name: str, data: bytes = b"data", *, digest: bool = True, state: str = "uploaded", id: int = 1
) -> RemoteAsset:
    return RemoteAsset(id, name, len(data), hashlib.sha256(data).hexdigest() if digest else None, state)


def release(tag: str = TAG, *, draft: bool = True, id: int = 7, immutable: bool = False) -> RemoteRelease:
    return RemoteRelease(
        id, tag, draft, False, f"https://github.com/{REPO}/releases/tag/{tag}", "https://u/x", immutable
    )


# --- plan_uploads ----------------------------------------------------------------------------------


def test_missing_assets_are_uploaded_and_identical_ones_skipped() -> None:
    actions = releases.plan_uploads([local("a"), local("b")], [remote("a")], replace=False)
    assert [(a.local.name, a.kind) for a in actions] == [("a", ActionKind.SKIP), ("b", ActionKind.UPLOAD)]
    assert actions[1].remote is None


def test_an_unfinished_upload_is_deleted_and_uploaded_again_without_replace() -> None:
    leftover = remote("a", b"", digest=False, state="starter")
    [action] = releases.plan_uploads([local("a")], [leftover], replace=False)
    assert action.kind is ActionKind.UPLOAD and action.remote == leftover and "starter" in action.reason


@pytest.mark.parametrize(
    ("on_github", "says"),
    [
        (remote("a", b"DATA"), "sha256"),  # same size, other bytes
        (remote("a", b"longer data"), "11 bytes on GitHub, 4 in dist/"),
        (remote("a", b"data", digest=False), "does not report its sha256"),  # cannot be proven the same
    ],
)
def test_a_differing_asset_is_an_error_naming_it_unless_replace(on_github: RemoteAsset, says: str) -> None:
    with pytest.raises(PublishError) as caught:
        releases.plan_uploads([local("a")], [on_github], replace=False)
    assert "a: " in caught.value.message and says in caught.value.message
    assert "--replace" in (caught.value.hint or "")
    [action] = releases.plan_uploads([local("a")], [on_github], replace=True)
    assert action.kind is ActionKind.REPLACE and action.remote == on_github


def test_every_differing_asset_is_named_at_once() -> None:
    with pytest.raises(PublishError) as caught:
        releases.plan_uploads([local("a"), local("b"), local("c")], [remote("a", b"x"), remote("b", b"y")], False)
    assert (
        caught.value.message.startswith("2 asset(s)")
        and "  a: " in caught.value.message
        and "  b: " in caught.value.message
    )


def test_digest_comparison_ignores_case() -> None:
    asset = local("a")
    upper = LocalAsset(asset.path, asset.name, asset.size, asset.sha256.upper())
    assert releases.plan_uploads([upper], [remote("a")], False)[0].kind is ActionKind.SKIP


def test_assets_only_on_github_are_reported() -> None:
    assert [a.name for a in releases.extra_assets([local("a")], [remote("a"), remote("old", id=2)])] == ["old"]


# --- recovery after a lost reply ---------------------------------------------------------------------


def test_recovery_decisions() -> None:
    mine = local("a")
    assert releases.recovery_for(mine, [], uncertain=True) == (Recovery.RESEND, None)
    assert releases.recovery_for(mine, [remote("a")], uncertain=True) == (Recovery.DONE, remote("a"))
    assert releases.recovery_for(mine, [remote("a")], uncertain=False)[0] is Recovery.DONE
    starter = remote("a", b"", digest=False, state="starter")
    assert releases.recovery_for(mine, [starter], uncertain=False) == (Recovery.DELETE_THEN_RESEND, starter)
    # No digest, our size, and our own attempt may have made it: ours, unproven: send again.
    unproven = remote("a", digest=False)
    assert releases.recovery_for(mine, [unproven], uncertain=True) == (Recovery.DELETE_THEN_RESEND, unproven)


@pytest.mark.parametrize(
    ("found", "uncertain"),
    [(remote("a", digest=False), False), (remote("a", b"DATA"), True), (remote("a", b"xx"), True)],
)
def test_recovery_never_overwrites_what_someone_else_uploaded(found: RemoteAsset, uncertain: bool) -> None:
    with pytest.raises(PublishError, match="appeared on the release while it was being uploaded"):
        releases.recovery_for(local("a"), [found], uncertain=uncertain)


# --- latest and prerelease -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "tags", "latest"),
    [
        ("1.2.0", [], True),
        ("1.2.0", ["v1.1.9", "v0.9.0"], True),
        ("1.2.0", ["v1.10.0"], False),  # semver order, not string order
        ("1.2.0", ["v1.3.0-rc.1", "v2.0.0-alpha.1"], True),  # prereleases never count
        ("1.2.1", ["v1.3.0"], False),  # a patch of an older line
        ("1.2.0-rc.2", [], False),  # a prerelease is never latest
        ("1.2.0", ["v1.2.0+other-build"], True),  # build metadata ties: not higher
        ("1.2.0+linux", ["v1.2.0"], True),
        ("1.2.0", ["other-crate-v9.0.0", "9.0.0", "nightly", "vX"], True),  # other prefixes, non-semver ignored
    ],
)
def test_latest_only_for_the_highest_stable_version(version: str, tags: list[str], latest: bool) -> None:
    assert releases.latest_flag(version, tags, "v") is latest


def test_latest_with_an_empty_prefix_ignores_prefixed_tags() -> None:
    assert releases.latest_flag("1.0.0", ["v2.0.0"], "") is True
    assert releases.latest_flag("1.0.0", ["2.0.0"], "") is False


def test_publish_fields_say_latest_as_githubs_strings() -> None:
    fields = releases.publish_fields(tag=TAG, name="n", notes="b", prerelease=False, latest=True)
    assert fields == {
        "tag_name": TAG,
        "name": "n",
        "body": "b",
        "draft": False,
        "prerelease": False,
        "make_latest": "true",
    }
    pre = releases.publish_fields(tag=TAG, name="n", notes="b", prerelease=True, latest=True)
    assert pre["make_latest"] == "false" and pre["prerelease"] is True


def test_tag_prefix() -> None:
    assert releases.tag_prefix("v1.2.0", "1.2.0") == "v"
    assert releases.tag_prefix("1.2.0", "1.2.0") == ""
    assert releases.tag_prefix("tool-v1.2.0-rc.1", "1.2.0-rc.1") == "tool-v"
    with pytest.raises(VersionError, match=r"does not name version 1\.2\.0"):
        releases.tag_prefix("v1.2.1", "1.2.0")
    with pytest.raises(VersionError):
        releases.tag_prefix("v1.2", "1.2")


# --- names and local files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tool 1.0.tar.gz", ".hidden", "trailing.", "a~b.zip", "a+b.zip", "é.zip", ""])
def test_names_github_would_rename_are_refused(name: str) -> None:
    with pytest.raises(PublishError, match="GitHub would rename it"):
        releases.check_asset_names([local(name)])


def test_names_github_keeps_pass_and_duplicates_are_refused() -> None:
    releases.check_asset_names(
        [local("tool-1.0.0-x86_64-unknown-linux-gnu.tar.gz"), local("SHA256SUMS"), local("sbom.cdx.json")]
    )
    with pytest.raises(PublishError, match="two files would be uploaded under this name"):
        releases.check_asset_names([local("a"), local("a")])


def test_local_problems_name_missing_and_resized_files() -> None:
    assets = [local("a"), local("b"), local("c")]
    assert releases.local_problems(assets, {"a": 4, "b": None, "c": 9}) == [
        "/dist/b: missing",
        "/dist/c: 9 bytes, the manifest says 4",
    ]


# --- preflight --------------------------------------------------------------------------------------------


def facts(*, push: bool | None = True, tag_commit: str | None = COMMIT, published: RemoteRelease | None = None,
          others: tuple[RemoteRelease, ...] = ()) -> RemoteFacts:  # fmt: skip
    return RemoteFacts(RepositoryInfo(REPO, push), tag_commit, published, others)


def check(found: RemoteFacts) -> releases.Start:
    return releases.preflight(found, repository=REPO, tag=TAG, commit=COMMIT, token_variable="GH_TOKEN")


def test_preflight_passes_with_no_release_yet() -> None:
    assert check(facts()) == releases.Start(published=None, draft=None)
    assert check(facts(push=None)).draft is None  # a token GitHub says nothing about (GITHUB_TOKEN): trusted


def test_preflight_refuses_a_token_that_cannot_write() -> None:
    with pytest.raises(GitHubError, match="token in GH_TOKEN can read octo/tool but not write"):
        check(facts(push=False))


def test_preflight_needs_the_tag_on_github() -> None:
    with pytest.raises(GitStateError, match=r"tag v1\.2\.0 is not on GitHub") as caught:
        check(facts(tag_commit=None))
    assert "git push origin v1.2.0" in (caught.value.hint or "")


def test_preflight_names_both_commits_when_the_tag_points_elsewhere() -> None:
    other = "f" * 40
    with pytest.raises(GitStateError) as caught:
        check(facts(tag_commit=other))
    assert other in caught.value.message and COMMIT in caught.value.message


def test_preflight_reuses_the_one_draft_and_refuses_two() -> None:
    draft = release(id=5)
    assert check(facts(others=(draft, release("v1.1.0", draft=False, id=3)))).draft == draft
    with pytest.raises(PublishError, match=r"2 draft releases for v1\.2\.0"):
        check(facts(others=(release(id=5), release(id=6))))


def test_preflight_hands_over_a_published_release() -> None:
    published = release(draft=False)
    assert check(facts(published=published, others=(release(id=5),))) == releases.Start(published=published, draft=None)


def test_a_published_release_is_fine_only_when_it_holds_exactly_our_assets() -> None:
    published = release(draft=False, immutable=True)
    releases.check_published(published, [local("a")], [remote("a")])
    with pytest.raises(PublishError) as caught:
        releases.check_published(published, [local("a"), local("b")], [remote("a")])
    assert published.html_url in caught.value.message and "b: not on the release" in caught.value.message
    assert "immutable" in caught.value.message and "never changed" in (caught.value.hint or "")
    with pytest.raises(PublishError, match="differ from dist"):
        releases.check_published(published, [local("a")], [remote("a", b"x")])


def test_unfinished_lists_what_keeps_a_draft_from_being_published() -> None:
    assets = [local("a"), local("b"), local("c"), local("d")]
    found = [remote("a", id=1), remote("b", state="starter", id=2), remote("d", digest=False, id=4)]
    assert releases.unfinished(assets, found, hashed_here=[]) == [
        "b: its upload is unfinished (starter)",
        "c: not on the release",
        "d: GitHub does not report its sha256 (an older server), so it cannot be shown to be the same file",
    ]
    assert releases.unfinished([local("d")], found, hashed_here=[4]) == []


def test_what_github_stored_is_checked_against_the_manifest() -> None:
    mine = local("a")
    assert releases.uploaded_problem(mine, remote("a"), mine.sha256) is None
    assert releases.uploaded_problem(mine, remote("a", digest=False), None) is None
    assert isinstance(releases.uploaded_problem(mine, remote("a"), "0" * 64), VerificationError)
    assert isinstance(releases.uploaded_problem(mine, remote("a", b"DATA"), mine.sha256), PublishError)
    renamed = releases.uploaded_problem(mine, remote("a.", id=3), mine.sha256)
    assert renamed is not None and "stored a as a." in renamed.message


# --- whole runs against the in-memory GitHub -------------------------------------------------------------


def files(tmp_path: Path, contents: Mapping[str, bytes]) -> list[LocalAsset]:
    found = []
    for name, data in contents.items():
        path = tmp_path / name
        path.write_bytes(data)
        found.append(local(name, data, path))
    return found


ASSETS = {
    "tool-1.2.0-x86_64-unknown-linux-gnu.tar.gz": b"linux" * 50000,
    "tool-1.2.0-x86_64-pc-windows-gnu.zip": b"windows" * 30000,
    "tool-1.2.0.cdx.json": b'{"sbom": true}',
    "SHA256SUMS": b"sums\n",
}


def publish(
    fake: FakeGitHub,
    assets: list[LocalAsset],
    *,
    dry_run: bool = False,
    replace: bool = False,
    jobs: int = 4,
    tag: str = TAG,
    version: str = VERSION,
    clock: FakeClock | None = None,
    budget: float = 600,
) -> PublishResult:
    session = requests.Session()
    session.mount("https://", fake)
    return releases.publish_release(
        assets=assets, tag=tag, version=version, commit=COMMIT, notes="What changed", repository=None,
        environ={**ENV, "GITHUB_API_URL": fake.api}, runner=proc.Runner(dry_run=dry_run), replace=replace,
        jobs=jobs, budget_seconds=budget, session=session, clock=(clock or FakeClock()).clock(),
    )  # fmt: skip


@pytest.fixture
def fake() -> FakeGitHub:
    server = FakeGitHub()
    server.tags[TAG] = COMMIT
    return server


def only_release(fake: FakeGitHub) -> dict[str, Any]:
    [found] = [r for r in fake.releases.values() if r["tag_name"] == TAG]
    return found


def stored(fake: FakeGitHub) -> dict[str, str]:
    """name -> sha256 of every asset of the release, each name checked to be there once."""
    rid = only_release(fake)["id"]
    names = [a["name"] for a in fake.assets.values() if a["release_id"] == rid]
    assert len(names) == len(set(names)), f"an asset is there twice: {names}"
    return {a["name"]: a["sha256"] for a in fake.assets.values() if a["release_id"] == rid and a["state"] == "uploaded"}


def expected_hashes(assets: list[LocalAsset]) -> dict[str, str]:
    return {a.name: a.sha256 for a in assets}


def test_a_first_release_is_drafted_uploaded_checked_and_published(
    fake: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_release("v1.1.0")
    assets = files(tmp_path, ASSETS)
    result = publish(fake, assets)
    made = only_release(fake)
    assert stored(fake) == expected_hashes(assets)
    assert made["draft"] is False and made["prerelease"] is False and made["make_latest"] == "true"
    assert made["body"] == "What changed" and made["target"] == COMMIT
    assert result.published and result.created and result.latest and not result.dry_run
    assert result.url.endswith(f"/releases/tag/{TAG}")
    assert sorted(o.action for o in result.assets) == ["uploaded"] * 4
    # Every upload streamed from the file, never as bytes in memory.
    assert all(s.streamed for s in fake.seen if "/assets?name=" in s.url)
    # The draft was created before any upload, and published after the last one.
    methods = [s.method for s in fake.writes()]
    assert methods[0] == "POST" and methods[-1] == "PATCH" and methods.count("PATCH") == 1
    err = capsys.readouterr().err
    assert "GitHub release v1.2.0" in err and "uploaded" in err and TOKEN not in err


def test_uploads_run_in_parallel_up_to_jobs(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.upload_delay = 0.2
    publish(fake, files(tmp_path, ASSETS), jobs=2)
    assert fake.max_in_flight == 2


def test_a_re_run_of_a_published_release_writes_nothing(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    publish(fake, assets)
    before = len(fake.writes())
    again = publish(fake, assets)
    assert len(fake.writes()) == before
    assert again.already_published and not again.published
    assert {o.action for o in again.assets} == {"skipped"}


def test_a_published_release_with_other_assets_is_refused_naming_its_url(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    publish(fake, assets)
    changed = files(tmp_path / "..", {"SHA256SUMS": b"other sums\n"})
    writes = len(fake.writes())
    with pytest.raises(PublishError) as caught:
        publish(fake, [*assets[:3], *changed])
    assert f"https://github.com/{REPO}/releases/tag/{TAG}" in caught.value.message
    assert len(fake.writes()) == writes


def test_a_re_run_after_a_crash_mid_upload_completes_the_release_once(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    # One upload at a time: the first is stored, the second dies half-way (GitHub keeps a "starter" asset).
    crash = Fault("POST", "/assets$", kind="crash")
    original = fake._fault

    def second_upload_crashes(method: str, path: str) -> Fault | None:
        uploads = [s for s in fake.seen if s.method == "POST" and "/assets" in s.path]
        return crash if method == "POST" and path.endswith("/assets") and len(uploads) == 2 else original(method, path)

    fake._fault = second_upload_crashes  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        publish(fake, assets, jobs=1)
    fake._fault = original  # type: ignore[method-assign]
    fake.dead = False  # the machine is back
    draft = only_release(fake)
    assert draft["draft"] is True
    states = sorted(a["state"] for a in fake.assets.values())
    assert states == ["starter", "uploaded"]
    first = next(a["name"] for a in fake.assets.values() if a["state"] == "uploaded")
    # The next run finishes it: the stored asset skipped, the leftover deleted and sent again, the rest sent.
    result = publish(fake, assets)
    assert stored(fake) == expected_hashes(assets)
    assert only_release(fake)["draft"] is False and not result.created
    assert {o.name: o.action for o in result.assets}[first] == "skipped"


def test_a_re_run_after_uploads_failed_for_good_completes_the_release(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    fake.faults.append(Fault("POST", "/assets$", status=503, times=10_000))
    with pytest.raises(GitHubError, match="gave up") as caught:
        publish(fake, assets, budget=30)
    assert "3 other upload(s) failed too" in caught.value.message
    assert only_release(fake)["draft"] is True
    fake.faults.clear()
    publish(fake, assets)
    assert stored(fake) == expected_hashes(assets) and only_release(fake)["draft"] is False


def test_a_re_run_skips_what_the_first_run_uploaded(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    draft = fake.add_release(TAG, draft=True)
    fake.add_asset(draft["id"], assets[0].name, ASSETS[assets[0].name])
    fake.add_asset(draft["id"], assets[1].name, b"", state="starter", digest=False)
    result = publish(fake, assets)
    assert stored(fake) == expected_hashes(assets)
    actions = {o.name: o.action for o in result.assets}
    assert actions[assets[0].name] == "skipped" and actions[assets[1].name] == "uploaded"
    posted = [s.url for s in fake.seen if s.method == "POST"]
    assert not any(assets[0].name in url for url in posted)


@pytest.mark.parametrize("kind", ["lost", "reset-after"])
def test_an_upload_whose_reply_was_lost_is_recognised_not_sent_twice(
    fake: FakeGitHub, tmp_path: Path, kind: str
) -> None:
    assets = files(tmp_path, ASSETS)
    name = assets[0].name
    fake.faults.append(Fault("POST", "/assets$", kind=kind))
    result = publish(fake, assets, jobs=1)
    assert stored(fake) == expected_hashes(assets)
    assert len([s for s in fake.seen if s.method == "POST" and "/assets?name=" in s.url]) == 4
    assert {o.name: o.action for o in result.assets}[name] == "uploaded"


def test_an_upload_that_left_an_unfinished_asset_is_cleaned_and_sent_again(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    fake.faults.append(Fault("POST", "/assets$", kind="starter"))
    publish(fake, assets, jobs=1)
    assert stored(fake) == expected_hashes(assets)
    assert any(s.method == "DELETE" for s in fake.seen)


def test_already_exists_on_upload_means_look_first(fake: FakeGitHub, tmp_path: Path) -> None:
    """Another run uploaded the same file between our plan and our upload: it is taken, not duplicated."""
    assets = files(tmp_path, {"SHA256SUMS": b"sums\n"})
    draft = fake.add_release(TAG, draft=True)
    original = fake._route

    def sneak_in(method: str, url: str, body: bytes, request: Any) -> Any:
        if "/assets?name=" in url and not fake.assets:
            fake.add_asset(draft["id"], "SHA256SUMS", b"sums\n")
        return original(method, url, body, request)

    fake._route = sneak_in  # type: ignore[method-assign]
    result = publish(fake, assets)
    assert stored(fake) == expected_hashes(assets) and result.published


def test_already_exists_with_other_bytes_is_refused(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, {"SHA256SUMS": b"sums\n"})
    draft = fake.add_release(TAG, draft=True)
    original = fake._route

    def sneak_in(method: str, url: str, body: bytes, request: Any) -> Any:
        if "/assets?name=" in url and not fake.assets:
            fake.add_asset(draft["id"], "SHA256SUMS", b"SUMS\n")
        return original(method, url, body, request)

    fake._route = sneak_in  # type: ignore[method-assign]
    with pytest.raises(PublishError, match="appeared on the release while it was being uploaded"):
        publish(fake, assets)
    assert only_release(fake)["draft"] is True


def test_a_lost_create_reply_makes_one_draft(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.faults.append(Fault("POST", "/releases$", kind="lost"))
    publish(fake, files(tmp_path, ASSETS))
    assert len(fake.releases) == 1 and [s.method for s in fake.seen].count("POST") == 1 + len(ASSETS)


def test_a_lost_publish_reply_is_recognised(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.faults.append(Fault("PATCH", r"/releases/\d+$", kind="lost"))
    result = publish(fake, files(tmp_path, ASSETS))
    assert result.published and only_release(fake)["draft"] is False
    assert [s.method for s in fake.seen].count("PATCH") == 1


def test_a_differing_draft_asset_stops_the_run_before_any_write_unless_replace(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    assets = files(tmp_path, ASSETS)
    draft = fake.add_release(TAG, draft=True)
    fake.add_asset(draft["id"], "SHA256SUMS", b"old sums\n")
    with pytest.raises(PublishError, match="SHA256SUMS: "):
        publish(fake, assets)
    assert fake.writes() == []
    result = publish(fake, assets, replace=True)
    assert stored(fake) == expected_hashes(assets)
    assert {o.name: o.action for o in result.assets}["SHA256SUMS"] == "replaced"


def test_on_a_server_without_digests_existing_assets_need_replace_and_new_ones_are_hashed_on_the_way(
    tmp_path: Path,
) -> None:
    fake = FakeGitHub(digests=False)
    fake.tags[TAG] = COMMIT
    assets = files(tmp_path, ASSETS)
    draft = fake.add_release(TAG, draft=True)
    fake.add_asset(draft["id"], "SHA256SUMS", ASSETS["SHA256SUMS"])
    with pytest.raises(PublishError, match="cannot be shown to be the same file"):
        publish(fake, assets)
    result = publish(fake, assets, replace=True)
    assert result.published and stored(fake) == expected_hashes(assets)


def test_a_file_changed_after_hashing_is_caught_and_its_upload_removed(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, {"SHA256SUMS": b"sums\n"})
    assets[0].path.write_bytes(b"SUMS\n")  # same size, other bytes
    with pytest.raises(VerificationError, match="changed after it was hashed"):
        publish(fake, assets)
    assert fake.assets == {} and only_release(fake)["draft"] is True


def test_a_file_of_the_wrong_size_stops_the_run_before_any_request(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    assets[2].path.write_bytes(b"x")
    (tmp_path / "SHA256SUMS").unlink()
    with pytest.raises(VerificationError) as caught:
        publish(fake, assets)
    assert "1 bytes, the manifest says 14" in caught.value.message and "SHA256SUMS: missing" in caught.value.message
    assert fake.seen == []


def test_a_tag_on_another_commit_stops_the_run_before_any_write(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.tags[TAG] = "e" * 40
    with pytest.raises(GitStateError, match="e" * 40):
        publish(fake, files(tmp_path, ASSETS))
    assert fake.writes() == []


def test_a_prerelease_is_marked_and_never_latest(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.tags["v1.3.0-rc.1"] = COMMIT
    result = publish(fake, files(tmp_path, ASSETS), tag="v1.3.0-rc.1", version="1.3.0-rc.1")
    [made] = fake.releases.values()
    assert made["prerelease"] is True and made["make_latest"] == "false" and not result.latest


def test_a_patch_of_an_older_line_is_not_made_latest(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_release("v1.3.0")
    fake.add_release("v2.0.0-beta.1")
    publish(fake, files(tmp_path, ASSETS))
    assert only_release(fake)["make_latest"] == "false"


def test_a_dry_run_reads_and_shows_but_writes_nothing(
    fake: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assets = files(tmp_path, ASSETS)
    result = publish(fake, assets, dry_run=True)
    assert fake.writes() == [] and fake.releases == {}
    assert {s.method for s in fake.seen} == {"GET"}
    err = capsys.readouterr().err
    assert "would create the draft release v1.2.0" in err
    assert f"would upload {assets[0].name}" in err and "would publish v1.2.0" in err
    assert result.dry_run and not result.published and {o.action for o in result.assets} == {"would upload"}


def test_a_dry_run_with_a_draft_shows_what_is_left(
    fake: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assets = files(tmp_path, ASSETS)
    draft = fake.add_release(TAG, draft=True)
    fake.add_asset(draft["id"], "SHA256SUMS", ASSETS["SHA256SUMS"])
    result = publish(fake, assets, dry_run=True)
    assert fake.writes() == []
    assert {o.name: o.action for o in result.assets}["SHA256SUMS"] == "skipped"
    assert "would create" not in capsys.readouterr().err


def test_the_token_appears_in_no_output_or_error_even_when_everything_fails(
    fake: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.faults.append(Fault("GET", "/releases$", kind="reset", times=10_000))
    with pytest.raises(GitHubError) as caught:
        publish(fake, files(tmp_path, ASSETS), budget=20)
    out = capsys.readouterr()
    for text in (str(caught.value), out.out, out.err, repr(caught.value)):
        assert TOKEN not in text and "Max retries" not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # no requests exception chained


def test_the_api_url_is_taken_from_the_environment(tmp_path: Path) -> None:
    fake = FakeGitHub(api="https://ghe.example.invalid/api/v3", uploads="https://ghe.example.invalid/api/uploads")
    fake.tags[TAG] = COMMIT
    publish(fake, files(tmp_path, ASSETS))
    assert all(s.url.startswith("https://ghe.example.invalid/api/") for s in fake.seen)
    assert any(s.url.startswith("https://ghe.example.invalid/api/uploads/repos/") for s in fake.seen)
    assert API not in "".join(s.url for s in fake.seen)


def test_a_create_that_meets_a_release_published_meanwhile_stops(fake: FakeGitHub, tmp_path: Path) -> None:
    """Another run published the tag between our preflight and our create: GitHub says already_exists."""
    original = fake._route

    def publish_first(method: str, url: str, body: bytes, request: Any) -> Any:
        if method == "POST" and url.endswith("/releases") and not fake.releases:
            fake.add_release(TAG)
        return original(method, url, body, request)

    fake._route = publish_first  # type: ignore[method-assign]
    with pytest.raises(PublishError, match="published by someone else") as caught:
        publish(fake, files(tmp_path, ASSETS))
    assert f"/releases/tag/{TAG}" in caught.value.message
    assert [s.method for s in fake.seen].count("POST") == 1


def test_already_exists_without_a_digest_and_without_our_own_attempt_is_not_taken(tmp_path: Path) -> None:
    """On an older server, an asset someone else put under our name cannot be shown to be ours: refused."""
    fake = FakeGitHub(digests=False)
    fake.tags[TAG] = COMMIT
    assets = files(tmp_path, {"SHA256SUMS": b"sums\n"})
    draft = fake.add_release(TAG, draft=True)
    original = fake._route

    def sneak_in(method: str, url: str, body: bytes, request: Any) -> Any:
        if "/assets?name=" in url and not fake.assets:
            fake.add_asset(draft["id"], "SHA256SUMS", b"sums\n")
        return original(method, url, body, request)

    fake._route = sneak_in  # type: ignore[method-assign]
    with pytest.raises(PublishError, match="appeared on the release"):
        publish(fake, assets)
    assert not any(s.method == "DELETE" for s in fake.seen)


def test_ctrl_c_during_uploads_stops_them_and_publishes_nothing(fake: FakeGitHub, tmp_path: Path) -> None:
    class Interrupting(FakeGitHub):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            if "/assets?name=" in (request.url or ""):
                # Ctrl-C: a real SIGINT to the main thread (which wakes it from its wait, as at a terminal).
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
                time.sleep(0.3)  # by now the stop is set: reading the file for the body ends the upload
            return super().send(request, *args, **kwargs)

    slow = Interrupting()
    slow.tags[TAG] = COMMIT
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        publish(slow, files(tmp_path, ASSETS), jobs=1)
    assert time.monotonic() - started < 10
    time.sleep(0.5)  # the interrupted upload's thread would have sent its file by now
    assert not [t for t in threading.enumerate() if t.name.startswith("upload")]
    assert slow.assets == {}  # the upload under way was cut short, the waiting ones never started
    assert len([s for s in slow.seen if "/assets?name=" in s.url]) <= 1
    assert only_release(slow)["draft"] is True and not any(s.method == "PATCH" for s in slow.seen)


def test_an_asset_gone_before_publishing_stops_the_publish(fake: FakeGitHub, tmp_path: Path) -> None:
    """The check after the uploads: someone deleted an asset on GitHub meanwhile: the draft stays a draft."""
    original = fake._route

    def delete_one_after_uploads(method: str, url: str, body: bytes, request: Any) -> Any:
        uploads = [s for s in fake.seen if "/assets?name=" in s.url]
        if method == "GET" and url.split("?")[0].endswith("/assets") and len(uploads) == len(ASSETS):
            fake.assets.pop(min(fake.assets), None)
        return original(method, url, body, request)

    fake._route = delete_one_after_uploads  # type: ignore[method-assign]
    with pytest.raises(PublishError, match=r"not publishing v1\.2\.0: the draft is not complete") as caught:
        publish(fake, files(tmp_path, ASSETS))
    assert "not on the release" in caught.value.message and "run the same command again" in (caught.value.hint or "")
    assert only_release(fake)["draft"] is True


def test_a_draft_that_github_leaves_a_draft_is_an_error(fake: FakeGitHub, tmp_path: Path) -> None:
    original = fake._route

    def ignore_publish(method: str, url: str, body: bytes, request: Any) -> Any:
        if method == "PATCH":
            body = json.dumps({**json.loads(body), "draft": True}).encode()
        return original(method, url, body, request)

    fake._route = ignore_publish  # type: ignore[method-assign]
    with pytest.raises(GitHubError, match=r"left release v1\.2\.0 a draft"):
        publish(fake, files(tmp_path, ASSETS))


def test_assets_on_the_draft_that_dist_lacks_are_reported_and_kept(
    fake: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = fake.add_release(TAG, draft=True)
    fake.add_asset(draft["id"], "tool-1.1.0-old.zip", b"old")
    publish(fake, files(tmp_path, ASSETS))
    assert "tool-1.1.0-old.zip is on the draft release v1.2.0 but not in dist/" in capsys.readouterr().err
    assert "tool-1.1.0-old.zip" in fake.asset_names(draft["id"])


def test_a_crash_after_the_uploads_but_before_publishing_is_finished_by_publishing(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    assets = files(tmp_path, ASSETS)
    draft = fake.add_release(TAG, draft=True)
    for asset in assets:
        fake.add_asset(draft["id"], asset.name, asset.path.read_bytes())
    result = publish(fake, assets)
    assert result.published and {o.action for o in result.assets} == {"skipped"}
    assert [s.method for s in fake.writes()] == ["PATCH"]


def test_the_chunk_reader_hashes_counts_and_stops(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * (releases.CHUNK + 10))
    counted: list[int] = []
    stop = threading.Event()
    reader = releases._ChunkReader(path.open("rb"), releases.CHUNK + 10, counted.append, stop)
    assert len(reader) == releases.CHUNK + 10
    assert [len(chunk) for chunk in reader] == [releases.CHUNK, 10] and sum(counted) == releases.CHUNK + 10
    assert reader.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()
    reader.close()
    partial = releases._ChunkReader(path.open("rb"), releases.CHUNK + 10, counted.append, stop)
    partial.read(5)
    assert partial.sha256() is None  # not all sent: no claim about the whole file
    stop.set()
    with pytest.raises(github.Stopped):
        partial.read(5)
    partial.close()


def test_an_empty_file_is_uploaded_with_length_zero(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, {"EMPTY": b"", "SHA256SUMS": b"sums\n"})
    publish(fake, assets)
    assert stored(fake) == expected_hashes(assets)
    [empty] = [s for s in fake.seen if s.url.endswith("?name=EMPTY")]
    assert empty.headers["Content-Length"] == "0" and "Transfer-Encoding" not in empty.headers


def test_ctrl_c_while_an_upload_is_blocked_in_a_read_returns_within_a_second(tmp_path: Path) -> None:
    """A worker stuck reading a silent server's reply: the stop closes the session, which ends the read at once."""
    cut = threading.Event()

    class Silent(FakeGitHub):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            if "/assets?name=" in (request.url or ""):
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
                if not cut.wait(60):  # a read with a 300 s timeout: only closing the session ends it early
                    return super().send(request, *args, **kwargs)
                raise requests.ConnectionError("connection aborted")
            return super().send(request, *args, **kwargs)

        def close(self) -> None:
            cut.set()  # what StoppableAdapter.close does to a real socket: the blocked read fails

    silent = Silent()
    silent.tags[TAG] = COMMIT
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        publish(silent, files(tmp_path, ASSETS), jobs=1)
    assert time.monotonic() - started < 1.5
    assert cut.is_set()
    deadline = time.monotonic() + 1.0
    while [t for t in threading.enumerate() if t.name.startswith("upload")] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [t for t in threading.enumerate() if t.name.startswith("upload")]  # nothing left uploading
    assert silent.assets == {} and only_release(silent)["draft"] is True


def test_the_final_check_trusts_only_the_asset_ids_our_uploads_returned(tmp_path: Path) -> None:
    """On a server without digests, an asset put under our name after our upload is not taken for ours."""
    fake = FakeGitHub(digests=False)
    fake.tags[TAG] = COMMIT
    assets = files(tmp_path, {"SHA256SUMS": b"sums\n"})
    original = fake._route

    def swap_after_upload(method: str, url: str, body: bytes, request: Any) -> Any:
        uploaded = any("/assets?name=" in s.url for s in fake.seen)
        if method == "GET" and url.split("?")[0].endswith("/assets") and uploaded:
            [ours] = list(fake.assets.values())
            fake.assets.pop(ours["id"])
            fake.add_asset(ours["release_id"], "SHA256SUMS", b"SUMS\n")  # same name and size, other bytes
        return original(method, url, body, request)

    fake._route = swap_after_upload  # type: ignore[method-assign]
    with pytest.raises(PublishError, match="the draft is not complete") as caught:
        publish(fake, assets)
    assert "cannot be shown to be the same file" in caught.value.message
    assert only_release(fake)["draft"] is True


def test_a_file_that_cannot_be_opened_fails_its_upload_alone(fake: FakeGitHub, tmp_path: Path) -> None:
    assets = files(tmp_path, ASSETS)
    gone = assets[0]
    original = fake._route

    def remove_after_the_draft(method: str, url: str, body: bytes, request: Any) -> Any:
        reply = original(method, url, body, request)
        if method == "POST" and url.endswith("/releases"):
            gone.path.unlink()  # after the local checks, before its upload opens it
        return reply

    fake._route = remove_after_the_draft  # type: ignore[method-assign]
    with pytest.raises(VerificationError, match="cannot be read") as caught:
        publish(fake, assets, jobs=1)
    assert str(gone.path) in caught.value.message
    assert set(stored(fake)) == {a.name for a in assets} - {gone.name}  # the others were uploaded
    assert only_release(fake)["draft"] is True


def test_an_upload_url_that_would_send_the_token_in_clear_stops_before_any_upload(tmp_path: Path) -> None:
    fake = FakeGitHub(uploads="http://uploads.example.invalid")
    fake.tags[TAG] = COMMIT
    with pytest.raises(GitHubError, match="unencrypted") as caught:
        publish(fake, files(tmp_path, ASSETS))
    assert "GITHUB_API_URL" in (caught.value.hint or "")
    assert not [s for s in fake.seen if "/assets?name=" in s.url]
