"""FakeGitHub: a local GitHub REST server that judges every request by GitHub's description.

Each request goes through the same steps, in this order:
  1. the description finds its operation and checks its parameters and body (a violation answers 400),
  2. the token is checked (401 in GitHub's words),
  3. the fault schedule picks the outcome (see faults.py), and the operation's handler runs unless a fault
     prevents it,
  4. the reply is checked against the operation's documented responses (a violation answers 400 too:
     the fake must stay as honest as the client).
Every violation is kept in `violations`, every request in `requests`.

`state` is the first repository; a test adds others with add_repo and add_fork (a fork shares its
parent's git objects, as a fork network does), and each request acts on the repository it names.
"""

from __future__ import annotations

import functools
import hmac
import json
import secrets
import threading
import traceback
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.github_fake.faults import OK, Faults, apply
from tests.github_fake.handlers import HANDLERS, Call
from tests.github_fake.openapi import Description, Violation
from tests.github_fake.replies import Reply, error
from tests.github_fake.state import RepoState

AUTH_SCHEMES = ("bearer", "token")  # GitHub takes both "Authorization: Bearer <t>" and "token <t>"


@dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str  # with the query
    operation_id: str | None  # None: no documented operation matched
    outcome: str  # "ok", a fault kind, "violation" or "unauthorized"
    status: int | None  # None: the connection was dropped without a reply
    sent: int  # bytes of the request body


class FakeGitHub:
    """The server; use it as a context manager: `with FakeGitHub(description) as gh: ...`."""

    def __init__(
        self,
        description: Description,
        *,
        owner: str = "acme",
        repo: str = "tool",
        login: str = "release-bot",
        faults: Faults | None = None,
    ) -> None:
        self.description = description
        self.state = RepoState(owner=owner, name=repo)
        self.repos: list[RepoState] = [self.state]
        self.login = login
        self.token = "ghs_fake" + secrets.token_hex(16)
        self.faults = faults or Faults()
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        # A short poll keeps shutdown (at the end of every test) quick.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="fake-github", daemon=True)
        port = self._server.server_address[1]
        self.api_url = f"http://127.0.0.1:{port}"
        self.uploads_url = f"{self.api_url}/uploads"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- repositories ---

    def add_repo(self, owner: str, name: str, **fields: Any) -> RepoState:
        """Another repository (`fields`: RepoState's members, e.g. default_branch)."""
        state = RepoState(owner=owner, name=name, **fields)
        self.repos.append(state)
        return state

    def add_fork(self, parent: RepoState, owner: str, name: str | None = None) -> RepoState:
        """A fork of `parent` owned by `owner`, with `parent`'s branches as they are now."""
        state = parent.fork(owner, name)
        self.repos.append(state)
        return state

    def repo(self, full_name: str) -> RepoState:
        owner, _, name = full_name.partition("/")
        return next(state for state in self.repos if state.is_repo(owner, name))

    def _repo_for(self, params: dict[str, str]) -> RepoState:
        """The repository a request names; the first one when it names none that exists (the handler says 404)."""
        owner, name = params.get("owner", ""), params.get("repo", "")
        return next((state for state in self.repos if state.is_repo(owner, name)), self.state)

    # --- for assertions ---

    def calls(self, operation_id: str) -> list[Request]:
        return [request for request in self.requests if request.operation_id == operation_id]

    def take_violations(self) -> list[str]:
        """The violations so far, forgotten: a test that provokes some takes them to assert on them."""
        with self._lock:
            taken, self.violations = self.violations, []
        return taken

    def assert_no_violations(self) -> None:
        assert not self.violations, "requests or replies GitHub's description does not allow:\n" + "\n".join(
            self.violations
        )

    # --- serving ---

    def serve(self, method: str, target: str, headers: Message, body: bytes) -> Reply | None:
        """The reply to one request (None: drop the connection), recorded in `requests`."""
        record = Request(method, target, None, OK, None, len(body))
        reply = self._serve(record, headers, body)
        record.status = None if reply is None else reply.status
        with self._lock:
            self.requests.append(record)
        return reply

    def _serve(self, record: Request, headers: Message, body: bytes) -> Reply | None:
        split = urlsplit(record.path)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            op, params = self.description.match(record.method, split.path)
            record.operation_id = op.operation_id
            self.description.check_params(op, params, query)
            if body and headers.get("Content-Length") is None:
                raise Violation(f"{op.operation_id}: a body needs a Content-Length header (not chunked)")
            data = self.description.check_body(op, headers.get("Content-Type", ""), body)
            if op.operation_id not in HANDLERS:
                raise Violation(f"{op.operation_id} is documented but the fake does not implement it")
        except Violation as violation:
            return self._violation(record, str(violation))
        if not self._authorized(headers.get("Authorization")):
            record.outcome = "unauthorized"
            message = "Bad credentials" if headers.get("Authorization") else "Requires authentication"
            refusal = error(401, message)
            self.description.check_reply(op, refusal.status, refusal.body)
            return refusal
        call = Call(
            state=self._repo_for(params),
            description=self.description,
            api_url=self.api_url,
            uploads_url=self.uploads_url,
            login=self.login,
            path=split.path,
            params=params,
            query={name: values[0] for name, values in query.items()},
            body=data,
            raw=body,
            content_type=headers.get("Content-Type", ""),
            repos=tuple(self.repos),
        )
        record.outcome = self.faults.next_outcome(op.operation_id)
        with self._lock:
            try:
                reply = apply(record.outcome, op.operation_id, call, self.faults)
                if reply is not None:
                    self.description.check_reply(op, reply.status, reply.body)
            except Violation as violation:
                return self._violation(record, str(violation), locked=True)
            except Exception:  # a bug in the fake: show it to the test instead of hanging the client
                return self._violation(record, "the fake failed:\n" + traceback.format_exc(), locked=True)
        return reply

    def _violation(self, record: Request, message: str, *, locked: bool = False) -> Reply:
        record.outcome = "violation"
        if locked:
            self.violations.append(message)
        else:
            with self._lock:
                self.violations.append(message)
        return error(400, f"fake GitHub: {message}")

    def _authorized(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() in AUTH_SCHEMES and hmac.compare_digest(token.strip().encode(), self.token.encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGitHub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients use GitHub; every reply carries Content-Length
    # Headers and body go out in two writes; with Nagle on, each kept-alive reply would wait 40 ms for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.fake.serve(self.command, self.path, self.headers, body)
        if reply is None:
            # The server read the request and goes away without a word.
            self.close_connection = True
            return
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `requests` instead."""


def _read_chunked(stream: BufferedIOBase) -> bytes:
    body = b""
    while size := int(stream.readline().split(b";", 1)[0].strip() or b"0", 16):
        body += stream.read(size)
        stream.readline()
    while stream.readline().strip():  # trailers, up to the blank line
        pass
    return body
