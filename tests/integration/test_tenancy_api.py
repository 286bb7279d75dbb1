"""Tenancy through the admin API and bearer keys, against a real Redis (SPEC section 2)."""

from __future__ import annotations

import redis.asyncio as aioredis

from sessions.redis_types import text
from tests.conftest import ServiceFactory
from tests.support.service import ADMIN_TOKEN, Service

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _all_redis_text(url: str, prefix: str) -> str:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    chunks: list[str] = []
    try:
        async for key in client.scan_iter(match=f"{prefix}*"):
            chunks.append(text(key))
            kind = await client.type(key)
            if kind == "string":
                chunks.append(str(await client.get(key)))
            elif kind == "hash":
                hashed = await client.hgetall(key)
                chunks.extend(f"{text(k)}={text(v)}" for k, v in hashed.items())
            elif kind == "zset":
                chunks.extend(text(member) for member in await client.zrange(key, 0, -1))
            elif kind == "set":
                chunks.extend(text(member) for member in await client.smembers(key))
    finally:
        await client.aclose()
    return "\n".join(chunks)


async def test_key_is_shown_once_and_only_its_hash_is_stored(service: Service) -> None:
    ws = await service.admin("POST", "/admin/workspaces", json={"name": "acme"})
    assert ws["id"].startswith("ws_") and ws["name"] == "acme" and ws["createdAt"].endswith("Z")
    created = await service.admin("POST", f"/admin/workspaces/{ws['id']}/keys", json={"name": "ci"})
    key = created["key"]
    assert key.startswith("ssk_") and created["id"].startswith("key_")
    assert created["id"][4:] in key, "the key id is readable from the key string"
    assert created["workspaceId"] == ws["id"]

    listed = await service.admin("GET", f"/admin/workspaces/{ws['id']}/keys")
    assert [k["id"] for k in listed["keys"]] == [created["id"]]
    assert key not in str(listed) and "hash" not in listed["keys"][0]
    assert listed["keys"][0]["revokedAt"] is None

    stored = await _all_redis_text(service.settings.redis_url, service.settings.redis_prefix)
    secret_part = key.rsplit("_", 1)[1]
    assert created["id"] in stored
    assert key not in stored and secret_part not in stored


async def test_key_authenticates_and_revocation_is_immediate(service: Service) -> None:
    _, key = await service.new_key()
    ok = await service.http.get("/v1/nothing-here", headers=bearer(key))
    assert ok.status_code == 404, "an authenticated request reaches routing"
    key_id = "key_" + key.split("_")[1]

    listed = await service.http.get(f"/admin/keys/{key_id}", headers=ADMIN)
    assert listed.status_code == 405
    revoked = await service.admin("DELETE", f"/admin/keys/{key_id}")
    assert revoked["revokedAt"] is not None and revoked["lastUsedAt"] is not None
    again = await service.admin("DELETE", f"/admin/keys/{key_id}")
    assert again["revokedAt"] == revoked["revokedAt"], "revocation is idempotent"

    refused = await service.http.get("/v1/nothing-here", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json() == {
        "success": False,
        "error": "Missing or invalid API key.",
        "code": "UNAUTHENTICATED",
    }


async def test_revocation_is_seen_by_every_instance(make_service: ServiceFactory) -> None:
    first = await make_service()
    second = await make_service()
    _, key = await first.new_key()
    assert (await second.http.get("/api/x", headers=bearer(key))).status_code == 404
    await first.admin("DELETE", f"/admin/keys/key_{key.split('_')[1]}")
    assert (await second.http.get("/api/x", headers=bearer(key))).status_code == 401


async def test_bad_credentials_get_401_in_both_shapes(service: Service) -> None:
    _, key = await service.new_key()
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ssk_nothex_zzz"},
        {"Authorization": "Bearer ssk_0123456789abcdef_" + "A" * 43},
        bearer(forged),
    ):
        api = await service.http.post("/api/captures", headers=headers, json={})
        assert api.status_code == 401
        assert api.json()["error"]["code"] == "UNAUTHENTICATED"
        v1 = await service.http.get("/v1/sessions", headers=headers)
        assert v1.status_code == 401 and v1.json()["code"] == "UNAUTHENTICATED"


async def test_domains_add_list_remove(service: Service) -> None:
    ws_id, _ = await service.new_key()
    base = f"/admin/workspaces/{ws_id}/domains"
    added = await service.admin("POST", base, json={"domain": "Example.COM."})
    assert added == {"domain": "example.com", "active": True}
    await service.admin("POST", base, json={"domain": "*.Bücher.de"})
    listed = (await service.admin("GET", base))["domains"]
    assert {d["domain"] for d in listed} == {"example.com", "*.xn--bcher-kva.de"}
    assert all(d["active"] and d["createdAt"] for d in listed)

    removed = await service.http.delete(f"{base}/example.com", headers=ADMIN)
    assert removed.status_code == 200 and removed.json()["active"] is False
    listed = (await service.admin("GET", base))["domains"]
    assert {d["domain"]: d["active"] for d in listed} == {
        "example.com": False,
        "*.xn--bcher-kva.de": True,
    }
    missing = await service.http.delete(f"{base}/nope.example", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    bad = await service.http.post(base, headers=ADMIN, json={"domain": "exa mple.com"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_public_suffixes_are_refused_as_domains(service: Service) -> None:
    ws_id, _ = await service.new_key()
    base = f"/admin/workspaces/{ws_id}/domains"
    for domain in ("*.com", "*.co.uk", "*.github.io", "com", "co.uk"):
        refused = await service.http.post(base, headers=ADMIN, json={"domain": domain})
        assert refused.status_code == 400, (domain, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["message"].startswith("domain: ") and "public suffix" in error["message"]
    for domain in ("*.example.com", "*.me.github.io", "github.io"):
        await service.admin("POST", base, json={"domain": domain})
    listed = (await service.admin("GET", base))["domains"]
    assert {d["domain"] for d in listed} == {"*.example.com", "*.me.github.io", "github.io"}


async def test_admin_unknown_workspace_is_404(service: Service) -> None:
    for method, path in (
        ("POST", "/admin/workspaces/ws_0000000000000000/keys"),
        ("GET", "/admin/workspaces/ws_0000000000000000/keys"),
        ("GET", "/admin/workspaces/nonsense/domains"),
        ("DELETE", "/admin/keys/key_0000000000000000"),
    ):
        response = await service.http.request(method, path, headers=ADMIN, json={})
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_admin_token_required(service: Service) -> None:
    missing = await service.http.get("/admin/workspaces")
    assert missing.status_code == 401
    assert missing.json() == {
        "error": {"code": "UNAUTHENTICATED", "message": "Missing or invalid admin token."}
    }
    wrong = await service.http.get("/admin/workspaces", headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "UNAUTHENTICATED"
    ok = await service.http.get("/admin/workspaces", headers=ADMIN)
    assert ok.status_code == 200 and "workspaces" in ok.json()


async def test_admin_api_is_off_without_token(make_service: ServiceFactory) -> None:
    service = await make_service(admin_token=None)
    for headers in ({}, ADMIN):
        response = await service.http.get("/admin/workspaces", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_adding_a_listed_domain_again_keeps_when_it_was_added(service: Service) -> None:
    ws = await service.admin("POST", "/admin/workspaces", json={"name": "again"})
    path = f"/admin/workspaces/{ws['id']}/domains"
    await service.admin("POST", path, json={"domain": "app.test"})
    first = (await service.admin("GET", path))["domains"]
    await service.admin("POST", path, json={"domain": "APP.test."})  # the same entry
    assert (await service.admin("GET", path))["domains"] == first
