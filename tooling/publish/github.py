"""GitHub's REST API: the few calls a release needs, over one requests Session.

Configuration comes from the environment only (the names GitHub Actions sets):
GITHUB_API_URL (default https://api.github.com, or <GITHUB_SERVER_URL>/api/v3
for a GitHub Enterprise server), GITHUB_SERVER_URL (default https://github.com),
GITHUB_REPOSITORY (owner/repo; else taken from the crate's repository URL when
it is on that server), and the token from GITHUB_TOKEN or GH_TOKEN.

The token. It travels only in the Authorization header (a requests auth
object, so a ~/.netrc cannot replace it and requests drops it on a redirect
to another host), never in a URL, and never over plain http except to a
loopback address (the local test server). No text this module makes holds
it: errors are written here from the method, the path without its query and
the status, never from requests' own exception text (which carries URLs),
and every message is masked with proc.mask as a last line of defence.

Retries (tooling/publish/retry.py decides when and how long). A read is
simply sent again. A request that creates something (a release, an asset)
is never re-sent blindly: when its outcome is unknown (no answer, a 5xx, or
a 422 saying the thing exists already) the caller's `recover` function looks
first (lists the releases or assets) and either returns what the lost
request made or says it is safe to send again.

Upload URLs are used exactly as GitHub returned them, only their
`{?name,label}` template replaced by `?name=`: GitHub Enterprise serves
uploads from another host and path than github.com does.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

from tooling import __version__, proc, ui
from tooling.errors import ConfigError, GitHubError, PublishError
from tooling.publish import retry, urls

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
USER_AGENT = f"release-tooling/{__version__}"

# (connect, read) seconds. An upload's reply comes after GitHub has stored the whole file: give it longer.
API_TIMEOUT = (10.0, 60.0)
UPLOAD_TIMEOUT = (10.0, 300.0)
PER_PAGE = 100
MAX_PAGES = 1000  # 100,000 releases or assets: past that a `next` link is going round in circles

# owner/repo as GitHub allows them (an owner: letters, digits, inner hyphens); every publisher checks with it.
REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$")
_UPLOAD_TEMPLATE = re.compile(r"\{[^{}]*\}$")
_MESSAGE_LIMIT = 500

_PERMISSION_HINT = (
    "the token needs write access to the repository's contents: in a workflow, `permissions: contents: write`; "
    "a fine-grained token, Contents: read and write; a classic token, the repo scope"
)
_WORKFLOW_FILES_NOTE = (
    "; a release whose commit changes .github/workflows/ also needs the Workflows permission, "
    "which a workflow's GITHUB_TOKEN cannot have"
)
_RERUN_HINT = "run the same command again later: it checks what GitHub holds and continues from there"


# --- configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Where the API is, which repository, and the token (never shown: repr=False)."""

    api_url: str
    repository: str  # owner/repo
    token: str = field(repr=False)
    token_variable: str = "GITHUB_TOKEN"  # noqa: S105 - the name of the variable, not a token

    @property
    def repo_path(self) -> str:
        """The API path of the repository: /repos/owner/repo."""
        return f"/repos/{self.repository}"


def _strip_slash(url: str) -> str:
    return url.strip().rstrip("/")


def repository_from_url(url: str, server_url: str = DEFAULT_SERVER_URL) -> str | None:
    """owner/repo from a repository URL on `server_url` (https, ssh or scp-like git form); else None (pure)."""
    text = url.strip()
    host = (urlsplit(server_url).hostname or "").lower()
    scp = re.match(r"^[\w.-]+@([\w.-]+):(.+)$", text)  # git@github.com:owner/repo.git
    if scp:
        found_host, path = scp.group(1).lower(), scp.group(2)
    else:
        try:
            parts = urlsplit(text)
        except ValueError:  # a malformed URL names no repository
            return None
        found_host, path = (parts.hostname or "").lower(), parts.path
    if not host or found_host.removeprefix("www.") != host.removeprefix("www."):
        return None
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2:
        return None
    candidate = f"{segments[0]}/{segments[1].removesuffix('.git')}"
    return candidate if REPOSITORY.match(candidate) else None


def resolve_repository(environ: Mapping[str, str], crate_repository: str | None, server_url: str) -> str:
    """owner/repo: GITHUB_REPOSITORY, else an owner/repo or a URL on `server_url` from the crate (pure)."""
    named = environ.get("GITHUB_REPOSITORY", "").strip()
    if named:
        if not REPOSITORY.match(named):
            raise ConfigError(
                f"GITHUB_REPOSITORY={named!r} is not owner/repo",
                hint="set it to the repository's owner and name, e.g. octo-org/crcsum, or unset it",
            )
        return named
    given = (crate_repository or "").strip()
    if REPOSITORY.match(given):
        return given
    derived = repository_from_url(given, server_url) if given else None
    if derived is None:
        where = f"the crate's repository ({given})" if given else "the crate, which names no repository,"
        raise ConfigError(
            f"cannot tell which GitHub repository to publish to: {where} is not on {server_url}",
            hint="set GITHUB_REPOSITORY=owner/repo, or set repository in Cargo.toml to the repository's URL",
        )
    return derived


def check_api_url(url: str, variable: str) -> str:
    """`url` without a trailing slash, or ConfigError: the token may travel over plain http only to loopback."""
    urls.check_secret_url(url.strip(), variable)
    return _strip_slash(url)


def check_upload_url(upload_url: str) -> str:
    """A release's upload_url as GitHub returned it, checked like the API's URL before any upload; else GitHubError."""
    try:
        urls.check_secret_url(upload_url.strip(), "the upload_url GitHub returned for the release")
    except ConfigError as error:
        raise GitHubError(error.message, hint="check GITHUB_API_URL: it must lead to GitHub's REST API") from None
    return upload_url


def settings_from_env(environ: Mapping[str, str], crate_repository: str | None = None) -> Settings:
    """Settings from GitHub Actions' variables; ConfigError or GitHubError (no token) explain what is missing."""
    server_url = check_api_url(environ.get("GITHUB_SERVER_URL", "").strip() or DEFAULT_SERVER_URL, "GITHUB_SERVER_URL")
    default_api = DEFAULT_API_URL if server_url == DEFAULT_SERVER_URL else f"{server_url}/api/v3"
    api_url = check_api_url(environ.get("GITHUB_API_URL", "").strip() or default_api, "GITHUB_API_URL")
    repository = resolve_repository(environ, crate_repository, server_url)
    for variable in TOKEN_VARIABLES:
        token = environ.get(variable, "").strip()
        if token:
            return Settings(api_url, repository, token, variable)
    raise GitHubError(
        f"no GitHub token: set GITHUB_TOKEN (or GH_TOKEN) to publish to {repository}",
        hint="in a workflow: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` with `permissions: contents: write`; "
        "locally: a fine-grained token with Contents: read and write on the repository",
    )


# --- what the API returns -----------------------------------------------------------------


def _need(value: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    found = value.get(key)
    if not isinstance(found, kind) or (isinstance(found, bool) and kind is int):
        raise GitHubError(f"GitHub's reply for {what} has no valid {key!r}", hint=_RERUN_HINT)
    return found


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise GitHubError(f"GitHub's reply for {what} is not a JSON object", hint=_RERUN_HINT)
    return data


def sha256_of(digest: str | None) -> str | None:
    """The hex SHA-256 of an asset's `digest` ("sha256:<hex>"); None when absent or another algorithm (pure)."""
    if not digest:
        return None
    algorithm, _, value = digest.partition(":")
    value = value.strip().lower()
    return value if algorithm.lower() == "sha256" and re.fullmatch(r"[0-9a-f]{64}", value) else None


@dataclass(frozen=True)
class RemoteAsset:
    """A file on a release, as the API describes it."""

    id: int
    name: str
    size: int
    sha256: str | None  # from `digest`; None where the server does not say (older GitHub Enterprise)
    state: str  # "uploaded"; anything else is an upload GitHub did not finish (e.g. "starter")

    @property
    def complete(self) -> bool:
        return self.state == "uploaded"

    @classmethod
    def from_json(cls, data: Any) -> RemoteAsset:
        value = _object(data, "a release asset")
        digest = value.get("digest")
        return cls(
            id=_need(value, "id", int, "a release asset"),
            name=_need(value, "name", str, "a release asset"),
            size=_need(value, "size", int, "a release asset"),
            sha256=sha256_of(digest if isinstance(digest, str) else None),
            state=str(value.get("state") or "uploaded"),
        )


@dataclass(frozen=True)
class RemoteRelease:
    """A release, as the API describes it."""

    id: int
    tag_name: str
    draft: bool
    prerelease: bool
    html_url: str
    upload_url: str
    immutable: bool = False

    @classmethod
    def from_json(cls, data: Any) -> RemoteRelease:
        value = _object(data, "a release")
        return cls(
            id=_need(value, "id", int, "a release"),
            tag_name=_need(value, "tag_name", str, "a release"),
            draft=bool(value.get("draft")),
            prerelease=bool(value.get("prerelease")),
            html_url=str(value.get("html_url") or ""),
            upload_url=_need(value, "upload_url", str, "a release"),
            immutable=bool(value.get("immutable")),
        )


@dataclass(frozen=True)
class RepositoryInfo:
    """The repository: its name as GitHub spells it, and whether the token may push (None: not said)."""

    full_name: str
    can_push: bool | None

    @classmethod
    def from_json(cls, data: Any) -> RepositoryInfo:
        value = _object(data, "the repository")
        permissions = value.get("permissions")
        push = permissions.get("push") if isinstance(permissions, Mapping) else None
        return cls(full_name=_need(value, "full_name", str, "the repository"), can_push=push)


def upload_target(upload_url: str, name: str) -> str:
    """The URL to POST an asset to: `upload_url` as returned, its {?name,label} template replaced by ?name= (pure)."""
    base = _UPLOAD_TEMPLATE.sub("", upload_url.strip())
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'name': name}, quote_via=quote)}"


# --- explaining failures ------------------------------------------------------------------------


def path_of(url: str) -> str:
    """The path of `url`, without host, query or fragment: what error messages show (pure)."""
    try:
        return urlsplit(url).path or "/"
    except ValueError:  # a malformed URL: say nothing of it (it may hold anything)
        return "(a malformed URL)"


def reply_details(body: Any) -> tuple[str, list[str]]:
    """GitHub's `message` and each `errors[]` entry as `code=... field=... resource=...` (pure)."""
    if not isinstance(body, Mapping):
        return "", []
    message = str(body.get("message") or "")[:_MESSAGE_LIMIT]
    details = []
    for item in body.get("errors") or []:
        if isinstance(item, Mapping):
            parts = [f"{key}={item[key]}" for key in ("code", "field", "resource") if item.get(key) is not None]
            if item.get("message"):
                parts.append(str(item["message"])[:_MESSAGE_LIMIT])
            details.append(" ".join(parts))
        elif isinstance(item, str):
            details.append(item[:_MESSAGE_LIMIT])
    return message, details


def has_error_code(body: Any, code: str) -> bool:
    """Does GitHub's error reply list an error with this `code` (e.g. already_exists)?"""
    _, details = reply_details(body)
    return any(detail.split(" ")[0] == f"code={code}" for detail in details)


@dataclass(frozen=True)
class Call:
    """One request, described for sending and for explaining its failure."""

    method: str
    url: str
    what: str  # what it is about, for people: "release v1.2.3", "asset x.tar.gz"
    json: Mapping[str, Any] | None = None
    params: Mapping[str, str | int] | None = None
    expected: tuple[int, ...] = (200,)
    missing_ok: bool = False  # a 404 is an answer (nothing there), not an error
    creates: bool = False  # not safe to send twice: retried only through `recover`
    timeout: tuple[float, float] = API_TIMEOUT

    @property
    def label(self) -> str:
        return f"{self.method} {path_of(self.url)}"


def explain_status(
    call: Call, status: int, reason: str, headers: Mapping[str, str], body: Any, settings: Settings
) -> GitHubError:
    """The error for a final (not retried, or retried in vain) HTTP status, written for people (pure).

    The token's value never appears: only the name of the variable it came from.
    """
    message, details = reply_details(body)
    said = f": {message}" if message else ""
    listed = "".join(f"\n  {detail}" for detail in details)
    where = f"{call.label} ({f'{status} {reason}'.strip()})"
    changes_release = call.method in ("POST", "PATCH") and "/releases" in path_of(call.url)
    if status == 401:
        return GitHubError(
            f"GitHub rejected the token in {settings.token_variable} for {settings.repository}: {where}{said}",
            hint=f"{settings.token_variable} is wrong, expired or revoked: make a new token and set it",
        )
    if status in (403, 429) and retry.is_rate_limited(status, headers, message):
        reset = retry.rate_limit_reset(headers)
        when = f"; the limit resets at {retry.reset_text(reset)}" if reset is not None else ""
        return GitHubError(
            f"GitHub's rate limit stopped {where}{said}{when}",
            hint="wait and " + _RERUN_HINT.removeprefix("run ") + "; a token of a GitHub App has a higher limit",
        )
    if status == 403:
        return GitHubError(
            f"GitHub refused {call.what} in {settings.repository}: {where}{said}",
            hint=_PERMISSION_HINT + (_WORKFLOW_FILES_NOTE if changes_release else ""),
        )
    if status == 404:
        return GitHubError(
            f"{call.what} not found in {settings.repository}: {where}{said}",
            hint=f"check that {settings.repository} exists and that the token in {settings.token_variable} can see "
            "it: GitHub answers 404, not 403, to a token without access to a private repository"
            + (_WORKFLOW_FILES_NOTE if changes_release else ""),
        )
    if status == 422:
        return GitHubError(
            f"GitHub found {call.what} invalid: {where}{said}{listed}",
            hint="the errors above name the field GitHub refused",
        )
    if 300 <= status < 400:
        return GitHubError(
            f"GitHub answered {where} with a redirect: {settings.repository} was renamed or moved",
            hint="set GITHUB_REPOSITORY to the repository's new owner/name (or the crate's repository URL)",
        )
    if status >= 500:
        return GitHubError(f"GitHub failed on {where}{said}", hint=_RERUN_HINT)
    return GitHubError(f"GitHub did not accept {where}{said}{listed}", hint=_RERUN_HINT)


def describe_failure(error: requests.RequestException, call: Call) -> str:
    """What went wrong with a request that got no answer, in our words (requests' text can hold URLs)."""
    connect, read = call.timeout
    kinds: tuple[tuple[type[requests.RequestException], str], ...] = (
        (requests.exceptions.ConnectTimeout, f"could not connect within {connect:g} s"),
        (requests.exceptions.ReadTimeout, f"no answer within {read:g} s"),
        (requests.exceptions.SSLError, "the TLS handshake failed (check the certificate and the proxy)"),
        (requests.exceptions.ProxyError, "the proxy refused the connection"),
        (requests.exceptions.ConnectionError, "the connection failed or was reset"),
        (requests.exceptions.ChunkedEncodingError, "the answer was cut off"),
    )
    for kind, text in kinds:
        if isinstance(error, kind):
            return text
    return f"the request failed ({type(error).__name__})"


# --- the client -------------------------------------------------------------------------------

# requests' errors that say the request itself is malformed (a bad URL or header): mistakes in the
# configuration, final at once (a retry sends the same mistake again).
CONFIGURATION_ERRORS: tuple[type[requests.RequestException], ...] = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
)


class BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header; its repr shows no token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class UploadBody(Protocol):
    """A file's bytes for one upload attempt: read in chunks by requests, then closed."""

    def read(self, amount: int = -1) -> bytes: ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


class Stopped(Exception):
    """Raised in a worker thread when the run is being stopped (Ctrl-C, SIGTERM): ends waits and uploads."""


@dataclass(frozen=True)
class Outcome:
    """How a call ended: GitHub's reply, or what `recover` found the lost request had made, or nothing (404)."""

    response: requests.Response | None = None
    recovered: Any = None


T = TypeVar("T")

# recover(uncertain) -> what an earlier attempt made (a RemoteRelease, a RemoteAsset), or None: nothing
# there, safe to send again. uncertain: an earlier attempt of this call may have reached GitHub.
Recover = Callable[[bool], Any]


class _LiveConnections:
    """The connections requests is using at this moment (held weakly), so that a stop can cut them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[BaseHTTPConnection] = weakref.WeakSet()

    def add(self, connection: BaseHTTPConnection) -> None:
        with self._lock:
            self._connections.add(connection)

    def discard(self, connection: BaseHTTPConnection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def cut(self) -> None:
        """Shut every socket in use: a thread blocked reading or writing on one gets an error at once."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if isinstance(sock, socket.socket):
                # socket.socket's own shutdown, also for a TLS socket: it only wakes the blocked thread.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TrackedPool(HTTPConnectionPool):
    """A connection pool that tells `live` which connections are lent out to a request."""

    live: _LiveConnections | None = None

    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        connection = super()._get_conn(timeout)
        if self.live is not None:
            self.live.add(connection)
        return connection

    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        if conn is not None and self.live is not None:
            self.live.discard(conn)
        super()._put_conn(conn)


class _TrackedHTTPSPool(_TrackedPool, HTTPSConnectionPool):
    """The same, for https."""


class _TrackingPoolManager(PoolManager):
    """urllib3's PoolManager, making tracked pools (its _new_pool is the documented place to customise them)."""

    def __init__(self, live: _LiveConnections, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.live = live
        self.pool_classes_by_scheme = {"http": _TrackedPool, "https": _TrackedHTTPSPool}

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        if isinstance(pool, _TrackedPool):
            pool.live = self.live
        return pool


class StoppableAdapter(HTTPAdapter):
    """requests' adapter whose close() also cuts the connections in use, so a read blocked on a silent
    server ends at once instead of at its timeout (up to minutes for an upload). Through a proxy,
    connections are not tracked and a blocked read ends at its timeout, as before.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.live = _LiveConnections()  # before HTTPAdapter's __init__, which makes the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _TrackingPoolManager(
            self.live, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def close(self) -> None:
        self.live.cut()
        super().close()  # type: ignore[no-untyped-call]  # requests' stubs leave it untyped


def make_session(pool_size: int = 10) -> requests.Session:
    """A Session with GitHub's headers and a connection pool large enough for the parallel uploads."""
    session = requests.Session()
    session.headers.update({"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": API_VERSION, "User-Agent": USER_AGENT})
    adapter = StoppableAdapter(pool_connections=4, pool_maxsize=max(10, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class GitHub:
    """The calls a release needs, each retried by the policy in retry.py."""

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        policy: retry.Policy | None = None,
        clock: retry.Clock | None = None,
        pool_size: int = 10,
    ) -> None:
        self.settings = settings
        self.session = session or make_session(pool_size)
        # Set on the session even when the caller made it, so every request (tests' included) carries auth.
        self.session.auth = BearerAuth(settings.token)
        self.session.headers.update(
            {"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": API_VERSION, "User-Agent": USER_AGENT}
        )
        self.policy = policy or retry.Policy()
        self.clock = clock or retry.Clock()
        self.stop = threading.Event()  # set when the run is being stopped: waits and uploads end at once
        self._origin = urlsplit(settings.api_url)[:2]

    def close(self) -> None:
        self.session.close()

    def abort(self) -> None:
        """Stop every request at once (Ctrl-C, SIGTERM), from any thread: waits end, and closing the session
        cuts its connections in use (StoppableAdapter), so a worker blocked in a read fails now, not at its
        timeout. The session stays usable for the requests that follow a stop, if any."""
        self.stop.set()
        self.session.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -----------------------------------------------------------------------------

    def mask(self, text: str) -> str:
        """`text` with the token masked: the last line of defence for every message this client makes."""
        return proc.mask(text, [self.settings.token])

    def url(self, path: str) -> str:
        return f"{self.settings.api_url}{path}"

    def _pause(self, seconds: float) -> None:
        if self.clock.sleep is not None:
            self.clock.sleep(seconds)
        else:
            self.stop.wait(seconds)
        if self.stop.is_set():
            raise Stopped

    def _attempt(
        self, call: Call, body: Callable[[], UploadBody] | None
    ) -> tuple[requests.Response | None, str | None]:
        """Send once: (the reply, None) or (None, what went wrong in our words)."""
        if self.stop.is_set():
            raise Stopped
        data: UploadBody | bytes | None = None
        headers: dict[str, str] = {}
        stream = body() if body is not None else None
        if stream is not None:
            # Content-Length set by us, and a body with __len__: requests sends it plainly, never chunked.
            data = stream if len(stream) else b""
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(stream))}
        try:
            response = self.session.request(
                call.method,
                call.url,
                params=call.params,
                json=call.json,
                data=data,
                headers=headers,
                timeout=call.timeout,
                # Only reads follow redirects: a redirected POST would be re-sent as a GET, an upload lost.
                allow_redirects=call.method == "GET",
            )
        except CONFIGURATION_ERRORS as error:
            # Not the network: no retry can help. requests' text is not shown (it carries the URL or the header).
            raise GitHubError(
                self.mask(f"{call.label}: the request cannot be made ({type(error).__name__})"),
                hint=f"check GITHUB_API_URL (the REST API's root, e.g. {DEFAULT_API_URL}) and that "
                f"{self.settings.token_variable} holds the token alone, on one line",
            ) from None
        except requests.RequestException as error:
            if self.stop.is_set():
                raise Stopped from None  # the stop cut the connection (abort): not a failure to retry
            return None, describe_failure(error, call)
        finally:
            if stream is not None:
                stream.close()
        return response, None

    def _fail(self, call: Call, response: requests.Response) -> GitHubError:
        error = explain_status(
            call, response.status_code, response.reason or "", response.headers, json_or_none(response), self.settings
        )
        return GitHubError(self.mask(error.message), hint=self.mask(error.hint or "") or None)

    def send(
        self, call: Call, *, body: Callable[[], UploadBody] | None = None, recover: Recover | None = None
    ) -> Outcome:
        """Send `call` until it succeeds, fails for good, or the retry budget is spent.

        A call that `creates` is sent again only after `recover` has looked and found nothing; without
        `recover` its unknown outcome is an error (never a blind second request).
        """
        attempts = retry.Attempts(self.policy, self.clock)
        uncertain = False
        while True:
            if attempts.tries and recover is not None:
                found = recover(uncertain)
                if found is not None:
                    return Outcome(recovered=found)
            response, failure = self._attempt(call, body)
            status = response.status_code if response is not None else None
            if response is not None:
                if status in call.expected:
                    return Outcome(response=response)
                if status == 404 and call.missing_ok:
                    return Outcome()
            headers: Mapping[str, str] = response.headers if response is not None else {}
            reply = json_or_none(response) if response is not None else None
            message, _ = reply_details(reply)
            # GitHub says the asset or release exists: perhaps our own earlier, lost, attempt made it.
            exists = recover is not None and status == 422 and has_error_code(reply, "already_exists")
            if call.creates and recover is None and retry.is_transient(status, headers, message):
                raise GitHubError(
                    self.mask(f"{call.label}: {failure or f'answered {status}'}; GitHub may or may not have made "
                              f"{call.what}, so it is not sent again blindly"),
                    hint=_RERUN_HINT,
                )  # fmt: skip
            step = attempts.after_failure(status=status, headers=headers, message=message, force=exists)
            problem = failure or f"answered {status} {response.reason if response is not None else ''}".rstrip()
            if step is None:
                assert response is not None  # a failure without an answer is always transient
                raise self._fail(call, response)
            if isinstance(step, retry.GiveUp):
                if response is not None and not exists:
                    error = self._fail(call, response)
                    raise GitHubError(f"{error.message}\n  gave up: {step.reason}", hint=error.hint)
                raise GitHubError(self.mask(f"{call.label}: {problem}; gave up: {step.reason}"), hint=_RERUN_HINT)
            # A 422 already_exists alone is not uncertain: it may be someone else's (see releases.recovery_for).
            uncertain = uncertain or status is None or status >= 500
            ui.warn(self.mask(f"{call.label}: {problem}; trying again in {step.seconds:.1f} s ({step.cause})"))
            self._pause(step.seconds)

    def _json(self, call: Call) -> Any:
        outcome = self.send(call)
        if outcome.response is None:
            return None
        return _reply_json(outcome.response, call, self.mask)

    def _pages(self, call: Call) -> Iterator[Any]:
        """Every item of a paginated list, following the Link header's `next`, which must stay on the API's origin."""
        seen: set[str] = set()
        current: Call | None = Call(call.method, call.url, call.what, params={"per_page": PER_PAGE})
        while current is not None:
            if len(seen) >= MAX_PAGES or current.url in seen:
                raise GitHubError(self.mask(f"{call.label}: GitHub's page links go round in circles"), hint=_RERUN_HINT)
            seen.add(current.url)
            response = self.send(current).response
            assert response is not None
            items = _reply_json(response, current, self.mask)
            if not isinstance(items, list):
                raise GitHubError(f"GitHub's reply to {current.label} is not a list", hint=_RERUN_HINT)
            yield from items
            following = response.links.get("next", {}).get("url")
            if following and urlsplit(following)[:2] != self._origin:
                raise GitHubError(
                    self.mask(f"{call.label}: GitHub's next page is on another server ({path_of(following)})"),
                    hint="check GITHUB_API_URL",
                )
            # The `next` link carries per_page and page itself.
            current = Call(call.method, following, call.what) if following else None

    # --- the endpoints ---------------------------------------------------------------------------

    def repository(self) -> RepositoryInfo:
        """GET /repos/{owner}/{repo}: is it there, and does the token reach it?"""
        path = self.settings.repo_path
        return RepositoryInfo.from_json(
            self._json(Call("GET", self.url(path), f"repository {self.settings.repository}"))
        )

    def tag_commit(self, tag: str) -> str | None:
        """The commit `tag` points at on GitHub (an annotated tag dereferenced); None when there is no such tag."""
        what = f"tag {tag}"
        ref = self._json(
            Call(
                "GET", self.url(f"{self.settings.repo_path}/git/ref/tags/{quote(tag, safe='')}"), what, missing_ok=True
            )
        )
        if ref is None:
            return None
        target = _object(_object(ref, what).get("object"), what)
        for _ in range(8):  # a tag of a tag of ... a commit; git allows chains, GitHub's API shows one step at a time
            kind, sha = _need(target, "type", str, what), _need(target, "sha", str, what)
            if kind == "commit":
                return str(sha).lower()
            if kind != "tag":
                raise PublishError(
                    f"tag {tag} on GitHub points at a {kind}, not a commit",
                    hint="tag the release commit: git tag -a <tag> <commit>",
                )
            tag_object = self._json(Call("GET", self.url(f"{self.settings.repo_path}/git/tags/{sha}"), what))
            target = _object(_object(tag_object, what).get("object"), what)
        raise PublishError(f"tag {tag} on GitHub is a chain of tags too long to follow", hint="tag the commit itself")

    def release_for_tag(self, tag: str) -> RemoteRelease | None:
        """The PUBLISHED release of `tag` (GitHub does not return drafts here); None when there is none."""
        call = Call(
            "GET", self.url(f"{self.settings.repo_path}/releases/tags/{quote(tag, safe='')}"), f"release {tag}",
            missing_ok=True,
        )  # fmt: skip
        data = self._json(call)
        return None if data is None else RemoteRelease.from_json(data)

    def release(self, release_id: int) -> RemoteRelease:
        """GET one release by id (drafts included, given push access)."""
        call = Call("GET", self.url(f"{self.settings.repo_path}/releases/{release_id}"), f"release {release_id}")
        return RemoteRelease.from_json(self._json(call))

    def releases(self) -> list[RemoteRelease]:
        """Every release, drafts included (only a token with push access sees drafts)."""
        call = Call("GET", self.url(f"{self.settings.repo_path}/releases"), "the releases")
        return [RemoteRelease.from_json(item) for item in self._pages(call)]

    def assets(self, release_id: int) -> list[RemoteAsset]:
        """Every asset of a release."""
        call = Call("GET", self.url(f"{self.settings.repo_path}/releases/{release_id}/assets"), "the release's assets")
        return [RemoteAsset.from_json(item) for item in self._pages(call)]

    def create_draft(
        self, *, tag: str, commit: str, name: str, body: str, prerelease: bool,
        recover: Callable[[bool], RemoteRelease | None],
    ) -> RemoteRelease:  # fmt: skip
        """POST a draft release; an attempt whose outcome is unknown is looked for (`recover`) before re-sending."""
        payload = {
            "tag_name": tag,
            "target_commitish": commit,
            "name": name,
            "body": body,
            "draft": True,
            "prerelease": prerelease,
        }
        call = Call(
            "POST", self.url(f"{self.settings.repo_path}/releases"), f"the draft release {tag}", json=payload,
            expected=(201,), creates=True,
        )  # fmt: skip
        return self._created(call, RemoteRelease.from_json, recover)[0]

    def update_release(
        self, release_id: int, fields: Mapping[str, Any], *, what: str, recover: Callable[[bool], RemoteRelease | None]
    ) -> RemoteRelease:
        """PATCH a release (publishing it); `recover` checks whether a lost attempt already did it."""
        call = Call(
            "PATCH", self.url(f"{self.settings.repo_path}/releases/{release_id}"), what, json=dict(fields),
            creates=True,
        )  # fmt: skip
        return self._created(call, RemoteRelease.from_json, recover)[0]

    def upload_asset(
        self,
        upload_url: str,
        *,
        name: str,
        body: Callable[[], UploadBody],
        recover: Callable[[bool], RemoteAsset | None],
    ) -> tuple[RemoteAsset, bool]:
        """POST a file to the release's upload URL: (the asset, whether `recover` found it rather than the reply)."""
        check_upload_url(upload_url)
        call = Call(
            "POST", upload_target(upload_url, name), f"asset {name}", expected=(201,), creates=True,
            timeout=UPLOAD_TIMEOUT,
        )  # fmt: skip
        return self._created(call, RemoteAsset.from_json, recover, body=body)

    def delete_asset(self, asset_id: int, name: str) -> None:
        """DELETE an asset; one that is gone already (a retry after a lost reply) is fine."""
        call = Call(
            "DELETE", self.url(f"{self.settings.repo_path}/releases/assets/{asset_id}"), f"asset {name}",
            expected=(204,), missing_ok=True,
        )  # fmt: skip
        self.send(call)

    def _created(
        self,
        call: Call,
        parse: Callable[[Any], T],
        recover: Callable[[bool], T | None],
        *,
        body: Callable[[], UploadBody] | None = None,
    ) -> tuple[T, bool]:
        """(what GitHub made, False) from its reply, or (what `recover` found a lost attempt made, True)."""
        outcome = self.send(call, body=body, recover=recover)
        if outcome.response is not None:
            return parse(_reply_json(outcome.response, call, self.mask)), False
        return cast(T, outcome.recovered), True


def json_or_none(response: requests.Response) -> Any:
    """The reply's JSON; None when it is not JSON (an error page)."""
    try:
        return response.json()
    except ValueError:  # requests' JSONDecodeError is a ValueError
        return None


def _reply_json(response: requests.Response, call: Call, mask: Callable[[str], str]) -> Any:
    try:
        return response.json()
    except ValueError:
        raise GitHubError(
            mask(f"GitHub's reply to {call.label} ({response.status_code}) is not JSON"),
            hint="check GITHUB_API_URL: it must be the REST API's root (for GitHub Enterprise, https://<host>/api/v3)",
        ) from None
