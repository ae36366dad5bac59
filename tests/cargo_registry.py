"""A local cargo registry: a sparse index and the publish API, served from memory on 127.0.0.1.

What cargo reads and sends, as its registry documentation describes them:

- GET <index>/config.json: {"dl": ..., "api": ...};
- GET <index>/<prefix>/<name>: one JSON line per published version (404: no such crate);
- PUT <api>/api/v1/crates/new with the token in `Authorization`: a little-endian u32 length and the
  package's JSON metadata, then a u32 length and the .crate file. The server stores the file, adds the
  version's index line (deps rewritten the way the index names them) and answers {"warnings": ...};
  a wrong token gets 403 (`echo_token`: quoting the token, as a careless registry might), a version
  that exists already 400, each with {"errors": [{"detail": ...}]};
- GET <dl>/<name>/<version>/download: the stored .crate.

Faults: `fail_next(kind, status)` makes the next request of that kind ("index", "publish") answer
`status` (0: drop the connection) without doing anything. Every request is kept in `requests`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import struct
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

INDEX_PATH = "/index/"
PUBLISH_PATH = "/api/v1/crates/new"
DOWNLOAD_PATH = "/api/v1/crates/"


def index_file(name: str) -> str:
    """The index path of a crate (cargo's prefix rule), relative to the index root."""
    lower = name.lower()
    if len(lower) <= 2:
        return f"{len(lower)}/{lower}"
    if len(lower) == 3:
        return f"3/{lower[0]}/{lower}"
    return f"{lower[:2]}/{lower[2:4]}/{lower}"


def index_dependency(dep: dict[str, Any]) -> dict[str, Any]:
    """A dependency of the publish metadata as the index writes it (`req`, and `package` for a renamed one)."""
    entry = {
        "name": dep.get("explicit_name_in_toml") or dep["name"],
        "req": dep["version_req"],
        "features": dep.get("features", []),
        "optional": dep.get("optional", False),
        "default_features": dep.get("default_features", True),
        "target": dep.get("target"),
        "kind": dep.get("kind", "normal"),
        "registry": dep.get("registry"),
    }
    if dep.get("explicit_name_in_toml"):
        entry["package"] = dep["name"]
    return entry


def split_publish_body(body: bytes) -> tuple[dict[str, Any], bytes]:
    """(metadata, .crate bytes) of a publish request; ValueError when the framing is wrong."""
    if len(body) < 4:
        raise ValueError("the body is shorter than its first length")
    (json_length,) = struct.unpack_from("<I", body, 0)
    metadata = json.loads(body[4 : 4 + json_length])
    offset = 4 + json_length
    (crate_length,) = struct.unpack_from("<I", body, offset)
    crate = body[offset + 4 : offset + 4 + crate_length]
    if len(crate) != crate_length or offset + 4 + crate_length != len(body):
        raise ValueError("the .crate's length does not match the body")
    return metadata, crate


@dataclass
class Request:
    method: str
    path: str
    status: int | None  # None: dropped
    authorization: str | None


@dataclass
class Published:
    metadata: dict[str, Any]
    crate: bytes


@dataclass
class CargoRegistry:
    """The server; use it as a context manager. `token` is the one token the publish API accepts."""

    token: str
    auth_required: bool = False  # config.json's auth-required: index reads need the token too
    echo_token: bool = False  # a careless registry: its 403 repeats the token it was sent
    requests: list[Request] = field(default_factory=list)
    index: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    crates: dict[tuple[str, str], Published] = field(default_factory=dict)
    faults: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.registry = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.index_url = f"sparse+{self.url}{INDEX_PATH}"
        self._thread = threading.Thread(
            target=functools.partial(self._server.serve_forever, poll_interval=0.02), name="cargo-registry", daemon=True
        )

    def __enter__(self) -> CargoRegistry:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def fail_next(self, kind: str, status: int, times: int = 1) -> None:
        """The next `times` requests of `kind` ("index" or "publish") answer `status` (0: dropped)."""
        self.faults[kind].extend([status] * times)

    def add_version(self, name: str, version: str, cksum: str = "0" * 64) -> None:
        """An index line for a version published elsewhere (no .crate stored)."""
        with self._lock:
            self.index[name.lower()].append(
                {"name": name, "vers": version, "deps": [], "cksum": cksum, "features": {}, "yanked": False}
            )

    def calls(self, method: str, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    # --- serving ---

    def serve(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        authorization = headers.get("Authorization")
        reply = self._serve(method, path, authorization, body)
        with self._lock:
            self.requests.append(Request(method, path, None if reply is None else reply[0], authorization))
        return reply

    def _fault(self, kind: str) -> int | None:
        with self._lock:
            return self.faults[kind].pop(0) if self.faults[kind] else None

    def _authorized(self, authorization: str | None) -> bool:
        return hmac.compare_digest((authorization or "").encode(), self.token.encode())

    def _serve(
        self, method: str, path: str, authorization: str | None, body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        if path.startswith(INDEX_PATH) and method in ("GET", "HEAD"):
            fault = self._fault("index")
            if fault is not None:
                return None if fault == 0 else _text(fault, "index fault")
            if self.auth_required and not self._authorized(authorization):
                return _text(401, "the index needs a token")
            return self._index(path.removeprefix(INDEX_PATH))
        if path == PUBLISH_PATH and method == "PUT":
            fault = self._fault("publish")
            if fault is not None:
                return None if fault == 0 else _errors(fault, "the registry failed")
            if not self._authorized(authorization):
                said = f" ({authorization})" if self.echo_token else ""
                return _errors(403, f"this token may not publish{said}")
            return self._publish(body)
        if path.startswith(DOWNLOAD_PATH) and path.endswith("/download") and method == "GET":
            _, _, rest = path.partition(DOWNLOAD_PATH)
            name, version, _ = rest.split("/", 2)
            found = self.crates.get((name.lower(), version))
            if found is None:
                return _text(404, "no such crate")
            return 200, {"Content-Type": "application/octet-stream"}, found.crate
        return _text(404, "not found")

    def _index(self, relative: str) -> tuple[int, dict[str, str], bytes]:
        if relative == "config.json":
            config = {
                "dl": f"{self.url}{DOWNLOAD_PATH.rstrip('/')}",
                "api": self.url,
                "auth-required": self.auth_required,
            }
            return 200, {"Content-Type": "application/json"}, json.dumps(config).encode()
        name = relative.rsplit("/", 1)[-1]
        with self._lock:
            lines = list(self.index.get(name, ()))
        if not lines or index_file(name) != relative:
            return _text(404, "no such crate")
        text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        return 200, {"Content-Type": "text/plain"}, text.encode()

    def _publish(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            metadata, crate = split_publish_body(body)
        except (ValueError, struct.error, json.JSONDecodeError) as error:
            return _errors(400, f"malformed publish request: {error}")
        name, version = str(metadata["name"]), str(metadata["vers"])
        with self._lock:
            if any(line["vers"] == version for line in self.index.get(name.lower(), ())):
                return _errors(400, f"crate version `{name}@{version}` is already uploaded")
            self.crates[(name.lower(), version)] = Published(metadata, crate)
            self.index[name.lower()].append(
                {
                    "name": name,
                    "vers": version,
                    "deps": [index_dependency(dep) for dep in metadata.get("deps", [])],
                    "cksum": hashlib.sha256(crate).hexdigest(),
                    "features": metadata.get("features", {}),
                    "yanked": False,
                    "links": metadata.get("links"),
                    "rust_version": metadata.get("rust_version"),
                }
            )
        warnings = {"invalid_categories": [], "invalid_badges": [], "other": []}
        return 200, {"Content-Type": "application/json"}, json.dumps({"warnings": warnings}).encode()


def _text(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain"}, message.encode()


def _errors(status: int, detail: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"errors": [{"detail": detail}]}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    registry: CargoRegistry


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.registry.serve(self.command, self.path.split("?", 1)[0], self.headers, body)
        if reply is None:
            self.close_connection = True
            return
        status, headers, payload = reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_PUT = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `requests` instead."""
