"""The profile vault on one Redis and on a Redis Cluster: a workspace's profiles, sealed."""

from __future__ import annotations

import os
import secrets

from sessions.crypto import PayloadBox
from sessions.profiles import ProfileNotFound, ProfileVault
from tests.support.capture_stack import redis_contents
from tests.support.redis_cluster import RedisBackend, client_for

STATE = {
    "cookies": [
        {"name": "sid", "value": "v-secret", "domain": "app.test", "path": "/", "expires": -1},
        {"name": "lang", "value": "en", "domain": ".app.test", "path": "/", "expires": -1},
    ],
    "origins": [
        {"origin": "https://app.test", "localStorage": [{"name": "k", "value": "ls-secret"}]},
        {"origin": "https://empty.test", "localStorage": []},
    ],
}


async def test_profiles_round_trip_sealed(redis_backend: RedisBackend) -> None:
    prefix = f"pv{secrets.token_hex(4)}:"
    redis = client_for(redis_backend.url)
    try:
        vault = ProfileVault(redis, prefix, PayloadBox(os.urandom(32)))
        made = await vault.create("ws_a", "acme", STATE)
        assert made["cookieCount"] == 2 and made["domains"] == [".app.test", "app.test"]
        assert made["origins"] == ["https://app.test"]
        assert await vault.state("ws_a", made["id"]) == STATE
        assert await vault.get("ws_b", made["id"]) is None
        assert [p["id"] for p in await vault.list_for("ws_a")] == [made["id"]]
        assert await vault.list_for("ws_b") == []

        contents = await redis_contents(redis_backend.url, prefix)
        assert contents
        for name, value in contents.items():
            assert b"v-secret" not in name + value and b"ls-secret" not in name + value

        changed: dict[str, list[object]] = {"cookies": [], "origins": []}
        assert await vault.save_state("ws_a", made["id"], changed)
        assert (await vault.get("ws_a", made["id"]) or {})["cookieCount"] == 0
        assert await vault.delete("ws_a", made["id"])
        assert not await vault.delete("ws_a", made["id"])
        # Written back after a delete: nothing comes back.
        assert not await vault.save_state("ws_a", made["id"], STATE)
        assert await redis_contents(redis_backend.url, prefix) == {}
        try:
            await vault.state("ws_a", made["id"])
        except ProfileNotFound:
            pass
        else:
            raise AssertionError("a deleted profile's state was read")
    finally:
        await redis.aclose()
