"""The GitHub client: configuration, headers, upload URLs, retries, errors that explain and never hold the token.

HTTP goes through `FakeGitHub`, a requests transport adapter mounted on the client's Session: GitHub's
release endpoints kept in memory, every request recorded, faults injected per request. No sockets.
test_publish_releases.py uses it too.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tooling.errors import ConfigError, GitHubError, PublishError
from tooling.publish import github, retry
from tooling.publish.github import Call, GitHub, RemoteAsset, Settings

API = "https://api.github.com"
UPLOADS = "https://uploads.github.com"
REPO = "octo/tool"
TOKEN = "ghp_S3cretT0kenValue0123456789abcdefXYZ"
COMMIT = "c0ffee" + "0" * 34
ENV = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}


# --- the fake ----------------------------------------------------------------------------------


@dataclass
class Fault:
    """Something to go wrong with the next `times` requests whose method is `method` and path matches `pattern`.

    kind: "status" (answer `status`, do nothing), "reset" (no answer, nothing done), "lost" (do it,
    then answer 502), "reset-after" (do it, then no answer), "starter" (an upload leaves an unfinished
    asset and answers 502, as GitHub documents), "crash" (an upload leaves an unfinished asset and
    the process dies: SystemExit).
    """

    method: str
    pattern: str
    kind: str = "status"
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1


@dataclass
class Seen:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    streamed: bool  # the body was read from a file-like object, not handed over as bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class FakeGitHub(BaseAdapter):
    """GitHub's release API in memory, as a transport adapter: mount it on a Session."""

    def __init__(
        self,
        *,
        api: str = API,
        uploads: str = UPLOADS,
        repo: str = REPO,
        token: str = TOKEN,
        digests: bool = True,
        page_size: int | None = None,
    ) -> None:
        super().__init__()
        self.api, self.uploads, self.repo, self.token = api, uploads, repo, token
        self.digests = digests
        self.page_size = page_size
        self.can_push: bool | None = True
        self.tags: dict[str, str] = {}  # tag -> commit (lightweight)
        self.annotated: dict[str, str] = {}  # tag object sha -> commit
        self.releases: dict[int, dict[str, Any]] = {}
        self.assets: dict[int, dict[str, Any]] = {}  # asset id -> asset (with "release_id")
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        self.upload_delay = 0.0
        self.dead = False
        self.in_flight = 0
        self.max_in_flight = 0
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()

    # --- set-up helpers ---

    def add_release(self, tag: str, *, draft: bool = False, prerelease: bool = False) -> dict[str, Any]:
        release_id = next(self._ids)
        release = {"id": release_id, "tag_name": tag, "draft": draft, "prerelease": prerelease, "name": tag, "body": ""}
        self.releases[release_id] = release
        return release

    def add_asset(
        self, release_id: int, name: str, data: bytes, *, state: str = "uploaded", digest: bool | None = None
    ) -> dict[str, Any]:
        asset_id = next(self._ids)
        asset = {
            "id": asset_id,
            "release_id": release_id,
            "name": name,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "state": state,
            "digest": self.digests if digest is None else digest,
        }
        self.assets[asset_id] = asset
        return asset

    def asset_names(self, release_id: int) -> list[str]:
        return sorted(a["name"] for a in self.assets.values() if a["release_id"] == release_id)

    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.method != "GET"]

    # --- JSON shapes ---

    def release_json(self, release: dict[str, Any]) -> dict[str, Any]:
        tag, rid = release["tag_name"], release["id"]
        page = f"untagged-{rid}" if release["draft"] else f"tag/{tag}"
        return {
            **{k: release[k] for k in ("id", "tag_name", "draft", "prerelease", "name", "body")},
            "html_url": f"https://github.com/{self.repo}/releases/{page}",
            "upload_url": f"{self.uploads}/repos/{self.repo}/releases/{rid}/assets{{?name,label}}",
            "immutable": False,
            "assets": [self.asset_json(a) for a in self.assets.values() if a["release_id"] == rid],
        }

    def asset_json(self, asset: dict[str, Any]) -> dict[str, Any]:
        data = {k: asset[k] for k in ("id", "name", "size", "state")}
        data["content_type"] = "application/octet-stream"
        if asset["digest"]:
            data["digest"] = f"sha256:{asset['sha256']}"
        return data

    # --- the adapter ---

    def close(self) -> None:
        pass

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        if self.dead:  # after a "crash" fault nothing reaches GitHub any more, as when the machine is gone
            raise SystemExit("the machine is gone")
        body, streamed = self._body(request.body)
        url = request.url or ""
        method = request.method or ""
        with self._lock:
            self.seen.append(Seen(method, url, dict(request.headers), body, streamed))
            fault = self._fault(method, urlsplit(url).path)
        if fault is not None and fault.kind == "reset":
            # requests' own text carries the URL; ours must never repeat it (nor anything in it).
            raise requests.ConnectionError(f"Max retries exceeded with url: {url} (Bearer {self.token})")
        if fault is not None and fault.kind == "status":
            body_out = fault.body if fault.body is not None else {"message": "fault"}
            return self._reply(request, fault.status, body_out, fault.headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._reply(request, 401, {"message": "Bad credentials"})
        if fault is not None and fault.kind in ("starter", "crash"):
            query = parse_qs(urlsplit(url).query)
            release_id = int(re.findall(r"/releases/(\d+)/assets", url)[0])
            with self._lock:
                self.add_asset(release_id, query["name"][0], b"", state="starter", digest=False)
            if fault.kind == "crash":
                self.dead = True
                raise SystemExit("the machine went away mid-upload")
            return self._reply(request, 502, {"message": "Bad Gateway"})
        status, data, headers = self._route(method, url, body, request)
        if fault is not None and fault.kind == "lost":
            return self._reply(request, 502, {"message": "Server Error"})
        if fault is not None and fault.kind == "reset-after":
            raise requests.ConnectionError("Connection reset by peer")
        return self._reply(request, status, data, headers)

    def _body(self, body: Any) -> tuple[bytes, bool]:
        if body is None:
            return b"", False
        if hasattr(body, "read"):
            chunks = []
            while chunk := body.read(65536):
                chunks.append(chunk)
            return b"".join(chunks), True
        return (body.encode() if isinstance(body, str) else bytes(body)), False

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and re.search(fault.pattern, path):
                fault.times -= 1
                return fault
        return None

    def _reply(
        self, request: requests.PreparedRequest, status: int, data: Any, headers: Mapping[str, str] | None = None
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.reason = {200: "OK", 201: "Created", 204: "No Content", 404: "Not Found"}.get(status, "")
        response._content = b"" if data is None else json.dumps(data).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
        response.url = request.url or ""
        response.request = request
        return response

    def _page(self, url: str, items: list[Any]) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        size = self.page_size or int(query.get("per_page", 30))
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(items):
            following = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({**query, 'page': page + 1})}"
            headers["Link"] = f'<{following}>; rel="next"'
        return 200, chunk, headers

    def _route(self, method: str, url: str, body: bytes, request: Any) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            if url.startswith(self.uploads + "/"):
                return self._upload(url, body, request)
            path = urlsplit(url).path[len(urlsplit(self.api).path) :]
            prefix = f"/repos/{self.repo}"
            if not path.startswith(prefix):
                return 404, {"message": "Not Found"}, {}
            rest = path[len(prefix) :]
            payload = json.loads(body) if body else {}
            return self._repo_route(method, url, rest, payload)

    def _repo_route(self, method: str, url: str, rest: str, payload: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        not_found: tuple[int, Any, dict[str, str]] = (404, {"message": "Not Found"}, {})
        if method == "GET" and rest == "":
            permissions = None if self.can_push is None else {"admin": False, "push": self.can_push, "pull": True}
            return 200, {"full_name": self.repo, **({"permissions": permissions} if permissions else {})}, {}
        if method == "GET" and (match := re.fullmatch(r"/git/ref/tags/(.+)", rest)):
            sha = self.tags.get(match.group(1))
            if sha is None:
                return not_found
            kind = "tag" if sha in self.annotated else "commit"
            return 200, {"ref": f"refs/tags/{match.group(1)}", "object": {"type": kind, "sha": sha}}, {}
        if method == "GET" and (match := re.fullmatch(r"/git/tags/(\w+)", rest)):
            return 200, {"sha": match.group(1), "object": {"type": "commit", "sha": self.annotated[match.group(1)]}}, {}
        if method == "GET" and (match := re.fullmatch(r"/releases/tags/(.+)", rest)):
            found = [r for r in self.releases.values() if r["tag_name"] == match.group(1) and not r["draft"]]
            return (200, self.release_json(found[0]), {}) if found else not_found
        if method == "GET" and rest == "/releases":
            ordered = sorted(self.releases.values(), key=lambda r: -r["id"])
            return self._page(url, [self.release_json(r) for r in ordered])
        if method == "POST" and rest == "/releases":
            if any(r["tag_name"] == payload["tag_name"] and not r["draft"] for r in self.releases.values()):
                return 422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}, {}
            release = self.add_release(payload["tag_name"], draft=payload["draft"], prerelease=payload["prerelease"])
            release.update(name=payload["name"], body=payload["body"], target=payload["target_commitish"])
            return 201, self.release_json(release), {}
        if (match := re.fullmatch(r"/releases/(\d+)", rest)) and method in ("GET", "PATCH"):
            found_release = self.releases.get(int(match.group(1)))
            if found_release is None:
                return not_found
            release = found_release
            if method == "PATCH":
                release.update({k: payload[k] for k in ("draft", "prerelease", "name", "body") if k in payload})
                release["make_latest"] = payload.get("make_latest")
            return 200, self.release_json(release), {}
        if method == "GET" and (match := re.fullmatch(r"/releases/(\d+)/assets", rest)):
            rid = int(match.group(1))
            return self._page(url, [self.asset_json(a) for a in self.assets.values() if a["release_id"] == rid])
        if method == "DELETE" and (match := re.fullmatch(r"/releases/assets/(\d+)", rest)):
            return (204, None, {}) if self.assets.pop(int(match.group(1)), None) else not_found
        return not_found

    def _upload(self, url: str, body: bytes, request: Any) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(url)
        match = re.fullmatch(r".*/repos/[^/]+/[^/]+/releases/(\d+)/assets", parts.path)
        name = parse_qs(parts.query).get("name", [""])[0]
        assert match and name, url
        assert request.headers["Content-Type"] == "application/octet-stream"
        assert int(request.headers["Content-Length"]) == len(body)
        release_id = int(match.group(1))
        if any(a["release_id"] == release_id and a["name"] == name for a in self.assets.values()):
            error = {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
            return 422, {"message": "Validation Failed", "errors": [error]}, {}
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self._lock.release()  # let other uploads in while this one "transfers"
        try:
            time.sleep(self.upload_delay)
        finally:
            self._lock.acquire()
            self.in_flight -= 1
        return 201, self.asset_json(self.add_asset(release_id, name, body)), {}


class FakeClock:
    """A clock whose sleeps return at once and move time on; draws are fixed."""

    def __init__(self, draw: float = 0.5) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []
        self._draw = draw

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> retry.Clock:
        return retry.Clock(monotonic=lambda: self.now, wall=lambda: self.now, sleep=self.sleep, draw=lambda: self._draw)


def client(
    fake: FakeGitHub, clock: FakeClock | None = None, *, budget: float = 600, env: Mapping[str, str] = ENV
) -> GitHub:
    session = requests.Session()
    session.mount("https://", fake)
    session.mount("http://", fake)
    settings = github.settings_from_env({"GITHUB_API_URL": fake.api, **env})
    return GitHub(
        settings, session=session, clock=(clock or FakeClock()).clock(), policy=retry.Policy(budget_seconds=budget)
    )


# --- configuration ------------------------------------------------------------------------------


def test_settings_default_to_github_com_and_take_the_token_from_the_environment() -> None:
    settings = github.settings_from_env({"GITHUB_TOKEN": f"  {TOKEN}\n"}, "https://github.com/octo/tool")
    assert (settings.api_url, settings.repository) == (API, REPO)
    assert settings.token == TOKEN and settings.token_variable == "GITHUB_TOKEN"
    assert TOKEN not in repr(settings)


def test_gh_token_is_the_fallback_and_github_token_wins() -> None:
    assert github.settings_from_env({"GH_TOKEN": "gh-one", "GITHUB_REPOSITORY": REPO}).token_variable == "GH_TOKEN"
    both = github.settings_from_env({"GH_TOKEN": "gh-one", "GITHUB_TOKEN": "gh-two", "GITHUB_REPOSITORY": REPO})
    assert both.token == "gh-two"


def test_an_enterprise_server_gets_its_api_under_api_v3_unless_named() -> None:
    env = {"GITHUB_SERVER_URL": "https://ghe.example.invalid/", "GITHUB_TOKEN": TOKEN}
    settings = github.settings_from_env(env, "https://ghe.example.invalid/octo/tool.git")
    assert settings.api_url == "https://ghe.example.invalid/api/v3" and settings.repository == REPO
    named = github.settings_from_env({**env, "GITHUB_API_URL": "https://api.ghe.example.invalid/"}, REPO)
    assert named.api_url == "https://api.ghe.example.invalid"


def test_no_token_names_both_variables() -> None:
    with pytest.raises(GitHubError) as caught:
        github.settings_from_env({"GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": "  "})
    assert "GITHUB_TOKEN" in caught.value.message and "GH_TOKEN" in caught.value.message
    assert "contents: write" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/octo/tool", REPO),
        ("https://github.com/octo/tool.git", REPO),
        ("https://github.com/octo/tool/tree/main/crates/x", REPO),
        ("https://www.github.com/octo/tool/", REPO),
        ("git@github.com:octo/tool.git", REPO),
        ("ssh://git@github.com/octo/tool.git", REPO),
        ("https://gitlab.example.invalid/octo/tool", None),
        ("https://github.com/octo", None),
        ("https://github.com/octo/bad name", None),
    ],
)
def test_repository_from_a_crate_url(url: str, expected: str | None) -> None:
    assert github.repository_from_url(url) == expected


def test_github_repository_wins_over_the_crate_and_must_be_owner_slash_repo() -> None:
    assert (
        github.resolve_repository({"GITHUB_REPOSITORY": "a/b"}, "https://github.com/c/d", "https://github.com") == "a/b"
    )
    with pytest.raises(ConfigError, match="not owner/repo"):
        github.resolve_repository({"GITHUB_REPOSITORY": "just-a-name"}, None, "https://github.com")
    with pytest.raises(ConfigError, match="GITHUB_REPOSITORY=owner/repo"):
        github.resolve_repository({}, "https://gitlab.example.invalid/o/r", "https://github.com")


def test_the_token_never_travels_over_plain_http_except_to_this_machine() -> None:
    with pytest.raises(ConfigError, match="unencrypted"):
        github.settings_from_env({**ENV, "GITHUB_API_URL": "http://ghe.example.invalid/api/v3"})
    local = github.settings_from_env({**ENV, "GITHUB_API_URL": "http://127.0.0.1:8123/"})
    assert local.api_url == "http://127.0.0.1:8123"


# --- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload_url", "expected"),
    [
        (
            "https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}",
            "https://uploads.github.com/repos/o/r/releases/1/assets?name=tool-1.0.0.tar.gz",
        ),
        (
            "https://ghe.example.invalid/api/uploads/repos/o/r/releases/1/assets{?name,label}",
            "https://ghe.example.invalid/api/uploads/repos/o/r/releases/1/assets?name=tool-1.0.0.tar.gz",
        ),
        (
            "https://uploads.github.com/repos/o/r/releases/1/assets",
            "https://uploads.github.com/repos/o/r/releases/1/assets?name=tool-1.0.0.tar.gz",
        ),
    ],
)
def test_upload_url_keeps_what_github_returned_and_only_swaps_the_template(upload_url: str, expected: str) -> None:
    assert github.upload_target(upload_url, "tool-1.0.0.tar.gz") == expected


def test_upload_name_is_percent_encoded() -> None:
    assert (
        github.upload_target("https://u.invalid/a{?name,label}", "a b&c=d.zip")
        == "https://u.invalid/a?name=a%20b%26c%3Dd.zip"
    )


def test_digest_is_read_only_when_it_is_a_sha256() -> None:
    hexdigest = "ab" * 32
    assert github.sha256_of(f"sha256:{hexdigest.upper()}") == hexdigest
    assert github.sha256_of(None) is None
    assert github.sha256_of("sha512:" + "ab" * 64) is None
    assert github.sha256_of("sha256:short") is None


def test_asset_without_digest_or_state_is_read_as_unknown_digest_and_uploaded() -> None:
    asset = RemoteAsset.from_json({"id": 1, "name": "a", "size": 3})
    assert asset.sha256 is None and asset.complete


def test_a_malformed_reply_is_an_error_not_a_crash() -> None:
    with pytest.raises(GitHubError, match="no valid 'id'"):
        RemoteAsset.from_json({"id": "1", "name": "a", "size": 3})
    with pytest.raises(GitHubError, match="not a JSON object"):
        RemoteAsset.from_json([1])


SETTINGS = Settings(API, REPO, TOKEN, "GITHUB_TOKEN")
GET_REPO = Call("GET", f"{API}/repos/{REPO}?token={TOKEN}", f"repository {REPO}")
CREATE = Call("POST", f"{API}/repos/{REPO}/releases", "the draft release v1.0.0", expected=(201,), creates=True)


RATE_LIMITED = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000060"}
INVALID_TAG = {
    "message": "Validation Failed",
    "errors": [
        {"resource": "Release", "code": "custom", "field": "tag_name", "message": "tag_name is not a valid tag"}
    ],
}


@pytest.mark.parametrize(
    ("call", "status", "headers", "body", "says", "hint_says"),
    [
        (GET_REPO, 401, {}, {"message": "Bad credentials"}, ["token in GITHUB_TOKEN", "Bad credentials"], ["expired"]),
        (
            CREATE,
            403,
            {},
            {"message": "Resource not accessible by integration"},
            ["refused", "not accessible"],
            ["contents: write", "Workflows"],
        ),
        (GET_REPO, 403, RATE_LIMITED, {"message": "API rate limit exceeded"}, ["resets at 22:14:20 UTC"], ["wait"]),
        (GET_REPO, 404, {}, {"message": "Not Found"}, [f"repository {REPO} not found", "(404 Not Found)"], ["not 403"]),
        (CREATE, 404, {}, {"message": "Not Found"}, ["the draft release v1.0.0 not found"], ["Workflows permission"]),
        (
            CREATE,
            422,
            {},
            INVALID_TAG,
            ["invalid", "Validation Failed", "code=custom field=tag_name resource=Release tag_name is not a valid tag"],
            ["field"],
        ),
        (GET_REPO, 502, {}, None, ["GitHub failed on GET /repos/octo/tool (502 Bad Gateway)"], ["again"]),
        (GET_REPO, 301, {}, None, ["renamed or moved"], ["GITHUB_REPOSITORY"]),
    ],
)
def test_each_final_status_explains_itself_without_the_token(
    call: Call, status: int, headers: dict[str, str], body: Any, says: list[str], hint_says: list[str]
) -> None:
    reason = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 422: "Unprocessable Entity", 502: "Bad Gateway"}
    error = github.explain_status(call, status, reason.get(status, "Moved"), headers, body, SETTINGS)
    for text in says:
        assert text in error.message
    for text in hint_says:
        assert text in (error.hint or "")
    assert TOKEN not in str(error) and "?token" not in str(error)


def test_a_failure_without_an_answer_is_described_in_our_words() -> None:
    call = Call("GET", f"{API}/x", "x")
    assert (
        github.describe_failure(requests.exceptions.ConnectTimeout(f"{TOKEN}"), call) == "could not connect within 10 s"
    )
    assert github.describe_failure(requests.exceptions.ReadTimeout(), call) == "no answer within 60 s"
    assert "reset" in github.describe_failure(requests.ConnectionError(TOKEN), call)
    assert github.describe_failure(requests.exceptions.InvalidURL(TOKEN), call) == "the request failed (InvalidURL)"


def test_auth_object_repr_hides_the_token() -> None:
    assert TOKEN not in repr(github.BearerAuth(TOKEN))


# --- requests as GitHub sees them ------------------------------------------------------------------


def test_every_request_carries_githubs_headers_and_the_token_only_in_authorization() -> None:
    fake = FakeGitHub()
    fake.tags["v1.0.0"] = COMMIT
    with client(fake) as gh:
        assert gh.repository().full_name == REPO
        assert gh.tag_commit("v1.0.0") == COMMIT
    for seen in fake.seen:
        assert seen.headers["Accept"] == "application/vnd.github+json"
        assert seen.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert seen.headers["User-Agent"].startswith("release-tooling/")
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in seen.url


def test_an_annotated_tag_is_followed_to_its_commit() -> None:
    fake = FakeGitHub()
    fake.tags["v1.0.0"] = "7a9" + "0" * 37
    fake.annotated["7a9" + "0" * 37] = COMMIT
    with client(fake) as gh:
        assert gh.tag_commit("v1.0.0") == COMMIT
        assert gh.tag_commit("v9.9.9") is None
    assert [s.path for s in fake.seen][:2] == [
        f"/repos/{REPO}/git/ref/tags/v1.0.0",
        f"/repos/{REPO}/git/tags/7a9" + "0" * 37,
    ]


def test_lists_follow_the_link_header_across_pages() -> None:
    fake = FakeGitHub(page_size=2)
    for n in range(5):
        fake.add_release(f"v0.{n}.0")
    with client(fake) as gh:
        tags = [r.tag_name for r in gh.releases()]
    assert sorted(tags) == [f"v0.{n}.0" for n in range(5)]
    assert len(fake.seen) == 3 and "per_page=100" in fake.seen[0].url and "page=3" in fake.seen[2].url


def test_a_next_page_on_another_server_is_refused() -> None:
    fake = FakeGitHub()
    fake.faults.append(
        Fault(
            "GET",
            "/releases$",
            headers={"Link": '<https://evil.example.invalid/x?page=2>; rel="next"'},
            status=200,
            body=[],
        )
    )
    with client(fake) as gh, pytest.raises(GitHubError, match="another server"):
        gh.releases()


def test_upload_streams_the_file_with_its_length_and_octet_stream(tmp_path: Path) -> None:
    fake = FakeGitHub()
    release = fake.add_release("v1.0.0", draft=True)
    path = tmp_path / "tool.tar.gz"
    path.write_bytes(b"x" * 70000)

    class Body:
        def __init__(self) -> None:
            self.handle = path.open("rb")

        def read(self, amount: int = -1) -> bytes:
            return self.handle.read(amount)

        def __len__(self) -> int:
            return 70000

        def __iter__(self) -> Any:
            return iter(lambda: self.read(8192), b"")

        def close(self) -> None:
            self.handle.close()

    with client(fake) as gh:
        upload_url = fake.release_json(release)["upload_url"]
        asset, recovered = gh.upload_asset(upload_url, name="tool.tar.gz", body=Body, recover=lambda _: None)
    assert asset.name == "tool.tar.gz" and asset.size == 70000 and not recovered
    upload = fake.seen[-1]
    assert upload.streamed and upload.headers["Content-Length"] == "70000"
    assert "Transfer-Encoding" not in upload.headers
    assert upload.url == f"{UPLOADS}/repos/{REPO}/releases/{release['id']}/assets?name=tool.tar.gz"


# --- retries --------------------------------------------------------------------------------------


def test_a_read_is_retried_after_5xx_and_connection_errors_with_backoff() -> None:
    fake, clock = FakeGitHub(), FakeClock(draw=0.5)
    fake.faults += [Fault("GET", f"^/repos/{REPO}$", status=502), Fault("GET", f"^/repos/{REPO}$", kind="reset")]
    with client(fake, clock) as gh:
        assert gh.repository().full_name == REPO
    assert len(fake.seen) == 3
    assert clock.slept == [0.5, 1.0]  # full jitter with draw 0.5: half of 1 s, then half of 2 s


def test_retry_after_is_honoured() -> None:
    fake, clock = FakeGitHub(), FakeClock()
    fake.faults.append(Fault("GET", f"^/repos/{REPO}$", status=429, headers={"Retry-After": "7"}))
    with client(fake, clock) as gh:
        gh.repository()
    assert clock.slept == [7.0]


def test_a_spent_rate_limit_waits_for_its_reset() -> None:
    fake, clock = FakeGitHub(), FakeClock()
    reset = str(int(clock.now) + 30)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    fake.faults.append(
        Fault("GET", f"^/repos/{REPO}$", status=403, headers=headers, body={"message": "API rate limit exceeded"})
    )
    with client(fake, clock) as gh:
        gh.repository()
    assert clock.slept == [30.0 + retry.RESET_MARGIN]


def test_a_rate_limit_longer_than_the_budget_fails_at_once_saying_when_it_resets() -> None:
    fake, clock = FakeGitHub(), FakeClock()
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(clock.now) + 3600)}
    fake.faults.append(
        Fault("GET", f"^/repos/{REPO}$", status=403, headers=headers, body={"message": "API rate limit exceeded"})
    )
    with client(fake, clock) as gh, pytest.raises(GitHubError) as caught:
        gh.repository()
    assert clock.slept == []
    assert "rate limit" in caught.value.message and "resets at" in caught.value.message
    assert "retry budget" in caught.value.message


def test_retries_stop_when_the_budget_is_spent() -> None:
    fake, clock = FakeGitHub(), FakeClock(draw=0.99)
    fake.faults.append(Fault("GET", f"^/repos/{REPO}$", kind="reset", times=1000))
    with client(fake, clock, budget=60) as gh, pytest.raises(GitHubError) as caught:
        gh.repository()
    assert "gave up" in caught.value.message and "retry budget 60 s" in caught.value.message
    assert sum(clock.slept) <= 60
    assert TOKEN not in str(caught.value) and "Max retries" not in str(caught.value)
    assert f"GET /repos/{REPO}: the connection failed or was reset" in caught.value.message


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_other_4xx_are_not_retried(status: int) -> None:
    fake, clock = FakeGitHub(), FakeClock()
    fake.faults.append(Fault("GET", f"^/repos/{REPO}$", status=status, body={"message": "no"}))
    with client(fake, clock) as gh, pytest.raises(GitHubError):
        gh.repository()
    assert len(fake.seen) == 1 and clock.slept == []


def test_a_rejected_token_is_named_by_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeGitHub(token="another-token-entirely")
    with client(fake) as gh, pytest.raises(GitHubError) as caught:
        gh.repository()
    assert "rejected the token in GITHUB_TOKEN" in caught.value.message
    assert TOKEN not in str(caught.value) + capsys.readouterr().err


def test_a_create_with_a_lost_reply_is_found_not_sent_twice() -> None:
    fake = FakeGitHub()
    fake.faults.append(Fault("POST", "/releases$", kind="lost"))
    looked: list[bool] = []

    def recover(uncertain: bool) -> Any:
        looked.append(uncertain)
        drafts = [r for r in (gh.releases()) if r.draft and r.tag_name == "v1.0.0"]
        return drafts[0] if drafts else None

    with client(fake) as gh:
        release = gh.create_draft(
            tag="v1.0.0", commit=COMMIT, name="v1.0.0", body="", prerelease=False, recover=recover
        )
    assert release.draft and release.tag_name == "v1.0.0"
    assert looked == [True]
    assert [s.method for s in fake.seen].count("POST") == 1 and len(fake.releases) == 1


def test_a_create_with_a_reset_before_anything_was_done_is_sent_again_after_looking() -> None:
    fake = FakeGitHub()
    fake.faults.append(Fault("POST", "/releases$", kind="reset"))
    with client(fake) as gh:
        release = gh.create_draft(
            tag="v1.0.0", commit=COMMIT, name="v1.0.0", body="", prerelease=False,
            recover=lambda _: next((r for r in gh.releases() if r.draft), None),
        )  # fmt: skip
    assert release.draft and len(fake.releases) == 1
    assert [s.method for s in fake.seen] == ["POST", "GET", "POST"]


def test_a_create_is_never_retried_without_a_way_to_look() -> None:
    fake = FakeGitHub()
    fake.faults.append(Fault("POST", "/releases$", status=503))
    with client(fake) as gh, pytest.raises(GitHubError, match="not sent again blindly"):
        gh.send(CREATE)
    assert len(fake.seen) == 1


def test_deleting_an_asset_that_is_gone_already_is_fine() -> None:
    fake = FakeGitHub()
    with client(fake) as gh:
        gh.delete_asset(424242, "gone.tar.gz")
    assert fake.seen[0].method == "DELETE"


def test_a_stop_ends_a_wait_at_once() -> None:
    fake = FakeGitHub()
    fake.faults.append(Fault("GET", f"^/repos/{REPO}$", status=503, headers={"Retry-After": "300"}))
    gh = client(fake)
    gh.clock = retry.Clock(sleep=None)  # the real wait: on the stop event
    stopper = threading.Timer(0.2, gh.stop.set)
    started = time.monotonic()
    stopper.start()
    with pytest.raises(github.Stopped):
        gh.repository()
    assert time.monotonic() - started < 5 and len(fake.seen) == 1


def test_the_session_speaks_githubs_dialect_and_pools_enough_connections_for_the_uploads() -> None:
    session = github.make_session(pool_size=16)
    assert session.headers["Accept"] == "application/vnd.github+json"
    assert session.headers["X-GitHub-Api-Version"] == "2022-11-28"
    adapter = session.get_adapter("https://api.github.com/")
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    assert adapter._pool_maxsize == 16  # type: ignore[attr-defined]
    assert adapter.max_retries.total == 0  # retries are ours alone (retry.py), never urllib3's


def test_a_reply_that_is_not_json_says_to_check_the_api_url() -> None:
    fake = FakeGitHub()
    original = fake._reply

    def html(request: requests.PreparedRequest, status: int, data: Any, headers: Any = None) -> requests.Response:
        response = original(request, status, data, headers)
        response._content = b"<html>sign in</html>"
        return response

    fake._reply = html  # type: ignore[method-assign]
    with client(fake) as gh, pytest.raises(GitHubError, match="not JSON") as caught:
        gh.repository()
    assert "GITHUB_API_URL" in (caught.value.hint or "")


def test_page_links_that_go_round_in_circles_are_stopped() -> None:
    fake = FakeGitHub()
    loop = {"Link": f'<{API}/repos/{REPO}/releases?page=1>; rel="next"'}
    fake.faults += [Fault("GET", "/releases$", status=200, headers=loop, body=[], times=2)]
    with client(fake) as gh, pytest.raises(GitHubError, match="round in circles"):
        gh.releases()


def test_a_tag_of_a_tree_is_refused() -> None:
    fake = FakeGitHub()
    fake.faults.append(Fault("GET", "/git/ref/tags/", status=200, body={"object": {"type": "tree", "sha": "1" * 40}}))
    with client(fake) as gh, pytest.raises(PublishError, match="points at a tree"):
        gh.tag_commit("v1.0.0")


def test_error_details_read_every_form_github_uses() -> None:
    body = {"message": "Validation Failed", "errors": ["plain text", {"code": "already_exists", "field": "name"}, 3]}
    assert github.reply_details(body) == ("Validation Failed", ["plain text", "code=already_exists field=name"])
    assert github.has_error_code(body, "already_exists") and not github.has_error_code(body, "missing")
    assert github.reply_details("not an object") == ("", [])


def test_a_status_nobody_expects_still_explains_itself() -> None:
    error = github.explain_status(GET_REPO, 418, "I'm a teapot", {}, {"message": "short and stout"}, SETTINGS)
    assert error.message == f"GitHub did not accept GET /repos/{REPO} (418 I'm a teapot): short and stout"


def test_an_api_url_must_be_http_or_https() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        github.settings_from_env({**ENV, "GITHUB_API_URL": "ftp://api.example.invalid"})


# --- URLs that are configuration mistakes, and stopping ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://[x", "its host is malformed"),
        ("https://api.example.invalid:99999/", "its port is not a number"),
        ("https://api.example.invalid:port/", "its port is not a number"),
    ],
)
def test_a_malformed_api_url_is_a_config_error_naming_the_variable(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"GITHUB_API_URL is not a valid URL: {problem}"):
        github.settings_from_env({**ENV, "GITHUB_API_URL": url})


def test_an_api_url_with_a_user_part_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError, match="user name or a secret inside the URL") as caught:
        github.settings_from_env({**ENV, "GITHUB_API_URL": f"https://{TOKEN}@api.example.invalid"})
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "error", [requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader]
)
def test_a_request_requests_cannot_make_is_final_at_once_naming_the_api_url(
    error: type[requests.RequestException], capsys: pytest.CaptureFixture[str]
) -> None:
    class Refusing(FakeGitHub):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            self.seen.append(Seen(request.method or "", request.url or "", {}, b"", False))
            raise error(f"bad request to {request.url} with Bearer {TOKEN}")

    fake = Refusing()
    with client(fake) as gh, pytest.raises(GitHubError, match=error.__name__) as caught:
        gh.repository()
    assert len(fake.seen) == 1  # not retried
    assert "GITHUB_API_URL" in (caught.value.hint or "")
    assert TOKEN not in str(caught.value) + capsys.readouterr().err


@pytest.mark.parametrize(
    "upload_url",
    [
        "http://uploads.example.invalid/repos/o/r/releases/1/assets{?name,label}",
        f"https://x:{TOKEN}@uploads.example.invalid/repos/o/r/releases/1/assets",
        "ftp://uploads.example.invalid/assets",
    ],
)
def test_an_upload_url_from_the_api_is_checked_before_anything_is_sent(upload_url: str, tmp_path: Path) -> None:
    fake = FakeGitHub()
    with client(fake) as gh, pytest.raises(GitHubError) as caught:
        gh.upload_asset(
            upload_url, name="a.zip", body=lambda: pytest.fail("no body may be read"), recover=lambda uncertain: None
        )
    assert fake.seen == [] and TOKEN not in str(caught.value)


def test_a_loopback_upload_url_over_plain_http_is_accepted() -> None:
    url = "http://127.0.0.1:8123/repos/o/r/releases/1/assets{?name,label}"
    assert github.check_upload_url(url) == url


def test_abort_cuts_a_read_blocked_on_a_silent_server_at_once() -> None:
    """A real socket: the server accepts and never answers; abort() from another thread ends the read now."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    acceptor = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    acceptor.start()
    settings = github.settings_from_env({**ENV, "GITHUB_API_URL": f"http://127.0.0.1:{server.getsockname()[1]}"})
    gh = GitHub(settings, clock=FakeClock().clock())
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            gh.repository()
        except BaseException as error:  # the test inspects whatever ended the read
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    try:
        reader.start()
        acceptor.join(5)
        time.sleep(0.2)  # the request is sent; the read of the reply blocks (its timeout is 60 s)
        started = time.monotonic()
        gh.abort()
        reader.join(5)
        assert not reader.is_alive() and time.monotonic() - started < 1.0
        assert len(outcome) == 1 and isinstance(outcome[0], github.Stopped)
    finally:
        gh.close()
        for connection in accepted:
            connection.close()
        server.close()
