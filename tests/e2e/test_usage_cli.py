"""``sessionshot usage`` as a real process mirrors the usage API (SPEC sections 6 and 8).

An in-process API instance holds two workspaces with sessions closed over HTTP today and
sessions closed through the engine's registry on earlier days; the CLI, run against the
same Redis and prefix, must print what the API answers, byte for byte for the CSV, on one
redis-server and on a three-primary Redis Cluster (SPEC 17).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sessions.credits import CreditPolicy
from sessions.keys import SessionKeys
from sessions.registry import CloseReason, Registry
from tests.conftest import ServiceFactory
from tests.integration.sessions_helpers import Client
from tests.support.procs import base_env, sessionshot_bin
from tests.support.redis_cluster import RedisBackend
from tests.support.service import ADMIN_TOKEN, Service, settings_env

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DAY_MS = 86_400_000


async def run_cli(service: Service, *args: str) -> tuple[int, str, str]:
    """``sessionshot usage …`` with the service's settings; exit status, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sessionshot_bin(),
        "usage",
        *args,
        env=base_env(**settings_env(service.settings)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_ok(service: Service, *args: str) -> str:
    """The stdout of a successful ``sessionshot usage``."""
    code, out, err = await run_cli(service, *args)
    assert code == 0, err
    return out


def midnight_ms(day: date) -> int:
    """Epoch milliseconds of a UTC midnight."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000


async def add_past_sessions(
    service: Service, ws_id: str, key_id: str, day: date, count: int
) -> None:
    """``count`` sessions closed on ``day`` through the engine's registry (billed as usual)."""
    registry = Registry(
        service.state.redis, SessionKeys(service.settings.redis_prefix), CreditPolicy()
    )
    reasons = list(CloseReason)
    for index in range(count):
        started = midnight_ms(day) + 3_600_000 * (index % 20) + 777 * index
        session_id = f"sess_{uuid.uuid4()}"
        fields = {
            "id": session_id,
            "keyId": key_id,
            "workspaceId": ws_id,
            "owner": "inst_cli_test",
            "status": "active",
            "kind": "capture" if index % 3 == 0 else "live",
            "createdAt": str(started - 25),
            "startedAt": str(started),
            "expiresAt": str(started + 300_000),
            "lastActivityAt": str(started),
            "options": json.dumps({"maxTtlSeconds": 300, "idleTimeoutSeconds": None}),
            "currentUrl": "about:blank",
        }
        assert await registry.create(fields, workspace_limit=10**6)
        record = await registry.get(session_id)
        assert record is not None
        closed_ms = started + 1_000 + 37_333 * index
        changed, _ = await registry.close(record, reasons[index % len(reasons)], closed_ms)
        assert changed


async def new_key(service: Service, ws_id: str) -> tuple[str, Client]:
    """A key of ``ws_id``: its id and a client using it."""
    key = await service.admin("POST", f"/admin/workspaces/{ws_id}/keys", json={})
    return key["id"], Client(service, ws_id, key["key"])


@pytest.fixture
async def populated(make_service: ServiceFactory, redis_backend: RedisBackend) -> dict[str, Any]:
    """A service and two workspaces with sessions closed today and two days ago, on one
    Redis and on a Redis Cluster."""
    service = await make_service(redis_url=redis_backend.url)
    ws_ids, clients = [], []
    for name in ("cli-one", "cli-two"):
        ws_ids.append((await service.admin("POST", "/admin/workspaces", json={"name": name}))["id"])
    key_one, one = await new_key(service, ws_ids[0])
    key_two, two = await new_key(service, ws_ids[1])
    clients = [one, two]
    for client in (one, one, two):
        session = await client.create()
        assert (await client.delete(session["id"])).status_code == 200
    today = datetime.now(UTC).date()
    await add_past_sessions(service, ws_ids[0], key_one, today - timedelta(days=2), 12)
    await add_past_sessions(service, ws_ids[1], key_two, today - timedelta(days=2), 5)
    spans = ranges(today)
    if redis_backend.kind == "cluster":
        # One span that reads day totals and ledger entries both: the range arithmetic is
        # the same on any Redis, and each CLI run costs seconds.
        spans = spans[1:2]
    return {"service": service, "ws_ids": ws_ids, "clients": clients, "spans": spans}


def ranges(today: date) -> list[tuple[str, str]]:
    """Whole days, and datetimes that cut days in the middle."""
    before, tomorrow = today - timedelta(days=3), today + timedelta(days=1)
    return [
        (before.isoformat(), tomorrow.isoformat()),
        (f"{today - timedelta(days=2)}T05:30:00Z", f"{tomorrow}T00:00:00.000Z"),
        (f"{today - timedelta(days=2)}T09:00:00+02:00", f"{today - timedelta(days=1)}T08:00:00"),
    ]


@pytest.mark.slow
async def test_usage_prints_what_the_api_answers(populated: dict[str, Any]) -> None:
    service: Service = populated["service"]
    http = service.http
    nonempty = 0
    for start, end in populated["spans"]:
        span = {"from": start, "to": end}

        admin = await http.get("/admin/usage", params=span, headers=ADMIN)
        assert admin.status_code == 200, admin.text
        printed = json.loads(await cli_ok(service, "--from", start, "--to", end))
        assert printed == admin.json()
        assert {w["workspaceId"] for w in printed["workspaces"]} == set(populated["ws_ids"])
        nonempty += sum(w["totals"]["sessions"] for w in printed["workspaces"])

        admin_csv = await http.get("/admin/usage", params={**span, "format": "csv"}, headers=ADMIN)
        assert admin_csv.status_code == 200
        csv_out = await cli_ok(service, "--from", start, "--to", end, "--csv")
        assert csv_out.encode() == admin_csv.content

        for ws_id, client in zip(populated["ws_ids"], populated["clients"], strict=True):
            api = await http.get("/v1/usage", params=span, headers=client.headers)
            assert api.status_code == 200, api.text
            one = await cli_ok(service, "--from", start, "--to", end, "--workspace", ws_id)
            assert json.loads(one) == api.json()

            api_csv = await http.get(
                "/v1/usage", params={**span, "format": "csv"}, headers=client.headers
            )
            assert api_csv.status_code == 200
            one_csv = await cli_ok(
                service, "--from", start, "--to", end, "--workspace", ws_id, "--csv"
            )
            assert one_csv.encode() == api_csv.content
            assert len(one_csv.splitlines()) == 1 + json.loads(one)["totals"]["sessions"]
    assert nonempty > 0, "the reports compared were not all empty"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-02", "2026-11-01"),
        ("2026-11-01", "2026-11-01"),
        ("2026-13-01", "2026-12-01"),
        ("yesterday", "2026-11-01"),
        ("2026-01-01", "2027-01-03"),
    ],
)
async def test_bad_range_exits_1_with_a_json_error(service: Service, start: str, end: str) -> None:
    code, out, err = await run_cli(service, "--from", start, "--to", end)
    assert code == 1, (out, err)
    assert "Traceback" not in err
    assert out.strip(), f"no JSON error on stdout; stderr: {err.strip()}"
    assert json.loads(out)["error"]["code"] == "VALIDATION_ERROR"


async def test_a_range_of_366_days_is_accepted(service: Service) -> None:
    ws_id, _ = await service.new_key()
    printed = json.loads(await cli_ok(service, "--from", "2026-01-01", "--to", "2027-01-02"))
    assert printed["workspaces"] == [
        {
            "workspaceId": ws_id,
            "totals": {"sessions": 0, "captures": 0, "durationSeconds": 0, "credits": 0},
        }
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [("0001-01-01T00:00:00+01:00", "0001-01-02"), ("9999-12-31", "9999-12-31T12:00:00Z")],
    ids=["year-1-with-offset", "last-day-of-year-9999"],
)
async def test_extreme_dates_exit_1_with_a_json_error(
    service: Service, start: str, end: str
) -> None:
    await service.new_key()
    code, out, err = await run_cli(service, "--from", start, "--to", end)
    assert code == 1, (out, err)
    assert "Traceback" not in err
    assert out.strip(), f"no JSON error on stdout; stderr: {err.strip()}"
    assert json.loads(out)["error"]["code"] == "VALIDATION_ERROR"
