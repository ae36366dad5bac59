"""Faults on a schedule: what goes wrong on the n-th call of an operation, or at random with a seed.

    Faults(schedule={"repos/upload-release-asset": ["ok", "lost", "502"]})   # 2nd upload stored, reply lost
    Faults(rates={"500": 0.3, "drop": 0.1}, seed=7)                            # 30% 500s, 10% dropped

A call whose operation still has scheduled outcomes takes the next one ("ok" lets it through); after
that, random faults hit the operations in `operations` (all when None) at the given rates.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tests.github_fake.handlers import Call, handle
from tests.github_fake.replies import Reply, already_exists, error

OK = "ok"


def _nothing(operation_id: str, call: Call) -> None:
    """The request has no effect: the server failed before doing anything."""


def _run(operation_id: str, call: Call) -> None:
    """The request takes effect (a release is created, an asset stored) and only the reply is lost."""
    handle(operation_id, call)


def _open_asset(operation_id: str, call: Call) -> None:
    """GitHub's documented upstream failure: an upload leaves an empty asset in state "open" behind."""
    release = call.state.releases.get(int(call.params.get("release_id", 0)))
    if operation_id == "repos/upload-release-asset" and release is not None:
        call.state.add_asset(release, call.query["name"], b"", content_type=call.content_type, state="open")


# What a 422 "already exists" names for each operation (GitHub's resource and field).
EXISTING = {
    "repos/upload-release-asset": ("ReleaseAsset", "name"),
    "repos/create-release": ("Release", "tag_name"),
}


def _exists(operation_id: str, faults: Faults) -> Reply:
    resource, field_name = EXISTING.get(operation_id, ("Release", "tag_name"))
    return already_exists(resource, field_name).reply


def _rate_limited(operation_id: str, faults: Faults) -> Reply:
    reset = str(int(time.time()) + faults.reset_after)
    headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000"}
    return error(403, "API rate limit exceeded for user.", headers | {"X-RateLimit-Reset": reset})


def _too_many(operation_id: str, faults: Faults) -> Reply:
    return error(429, "You have exceeded a secondary rate limit.", {"Retry-After": str(faults.retry_after)})


def _status(status: int, message: str) -> Callable[[str, Faults], Reply]:
    return lambda operation_id, faults: error(status, message)


def _drop(operation_id: str, faults: Faults) -> None:
    return None


@dataclass(frozen=True)
class Fault:
    """What the server stores before it fails, and how it fails (a reply, or None to drop the connection)."""

    effect: Callable[[str, Call], None]
    reply: Callable[[str, Faults], Reply | None]


FAULTS: Mapping[str, Fault] = {
    "500": Fault(_nothing, _status(500, "Server Error")),
    "502": Fault(_nothing, _status(502, "Bad Gateway")),
    "503": Fault(_nothing, _status(503, "Service Unavailable")),
    # The connection closes without a reply, after the server read the request.
    "drop": Fault(_nothing, _drop),
    # The server stores the effect, then the reply is lost: a 500, or a dropped connection.
    "lost": Fault(_run, _status(500, "Server Error")),
    "lost_drop": Fault(_run, _drop),
    # An upload fails half-way: an empty "open" asset stays behind (other operations: a plain 502).
    "partial": Fault(_open_asset, _status(502, "Bad Gateway")),
    "429": Fault(_nothing, _too_many),
    "rate_limit": Fault(_nothing, _rate_limited),
    "422_exists": Fault(_nothing, _exists),
}


@dataclass
class Faults:
    """The faults a FakeGitHub injects (to change them mid-test, assign a new Faults to `gh.faults`)."""

    schedule: dict[str, list[str]] = field(default_factory=dict)  # operation id -> outcomes of its next calls
    rates: dict[str, float] = field(default_factory=dict)  # fault kind -> probability per call
    seed: int = 0
    operations: frozenset[str] | None = None  # what random faults hit; None: every operation
    retry_after: int = 1  # seconds, in a 429's Retry-After
    reset_after: int = 1  # seconds from now, in a rate limit's X-RateLimit-Reset

    def __post_init__(self) -> None:
        kinds = {kind for outcomes in self.schedule.values() for kind in outcomes} | set(self.rates)
        unknown = kinds - set(FAULTS) - {OK}
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {[OK, *FAULTS]}")
        if sum(self.rates.values()) > 1:
            raise ValueError(f"fault rates add up to more than 1: {self.rates}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._schedule = {op: list(outcomes) for op, outcomes in self.schedule.items()}
        self.injected: Counter[str] = Counter()  # fault kind -> how many times it was injected

    def next_outcome(self, operation_id: str) -> str:
        """The outcome of this call: "ok" or a fault kind."""
        with self._lock:
            pending = self._schedule.get(operation_id)
            if pending:
                outcome = pending.pop(0)
            elif self.operations is None or operation_id in self.operations:
                outcome = self._draw()
            else:
                outcome = OK
            if outcome != OK:
                self.injected[outcome] += 1
            return outcome

    def _draw(self) -> str:
        roll = self._rng.random()
        for kind, rate in sorted(self.rates.items()):
            if roll < rate:
                return kind
            roll -= rate
        return OK

    def pending(self) -> dict[str, list[str]]:
        """Scheduled outcomes not yet used, by operation (a test may assert that all were)."""
        with self._lock:
            return {op: list(outcomes) for op, outcomes in self._schedule.items() if outcomes}


def apply(outcome: str, operation_id: str, call: Call, faults: Faults) -> Reply | None:
    """The reply for this call (None: drop the connection); the handler runs unless a fault prevents it."""
    if outcome == OK:
        return handle(operation_id, call)
    fault = FAULTS[outcome]
    fault.effect(operation_id, call)
    return fault.reply(operation_id, faults)
