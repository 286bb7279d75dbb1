"""The load test's figures from its records (bench/load/report.py, records.py), without I/O.

The runner judges a load level by these: the p99 action round trip, the errors by kind, and
the largest level held before the first miss. The records are written by the Locust
scenario; here they are made by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.common import percentile
from bench.load.records import ACTIONS_ENDPOINT, CAPTURE_E2E, error_kind
from bench.load.report import Latency, StepSummary, largest_held, summarise


def req(
    ms: float,
    *,
    name: str = ACTIONS_ENDPOINT,
    action: str | None = "click",
    start: float = 1000.0,
    error: str | None = None,
    routed: bool | None = False,
) -> dict[str, Any]:
    """One request record as the scenario writes it."""
    status = 200 if error is None else 503
    return {"k": "req", "name": name, "action": action, "start": start, "ms": ms,
            "status": status, "error": error, "routed": routed}  # fmt: skip


def test_percentile_interpolates_between_ranks() -> None:
    samples = [float(n) for n in range(1, 101)]  # 1..100
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_error_kind_names_the_documented_codes_of_both_shapes() -> None:
    assert error_kind(200, 200, "{}", None) is None
    v1 = '{"success": false, "error": "owner gone", "code": "OWNER_UNAVAILABLE"}'
    assert error_kind(503, 200, v1, None) == "503 OWNER_UNAVAILABLE"
    api = '{"error": {"code": "RATE_LIMITED", "message": "slow down"}}'
    assert error_kind(429, 202, api, None) == "429 RATE_LIMITED"
    assert error_kind(500, 200, "<html>oops</html>", None) == "500"
    assert error_kind(0, 200, "", "ConnectionRefusedError") == "ConnectionRefusedError"
    assert error_kind(201, 200, "{}", None) == "201"  # an unexpected success is not one


def test_a_step_within_the_bound_and_without_errors_is_held() -> None:
    records = [req(10.0 + n, start=1000.0 + n / 10, routed=n % 2 == 0) for n in range(100)]
    records += [
        {"k": "session", "event": "closed", "id": "sess_1", "credits": 1},
        {"k": "capture", "event": "final", "id": "cap_1", "status": "completed", "ms": 300.0},
    ]
    step = summarise(records, agents=2, capture_clients=1, p99_limit_ms=250)
    assert step.held
    assert step.requests == 100
    rtt = step.endpoints[ACTIONS_ENDPOINT]
    assert (rtt.n, rtt.p50) == (100, 59.5)
    assert step.endpoints[CAPTURE_E2E].n == 1
    assert set(step.action_routes) == {"direct", "routed"}
    assert step.action_routes["routed"].n == 50
    assert step.actions["click"].n == 100
    # 100 requests over 9.9 s of starts plus the last one's 109 ms
    assert step.seconds == 10.0
    assert step.requests_per_s == pytest.approx(10.0, abs=0.1)
    assert step.sessions_per_min == pytest.approx(6.0, abs=0.1)


def test_a_slow_p99_misses_the_step() -> None:
    records = [req(20.0) for _ in range(98)] + [req(900.0), req(900.0)]
    step = summarise(records, agents=4, capture_clients=1, p99_limit_ms=250)
    assert step.endpoints[ACTIONS_ENDPOINT].p99 > 250
    assert not step.held


def test_errors_are_counted_by_endpoint_and_kind_and_miss_the_step() -> None:
    records = [req(20.0) for _ in range(10)]
    records += [req(5.0, error="503 OWNER_UNAVAILABLE") for _ in range(2)]
    records.append(req(1.0, name="POST /v1/sessions", action=None, error="ReadTimeout"))
    records.append(
        {
            "k": "capture",
            "event": "final",
            "id": "cap_1",
            "status": "failed",
            "errorCode": "NAVIGATION_FAILED",
            "ms": 90.0,
        }
    )
    step = summarise(records, agents=1, capture_clients=1, p99_limit_ms=250)
    assert step.errors == {
        f"{ACTIONS_ENDPOINT}: 503 OWNER_UNAVAILABLE": 2,
        f"{CAPTURE_E2E}: failed NAVIGATION_FAILED": 1,
        "POST /v1/sessions: ReadTimeout": 1,
    }
    assert step.endpoints[ACTIONS_ENDPOINT].n == 10  # failed requests are not latencies
    assert not step.held


def _step(agents: int, held: bool) -> StepSummary:
    rtt = Latency(10, 20.0, 100.0 if held else 400.0, 500.0)
    return StepSummary(
        agents, 1, 30.0, 10, 1.0, 1.0, 1.0, {ACTIONS_ENDPOINT: rtt}, {}, {}, {}, held
    )


def test_the_largest_load_held_is_the_last_before_the_first_miss() -> None:
    steps = [_step(1, True), _step(2, True), _step(4, False), _step(6, True)]
    best = largest_held(steps)
    assert best is not None and best.agents == 2
    assert largest_held([_step(1, False), _step(2, True)]) is None
    assert largest_held([]) is None
