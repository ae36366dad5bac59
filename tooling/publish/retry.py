"""When a GitHub request is tried again, and after how long (pure, apart from the injectable Clock).

Retried: connection failures and timeouts, 5xx, 429, and a 403 that is a
rate limit (GitHub answers a spent limit with 403 or 429: the headers or the
message say which). Every other status is final and explained by the caller.

How long to wait, in order:
1. `Retry-After` (seconds, or an HTTP date), exactly as GitHub asks;
2. `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` (epoch seconds): until
   the reset, plus RESET_MARGIN for the two clocks' skew;
3. a rate limit that names no time (a secondary limit): GitHub asks for at
   least SECONDARY_LIMIT_WAIT;
4. otherwise exponential backoff with full jitter: a uniform draw in
   [0, min(max_delay, base_delay * 2**attempt)), so clients that failed
   together do not come back together.

The budget. Retries of one request stop once `budget_seconds` have passed
since it FIRST failed: a long upload that succeeds uses none of it, and a
wait that would end past the budget is not started (GitHub asking for an
hour when ten minutes are left fails at once, saying so).

Nothing here decides whether a request MAY be sent again: that is the
client's rule (tooling/publish/github.py), where a request that creates
something is re-sent only after checking it was not created already.

`Attempts` keeps one request's count and budget for every retry loop of the
publishers (the GitHub client, the git channels, the NuGet feed, the cargo
index and cargo publish), so each loop only says what failed and what to do.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

DEFAULT_BUDGET_SECONDS = 600.0
# Waits GitHub's documentation asks for when a secondary rate limit names no time.
SECONDARY_LIMIT_WAIT = 60.0
# X-RateLimit-Reset is GitHub's clock; ours may be a little behind.
RESET_MARGIN = 1.0

_RATE_LIMIT_STATUSES = (403, 429)


@dataclass(frozen=True)
class Policy:
    """How hard to try: the first backoff ceiling, the largest one, and the time budget per request."""

    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    base_delay: float = 1.0
    max_delay: float = 60.0


def _system_draw() -> float:
    # Jitter needs no cryptographic strength; SystemRandom simply needs no seeding.
    return random.SystemRandom().random()


@dataclass(frozen=True)
class Clock:
    """The effects the retry loop needs, injectable so tests run it without waiting.

    sleep None: the client waits on its stop event, so Ctrl-C ends a wait at once.
    """

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], None] | None = None
    draw: Callable[[], float] = _system_draw


@dataclass(frozen=True)
class Wait:
    """Try again after `seconds`; `cause` says what set the wait, for the log line ("Retry-After", "try 3")."""

    seconds: float
    cause: str


@dataclass(frozen=True)
class GiveUp:
    """Retryable, but not within the budget: `reason` says why, for the error message."""

    reason: str


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (requests' headers are case-insensitive; dicts are not)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip()
    return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date; None when absent or unreadable.

    now: the wall clock (epoch seconds), for the date form. A date in the past means no wait (0).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; a date without a zone is read as such
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def rate_limit_reset(headers: Mapping[str, str]) -> float | None:
    """The epoch second the spent primary rate limit resets, when the headers say it is spent; else None."""
    if _header(headers, "X-RateLimit-Remaining") != "0":
        return None
    reset = _header(headers, "X-RateLimit-Reset")
    try:
        return float(reset) if reset is not None else None
    except ValueError:
        return None


def is_rate_limited(status: int | None, headers: Mapping[str, str], message: str = "") -> bool:
    """Does this 403/429 mean a rate limit (retry later) rather than a refusal (missing permission)?"""
    if status not in _RATE_LIMIT_STATUSES:
        return False
    return (
        status == 429
        or rate_limit_reset(headers) is not None
        or _header(headers, "Retry-After") is not None
        or "rate limit" in message.lower()
    )


def is_transient(status: int | None, headers: Mapping[str, str], message: str = "") -> bool:
    """May the same request succeed later? status None: no answer at all (connection failure, timeout)."""
    return status is None or status >= 500 or is_rate_limited(status, headers, message)


def server_wait(status: int | None, headers: Mapping[str, str], now: float, message: str = "") -> Wait | None:
    """The wait the server asks for (Retry-After, a rate-limit reset, a secondary limit); None when it asks none."""
    after = parse_retry_after(_header(headers, "Retry-After"), now)
    if after is not None:
        return Wait(after, "as GitHub's Retry-After asks")
    reset = rate_limit_reset(headers)
    if reset is not None:
        seconds = max(0.0, reset - now) + RESET_MARGIN
        return Wait(seconds, f"GitHub's rate limit resets at {reset_text(reset)}")
    if is_rate_limited(status, headers, message):
        return Wait(SECONDARY_LIMIT_WAIT, "GitHub's secondary rate limit names no time: a minute")
    return None


def reset_text(epoch: float) -> str:
    """An epoch second as people read it in a log: 12:34:56 UTC."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S UTC")


def backoff(attempt: int, policy: Policy, draw: float) -> float:
    """Full-jitter backoff before try `attempt + 2`: draw (in [0, 1)) times the ceiling for `attempt` (0-based)."""
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** min(attempt, 32))
    return max(0.0, min(1.0, draw)) * ceiling


def next_wait(
    *,
    status: int | None,
    headers: Mapping[str, str],
    message: str,
    attempt: int,
    elapsed: float,
    now: float,
    policy: Policy,
    draw: float,
    force: bool = False,
) -> Wait | GiveUp | None:
    """What to do after failed try `attempt` (0-based), `elapsed` seconds after this request first failed.

    None: the failure is final (not transient), unless `force` (the caller knows a retry is safe and
    useful, e.g. an upload that met its own earlier copy). Wait: sleep, then try again. GiveUp: the
    wait would end past the budget.
    """
    if not force and not is_transient(status, headers, message):
        return None
    left = policy.budget_seconds - elapsed
    asked = server_wait(status, headers, now, message)
    if asked is not None:
        if asked.seconds > left:
            return GiveUp(
                f"waiting {asked.seconds:.0f} s ({asked.cause}) would pass the {policy.budget_seconds:.0f} s "
                f"retry budget, {max(0.0, left):.0f} s of which are left"
            )
        return asked
    seconds = backoff(attempt, policy, draw)
    if seconds > left:
        return GiveUp(
            f"still failing after {attempt + 1} tries over {elapsed:.0f} s (retry budget {policy.budget_seconds:.0f} s)"
        )
    return Wait(seconds, f"backing off before try {attempt + 2}")


@dataclass
class Attempts:
    """One request's retries so far, and what to do after its latest failure (Wait, GiveUp or None: final).

    `tries` counts the waits taken: it is the 0-based number of the try that just failed. The
    budget runs from the request's first failure.
    """

    policy: Policy = field(default_factory=Policy)
    clock: Clock = field(default_factory=Clock)
    tries: int = 0
    first_failure: float | None = None

    def after_failure(
        self, *, status: int | None, headers: Mapping[str, str] | None = None, message: str = "", force: bool = False
    ) -> Wait | GiveUp | None:
        """next_wait for this failure; a Wait counts as a try taken."""
        now = self.clock.monotonic()
        if self.first_failure is None:
            self.first_failure = now
        step = next_wait(
            status=status, headers=headers or {}, message=message, attempt=self.tries, elapsed=now - self.first_failure,
            now=self.clock.wall(), policy=self.policy, draw=self.clock.draw(), force=force,
        )  # fmt: skip
        if isinstance(step, Wait):
            self.tries += 1
        return step

    def sleep(self, seconds: float) -> None:
        """Wait as the clock says (a test's returns at once); the GitHub client waits on its stop event instead."""
        (self.clock.sleep or time.sleep)(seconds)
