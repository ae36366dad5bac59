"""The announcement's webhook post against a real HTTP server on this machine.

The server stands in for a Slack or Discord webhook: it answers the first post 503 with
Retry-After, as a service under load does, and takes the next one. The post must arrive
once, as the JSON the format names, after the wait the server asked for.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import ROOT
from tooling import proc
from tooling.config import ReleaseConfig, load_config
from tooling.errors import PublishError
from tooling.publish import retry
from tooling.release import announce

pytestmark = pytest.mark.integration

VARIABLE = "RELEASE_WEBHOOK_URL"
SECRET_PATH = "/hooks/T0CCC/B0DDD/canary-loopback-secret-9b2f"


class Hook(ThreadingHTTPServer):
    """A webhook: answers the posts with `statuses` in turn (then 204), keeping every request it got."""

    def __init__(self, *statuses: int) -> None:
        super().__init__(("127.0.0.1", 0), HookHandler)
        self.statuses = list(statuses)
        self.requests: list[dict[str, Any]] = []
        self.accepted: list[Any] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{SECRET_PATH}"


class HookHandler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.requests.append({"path": self.path, "type": self.headers.get("Content-Type", ""), "body": body})
            status = self.server.statuses.pop(0) if self.server.statuses else 204
            if status == 204 and self.path == SECRET_PATH:
                self.server.accepted.append(json.loads(body))
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "1")
        message = f"busy at {self.path}".encode() if status != 204 else b""
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        self.wfile.write(message)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(hook: Hook) -> Iterator[Hook]:
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.shutdown()
        hook.server_close()
        thread.join()


@pytest.fixture
def busy_once() -> Iterator[Hook]:
    yield from serve(Hook(503))


@pytest.fixture
def gone() -> Iterator[Hook]:
    yield from serve(Hook(404))


@pytest.fixture(scope="module")
def config() -> ReleaseConfig:
    return load_config(ROOT, {})


class WaitLog:
    """The real clock, with every wait recorded."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def announcement_post(config: ReleaseConfig) -> str:
    data = announce.announcement_input(
        config, version=config.version, previous=None, highlights=["add --json output"], migration_guide=None
    )
    return announce.render_announcements(config, data)["post.txt"]


@pytest.mark.parametrize(("webhook_format", "key"), [("slack", "text"), ("discord", "content")])
def test_post_arrives_once_after_the_wait_the_server_asked_for(
    config: ReleaseConfig, busy_once: Hook, webhook_format: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = dataclasses.replace(config, announce={**config.announce, "webhook-format": webhook_format})
    text = announcement_post(chosen)
    log = WaitLog()
    started = time.monotonic()
    detail = announce.post_webhook(
        chosen, text, {VARIABLE: busy_once.url}, proc.Runner(), clock=retry.Clock(sleep=log.sleep)
    )
    assert time.monotonic() - started < 10
    assert detail == f"posted to the {webhook_format} webhook in {VARIABLE} (after 2 tries)"
    assert busy_once.accepted == [{key: text}]
    assert len(busy_once.requests) == 2
    assert all(r["type"] == "application/json" for r in busy_once.requests)
    assert log.waits == [1.0]
    out, err = capsys.readouterr()
    assert "canary-loopback-secret" not in out + err + detail


def test_dry_run_posts_nothing(config: ReleaseConfig, busy_once: Hook) -> None:
    detail = announce.post_webhook(config, "hello", {VARIABLE: busy_once.url}, proc.Runner(dry_run=True))
    assert detail.startswith("would post")
    assert busy_once.requests == []


def test_a_refusal_never_shows_the_url(config: ReleaseConfig, gone: Hook) -> None:
    with pytest.raises(PublishError) as caught:
        announce.post_webhook(config, "hello", {VARIABLE: gone.url}, proc.Runner())
    assert len(gone.requests) == 1 and gone.accepted == []
    assert "(404)" in caught.value.message and "revoked" in (caught.value.hint or "")
    assert "canary-loopback-secret" not in str(caught.value)
    assert "busy at ***" in caught.value.message  # the server's echo of the path, masked
