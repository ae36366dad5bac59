"""A local GitHub REST server for tests, checked against GitHub's official OpenAPI description.

    from tests.github_fake import Faults, running_fake_github

    with running_fake_github() as gh:               # skips (fails under CI=true) without the description
        gh.state.add_tag("v1.0.0", message="Release 1.0.0")    # annotated; no message: lightweight
        gh.state.add_release("v0.9.0", assets={"old.tar.gz": b"..."})
        gh.faults = Faults(schedule={"repos/upload-release-asset": ["lost"]})
        ... point the client at gh.api_url with gh.token ...
        assert len(gh.calls("repos/upload-release-asset")) == 2
        assert [a.name for a in gh.state.assets.values()] == [...]

At the end of the `with` block, any request or reply the description does not allow fails the test,
unless the test took them with gh.take_violations(). The `fake_github` fixture does the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.github_fake.faults import FAULTS, Faults
from tests.github_fake.openapi import Description, Violation, load_description, openapi_path
from tests.github_fake.server import FakeGitHub, Request

__all__ = [
    "FAULTS",
    "Description",
    "FakeGitHub",
    "Faults",
    "Request",
    "Violation",
    "fake_github",
    "github_description",
    "openapi_path",
    "running_fake_github",
]


def github_description() -> Description:
    """GitHub's description, loaded once per process; skips (or fails under CI=true) when not installed."""
    return load_description(openapi_path())


@contextmanager
def running_fake_github(
    *, owner: str = "acme", repo: str = "tool", login: str = "release-bot", faults: Faults | None = None
) -> Iterator[FakeGitHub]:
    """A started FakeGitHub; on leaving, asserts that no request or reply broke the description."""
    with FakeGitHub(github_description(), owner=owner, repo=repo, login=login, faults=faults) as gh:
        yield gh
        gh.assert_no_violations()


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A started FakeGitHub for one test (repository acme/tool, no faults until the test sets gh.faults)."""
    with running_fake_github() as gh:
        yield gh
