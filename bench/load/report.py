"""The load run's figures from its records: throughput, latencies, errors, the step verdict.

Pure functions over the records ``locustfile.py`` wrote (``bench/load/records.py``); no I/O,
so the unit tests drive them directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.common import percentile
from bench.load.records import ACTIONS_ENDPOINT, CAPTURE_E2E


@dataclass(frozen=True)
class Latency:
    """Milliseconds of one endpoint's requests."""

    n: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Latency:
        """Summarise ``samples_ms`` (at least one)."""
        return cls(
            len(samples_ms),
            round(percentile(samples_ms, 50), 1),
            round(percentile(samples_ms, 99), 1),
            round(max(samples_ms), 1),
        )


@dataclass(frozen=True)
class StepSummary:
    """One load level: how many users, what they got through, how fast, what failed."""

    agents: int
    capture_clients: int
    seconds: float
    requests: int
    requests_per_s: float
    sessions_per_min: float
    captures_per_min: float
    endpoints: dict[str, Latency]
    """Per endpoint (``POST /v1/sessions/{id}/actions`` is the action round trip)."""
    actions: dict[str, Latency]
    """The action round trip per action type."""
    action_routes: dict[str, Latency]
    """The action round trip when the instance asked owned the session (``direct``) and when
    it forwarded the action to the owner (``routed``)."""
    errors: dict[str, int]
    """``"endpoint: kind"`` -> count."""
    held: bool
    """The p99 action round trip within the limit and no error."""
    p99_limit_ms: float = field(default=250.0)

    @property
    def action_p99(self) -> float | None:
        """The action round trip's p99, when any action ran."""
        rtt = self.endpoints.get(ACTIONS_ENDPOINT)
        return None if rtt is None else rtt.p99


def _latencies(groups: dict[str, list[float]]) -> dict[str, Latency]:
    return {name: Latency.of(samples) for name, samples in sorted(groups.items()) if samples}


def summarise(
    records: Iterable[dict[str, Any]], agents: int, capture_clients: int, p99_limit_ms: float
) -> StepSummary:
    """The figures of one step's records."""
    endpoints: dict[str, list[float]] = {}
    actions: dict[str, list[float]] = {}
    routes: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    first, last = float("inf"), float("-inf")
    requests = sessions = captures = 0
    for record in records:
        kind = record["k"]
        if kind == "req":
            requests += 1
            first = min(first, record["start"])
            last = max(last, record["start"] + record["ms"] / 1000)
            if record["error"] is not None:
                errors[f"{record['name']}: {record['error']}"] += 1
                continue
            endpoints.setdefault(record["name"], []).append(record["ms"])
            if record["name"] == ACTIONS_ENDPOINT:
                actions.setdefault(record["action"], []).append(record["ms"])
                if record["routed"] is not None:
                    route = "routed" if record["routed"] else "direct"
                    routes.setdefault(route, []).append(record["ms"])
        elif kind == "session" and record["event"] == "closed":
            sessions += 1
        elif kind == "capture" and record["event"] == "final":
            captures += 1
            endpoints.setdefault(CAPTURE_E2E, []).append(record["ms"])
            if record["status"] != "completed":
                errors[f"{CAPTURE_E2E}: {record['status']} {record.get('errorCode')}"] += 1
    seconds = max(last - first, 0.001) if requests else 0.0
    per_s = (lambda count: count / seconds) if seconds else (lambda count: 0.0)
    summary = _latencies(endpoints)
    rtt = summary.get(ACTIONS_ENDPOINT)
    held = rtt is not None and rtt.p99 <= p99_limit_ms and not errors
    return StepSummary(
        agents=agents,
        capture_clients=capture_clients,
        seconds=round(seconds, 1),
        requests=requests,
        requests_per_s=round(per_s(requests), 1),
        sessions_per_min=round(per_s(sessions) * 60, 1),
        captures_per_min=round(per_s(captures) * 60, 1),
        endpoints=summary,
        actions=_latencies(actions),
        action_routes=_latencies(routes),
        errors=dict(sorted(errors.items())),
        held=held,
        p99_limit_ms=p99_limit_ms,
    )


def largest_held(steps: Sequence[StepSummary]) -> StepSummary | None:
    """The step with the most agents among those held before the first that was not (a
    level held only after a miss is luck, not capacity)."""
    best = None
    for step in steps:
        if not step.held:
            break
        if best is None or step.agents > best.agents:
            best = step
    return best


# --------------------------------------------------------------------------- Markdown


def steps_table(steps: Sequence[StepSummary]) -> str:
    """One line per step: the users, throughput, the action round trip and the verdict."""
    lines = [
        "| agents | capture clients | s | requests/s | sessions/min | captures/min "
        "| action p50 ms | action p99 ms | errors | held |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in steps:
        rtt = s.endpoints.get(ACTIONS_ENDPOINT)
        p50 = "-" if rtt is None else f"{rtt.p50:.1f}"
        p99 = "-" if rtt is None else f"{rtt.p99:.1f}"
        lines.append(
            f"| {s.agents} | {s.capture_clients} | {s.seconds:.0f} | {s.requests_per_s:.1f} "
            f"| {s.sessions_per_min:.1f} | {s.captures_per_min:.1f} | {p50} | {p99} "
            f"| {sum(s.errors.values())} | {'yes' if s.held else 'no'} |"
        )
    return "\n".join(lines)


def latency_table(step: StepSummary) -> str:
    """Per endpoint, per action type and per route: n, p50, p99, max."""
    lines = ["| endpoint | n | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|"]
    rows: list[tuple[str, Latency]] = list(step.endpoints.items())
    rows += [(f"&nbsp;&nbsp;action `{name}`", lat) for name, lat in step.actions.items()]
    rows += [(f"&nbsp;&nbsp;action, {name}", lat) for name, lat in step.action_routes.items()]
    for name, lat in rows:
        lines.append(f"| {name} | {lat.n} | {lat.p50:.1f} | {lat.p99:.1f} | {lat.max:.1f} |")
    return "\n".join(lines)


def errors_lines(steps: Sequence[StepSummary]) -> str:
    """Errors by kind, per step (``none`` when there were none)."""
    lines = []
    for s in steps:
        for kind, count in s.errors.items():
            lines.append(f"- {s.agents} agents: {kind} x {count}")
    return "\n".join(lines) or "- none"
