"""The retry policy: which failures are tried again, how long to wait, and when to stop (all pure)."""

from __future__ import annotations

import pytest

from tooling.publish import retry
from tooling.publish.retry import GiveUp, Policy, Wait

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
POLICY = Policy(budget_seconds=600, base_delay=1.0, max_delay=60.0)


def wait(status: int | None, headers: dict[str, str] | None = None, *, attempt: int = 0, elapsed: float = 0.0,
         message: str = "", draw: float = 0.5, force: bool = False) -> Wait | GiveUp | None:  # fmt: skip
    return retry.next_wait(
        status=status, headers=headers or {}, message=message, attempt=attempt, elapsed=elapsed, now=NOW,
        policy=POLICY, draw=draw, force=force,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("attempt", "draw", "expected"),
    [(0, 0.5, 0.5), (1, 0.5, 1.0), (2, 0.5, 2.0), (3, 0.25, 2.0), (5, 1.0, 32.0), (6, 1.0, 60.0), (40, 0.5, 30.0)],
)
def test_full_jitter_backoff_grows_exponentially_up_to_its_cap(attempt: int, draw: float, expected: float) -> None:
    assert retry.backoff(attempt, POLICY, draw) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),  # an HTTP date, a minute from NOW
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # already past: no wait
        ("Tuesday, 14-Nov-23 22:13:50 GMT", 30.0),  # the obsolete RFC 850 form HTTP still allows
        ("Tue, 14 Nov 2023 22:14:20 -0000", 60.0),  # no zone given: read as GMT
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(value: str | None, expected: float | None) -> None:
    assert retry.parse_retry_after(value, NOW) == expected


def test_rate_limit_reset_only_when_the_limit_is_spent() -> None:
    assert retry.rate_limit_reset({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700000300"}) == 1_700_000_300
    assert retry.rate_limit_reset({"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "1700000300"}) is None
    assert retry.rate_limit_reset({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "later"}) is None
    assert retry.rate_limit_reset({}) is None


@pytest.mark.parametrize(
    ("status", "headers", "message", "transient"),
    [
        (None, {}, "", True),  # no answer: connection failure or timeout
        (500, {}, "", True),
        (502, {}, "", True),
        (503, {}, "", True),
        (429, {}, "", True),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"}, "", True),
        (403, {"Retry-After": "60"}, "", True),
        (403, {}, "You have exceeded a secondary rate limit", True),
        (403, {}, "Resource not accessible by integration", False),  # a permission, not a limit
        (401, {}, "", False),
        (404, {}, "", False),
        (422, {}, "", False),
    ],
)
def test_what_is_transient(status: int | None, headers: dict[str, str], message: str, transient: bool) -> None:
    assert retry.is_transient(status, headers, message) is transient


def test_retry_after_sets_the_wait() -> None:
    assert wait(503, {"Retry-After": "12"}) == Wait(12.0, "as GitHub's Retry-After asks")


def test_a_spent_limit_waits_until_its_reset_plus_a_margin() -> None:
    step = wait(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 90)})
    assert isinstance(step, Wait) and step.seconds == 90 + retry.RESET_MARGIN
    assert "22:14:50 UTC" in step.cause


def test_a_secondary_limit_without_a_time_waits_a_minute() -> None:
    step = wait(429)
    assert isinstance(step, Wait) and step.seconds == retry.SECONDARY_LIMIT_WAIT


def test_5xx_without_a_time_backs_off() -> None:
    assert wait(502, attempt=2, draw=0.5) == Wait(2.0, "backing off before try 4")


def test_a_server_wait_past_the_budget_gives_up_at_once() -> None:
    step = wait(429, {"Retry-After": "900"}, elapsed=0)
    assert isinstance(step, GiveUp)
    assert (
        step.reason
        == "waiting 900 s (as GitHub's Retry-After asks) would pass the 600 s retry budget, 600 s of which are left"
    )


def test_backoff_past_the_budget_gives_up_counting_the_tries() -> None:
    step = wait(None, attempt=6, elapsed=590, draw=0.5)
    assert step == GiveUp("still failing after 7 tries over 590 s (retry budget 600 s)")


def test_a_spent_budget_gives_up_even_with_a_zero_draw() -> None:
    assert isinstance(wait(None, attempt=1, elapsed=601, draw=0.0), GiveUp)


def test_final_failures_are_not_retried_unless_forced() -> None:
    assert wait(404) is None
    assert wait(422) is None
    assert wait(422, force=True) == Wait(0.5, "backing off before try 2")


def test_reset_text_is_utc() -> None:
    assert retry.reset_text(NOW) == "22:13:20 UTC"


def test_attempts_count_the_waits_and_spend_the_budget_from_the_first_failure() -> None:
    """The bookkeeping every retry loop shares: tries grow with each wait, the budget starts at the first failure."""
    now = [100.0]
    clock = retry.Clock(monotonic=lambda: now[0], wall=lambda: NOW, sleep=lambda seconds: None, draw=lambda: 1.0)
    attempts = retry.Attempts(Policy(budget_seconds=10, base_delay=1.0, max_delay=60.0), clock)
    assert attempts.after_failure(status=404) is None and attempts.tries == 0  # final: no try taken
    steps = []
    for _ in range(4):
        step = attempts.after_failure(status=503)
        steps.append(step)
        now[0] += 3.0
    assert steps[:3] == [
        Wait(1.0, "backing off before try 2"),
        Wait(2.0, "backing off before try 3"),
        Wait(4.0, "backing off before try 4"),
    ]
    assert isinstance(steps[3], GiveUp) and "after 4 tries over 9 s" in steps[3].reason
    assert attempts.tries == 3 and attempts.first_failure == 100.0
    forced = retry.Attempts(POLICY, clock).after_failure(status=None, force=True)
    assert isinstance(forced, Wait)
