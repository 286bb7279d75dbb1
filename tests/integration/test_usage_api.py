"""Billing reports over HTTP from real sessions closed every way (SPEC section 6).

Sessions are created and closed through the API on a real browser: by ``DELETE``, by the
idle timeout and by a browser crash. Every report (``/v1/usage`` JSON and CSV, and
``/admin/usage``) must add up to the ``billedCredits`` the sessions themselves show.
Exact day boundaries cannot be steered over HTTP; ``test_usage_property.py`` covers them.
"""

from __future__ import annotations

import csv
import io
import os
import signal
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ServiceFactory
from tests.integration.sessions_helpers import Client
from tests.support.service import ADMIN_TOKEN, Service

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HEADER = "sessionId,kind,keyId,startedAt,closedAt,durationSeconds,credits,closeReason"
COUNTERS = ("sessions", "captures", "durationSeconds", "credits")


def ms_of(stamp: str) -> int:
    """Epoch milliseconds of an API timestamp (``…T…:…:….mmmZ``)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return round(moment.timestamp() * 1000)


def iso(ms: int) -> str:
    """The API's timestamp format for epoch milliseconds."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def counters(sessions: list[dict[str, Any]]) -> dict[str, int]:
    """Report counters of closed session objects."""
    return {
        "sessions": len(sessions),
        "captures": sum(s["kind"] == "capture" for s in sessions),
        "durationSeconds": sum(s["durationSeconds"] for s in sessions),
        "credits": sum(s["billedCredits"] for s in sessions),
    }


def strip(entry: dict[str, Any]) -> dict[str, int]:
    """A ``daily`` or ``byKey`` entry without its label."""
    return {name: entry[name] for name in COUNTERS}


def csv_rows(text: str) -> list[dict[str, str]]:
    """Rows of a CSV report, checking its header."""
    lines = list(csv.reader(io.StringIO(text)))
    assert ",".join(lines[0]) == HEADER
    return [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]


def csv_row(session: dict[str, Any], key_id: str) -> dict[str, str]:
    """The CSV row of a closed session object."""
    return {
        "sessionId": session["id"],
        "kind": session["kind"],
        "keyId": key_id,
        "startedAt": session["startedAt"],
        "closedAt": session["closedAt"],
        "durationSeconds": str(session["durationSeconds"]),
        "credits": str(session["billedCredits"]),
        "closeReason": session["closeReason"],
    }


async def new_key(service: Service, ws_id: str, name: str) -> tuple[str, Client]:
    """A key of ``ws_id``: its id and a client using it."""
    key = await service.admin("POST", f"/admin/workspaces/{ws_id}/keys", json={"name": name})
    return key["id"], Client(service, ws_id, key["key"])


async def usage(service: Service, client: Client, **params: str) -> httpx.Response:
    """``GET /v1/usage`` with ``client``'s key."""
    return await service.http.get("/v1/usage", params=params, headers=client.headers)


async def usage_json(service: Service, client: Client, **params: str) -> dict[str, Any]:
    """A ``/v1/usage`` JSON document (asserting 200)."""
    response = await usage(service, client, **params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def check_document(
    doc: dict[str, Any],
    ws_id: str,
    sessions: list[tuple[str, dict[str, Any]]],
    start: date,
    end: date,
) -> None:
    """A ``/v1/usage`` document over whole days against the sessions it must cover."""
    objects = [s for _, s in sessions]
    assert doc["workspaceId"] == ws_id
    assert doc["from"] == f"{start.isoformat()}T00:00:00.000Z"
    assert doc["to"] == f"{end.isoformat()}T00:00:00.000Z"
    assert doc["totals"] == counters(objects)
    assert doc["totals"]["credits"] == sum(s["billedCredits"] for s in objects)

    days = [(start + timedelta(days=n)).isoformat() for n in range((end - start).days)]
    assert [entry["date"] for entry in doc["daily"]] == days
    for entry in doc["daily"]:
        on_day = [s for s in objects if s["closedAt"][:10] == entry["date"]]
        assert strip(entry) == counters(on_day), entry

    key_ids = {key_id for key_id, _ in sessions}
    by_key = {entry["keyId"]: strip(entry) for entry in doc["byKey"] if entry["sessions"]}
    assert by_key == {
        key_id: counters([s for k, s in sessions if k == key_id]) for key_id in key_ids
    }
    for part in ("daily", "byKey"):
        summed = {name: sum(entry[name] for entry in doc[part]) for name in COUNTERS}
        assert summed == doc["totals"], part


async def test_reports_add_up_to_the_sessions_billed_credits(
    make_service: ServiceFactory,
) -> None:
    # One credit per started second, so credits differ from session counts and durations.
    service = await make_service(credit_seconds=1)
    ws1 = (await service.admin("POST", "/admin/workspaces", json={"name": "one"}))["id"]
    ws2 = (await service.admin("POST", "/admin/workspaces", json={"name": "two"}))["id"]
    key_a, a = await new_key(service, ws1, "a")
    key_b, b = await new_key(service, ws1, "b")
    key_c, c = await new_key(service, ws2, "c")

    deleted_a = (await a.create())["id"]
    idle_a = (await a.create(idleTimeoutSeconds=1))["id"]
    crashed_b = (await b.create())["id"]
    deleted_b = (await b.create())["id"]
    crashed_c = (await c.create())["id"]
    deleted_c = (await c.create())["id"]

    first = await a.delete(deleted_a)
    assert first.status_code == 200 and first.json()["closeReason"] == "closed"
    again = await a.delete(deleted_a)
    assert again.status_code == 200 and again.json() == first.json(), "repeat charges nothing"
    assert (await a.wait_closed(idle_a))["closeReason"] == "idle_timeout"
    for client, sid in ((b, deleted_b), (c, deleted_c)):
        response = await client.delete(sid)
        assert response.status_code == 200 and response.json()["closeReason"] == "closed"

    pid = service.state.engine.browser_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    for client, sid in ((b, crashed_b), (c, crashed_c)):
        assert (await client.wait_closed(sid))["closeReason"] == "browser_crashed"
    still_active = (await a.create())["id"]  # on the relaunched browser; never counted

    ws1_sessions = [
        (key_a, await a.get(deleted_a)),
        (key_a, await a.get(idle_a)),
        (key_b, await b.get(crashed_b)),
        (key_b, await b.get(deleted_b)),
    ]
    ws2_sessions = [(key_c, await c.get(crashed_c)), (key_c, await c.get(deleted_c))]
    for _, session in ws1_sessions + ws2_sessions:
        assert session["status"] == "closed" and session["kind"] == "live"
        elapsed = ms_of(session["closedAt"]) - ms_of(session["startedAt"])
        assert session["durationSeconds"] == -(-elapsed // 1000)
        assert session["billedCredits"] == max(1, session["durationSeconds"])
    assert (await a.get(still_active))["status"] == "active"

    closed_days = [ms_of(s["closedAt"]) // 86_400_000 for _, s in ws1_sessions + ws2_sessions]
    epoch = date(1970, 1, 1)
    start = epoch + timedelta(days=min(closed_days))
    end = epoch + timedelta(days=max(closed_days) + 1)
    span = {"from": start.isoformat(), "to": end.isoformat()}

    doc1 = await usage_json(service, a, **span)
    check_document(doc1, ws1, ws1_sessions, start, end)
    assert {entry["keyId"] for entry in doc1["byKey"]} == {key_a, key_b}
    assert await usage_json(service, b, **span) == doc1, "any key of the workspace"
    doc2 = await usage_json(service, c, **span)
    check_document(doc2, ws2, ws2_sessions, start, end)
    assert [entry["keyId"] for entry in doc2["byKey"]] == [key_c]

    # Datetime bounds, ``to`` exclusive: the last closed session of ws1 falls out.
    ordered = sorted((ms_of(s["closedAt"]), s["billedCredits"]) for _, s in ws1_sessions)
    exact = await usage_json(
        service, a, **{"from": iso(ordered[0][0]), "to": iso(ordered[-1][0] + 1)}
    )
    assert exact["totals"] == doc1["totals"]
    before_last = await usage_json(
        service, a, **{"from": iso(ordered[0][0]), "to": iso(ordered[-1][0])}
    )
    assert before_last["totals"]["sessions"] == len(ordered) - 1
    assert before_last["totals"]["credits"] == sum(credits for _, credits in ordered[:-1])

    for client, sessions in ((a, ws1_sessions), (c, ws2_sessions)):
        response = await usage(service, client, **span, format="csv")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = csv_rows(response.text)
        assert sorted(rows, key=lambda r: r["sessionId"]) == sorted(
            (csv_row(s, k) for k, s in sessions), key=lambda r: r["sessionId"]
        )

    admin = await service.http.get("/admin/usage", params=span, headers=ADMIN)
    assert admin.status_code == 200, admin.text
    body = admin.json()
    assert (body["from"], body["to"]) == (doc1["from"], doc1["to"])
    assert {w["workspaceId"]: w["totals"] for w in body["workspaces"]} == {
        ws1: doc1["totals"],
        ws2: doc2["totals"],
    }
    admin_csv = await service.http.get(
        "/admin/usage", params={**span, "format": "csv"}, headers=ADMIN
    )
    assert admin_csv.status_code == 200
    assert admin_csv.headers["content-type"].startswith("text/csv")
    assert sorted(r["sessionId"] for r in csv_rows(admin_csv.text)) == sorted(
        s["id"] for _, s in ws1_sessions + ws2_sessions
    )


BAD_RANGES: list[dict[str, str]] = [
    {},
    {"from": "2026-11-01"},
    {"to": "2026-11-02"},
    {"from": "", "to": "2026-11-02"},
    {"from": "2026-13-01", "to": "2026-12-01"},
    {"from": "2026-11-01", "to": "2026-11-31"},
    {"from": "yesterday", "to": "2026-11-02"},
    {"from": "2026-11-01", "to": "tomorrow"},
    {"from": "2026-11-01T25:00:00Z", "to": "2026-11-02"},
    {"from": "2026-11-01", "to": "2026-11-01"},
    {"from": "2026-11-01T10:00:00Z", "to": "2026-11-01T12:00:00+02:00"},
    {"from": "2026-11-02", "to": "2026-11-01"},
    {"from": "2026-01-01", "to": "2027-01-03"},
    {"from": "2026-01-01T00:00:00Z", "to": "2027-01-02T00:00:00.001Z"},
    {"from": "2026-11-01", "to": "2026-11-02", "workspace": "ws_other"},
    {"from": "2026-11-01", "to": "2026-11-02", "format": "xml"},
]


def query_id(params: dict[str, str]) -> str:
    """A readable test id for a query."""
    return "&".join(f"{k}={v}" for k, v in params.items()) or "none"


@pytest.mark.parametrize("params", BAD_RANGES, ids=query_id)
async def test_bad_report_queries_are_400_in_each_shape(
    service: Service, params: dict[str, str]
) -> None:
    _, key = await service.new_key()
    response = await service.http.get(
        "/v1/usage", params=params, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"success", "error", "code"}
    assert body["success"] is False and body["code"] == "VALIDATION_ERROR"
    assert isinstance(body["error"], str) and body["error"]

    response = await service.http.get("/admin/usage", params=params, headers=ADMIN)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == "VALIDATION_ERROR"


async def test_a_range_of_366_days_is_accepted_and_reports_are_guarded(
    service: Service,
) -> None:
    ws_id, key = await service.new_key()
    headers = {"Authorization": f"Bearer {key}"}
    span = {"from": "2026-01-01", "to": "2027-01-02"}  # 366 days
    response = await service.http.get("/v1/usage", params=span, headers=headers)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["workspaceId"] == ws_id and len(doc["daily"]) == 366
    assert doc["totals"] == dict.fromkeys(COUNTERS, 0) and doc["byKey"] == []
    csv_only_header = await service.http.get(
        "/v1/usage", params={**span, "format": "csv"}, headers=headers
    )
    assert csv_only_header.status_code == 200 and csv_only_header.text.strip() == HEADER
    admin = await service.http.get("/admin/usage", params=span, headers=ADMIN)
    assert admin.status_code == 200
    assert admin.json()["workspaces"] == [
        {"workspaceId": ws_id, "totals": dict.fromkeys(COUNTERS, 0)}
    ]

    anonymous = await service.http.get("/v1/usage", params=span)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"
    not_admin = await service.http.get("/admin/usage", params=span, headers=headers)
    assert not_admin.status_code == 401
    assert not_admin.json()["error"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "params",
    [
        # Valid ISO text whose instant falls outside what a datetime can hold once in UTC,
        # or whose day after does: no input may get a 500 (SPEC section 5).
        {"from": "0001-01-01T00:00:00+01:00", "to": "0001-01-02"},
        {"from": "9999-12-31", "to": "9999-12-31T12:00:00Z"},
    ],
    ids=["year-1-with-offset", "last-day-of-year-9999"],
)
async def test_extreme_dates_are_400_not_500(service: Service, params: dict[str, str]) -> None:
    _, key = await service.new_key()
    response = await service.http.get(
        "/v1/usage", params=params, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    response = await service.http.get("/admin/usage", params=params, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
