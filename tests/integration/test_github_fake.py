"""The fake GitHub that the publishing tests run against: it must judge requests by GitHub's own
description, behave as GitHub does for a release, and fail exactly as its fault schedule says."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.github_fake import FakeGitHub, Faults, Violation, github_description, openapi_path, running_fake_github

pytestmark = pytest.mark.integration

RELEASES = "/repos/acme/tool/releases"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with running_fake_github() as fake:
        yield fake


def client(gh: FakeGitHub, *, auth: str | None = "Bearer") -> requests.Session:
    session = requests.Session()
    session.headers["Accept"] = "application/vnd.github+json"
    if auth:
        session.headers["Authorization"] = f"{auth} {gh.token}"
    return session


def upload_url(release: dict[str, object], name: str, label: str | None = None) -> str:
    """Expand the release's upload_url template, as a client must."""
    template = str(release["upload_url"])
    base = template.split("{", 1)[0]
    assert template == base + "{?name,label}"
    return f"{base}?name={name}" + (f"&label={label}" if label else "")


def create(gh: FakeGitHub, **body: object) -> requests.Response:
    return client(gh).post(gh.api_url + RELEASES, json={"tag_name": "v1.0.0", **body})


# --- requests judged by the description ---


def test_a_documented_create_release_is_accepted_and_its_reply_is_githubs(gh: FakeGitHub) -> None:
    reply = create(gh, name="Tool 1.0.0", body="notes", draft=True, prerelease=False, make_latest="true")
    assert reply.status_code == 201, reply.text
    release = reply.json()
    assert reply.headers["Location"] == release["url"] == f"{gh.api_url}{RELEASES}/{release['id']}"
    assert release["upload_url"].startswith(f"{gh.uploads_url}{RELEASES}/{release['id']}/assets")
    assert (release["tag_name"], release["draft"], release["published_at"]) == ("v1.0.0", True, None)
    assert [r.name for r in gh.state.releases.values()] == ["Tool 1.0.0"]
    # Checked independently of the server: the reply fits the documented 201 schema.
    op, _ = github_description().match("POST", RELEASES)
    github_description().check_reply(op, 201, release)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"tag_name": "v1.0.0", "draft": True, "assets": []}, "'assets' was unexpected"),
        ({"tag_name": "v1.0.0", "draft": "yes"}, "at draft: 'yes' is not of type 'boolean'"),
        ({"tag_name": "v1.0.0", "make_latest": True}, "at make_latest"),
        ({"name": "no tag"}, "'tag_name' is a required property"),
    ],
)
def test_an_undocumented_field_or_a_wrong_type_is_refused_and_recorded(
    gh: FakeGitHub, body: dict[str, object], named: str
) -> None:
    reply = client(gh).post(gh.api_url + RELEASES, json=body)
    assert reply.status_code == 400
    assert named in reply.json()["message"]
    violations = gh.take_violations()
    assert len(violations) == 1 and named in violations[0]
    assert gh.state.releases == {}
    assert gh.requests[-1].outcome == "violation"


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [
        ("GET", RELEASES + "?per_page=ten", "per_page='ten'"),
        ("GET", RELEASES + "?sort=created", "query parameter 'sort' is not documented"),
        ("GET", RELEASES + "/latest-ish", "release_id='latest-ish'"),
        ("PUT", RELEASES, "PUT is not documented for /repos/{owner}/{repo}/releases"),
        ("GET", "/repos/acme/tool/release", "no documented path matches"),
        ("GET", "/repos/acme/tool/issues", "issues/list-for-repo is documented but the fake does not implement it"),
    ],
)
def test_paths_methods_and_query_parameters_must_be_documented(
    gh: FakeGitHub, method: str, path: str, named: str
) -> None:
    reply = client(gh).request(method, gh.api_url + path)
    assert reply.status_code == 400
    assert named in gh.take_violations()[0]


def test_an_upload_to_a_url_the_client_built_on_the_api_host_is_refused(gh: FakeGitHub) -> None:
    release = gh.state.add_release("v1.0.0")
    built = f"{gh.api_url}{RELEASES}/{release.id}/assets?name=tool.tar.gz"
    reply = client(gh).post(built, data=b"bytes", headers={"Content-Type": "application/gzip"})
    assert reply.status_code == 400
    assert "served by the uploads host" in gh.take_violations()[0]
    assert gh.state.assets == {}


def test_an_upload_needs_its_name_and_a_media_type(gh: FakeGitHub) -> None:
    release = client(gh).get(f"{gh.api_url}{RELEASES}/{gh.state.add_release('v1.0.0').id}").json()
    base = upload_url(release, "x").split("?", 1)[0]
    assert client(gh).post(base, data=b"x", headers={"Content-Type": "text/plain"}).status_code == 400
    assert client(gh).post(base + "?name=x&sha=1", data=b"x", headers={"Content-Type": "text/plain"}).status_code == 400
    session = client(gh)
    untyped = requests.Request("POST", base + "?name=x", data=b"x", headers=session.headers).prepare()
    untyped.headers.pop("Content-Type", None)
    assert session.send(untyped).status_code == 400
    assert [v.split(": ", 1)[1] for v in gh.take_violations()] == [
        "required query parameter 'name' is missing",
        "query parameter 'sha' is not documented",
        "a Content-Type header is required for raw data",
    ]


# --- behaving as GitHub ---


def test_releases_and_assets_are_paginated_with_link_headers(gh: FakeGitHub) -> None:
    made = [gh.state.add_release(f"v1.0.{n}") for n in range(5)]
    session = client(gh)
    first = session.get(gh.api_url + RELEASES, params={"per_page": 2})
    assert [r["tag_name"] for r in first.json()] == ["v1.0.4", "v1.0.3"]  # newest first
    assert first.links["next"]["url"] == f"{gh.api_url}{RELEASES}?per_page=2&page=2"
    assert first.links["last"]["url"] == f"{gh.api_url}{RELEASES}?per_page=2&page=3"
    assert "prev" not in first.links

    seen, url = [], first.links["next"]["url"]
    while url:
        page = session.get(url)
        seen += [r["tag_name"] for r in page.json()]
        url = page.links.get("next", {}).get("url")
    assert seen == ["v1.0.2", "v1.0.1", "v1.0.0"]
    assert page.links["prev"]["url"].endswith("page=2") and page.links["first"]["url"].endswith("page=1")

    assert "Link" not in session.get(gh.api_url + RELEASES).headers  # one page of 30
    for n in range(3):
        gh.state.add_asset(made[0], f"file{n}", b"x")
    assets = session.get(f"{gh.api_url}{RELEASES}/{made[0].id}/assets", params={"per_page": 2, "page": 2})
    assert [a["name"] for a in assets.json()] == ["file2"]
    assert set(assets.links) == {"first", "prev"}


def test_an_upload_stores_the_bytes_with_githubs_digest_and_refuses_a_duplicate_name(gh: FakeGitHub) -> None:
    session = client(gh)
    release = create(gh, draft=True).json()
    data = b"\x1f\x8b archive bytes " * 1000
    url = upload_url(release, "tool-1.0.0.tar.gz", label="Linux%20x86_64")
    reply = session.post(url, data=data, headers={"Content-Type": "application/gzip"})
    assert reply.status_code == 201, reply.text
    asset = reply.json()
    assert asset["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert (asset["name"], asset["label"], asset["size"], asset["state"]) == (
        "tool-1.0.0.tar.gz",
        "Linux x86_64",
        len(data),
        "uploaded",
    )
    assert asset["content_type"] == "application/gzip"
    assert gh.state.assets[asset["id"]].data == data
    assert session.get(asset["url"]).json()["digest"] == asset["digest"]
    assert [a["id"] for a in session.get(release["assets_url"]).json()] == [asset["id"]]

    again = session.post(url, data=b"other", headers={"Content-Type": "application/gzip"})
    assert again.status_code == 422
    assert again.json()["errors"] == [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}]
    assert session.delete(asset["url"]).status_code == 204
    assert session.post(url, data=b"other", headers={"Content-Type": "application/gzip"}).status_code == 201


def test_tags_lightweight_and_annotated(gh: FakeGitHub) -> None:
    light = gh.state.add_tag("v1.0.0", "a" * 40)
    annotated = gh.state.add_tag("v2.0.0", "b" * 40, message="Release 2.0.0")
    session = client(gh)
    ref = session.get(f"{gh.api_url}/repos/acme/tool/git/ref/tags/v1.0.0").json()
    assert ref["ref"] == "refs/tags/v1.0.0" and ref["object"] == {
        "type": "commit",
        "sha": light.commit,
        "url": f"{gh.api_url}/repos/acme/tool/git/commits/{light.commit}",
    }
    ref = session.get(f"{gh.api_url}/repos/acme/tool/git/ref/tags/v2.0.0").json()
    assert ref["object"]["type"] == "tag" and ref["object"]["sha"] == annotated.object_sha != annotated.commit
    tag = session.get(ref["object"]["url"]).json()
    assert (tag["tag"], tag["message"], tag["object"]["sha"]) == ("v2.0.0", "Release 2.0.0", "b" * 40)
    assert session.get(f"{gh.api_url}/repos/acme/tool/git/ref/tags/v3.0.0").status_code == 404
    assert session.get(f"{gh.api_url}/repos/acme/tool/git/tags/{light.commit}").status_code == 404


def test_a_draft_is_found_by_id_not_by_tag_until_published(gh: FakeGitHub) -> None:
    session = client(gh)
    draft = create(gh, draft=True, target_commitish="main").json()
    by_tag = f"{gh.api_url}{RELEASES}/tags/v1.0.0"
    assert session.get(by_tag).status_code == 404
    assert session.get(draft["url"]).json()["draft"] is True
    assert create(gh, draft=True).status_code == 201  # drafts may share a tag, as on GitHub
    published = session.patch(draft["url"], json={"draft": False, "name": "Tool 1.0.0"}).json()
    assert published["draft"] is False and published["published_at"]
    assert session.get(by_tag).json()["id"] == draft["id"]
    assert "v1.0.0" in gh.state.tags  # publishing created the tag from target_commitish
    assert create(gh).json()["errors"] == [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]
    assert session.get(f"{gh.api_url}/repos/acme/other/releases/tags/v1.0.0").status_code == 404


def test_get_repository_reply_fits_the_description(gh: FakeGitHub) -> None:
    repo = client(gh).get(gh.api_url + "/repos/ACME/Tool").json()  # names are not case sensitive
    assert (repo["full_name"], repo["default_branch"], repo["owner"]["login"]) == ("acme/tool", "main", "acme")


def test_the_reply_check_catches_a_dishonest_fake(gh: FakeGitHub) -> None:
    release = gh.state.add_release("v1.0.0", assets={"a.zip": b"zip"})
    assets = client(gh).get(f"{gh.api_url}{RELEASES}/{release.id}/assets").json()
    description = github_description()
    op, _ = description.match("GET", f"{RELEASES}/{release.id}/assets")
    description.check_reply(op, 200, assets)
    without_digest = [{k: v for k, v in assets[0].items() if k != "digest"}]
    with pytest.raises(Violation, match="at 0: 'digest' is a required property"):
        description.check_reply(op, 200, without_digest)
    with pytest.raises(Violation, match="'sha256' was unexpected"):
        description.check_reply(op, 200, [{**assets[0], "sha256": "0" * 64}])
    with pytest.raises(Violation, match="the fake replied 201, which is not documented"):
        description.check_reply(op, 201, [])
    description.check_reply(op, 503, {"message": "Service Unavailable", "documentation_url": "x"})


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic"])
def test_a_missing_or_wrong_token_is_401_in_githubs_words(gh: FakeGitHub, auth: str | None) -> None:
    session = client(gh, auth=None)
    if auth:
        session.headers["Authorization"] = auth if " " in auth else f"{auth} {gh.token}"
    reply = session.post(gh.api_url + RELEASES, json={"tag_name": "v1.0.0"})
    assert reply.status_code == 401
    assert reply.json()["message"] == ("Requires authentication" if auth is None else "Bad credentials")
    assert gh.state.releases == {}
    assert client(gh, auth="token").get(gh.api_url + RELEASES).status_code == 200


# --- faults ---

# fault kind -> (status of the faulted call, whether the release was created anyway)
CREATE_FAULTS = {
    "500": (500, False),
    "502": (502, False),
    "503": (503, False),
    "drop": (None, False),
    "lost": (500, True),
    "lost_drop": (None, True),
    "429": (429, False),
    "rate_limit": (403, False),
    "422_exists": (422, False),
    "partial": (502, False),
}


@pytest.mark.parametrize("kind", sorted(CREATE_FAULTS))
def test_each_fault_kind_fails_the_call_as_scheduled(gh: FakeGitHub, kind: str) -> None:
    status, stored = CREATE_FAULTS[kind]
    gh.faults = Faults(schedule={"repos/create-release": [kind, "ok"]}, retry_after=3, reset_after=60)
    try:
        reply: requests.Response | None = create(gh, draft=True)
    except requests.ConnectionError:
        reply = None
    assert (reply.status_code if reply is not None else None) == status
    assert len(gh.state.releases) == int(stored)
    assert gh.requests[-1].outcome == kind and gh.requests[-1].status == status
    if kind == "429":
        assert reply is not None and reply.headers["Retry-After"] == "3"
    if kind == "rate_limit":
        assert reply is not None and reply.headers["X-RateLimit-Remaining"] == "0"
        assert int(reply.headers["X-RateLimit-Reset"]) >= time.time() + 50
    if kind == "422_exists":
        assert reply is not None and reply.json()["errors"][0]["code"] == "already_exists"
    # The schedule is spent: the next call goes through (a lost create leaves a second draft, as on GitHub).
    assert create(gh, draft=True).status_code == 201
    assert len(gh.state.releases) == int(stored) + 1
    assert gh.faults.pending() == {}


def test_a_lost_upload_is_stored_and_its_retry_meets_the_stored_asset(gh: FakeGitHub) -> None:
    gh.faults = Faults(schedule={"repos/upload-release-asset": ["lost_drop"]})
    release = create(gh, draft=True).json()
    url, data = upload_url(release, "tool.zip"), b"zip bytes"
    session = client(gh)
    with pytest.raises(requests.ConnectionError):
        session.post(url, data=data, headers={"Content-Type": "application/zip"})
    retry = session.post(url, data=data, headers={"Content-Type": "application/zip"})
    assert retry.status_code == 422
    (stored,) = gh.state.assets.values()
    assert stored.data == data
    assert [(r.status, r.sent) for r in gh.calls("repos/upload-release-asset")] == [(None, 9), (422, 9)]


def test_a_partial_upload_leaves_an_open_empty_asset(gh: FakeGitHub) -> None:
    gh.faults = Faults(schedule={"repos/upload-release-asset": ["partial"]})
    release = create(gh, draft=True).json()
    reply = client(gh).post(upload_url(release, "a.zip"), data=b"data", headers={"Content-Type": "application/zip"})
    assert reply.status_code == 502
    (asset,) = client(gh).get(release["assets_url"]).json()
    assert (asset["name"], asset["state"], asset["size"]) == ("a.zip", "open", 0)


def test_random_faults_follow_the_seeded_rates(gh: FakeGitHub) -> None:
    rates = {"500": 0.3, "drop": 0.1}
    gh.faults = Faults(rates=rates, seed=7, operations=frozenset({"repos/get"}))
    session = client(gh)
    for _ in range(300):
        with contextlib.suppress(requests.ConnectionError):
            session.get(gh.api_url + "/repos/acme/tool")
    assert client(gh).get(gh.api_url + RELEASES).status_code == 200  # not among the faulted operations
    outcomes = [r.outcome for r in gh.calls("repos/get")]
    assert 0.22 < outcomes.count("500") / 300 < 0.38
    assert 0.05 < outcomes.count("drop") / 300 < 0.15
    assert outcomes.count("drop") == sum(r.status is None for r in gh.calls("repos/get"))
    # The same seed gives the same faults: a failing run can be replayed.
    again = Faults(rates=rates, seed=7)
    assert [again.next_outcome("repos/get") for _ in range(300)] == outcomes


def test_an_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        Faults(schedule={"repos/create-release": ["timeout"]})


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_description_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("RELEASE_GITHUB_OPENAPI", str(tmp_path / "missing.json"))
    with pytest.raises(outcome, match=r"missing\.json is not a file: run \.ci/install-openapi"):
        openapi_path()
    (tmp_path / "missing.json").write_text("{}")
    assert openapi_path() == tmp_path / "missing.json"


def test_parallel_uploads_each_store_their_own_bytes(gh: FakeGitHub) -> None:
    release = create(gh, draft=True).json()
    files = {f"tool-{n}.tar.gz": bytes([n]) * (10_000 + n) for n in range(8)}

    def upload(name: str) -> int:
        reply = client(gh).post(
            upload_url(release, name), data=files[name], headers={"Content-Type": "application/gzip"}
        )
        return reply.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(upload, files)) == [201] * 8
    assert {a.name: a.data for a in gh.state.assets.values()} == files
