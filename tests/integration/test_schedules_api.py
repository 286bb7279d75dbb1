"""Scheduled captures (SPEC section 16) on one Redis and on a Redis Cluster: the API, and the
scheduler's claim of a due time.

The claim is driven here at chosen instants (a schedule due once a year, ticked at its due
time or days after it), so nothing waits for a minute to turn; ``tests/e2e/test_schedules.py``
shows the same on real processes and a real clock.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from app.factory import make_scheduler
from app.routes.profiles import PROFILES_KEY
from captures.schedules.scheduler import Scheduler
from tests.support.capture_stack import redis_contents
from tests.support.redis_cluster import RedisBackend
from tests.support.service import Service, settings_for_tests, start_service

pytestmark = pytest.mark.timeout(180)

YEARLY = "0 0 1 1 *"
"""Due once a year: the scheduler loops of the instance never reach it during a test."""
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
async def sched_service(
    redis_backend: RedisBackend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    settings = settings_for_tests(
        redis_backend.url,
        f"sc{secrets.token_hex(4)}:",
        storage_dir=str(tmp_path_factory.mktemp("storage")),
        warm_contexts=0,
    )
    service = await start_service(settings)
    yield service
    await service.aclose()


class Api:
    """A workspace's key on the instance."""

    def __init__(self, service: Service, ws_id: str, key: str) -> None:
        self.service = service
        self.ws_id = ws_id
        self.headers = {"Authorization": f"Bearer {key}"}
        self.key_id = "key_" + key.split("_")[1]

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.service.http.request(method, path, headers=headers, **kwargs)

    async def create(self, **body: Any) -> dict[str, Any]:
        body = {"name": "nightly", "cron": YEARLY, "capture": {"url": "https://app.test/"}, **body}
        answer = await self.call("POST", "/api/schedules", json=body)
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created


async def _api(service: Service) -> Api:
    ws_id, key = await service.new_key(("app.test",))
    return Api(service, ws_id, key)


def _scheduler(service: Service) -> Scheduler:
    """A scheduler as another process would run it (same Redis, same services)."""
    state = service.state
    vault = service.app.extensions[PROFILES_KEY]
    return make_scheduler(service.settings, state.redis, state.tenancy, vault, state.captures)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


async def test_create_read_pause_resume_delete(sched_service: Service) -> None:
    api = await _api(sched_service)
    created = await api.create(timezone="Asia/Kolkata", cron="30 9 * * *")
    assert created["id"].startswith("sch_")
    assert created["paused"] is False and created["pausedReason"] is None
    assert created["keyId"] == api.key_id and created["lastRunAt"] is None
    # 09:30 in Kolkata is 04:00 UTC.
    assert created["nextRunAt"].endswith("T04:00:00.000Z")
    assert "capture" not in created

    listed = await api.call("GET", "/api/schedules")
    assert listed.json() == {"schedules": [created]}
    detail = await api.call("GET", f"/api/schedules/{created['id']}")
    assert detail.json() == {**created, "recentCaptures": []}

    paused = await api.call("PATCH", f"/api/schedules/{created['id']}", json={"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert paused.json()["nextRunAt"] is None
    resumed = await api.call(
        "PATCH", f"/api/schedules/{created['id']}", json={"paused": False, "cron": "0 12 * * *"}
    )
    body = resumed.json()
    assert body["paused"] is False and body["cron"] == "0 12 * * *"
    assert body["nextRunAt"].endswith("T06:30:00.000Z")
    renamed = await api.call("PATCH", f"/api/schedules/{created['id']}", json={"name": "noon"})
    assert renamed.json()["name"] == "noon" and renamed.json()["nextRunAt"] == body["nextRunAt"]

    deleted = await api.call("DELETE", f"/api/schedules/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == created["id"]
    for method in ("GET", "DELETE", "PATCH"):
        gone = await api.call(method, f"/api/schedules/{created['id']}", json={"name": "x"})
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"


async def test_another_workspace_sees_nothing(sched_service: Service) -> None:
    api, other = await _api(sched_service), await _api(sched_service)
    created = await api.create()
    assert (await other.call("GET", "/api/schedules")).json() == {"schedules": []}
    for method in ("GET", "DELETE", "PATCH"):
        answer = await other.call(method, f"/api/schedules/{created['id']}", json={"name": "x"})
        assert answer.status_code == 404


async def test_one_capture_per_due_time_whatever_the_number_of_schedulers(
    sched_service: Service,
) -> None:
    api = await _api(sched_service)
    created = await api.create()
    due = _ms(created["nextRunAt"])
    schedulers = [_scheduler(sched_service) for _ in range(4)]
    made = await asyncio.gather(*(s.tick(api.ws_id, created["id"], due) for s in schedulers))
    capture_ids = [c for c in made if c is not None]
    assert len(capture_ids) == 1
    # The same due time again, from any of them: nothing more.
    assert await schedulers[0].tick(api.ws_id, created["id"], due) is None

    # Another key of the workspace reads the schedule; the capture is its maker's.
    second = await sched_service.admin("POST", f"/admin/workspaces/{api.ws_id}/keys", json={})
    reader = Api(sched_service, api.ws_id, second["key"])
    detail = (await reader.call("GET", f"/api/schedules/{created['id']}")).json()
    assert [r["id"] for r in detail["recentCaptures"]] == capture_ids
    assert detail["recentCaptures"][0]["status"] in ("queued", "processing", "completed")
    assert detail["lastRunAt"] is not None
    assert _ms(detail["nextRunAt"]) > due
    mine = (await api.call("GET", f"/api/captures/{capture_ids[0]}")).json()
    assert mine["id"] == capture_ids[0]
    theirs = await reader.call("GET", f"/api/captures/{capture_ids[0]}")
    assert theirs.status_code == 404


async def test_missed_due_times_run_once(sched_service: Service) -> None:
    api = await _api(sched_service)
    created = await api.create(cron="0 * * * *")  # hourly
    # Paused at once so that the instance's own loop stays away; resumed below at a
    # chosen due time through the record the scheduler reads.
    await api.call("PATCH", f"/api/schedules/{created['id']}", json={"paused": True})
    scheduler = _scheduler(sched_service)
    record = await scheduler.store.get(api.ws_id, created["id"])
    assert record is not None
    due = _ms(created["nextRunAt"])
    await sched_service.state.redis.hset(
        scheduler.store.keys.schedule(api.ws_id, created["id"]),
        mapping={"paused": "0", "nextRunMs": str(due)},
    )
    # Three days of hourly due times went by while nothing ran: one capture, then the next
    # due time after now.
    later = due + 3 * DAY_MS + 90_000
    assert await scheduler.tick(api.ws_id, created["id"], later) is not None
    assert await scheduler.tick(api.ws_id, created["id"], later) is None
    assert await scheduler.tick(api.ws_id, created["id"], later + 60_000) is None
    detail = (await api.call("GET", f"/api/schedules/{created['id']}")).json()
    assert len(detail["recentCaptures"]) == 1
    assert _ms(detail["nextRunAt"]) == later - 90_000 + 3_600_000


async def test_paused_schedules_make_nothing(sched_service: Service) -> None:
    api = await _api(sched_service)
    created = await api.create(paused=True)
    assert created["paused"] is True and created["nextRunAt"] is None
    scheduler = _scheduler(sched_service)
    assert await scheduler.tick(api.ws_id, created["id"], _ms("2030-01-01T00:00:00+00:00")) is None
    detail = (await api.call("GET", f"/api/schedules/{created['id']}")).json()
    assert detail["recentCaptures"] == []


async def test_a_revoked_key_or_a_removed_domain_pauses_the_schedule(
    sched_service: Service,
) -> None:
    api = await _api(sched_service)
    revoked = await api.create()
    scheduler = _scheduler(sched_service)

    await sched_service.admin("DELETE", f"/admin/keys/{api.key_id}")
    assert await scheduler.tick(api.ws_id, revoked["id"], _ms(revoked["nextRunAt"])) is None
    second = await sched_service.admin("POST", f"/admin/workspaces/{api.ws_id}/keys", json={})
    reader = Api(sched_service, api.ws_id, second["key"])
    detail = (await reader.call("GET", f"/api/schedules/{revoked['id']}")).json()
    assert detail["paused"] is True and detail["pausedReason"] == "KEY_REVOKED"
    assert detail["recentCaptures"] == [] and detail["nextRunAt"] is None

    # A schedule of a live key, whose host is then removed from the workspace.
    moved = await reader.create(capture={"url": "https://app.test/echo"})
    await sched_service.admin("DELETE", f"/admin/workspaces/{api.ws_id}/domains/app.test")
    assert await scheduler.tick(api.ws_id, moved["id"], _ms(moved["nextRunAt"])) is None
    detail = (await reader.call("GET", f"/api/schedules/{moved['id']}")).json()
    assert detail["paused"] is True and detail["pausedReason"] == "DOMAIN_NOT_ALLOWED"
    # A caller's resume clears the reason.
    resumed = await reader.call("PATCH", f"/api/schedules/{moved['id']}", json={"paused": False})
    assert resumed.json()["pausedReason"] is None and resumed.json()["paused"] is False


async def test_the_capture_body_is_sealed(sched_service: Service) -> None:
    api = await _api(sched_service)
    secret = f"cookie{secrets.token_hex(12)}"
    cookie = {"name": "sid", "value": secret, "domain": "app.test", "secure": True}
    created = await api.create(capture={"url": "https://app.test/", "auth": {"cookies": [cookie]}})
    assert secret not in str(created)
    contents = await redis_contents(
        sched_service.settings.redis_url, sched_service.settings.redis_prefix
    )
    assert any(created["id"].encode() in name for name in contents)
    assert not [k for k, v in contents.items() if secret.encode() in k + v]


BAD_CREATES: list[tuple[str, dict[str, Any]]] = [
    ("cron", {"cron": "* * * *"}),
    ("cron", {"cron": "* * * * * *"}),
    ("cron", {"cron": "61 * * * *"}),
    ("cron", {"cron": "0 0 31 2 *"}),
    ("cron", {"cron": "@daily"}),
    ("cron", {"cron": 5}),
    ("cron", {"cron": ["*"]}),
    ("cron", {"cron": "* " * 200}),
    ("timezone", {"timezone": "Mars/Olympus"}),
    ("timezone", {"timezone": "../../etc/passwd"}),
    ("timezone", {"timezone": 1}),
    ("name", {"name": ""}),
    ("name", {"name": "x" * 201}),
    ("name", {"name": {"a": {"b": {}}}}),
    ("paused", {"paused": "yes"}),
    ("capture", {"capture": "https://app.test/"}),
    ("capture.url", {"capture": {"url": "http://app.test/"}}),
    ("capture.url", {"capture": {}}),
    ("capture.actions", {"capture": {"url": "https://app.test/", "actions": [{}] * 30}}),
    ("capture.auth.profile", {"capture": {"url": "https://app.test/", "auth": {"profile": 1}}}),
    ("other", {"other": True}),
]


async def test_bad_bodies_are_refused_naming_the_field(sched_service: Service) -> None:
    api = await _api(sched_service)
    base = {"name": "n", "cron": YEARLY, "capture": {"url": "https://app.test/"}}
    for field, change in BAD_CREATES:
        answer = await api.call("POST", "/api/schedules", json={**base, **change})
        assert answer.status_code == 400, (change, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and field in error["message"], (change, error)
    for missing in ("name", "cron", "capture"):
        body = {k: v for k, v in base.items() if k != missing}
        answer = await api.call("POST", "/api/schedules", json=body)
        assert answer.status_code == 400 and missing in answer.json()["error"]["message"]
    for raw in (b"{", b"[]", b"null", b'{"name": "n"' * 10, b"[" * 100000 + b"]" * 100000):
        answer = await api.call(
            "POST",
            "/api/schedules",
            content=raw,
            headers={**api.headers, "Content-Type": "application/json"},
        )
        assert answer.status_code in (400, 413), (raw[:20], answer.text)
        assert answer.json()["error"]["code"] in ("VALIDATION_ERROR", "PAYLOAD_TOO_LARGE")
    huge = await api.call("POST", "/api/schedules", json={**base, "name": "x" * 2_000_000})
    assert huge.status_code == 413

    elsewhere = await api.call(
        "POST", "/api/schedules", json={**base, "capture": {"url": "https://other.test/"}}
    )
    assert (
        elsewhere.status_code == 403 and elsewhere.json()["error"]["code"] == "DOMAIN_NOT_ALLOWED"
    )
    no_profile = {"url": "https://app.test/", "auth": {"profile": "prof_" + "0" * 32}}
    unknown = await api.call("POST", "/api/schedules", json={**base, "capture": no_profile})
    assert unknown.status_code == 400
    assert "capture.auth.profile" in unknown.json()["error"]["message"]
    assert (await api.call("GET", "/api/schedules")).json() == {"schedules": []}

    created = await api.create()
    path = f"/api/schedules/{created['id']}"
    bad_patches: list[tuple[str, Any]] = [
        ("cron", {"cron": "* *"}),
        ("timezone", {"timezone": "Nowhere/Land"}),
        ("paused", {"paused": 1}),
        ("name", {"name": ""}),
        ("capture", {"capture": {"url": "https://app.test/"}}),
        ("", {}),
        ("", []),
    ]
    for field, patch in bad_patches:
        answer = await api.call("PATCH", path, json=patch)
        assert answer.status_code == 400, (patch, answer.text)
        assert field in answer.json()["error"]["message"]
    assert (await api.call("GET", path)).json()["cron"] == YEARLY


async def test_a_deleted_profile_pauses_the_schedule(sched_service: Service) -> None:
    api = await _api(sched_service)
    session = await api.call("POST", "/v1/sessions", json={})
    assert session.status_code == 201, session.text
    session_id = session.json()["id"]
    saved = await api.call("POST", f"/v1/sessions/{session_id}/profile", json={"name": "blank"})
    assert saved.status_code == 201, saved.text
    profile = saved.json()
    assert profile["cookieCount"] == 0 and profile["origins"] == profile["domains"] == []
    assert (await api.call("DELETE", f"/v1/sessions/{session_id}")).status_code == 200

    capture = {"url": "https://app.test/", "auth": {"profile": profile["id"]}}
    created = await api.create(capture=capture)
    deleted = await api.call("DELETE", f"/api/profiles/{profile['id']}")
    assert deleted.status_code == 200
    scheduler = _scheduler(sched_service)
    assert await scheduler.tick(api.ws_id, created["id"], _ms(created["nextRunAt"])) is None
    detail = (await api.call("GET", f"/api/schedules/{created['id']}")).json()
    assert detail["paused"] is True and detail["pausedReason"] == "PROFILE_NOT_FOUND"
    assert detail["recentCaptures"] == []
