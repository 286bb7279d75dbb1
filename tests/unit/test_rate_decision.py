"""The rate limit's decision and headers (SPEC section 5, "Limits"), without Redis.

Admission counts a key's requests in fixed windows with one Lua script (the key check and
the count in one round trip, tested against a real Redis in tests/integration); what the
count means for the caller is decided in Python: ``rate_decision``, ``RateDecision.headers``
and ``key_id_of``, which keeps a malformed key from ever reaching Redis.
"""

from __future__ import annotations

import pytest

from app.admission import RateDecision, rate_decision
from app.tenancy import key_id_of

MINUTE_MS = 60_000
WINDOW_START = 28_000_000 * MINUTE_MS  # some minute in 2023, on a window boundary
SECRET = "A" * 21 + "b-_9" + "z" * 18  # 43 base64url characters


@pytest.mark.parametrize("count", [1, 2, 3])
def test_requests_up_to_the_limit_are_allowed_and_count_down(count: int) -> None:
    decision = rate_decision(count, 3, MINUTE_MS, WINDOW_START)
    assert decision.allowed
    assert decision.remaining == 3 - count
    assert "Retry-After" not in decision.headers()


@pytest.mark.parametrize("count", [4, 5, 1000])
def test_requests_past_the_limit_are_refused_with_nothing_remaining(count: int) -> None:
    decision = rate_decision(count, 3, MINUTE_MS, WINDOW_START)
    assert not decision.allowed
    assert decision.remaining == 0


@pytest.mark.parametrize(
    ("offset_ms", "reset_s"),
    [
        (0, 60),  # the window just began
        (1, 60),  # 59.999 s left: whole seconds, rounded up
        (999, 60),
        (1000, 59),
        (30_500, 30),
        (59_000, 1),
        (59_999, 1),  # one millisecond left is still a second to wait
    ],
)
def test_reset_is_the_whole_seconds_until_the_next_window(offset_ms: int, reset_s: int) -> None:
    assert rate_decision(1, 600, MINUTE_MS, WINDOW_START + offset_ms).reset_s == reset_s


def test_windows_are_fixed_not_sliding() -> None:
    last_ms_of_window = rate_decision(1, 600, MINUTE_MS, WINDOW_START - 1)
    first_ms_of_next = rate_decision(1, 600, MINUTE_MS, WINDOW_START)
    assert (last_ms_of_window.reset_s, first_ms_of_next.reset_s) == (1, 60)


def test_a_one_second_window_always_resets_within_a_second() -> None:
    for offset_ms in (0, 1, 500, 999):
        assert rate_decision(11, 10, 1000, WINDOW_START + offset_ms).reset_s == 1


def test_headers_of_an_allowed_request() -> None:
    decision = rate_decision(3, 10, MINUTE_MS, WINDOW_START + 15_000)
    assert decision.headers() == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "7",
        "RateLimit-Reset": "45",
    }


def test_headers_of_a_refused_request_say_when_to_retry() -> None:
    decision = rate_decision(11, 10, MINUTE_MS, WINDOW_START + 15_000)
    assert decision.headers() == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "45",
        "Retry-After": "45",
    }


def test_headers_are_whatever_the_decision_holds() -> None:
    refused = RateDecision(allowed=False, limit=2, remaining=0, reset_s=1)
    assert refused.headers()["Retry-After"] == refused.headers()["RateLimit-Reset"] == "1"


# --------------------------------------------------------------------------- keys


def test_a_well_formed_key_names_its_key_id() -> None:
    assert key_id_of(f"ssk_0123456789abcdef_{SECRET}") == "key_0123456789abcdef"


@pytest.mark.parametrize(
    "api_key",
    [
        "",
        "ssk_",
        f"ssk_0123456789ABCDEF_{SECRET}",  # the id is lower-case hex
        f"ssk_0123456789abcde_{SECRET}",  # 15 hex digits
        f"ssk_0123456789abcdef0_{SECRET}",
        f"ssk_0123456789abcdef_{SECRET[:-1]}",  # 42 secret characters
        f"ssk_0123456789abcdef_{SECRET}A",
        f"ssk_0123456789abcdef_{SECRET[:-1]}=",  # not base64url
        f"ssk_0123456789abcdef_{SECRET[:-1]}+",
        f"SSK_0123456789abcdef_{SECRET}",
        f"sk_0123456789abcdef_{SECRET}",
        f" ssk_0123456789abcdef_{SECRET}",
        f"Bearer ssk_0123456789abcdef_{SECRET}",
        "key_0123456789abcdef",
    ],
)
def test_a_malformed_key_has_no_key_id(api_key: str) -> None:
    assert key_id_of(api_key) is None
