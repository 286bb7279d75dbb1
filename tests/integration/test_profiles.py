"""Profiles (SPEC section 16): log in once in a session, save its state, capture logged in.

The API runs in-process with a real browser, captures in a real worker process; the target
site's ``/login`` form sets an HttpOnly cookie and a localStorage value, ``/account`` shows
an element only a logged-in visitor gets.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.support.capture_stack import redis_contents
from tests.support.procs import ServiceProcess
from tests.support.service import Service
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(240)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _act(service: Service, key: str, session_id: str, kind: str, **payload: Any) -> Any:
    response = await service.http.post(
        f"/v1/sessions/{session_id}/actions",
        headers=_auth(key),
        json={"type": kind, "payload": payload},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _session(service: Service, key: str, **body: Any) -> str:
    created = await service.http.post("/v1/sessions", headers=_auth(key), json=body)
    assert created.status_code == 201, created.text
    session_id: str = created.json()["id"]
    return session_id


async def _close(service: Service, key: str, session_id: str) -> None:
    closed = await service.http.delete(f"/v1/sessions/{session_id}", headers=_auth(key))
    assert closed.status_code == 200, closed.text


async def _log_in(
    service: Service, key: str, session_id: str, site: TargetSite, token: str, pref: str
) -> None:
    await _act(service, key, session_id, "goto", url=site.url("/login"))
    await _act(service, key, session_id, "fill", selector="#token", value=token)
    await _act(service, key, session_id, "fill", selector="#pref", value=pref)
    await _act(service, key, session_id, "click", selector="#login")
    await _act(service, key, session_id, "waitForSelector", selector="#signed-in", timeout=10000)


async def _saved_profile(
    service: Service, key: str, site: TargetSite, token: str, pref: str
) -> dict[str, Any]:
    session_id = await _session(service, key)
    await _log_in(service, key, session_id, site, token, pref)
    saved = await service.http.post(
        f"/v1/sessions/{session_id}/profile", headers=_auth(key), json={"name": "acme"}
    )
    assert saved.status_code == 201, saved.text
    await _close(service, key, session_id)
    assert token not in saved.text and pref not in saved.text
    profile: dict[str, Any] = saved.json()
    return profile


async def _account(service: Service, key: str, session_id: str, site: TargetSite) -> Any:
    """What ``/account`` shows the session: the cookie's value and the localStorage value."""
    await _act(service, key, session_id, "goto", url=site.url("/account"))
    sid = await _act(service, key, session_id, "query", selector="#sid")
    pref = await _act(service, key, session_id, "query", selector="#pref")
    return (sid["elementText"] if sid["matched"] else None), pref["elementText"]


async def test_a_saved_profile_logs_in_a_capture_and_a_session(
    browser_service: Service, capture_worker: ServiceProcess, target_site: TargetSite
) -> None:
    service = browser_service
    _, key = await service.new_key(("app.test",))
    token, pref = f"tok{secrets.token_hex(12)}", f"pref{secrets.token_hex(8)}"
    profile = await _saved_profile(service, key, target_site, token, pref)

    assert profile["id"].startswith("prof_") and profile["name"] == "acme"
    assert profile["cookieCount"] == 1 and profile["domains"] == ["app.test"]
    assert profile["origins"] == [target_site.url("/").rstrip("/")]
    listed = await service.http.get("/api/profiles", headers=_auth(key))
    assert listed.status_code == 200 and listed.json() == {"profiles": [profile]}
    read = await service.http.get(f"/api/profiles/{profile['id']}", headers=_auth(key))
    assert read.status_code == 200 and read.json() == profile

    # A capture of the logged-in-only page completes only when the cookie came with it.
    body = {
        "url": target_site.url("/account"),
        "auth": {"profile": profile["id"]},
        "actions": [{"type": "waitForSelector", "selector": "#logged-in", "timeout": 5000}],
    }
    created = await service.http.post("/api/captures", headers=_auth(key), json=body)
    assert created.status_code == 202, created.text
    done = await service.http.get(f"{created.json()['statusUrl']}?wait=30", headers=_auth(key))
    assert done.json()["status"] == "completed", (done.text, capture_worker.stderr[-2000:])

    # A live session starts logged in too, cookie and localStorage alike.
    session_id = await _session(service, key, auth={"profile": profile["id"]})
    assert await _account(service, key, session_id, target_site) == (token, pref)
    await _close(service, key, session_id)

    # Sealed at rest: the cookie's value and the localStorage value are nowhere in Redis.
    contents = await redis_contents(service.settings.redis_url, service.settings.redis_prefix)
    assert contents
    for name, value in contents.items():
        assert token.encode() not in name + value and pref.encode() not in name + value


async def test_explicit_cookies_and_local_storage_win(
    browser_service: Service, target_site: TargetSite
) -> None:
    service = browser_service
    _, key = await service.new_key(("app.test",))
    profile = await _saved_profile(service, key, target_site, "from-profile", "profile-pref")
    auth = {
        "profile": profile["id"],
        "cookies": [{"name": "sid", "value": "explicit", "domain": "app.test", "secure": True}],
        "localStorage": [{"key": "pref", "value": "explicit-pref"}],
    }
    session_id = await _session(service, key, auth=auth)
    assert await _account(service, key, session_id, target_site) == (
        "explicit",
        "explicit-pref",
    )
    await _close(service, key, session_id)


async def test_persist_profile_carries_a_change_after_an_idle_timeout(
    browser_service: Service, target_site: TargetSite
) -> None:
    service = browser_service
    _, key = await service.new_key(("app.test",))
    profile = await _saved_profile(service, key, target_site, "first-token", "first-pref")
    session_id = await _session(
        service,
        key,
        auth={"profile": profile["id"]},
        persistProfile=True,
        idleTimeoutSeconds=3,
    )
    await _log_in(service, key, session_id, target_site, "second-token", "second-pref")

    async def closed() -> dict[str, Any] | None:
        got = await service.http.get(f"/v1/sessions/{session_id}", headers=_auth(key))
        record: dict[str, Any] = got.json()
        return record if record["status"] == "closed" else None

    final = await eventually(closed, 30, "the idle timeout")
    assert final["closeReason"] == "idle_timeout"

    async def written_back() -> dict[str, Any] | None:
        got = await service.http.get(f"/api/profiles/{profile['id']}", headers=_auth(key))
        body: dict[str, Any] = got.json()
        return body if body["updatedAt"] != profile["updatedAt"] else None

    await eventually(written_back, 15, "the profile written back")
    next_session = await _session(service, key, auth={"profile": profile["id"]})
    assert await _account(service, key, next_session, target_site) == (
        "second-token",
        "second-pref",
    )
    await _close(service, key, next_session)


async def test_deleted_and_foreign_profiles_are_refused(
    browser_service: Service, target_site: TargetSite
) -> None:
    service = browser_service
    _, key = await service.new_key(("app.test",))
    _, other_key = await service.new_key(("app.test",))
    profile = await _saved_profile(service, key, target_site, "tok-foreign", "pref-foreign")
    capture = {"url": target_site.url("/account"), "auth": {"profile": profile["id"]}}

    # Another workspace's profile: not found, whatever the route.
    got = await service.http.get(f"/api/profiles/{profile['id']}", headers=_auth(other_key))
    assert got.status_code == 404 and got.json()["error"]["code"] == "NOT_FOUND"
    session = await service.http.post(
        "/v1/sessions", headers=_auth(other_key), json={"auth": {"profile": profile["id"]}}
    )
    assert session.status_code == 404 and session.json()["code"] == "NOT_FOUND", session.text
    refused = await service.http.post("/api/captures", headers=_auth(other_key), json=capture)
    assert refused.status_code == 400 and "auth.profile" in refused.json()["error"]["message"]
    gone = await service.http.delete(f"/api/profiles/{profile['id']}", headers=_auth(other_key))
    assert gone.status_code == 404

    deleted = await service.http.delete(f"/api/profiles/{profile['id']}", headers=_auth(key))
    assert deleted.status_code == 200 and deleted.json()["id"] == profile["id"]
    again = await service.http.delete(f"/api/profiles/{profile['id']}", headers=_auth(key))
    assert again.status_code == 404
    got = await service.http.get(f"/api/profiles/{profile['id']}", headers=_auth(key))
    assert got.status_code == 404
    session = await service.http.post(
        "/v1/sessions", headers=_auth(key), json={"auth": {"profile": profile["id"]}}
    )
    assert session.status_code == 404 and session.json()["code"] == "NOT_FOUND", session.text
    refused = await service.http.post("/api/captures", headers=_auth(key), json=capture)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and "auth.profile" in error["message"]
    batch = await service.http.post(
        "/api/captures/batch", headers=_auth(key), json={"captures": [capture]}
    )
    assert batch.status_code == 202
    assert "auth.profile" in batch.json()["captures"][0]["error"]["message"]
    # The sealed state is erased with it.
    contents = await redis_contents(service.settings.redis_url, service.settings.redis_prefix)
    assert not [name for name in contents if profile["id"].encode() in name]


BAD_PROFILE_BODIES: list[tuple[str, Any]] = [
    ("name", {}),
    ("name", {"name": ""}),
    ("name", {"name": 5}),
    ("name", {"name": ["a"]}),
    ("name", {"name": "x" * 201}),
    ("name", {"name": {"a": {"b": {"c": 1}}}}),
    ("other", {"name": "a", "other": 1}),
]


async def test_profile_bodies_are_checked(browser_service: Service) -> None:
    service = browser_service
    _, key = await service.new_key(("app.test",))
    session_id = await _session(service, key)
    path = f"/v1/sessions/{session_id}/profile"
    for field, body in BAD_PROFILE_BODIES:
        answer = await service.http.post(path, headers=_auth(key), json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["code"] == "VALIDATION_ERROR" and field in answer.json()["error"]
    raw_bodies = [b"{", b"[]", b'"name"', b"null", b"[" * 100000 + b"]" * 100000]
    for raw in raw_bodies:
        answer = await service.http.post(
            path, headers={**_auth(key), "Content-Type": "application/json"}, content=raw
        )
        assert answer.status_code in (400, 413), (raw[:20], answer.text)
        assert answer.json()["success"] is False
    huge = await service.http.post(path, headers=_auth(key), json={"name": "x" * 2_000_000})
    assert huge.status_code == 413
    unknown = await service.http.post(
        "/v1/sessions/sess_unknown/profile", headers=_auth(key), json={"name": "a"}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "NOT_FOUND"
    await _close(service, key, session_id)
    closed = await service.http.post(path, headers=_auth(key), json={"name": "a"})
    assert closed.status_code == 409 and closed.json()["code"] == "SESSION_CLOSED"
    lonely = await service.http.post(
        "/v1/sessions", headers=_auth(key), json={"persistProfile": True}
    )
    assert lonely.status_code == 400 and "persistProfile" in lonely.json()["error"]
    malformed = await service.http.post(
        "/v1/sessions", headers=_auth(key), json={"auth": {"profile": "prof_x"}}
    )
    assert malformed.status_code == 400 and "auth.profile" in malformed.json()["error"]
