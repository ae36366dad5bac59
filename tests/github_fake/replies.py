"""What the fake answers: a status, a JSON body and headers, in GitHub's error shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOCS_URL = "https://docs.github.com/rest"


@dataclass
class Reply:
    """One HTTP reply; `body` is JSON data (None: no body)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    """Raised by a handler to answer with an error at once."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """GitHub's basic error: {"message", "documentation_url", "status"}."""
    body = {"message": message, "documentation_url": DOCS_URL, "status": str(status)}
    return Reply(status, body, dict(headers or {}))


def not_found() -> Refused:
    return Refused(error(404, "Not Found"))


def validation_failed(*errors: dict[str, str]) -> Refused:
    """422 as GitHub sends it for a request it understood but refuses, e.g. a name that already exists."""
    return Refused(Reply(422, {"message": "Validation Failed", "documentation_url": DOCS_URL, "errors": list(errors)}))


def unprocessable(message: str) -> Refused:
    """422 with a message and no errors list, as GitHub refuses e.g. a ref that exists already."""
    return Refused(Reply(422, {"message": message, "documentation_url": DOCS_URL}))


def already_exists(resource: str, field_name: str) -> Refused:
    return validation_failed({"resource": resource, "code": "already_exists", "field": field_name})
