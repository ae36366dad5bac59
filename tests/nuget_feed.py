"""A local NuGet v2 feed: the push endpoint and the OData entry of a package, served from memory on 127.0.0.1.

What it checks in a push, as NuGet's push protocol describes it:
PUT <feed>/api/v2/package (a trailing slash allowed), the API key in X-NuGet-ApiKey,
`Content-Type: multipart/form-data; boundary=...`, and a body whose first part is the
.nupkg's raw bytes. Beyond the protocol, the fake is strict: exactly one part, holding a zip
with exactly one .nuspec at its top whose <id> and <version> are read. A request that breaks a
rule is answered 400 and kept in `violations`, so a test can assert there are none.

Answers: 201 stored; 409 when that id and version are there already (whatever the bytes,
as nuget.org does: a version cannot be replaced); 401 for a missing or wrong key.

GET <feed>/api/v2/Packages(Id='<id>',Version='<version>') answers the package's Atom entry with
PackageHash (base64 SHA-512 of the .nupkg) and PackageHashAlgorithm, or 404.

Faults: `fail_next(kind, outcome)` for kind "push" or "entry": a status (500, 503 ...) answered
without doing anything, "drop" (the connection closes, nothing done) or, for a push, "lost"
(the package is stored and the connection closes before the reply).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import functools
import hashlib
import hmac
import io
import re
import threading
import xml.etree.ElementTree as ElementTree
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

PUSH_PATHS = ("/api/v2/package", "/api/v2/package/")
ENTRY = re.compile(r"^/api/v2/Packages\(Id='(?P<id>[^']*)',Version='(?P<version>[^']*)'\)$")

ATOM = "http://www.w3.org/2005/Atom"
DATA = "http://schemas.microsoft.com/ado/2007/08/dataservices"
METADATA = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


@dataclass
class Request:
    method: str
    path: str
    status: int | None  # None: the connection was dropped
    api_key: str | None


@dataclass
class Stored:
    id: str
    version: str
    data: bytes

    @property
    def hash(self) -> str:
        return base64.b64encode(hashlib.sha512(self.data).digest()).decode()


class Violation(Exception):
    """A push that breaks the protocol (or the fake's stricter reading of it)."""


def nuspec_identity(package: bytes) -> tuple[str, str]:
    """(id, version) from the .nuspec at the top of a .nupkg; Violation when it is not one."""
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            nuspecs = [name for name in archive.namelist() if name.endswith(".nuspec") and "/" not in name]
            if len(nuspecs) != 1:
                raise Violation(f"the package holds {len(nuspecs)} .nuspec files at its top, not one")
            root = ElementTree.fromstring(archive.read(nuspecs[0]))
    except zipfile.BadZipFile as error:
        raise Violation(f"the file part is not a zip: {error}") from None
    fields = {
        child.tag.rpartition("}")[2]: (child.text or "").strip()
        for metadata in root
        if metadata.tag.rpartition("}")[2] == "metadata"
        for child in metadata
    }
    if not fields.get("id") or not fields.get("version"):
        raise Violation("the .nuspec has no <id> or <version>")
    return fields["id"], fields["version"]


def multipart_parts(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/form-data body as (headers, bytes), parsed by the email package."""
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        raise Violation(f"Content-Type {content_type!r} is not multipart/form-data with a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise Violation(f"the body is not a well-formed multipart message: {message.defects}")
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        parts.append(({k.lower(): str(v) for k, v in part.items()}, payload if isinstance(payload, bytes) else b""))
    return parts


def entry_xml(stored: Stored, base: str) -> bytes:
    """The package's OData (Atom) entry, with the hash a client compares."""
    location = f"{base}/api/v2/Packages(Id='{stored.id}',Version='{stored.version}')"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<entry xml:base="{escape(base)}/api/v2/" xmlns="{ATOM}" xmlns:d="{DATA}" xmlns:m="{METADATA}">'
        f'<id>{escape(location)}</id><title type="text">{escape(stored.id)}</title>'
        f'<content type="application/zip" src="{escape(base)}/api/v2/package/{escape(stored.id)}/'
        f'{escape(stored.version)}" />'
        "<m:properties>"
        f"<d:Version>{escape(stored.version)}</d:Version>"
        f"<d:PackageHash>{stored.hash}</d:PackageHash>"
        "<d:PackageHashAlgorithm>SHA512</d:PackageHashAlgorithm>"
        f'<d:PackageSize m:type="Edm.Int64">{len(stored.data)}</d:PackageSize>'
        "</m:properties></entry>"
    ).encode()


@dataclass
class NuGetFeed:
    """The server; use it as a context manager. `api_key` is the one key pushes may carry."""

    api_key: str
    requests: list[Request] = field(default_factory=list)
    packages: dict[tuple[str, str], Stored] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    faults: dict[str, list[int | str]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.feed = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=functools.partial(self._server.serve_forever, poll_interval=0.02), name="nuget-feed", daemon=True
        )

    def __enter__(self) -> NuGetFeed:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def fail_next(self, kind: str, outcome: int | str, times: int = 1) -> None:
        """The next `times` requests of `kind` ("push", "entry") end in `outcome` (a status, "drop", "lost")."""
        self.faults[kind].extend([outcome] * times)

    def store(self, package: bytes) -> Stored:
        """Put a package on the feed directly, as if pushed earlier."""
        identity = nuspec_identity(package)
        stored = Stored(identity[0], identity[1], package)
        self.packages[(identity[0].lower(), identity[1])] = stored
        return stored

    def pushes(self) -> list[Request]:
        return [r for r in self.requests if r.method == "PUT"]

    # --- serving ---

    def serve(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, str, bytes] | None:
        key = headers.get("X-NuGet-ApiKey")
        reply = self._serve(method, path, headers, body)
        with self._lock:
            self.requests.append(Request(method, path, None if reply is None else reply[0], key))
        return reply

    def _fault(self, kind: str) -> int | str | None:
        with self._lock:
            return self.faults[kind].pop(0) if self.faults[kind] else None

    def _serve(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, str, bytes] | None:
        if path in PUSH_PATHS:
            if method != "PUT":
                return _text(405, "push with PUT")
            fault = self._fault("push")
            if fault in ("drop",):
                return None
            if isinstance(fault, int):
                return _text(fault, "the feed failed")
            key = headers.get("X-NuGet-ApiKey") or ""
            if not hmac.compare_digest(key.encode(), self.api_key.encode()):
                return _text(401, "The specified API key is invalid or does not have permission")
            try:
                return self._push(headers.get("Content-Type", ""), body, lost=fault == "lost")
            except Violation as violation:
                with self._lock:
                    self.violations.append(str(violation))
                return _text(400, f"fake feed: {violation}")
        found = ENTRY.match(unquote(path))
        if found and method == "GET":
            fault = self._fault("entry")
            if fault == "drop":
                return None
            if isinstance(fault, int):
                return _text(fault, "the feed failed")
            with self._lock:
                stored = self.packages.get((found["id"].lower(), found["version"]))
            if stored is None:
                return _text(404, "Not Found")
            return 200, "application/atom+xml;type=entry;charset=utf-8", entry_xml(stored, self.url)
        return _text(404, "Not Found")

    def _push(self, content_type: str, body: bytes, *, lost: bool) -> tuple[int, str, bytes] | None:
        parts = multipart_parts(content_type, body)
        if len(parts) != 1:
            raise Violation(f"the body has {len(parts)} parts, not one")
        headers, package = parts[0]
        if "form-data" not in headers.get("content-disposition", ""):
            raise Violation("the part has no Content-Disposition: form-data")
        identity = nuspec_identity(package)
        with self._lock:
            if (identity[0].lower(), identity[1]) in self.packages:
                return _text(409, f"A package with ID '{identity[0]}' and version '{identity[1]}' already exists")
            self.packages[(identity[0].lower(), identity[1])] = Stored(identity[0], identity[1], package)
        return None if lost else _text(201, "Created")


def _text(status: int, message: str) -> tuple[int, str, bytes]:
    return status, "text/plain; charset=utf-8", message.encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    feed: NuGetFeed


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.feed.serve(self.command, self.path.split("?", 1)[0], self.headers, body)
        if reply is None:
            self.close_connection = True
            return
        status, content_type, payload = reply
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_PUT = do_POST = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `requests` instead."""


def _read_chunked(stream: Any) -> bytes:
    """A chunked request body (NuGet's own client sends one)."""
    data = bytearray()
    while True:
        size = int(stream.readline().split(b";", 1)[0].strip(), 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(data)
        data += stream.read(size)
        stream.readline()
