"""Profiles: a session's cookies and localStorage, sealed at rest, put back in later sessions.

A profile belongs to a workspace. Its state is what ``BrowserContext.storage_state()``
reads (cookies, and localStorage per origin), sealed with AES-256-GCM (the capture payload
box, the profile id as authenticated data) and never returned; only counts, origins and
cookie domains are public.

Keys (cluster-safe: a workspace's profiles and their index share its hash tag, so one
``MULTI`` changes them together):

- ``{prefix}prof:{<ws>}:p:<id>`` hash: name, times, counts, origins and domains (JSON), the
  sealed state (base64);
- ``{prefix}prof:{<ws>}:index`` sorted set: profile ids by creation time.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from playwright.async_api import BrowserContext, Route

from sessions.crypto import PayloadBox
from sessions.errors import SessionNotFound
from sessions.models import AuthState
from sessions.redis_types import RedisClient, fields, text_dict
from sessions.timefmt import iso_ms, now_ms

log = logging.getLogger(__name__)

PROFILE_ID = re.compile(r"^prof_[0-9a-f]{32}$")
"""What a profile id looks like (checked before any Redis call)."""
MAX_PROFILES = 1000
"""Profiles per workspace."""
_COOKIE_FIELDS = ("name", "value", "domain", "path", "expires", "httpOnly", "secure", "sameSite")
"""The cookie fields ``add_cookies`` takes back from ``storage_state()``."""


class ProfileNotFound(SessionNotFound):
    """Unknown profile, deleted, or another workspace's (404 ``NOT_FOUND``)."""

    default_message = "Profile not found."


class TooManyProfiles(Exception):
    """The workspace holds :data:`MAX_PROFILES` profiles already."""


@dataclass(frozen=True)
class ProfileKeys:
    """Key builders bound to one prefix."""

    prefix: str

    def profile(self, ws_id: str, profile_id: str) -> str:
        """Hash: one profile (public fields and the sealed state)."""
        return f"{self.prefix}prof:{{{ws_id}}}:p:{profile_id}"

    def index(self, ws_id: str) -> str:
        """Sorted set: the workspace's profile ids, scored by creation time (ms)."""
        return f"{self.prefix}prof:{{{ws_id}}}:index"


def summary(state: dict[str, Any]) -> dict[str, str]:
    """The public facts of a state, as record fields: cookie count, origins, domains."""
    cookies = state.get("cookies") or []
    origins = [o["origin"] for o in state.get("origins") or [] if o.get("localStorage")]
    domains = sorted({str(c.get("domain", "")) for c in cookies} - {""})
    return {
        "cookieCount": str(len(cookies)),
        "origins": json.dumps(sorted(set(origins))),
        "domains": json.dumps(domains),
    }


def public(record: dict[str, str]) -> dict[str, Any]:
    """A profile as the API answers it (no state)."""
    return {
        "id": record["id"],
        "name": record["name"],
        "createdAt": iso_ms(int(record["createdAt"])),
        "updatedAt": iso_ms(int(record["updatedAt"])),
        "cookieCount": int(record.get("cookieCount", "0")),
        "origins": json.loads(record.get("origins", "[]")),
        "domains": json.loads(record.get("domains", "[]")),
    }


class ProfileVault:
    """Profiles of every workspace in Redis, their state sealed."""

    def __init__(self, redis: RedisClient, prefix: str, box: PayloadBox) -> None:
        self._redis = redis
        self._keys = ProfileKeys(prefix)
        self._box = box

    def _seal(self, profile_id: str, state: dict[str, Any]) -> str:
        sealed = self._box.seal(profile_id, json.dumps(state, separators=(",", ":")).encode())
        return base64.b64encode(sealed).decode()

    async def create(self, ws_id: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
        """Store a new profile holding ``state``; its public object."""
        if await self._redis.zcard(self._keys.index(ws_id)) >= MAX_PROFILES:
            raise TooManyProfiles()
        profile_id = f"prof_{uuid.uuid4().hex}"
        stamp = now_ms()
        record = {
            "id": profile_id,
            "workspaceId": ws_id,
            "name": name,
            "createdAt": str(stamp),
            "updatedAt": str(stamp),
            "state": self._seal(profile_id, state),
            **summary(state),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.profile(ws_id, profile_id), mapping=fields(record))
            pipe.zadd(self._keys.index(ws_id), {profile_id: stamp})
            await pipe.execute()
        return public(record)

    async def _record(self, ws_id: str, profile_id: str) -> dict[str, str] | None:
        if not PROFILE_ID.match(profile_id):
            return None
        row = text_dict(await self._redis.hgetall(self._keys.profile(ws_id, profile_id)))
        return row if row.get("id") == profile_id else None

    async def get(self, ws_id: str, profile_id: str) -> dict[str, Any] | None:
        """The profile's public object, or None (unknown, deleted, another workspace's)."""
        record = await self._record(ws_id, profile_id)
        return None if record is None else public(record)

    async def exists(self, ws_id: str, profile_id: str) -> bool:
        """True when the workspace holds this profile."""
        return PROFILE_ID.match(profile_id) is not None and bool(
            await self._redis.exists(self._keys.profile(ws_id, profile_id))
        )

    async def list_for(self, ws_id: str) -> list[dict[str, Any]]:
        """The workspace's profiles, oldest first."""
        ids = await self._redis.zrange(self._keys.index(ws_id), 0, -1)
        out = []
        for profile_id in ids:
            record = await self._record(ws_id, str(profile_id))
            if record is not None:
                out.append(public(record))
        return out

    async def delete(self, ws_id: str, profile_id: str) -> bool:
        """Erase the profile and its sealed state; False when there was none."""
        if not PROFILE_ID.match(profile_id):
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.profile(ws_id, profile_id))
            pipe.zrem(self._keys.index(ws_id), profile_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def state(self, ws_id: str, profile_id: str) -> dict[str, Any]:
        """The profile's state, opened in memory (:class:`ProfileNotFound` when none)."""
        record = await self._record(ws_id, profile_id)
        if record is None or "state" not in record:
            raise ProfileNotFound()
        opened = self._box.open(profile_id, base64.b64decode(record["state"]))
        state: dict[str, Any] = json.loads(opened)
        return state

    async def save_state(self, ws_id: str, profile_id: str, state: dict[str, Any]) -> bool:
        """Replace the state of an existing profile; False when it is gone (deleted
        meanwhile: it is not made again)."""
        key = self._keys.profile(ws_id, profile_id)
        values = {"state": self._seal(profile_id, state), "updatedAt": str(now_ms())}
        values.update(summary(state))
        # Only if it still exists: HSET on a deleted key would bring back a fragment.
        script = (
            "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
            "for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end "
            "return 1"
        )
        flat = [item for pair in values.items() for item in pair]
        return bool(await self._redis.eval(script, 1, key, *flat))


def cookies_for(state: dict[str, Any], auth: AuthState | None) -> list[dict[str, Any]]:
    """The profile's cookies for ``add_cookies``, minus those ``auth.cookies`` names (the
    explicit ones win, per name)."""
    explicit = {c.name for c in auth.cookies} if auth is not None else set()
    out = []
    for cookie in state.get("cookies") or []:
        if cookie.get("name") in explicit:
            continue
        kept = {k: cookie[k] for k in _COOKIE_FIELDS if k in cookie}
        if kept.get("expires") is not None and kept["expires"] < 0:
            kept.pop("expires")  # a session cookie
        out.append(kept)
    return out


async def _blank(route: Route) -> None:
    await route.fulfill(status=200, content_type="text/html", body="<!doctype html>")


async def apply_state(
    context: BrowserContext, state: dict[str, Any], auth: AuthState | None
) -> None:
    """Put a profile's state in ``context`` before its first navigation.

    Cookies are added; each origin's localStorage is written once, on a page of that origin
    answered locally (nothing goes out), as Playwright does for ``storage_state``. The
    session's explicit ``localStorage`` is written on the target origin at every load
    (:meth:`sessions.live.LiveSession.before_navigation`), so it wins per key.
    """
    cookies = cookies_for(state, auth)
    if cookies:
        await context.add_cookies(cookies)  # type: ignore[arg-type]
    origins = [o for o in state.get("origins") or [] if o.get("localStorage")]
    if not origins:
        return
    page = await context.new_page()
    try:
        await page.route("**/*", _blank)
        for origin in origins:
            await page.goto(f"{origin['origin']}/", wait_until="commit")
            entries = [[item["name"], item["value"]] for item in origin["localStorage"]]
            await page.evaluate(
                "es => { for (const [k, v] of es) localStorage.setItem(k, v); }", entries
            )
    finally:
        await page.close()
