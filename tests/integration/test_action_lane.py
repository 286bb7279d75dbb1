"""The action lane answers exactly as the Quart route it stands in front of.

Two instances on one Redis prefix (so one key works on both): one with the lane, one without.
The same requests, well-formed and not, go to both, each on a session of its own; status,
body and headers must match but for what names the session or the instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.front import unmirrored_hooks
from app.lane import ActionLane
from tests.conftest import ServiceFactory, browser_overrides
from tests.integration.sessions_helpers import Client, new_client
from tests.support.canary_site import CanarySite
from tests.support.metrics import requests_counted
from tests.support.service import Service
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

MAX_BODY = 2048
VOLATILE = {"id", "createdAt", "startedAt", "expiresAt", "closedAt", "expiresInSeconds"}
"""Fields that name the session or its moment; compared by type only."""
VOLATILE_HEADERS = {
    "date",
    "x-request-id",
    "x-session-owner",
    "content-length",  # follows the session's id
    "ratelimit-remaining",  # one window for both sides: each request spends one
    "ratelimit-reset",
}
"""Headers compared by presence only."""
CONNECTION_HEADERS = {"connection"}
"""Not compared: ``Connection: close`` follows how much of a refused body had arrived when the
answer left, which is timing (tests/integration/test_keep_alive.py checks it)."""


def shape(value: Any) -> Any:
    """``value`` with the volatile fields replaced by their type."""
    if isinstance(value, dict):
        return {k: type(v).__name__ if k in VOLATILE else shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return value


def answer(response: httpx.Response) -> dict[str, Any]:
    """What a caller can see of a response, volatile parts reduced to their presence."""
    headers = {
        name: "present" if name in VOLATILE_HEADERS else value
        for name, value in response.headers.items()
        if name not in CONNECTION_HEADERS
    }
    return {"status": response.status_code, "headers": headers, "body": shape(response.json())}


def differences(seen: dict[str, dict[str, Any]]) -> str:
    """Where the two sides' answers differ, part by part."""
    lane, quart = seen["lane"], seen["quart"]
    found = []
    for part in ("status", "headers", "body"):
        if lane[part] != quart[part]:
            found.append(f"{part}: lane {lane[part]!r} / quart {quart[part]!r}")
    return "; ".join(found)


class Pair:
    """The same request to the lane and to the Quart route, on one session each."""

    def __init__(self, lane: Client, quart: Client, sessions: dict[str, str]) -> None:
        self.sides = {"lane": lane, "quart": quart}
        self.sessions = sessions

    async def send(
        self, *, session: str | None = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> dict[str, dict[str, Any]]:
        """POST to each side's ``/actions`` (``session`` None: an unknown id); the answers."""
        seen = {}
        for name, client in self.sides.items():
            session_id = self.sessions[name] if session is None else session
            response = await client.service.http.post(
                f"/v1/sessions/{session_id}/actions",
                headers=client.headers if headers is None else headers,
                **kw,
            )
            seen[name] = answer(response)
        assert seen["lane"] == seen["quart"], f"{kw}: {differences(seen)}"
        return seen


@pytest.fixture
async def pair(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> AsyncIterator[Pair]:
    overrides = browser_overrides(target_site, canary_site, tmp_path, max_body_bytes=MAX_BODY)
    lane = await make_service(**overrides)
    quart = await make_service(action_lane=False, **overrides)
    assert isinstance(lane.app.asgi_app, ActionLane)
    assert not isinstance(quart.app.asgi_app, ActionLane)
    client = await new_client(lane)
    sides = (client, Client(quart, client.workspace_id, client.key))
    sessions = {}
    for name, side in zip(("lane", "quart"), sides, strict=True):
        session = await side.create()
        await side.ok(session["id"], "goto", url=target_site.url("/form"))
        sessions[name] = session["id"]
    yield Pair(*sides, sessions)


def chunked(parts: Iterable[bytes]) -> Callable[[], AsyncIterator[bytes]]:
    """A body httpx sends chunked (no Content-Length)."""

    async def stream() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    return stream


async def test_actions_answer_alike(pair: Pair) -> None:
    click = {"type": "click", "payload": {"selector": "#btn"}}
    seen = await pair.send(json=click)
    assert seen["lane"]["status"] == 200 and seen["lane"]["body"]["matched"] is True
    assert {"x-session-owner", "ratelimit-limit", "x-request-id"} <= set(seen["lane"]["headers"])
    missing = {"type": "click", "payload": {"selector": "#nothing", "timeout": 200}}
    assert (await pair.send(json=missing))["lane"]["status"] == 422
    await pair.send(json={"type": "evaluate", "payload": {"expression": "window.clicks"}})
    await pair.send(json={"type": "goto", "payload": {"url": "https://elsewhere.test/"}})


async def test_malformed_bodies_fail_alike(pair: Pair) -> None:
    json_type = {"Content-Type": "application/json"}
    cases: list[dict[str, Any]] = [
        {"content": b"{not json", "headers": json_type},
        {"content": b"\xff\xfe{}", "headers": json_type},
        {"content": b"[1, 2]", "headers": json_type},
        {"content": b"null", "headers": json_type},
        {"content": b"", "headers": json_type},
        {"content": b'{"type": "click", "payload": {"selector": "#btn"}}'},
        {
            "content": b'{"type": "click", "payload": {"selector": "#btn"}}',
            "headers": {"Content-Type": "text/plain"},
        },
        {"json": {"type": "fly", "payload": {}}},
        {"json": {"type": "click", "payload": {"selector": "#btn", "extra": 1}}},
        {"json": {"type": "click", "payload": {"selector": 5}}},
        {"json": {"type": "click", "payload": {"selector": "#btn"}, "more": True}},
        {"json": {"type": "wait", "payload": {"ms": "10"}}},
        {
            "content": b'{"type":"click","payload":{"selector":"#btn"}}',
            "headers": {"Content-Type": "application/vnd.api+json; charset=utf-8"},
        },
    ]
    for case in cases:
        extra = case.pop("headers", {})
        seen = await pair.send(headers={**pair.sides["lane"].headers, **extra}, **case)
        assert seen["lane"]["status"] in {200, 400}, case


async def test_oversized_bodies_fail_alike(pair: Pair) -> None:
    big = {"type": "evaluate", "payload": {"expression": "1" * MAX_BODY}}
    assert (await pair.send(json=big))["lane"]["status"] == 413
    for side in ("lane", "quart"):  # a generator is spent by one side: one each
        client = pair.sides[side]
        response = await client.service.http.post(
            f"/v1/sessions/{pair.sessions[side]}/actions",
            headers={**client.headers, "Content-Type": "application/json"},
            content=chunked([b"x" * 1024] * 4)(),
        )
        assert response.status_code == 413, side
        assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_credentials_are_checked_before_the_body(pair: Pair) -> None:
    click = {"type": "click", "payload": {"selector": "#btn"}}
    big = {"type": "evaluate", "payload": {"expression": "1" * MAX_BODY}}
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ss_live_not_a_key"},
        {"Authorization": pair.sides["lane"].headers["Authorization"] + "x"},
    ):
        for body in (click, big):
            seen = await pair.send(headers=headers, json=body)
            assert seen["lane"]["status"] == 401, headers
        seen = await pair.send(headers=headers, content=b"{not json")
        assert seen["lane"]["status"] == 401


async def test_sessions_that_are_not_there_fail_alike(pair: Pair) -> None:
    click = {"type": "click", "payload": {"selector": "#btn"}}
    assert (await pair.send(session="sess_unknown", json=click))["lane"]["status"] == 404
    stranger = await new_client(pair.sides["lane"].service)
    seen = await pair.send(headers=stranger.headers, json=click)
    assert seen["lane"]["status"] == 404, "another key's session is not there"
    for name, client in pair.sides.items():
        session = await client.create()
        assert (await client.delete(session["id"])).status_code == 200
        pair.sessions[name] = session["id"]
    seen = await pair.send(json=click)
    assert seen["lane"]["status"] == 409 and seen["lane"]["body"]["code"] == "SESSION_CLOSED"


async def test_request_ids_and_other_methods_alike(pair: Pair) -> None:
    click = {"type": "click", "payload": {"selector": "#btn"}}
    for name, client in pair.sides.items():
        response = await client.service.http.post(
            f"/v1/sessions/{pair.sessions[name]}/actions",
            headers={**client.headers, "X-Request-Id": "agent-42.step_7"},
            json=click,
        )
        assert response.headers["X-Request-Id"] == "agent-42.step_7"
        refused = await client.service.http.post(
            f"/v1/sessions/{pair.sessions[name]}/actions",
            headers={**client.headers, "X-Request-Id": "no spaces allowed"},
            json=click,
        )
        assert len(refused.headers["X-Request-Id"]) == 16
        wrong_method = await client.service.http.get(
            f"/v1/sessions/{pair.sessions[name]}/actions", headers=client.headers
        )
        assert wrong_method.status_code == 405
        assert wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_rate_limits_apply_alike(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> None:
    overrides = browser_overrides(target_site, canary_site, tmp_path, rate_limit="4/minute")
    lane = await make_service(**overrides)
    quart = await make_service(action_lane=False, **overrides)
    client = await new_client(lane)
    click = {"type": "click", "payload": {"selector": "#btn"}}
    path = "/v1/sessions/sess_unknown/actions"
    remaining = []
    for service in (lane, quart, lane, quart):
        response = await service.http.post(path, headers=client.headers, json=click)
        assert response.status_code == 404
        remaining.append(int(response.headers["RateLimit-Remaining"]))
    assert remaining == [3, 2, 1, 0], "both count against the key's one window"
    answers = [
        answer(await service.http.post(path, headers=client.headers, json=click))
        for service in (lane, quart)
    ]
    assert answers[0]["status"] == 429 and "retry-after" in answers[0]["headers"]
    assert answers[0] == answers[1]


async def test_lane_requests_are_logged_and_counted(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    lane: Service = pair.sides["lane"].service
    click = {"type": "click", "payload": {"selector": "#btn"}}
    before = (await lane.http.get("/metrics")).text
    with caplog.at_level("INFO", logger="sessionshot.http"):
        await pair.send(json=click)
        await pair.send(json={"type": "fly"})
    path = f"/v1/sessions/{pair.sessions['lane']}/actions"
    logged = [
        (r.__dict__["status"], r.__dict__["ms"] > 0)
        for r in caplog.records
        if r.getMessage() == "request" and r.__dict__.get("path") == path
    ]
    assert logged == [(200, True), (400, True)]
    after = (await lane.http.get("/metrics")).text
    assert requests_counted(after, "POST", "200") == requests_counted(before, "POST", "200") + 1
    assert requests_counted(after, "POST", "400") == requests_counted(before, "POST", "400") + 1


async def send_and_hang_up(
    client: Client, session_id: str, body: bytes, length: int, after_s: float = 0.0
) -> None:
    """Send an action request declaring ``length`` body bytes, then close (``after_s`` later:
    the server has started the action by then)."""
    port = int(client.service.base_url.rsplit(":", 1)[1])
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /v1/sessions/{session_id}/actions HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {client.headers['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    await asyncio.sleep(after_s)
    writer.close()
    await writer.wait_closed()


@pytest.mark.parametrize("side", ["lane", "quart"])
async def test_an_action_whose_caller_hangs_up_still_runs_and_is_counted(
    pair: Pair, side: str
) -> None:
    client = pair.sides[side]
    session_id = pair.sessions[side]
    before = (await client.get(session_id))["actionCount"]
    body = b'{"type":"wait","payload":{"ms":1500}}'
    # Gone in the middle of the action: Quart would cancel its view there.
    await send_and_hang_up(client, session_id, body, len(body), after_s=0.3)
    await wait_for_count(client, session_id, before + 1)
    next_action = await client.ok(session_id, "evaluate", expression="1 + 1")
    assert next_action["result"] == 2, "the session's lock was released"
    after = await client.get(session_id)
    assert after["actionCount"] == before + 2
    assert after["actionBreakdown"]["wait"] == {"total": 1, "success": 1, "error": 0}


async def wait_for_count(client: Client, session_id: str, count: int) -> None:
    """Wait (bounded) until the session has counted ``count`` actions."""

    async def counted() -> bool:
        return bool((await client.get(session_id))["actionCount"] >= count)

    await eventually(counted, 10, f"the session to count {count} actions")


def test_the_lane_runs_every_request_hook_quart_would(pair: Pair) -> None:
    app = pair.sides["quart"].service.app
    assert unmirrored_hooks(app) == []

    async def stamp(response: Any) -> Any:
        return response

    async def note() -> None:
        return None

    app.after_request(stamp)
    # Where a hook of the sessions blueprint lands when the blueprint is registered.
    app.before_request_funcs.setdefault("sessions", []).append(note)
    missing = unmirrored_hooks(app)
    assert sorted(f"{m.split()[0]} {m.rsplit('.', 1)[-1]}" for m in missing) == [
        "after_request stamp",
        "before_request note",
    ]
    with pytest.raises(RuntimeError, match="does not run these hooks"):
        ActionLane(app, app.asgi_app)


async def test_a_request_cut_off_mid_body_runs_nothing(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    client = pair.sides["lane"]
    session_id = pair.sessions["lane"]
    before = (await client.get(session_id))["actionCount"]
    with caplog.at_level("INFO"):
        await send_and_hang_up(client, session_id, b'{"type":"cli', 100)
        after = await client.ok(session_id, "evaluate", expression="1 + 1")
    assert after["result"] == 2
    assert (await client.get(session_id))["actionCount"] == before + 1, "only the evaluate"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
