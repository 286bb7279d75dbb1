"""Workspaces, API keys and allowed domains, kept in Redis (SPEC section 2).

An API key reads ``ssk_<16 hex id>_<43 chars of base64url secret>`` (256 random bits). The
id part names the Redis record (``key_<16 hex>``), so a key is found without a scan; the
record holds only ``HMAC-SHA-256(pepper, key)``, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from app.keys import AppKeys
from app.settings import Settings, derive_key
from sessions.domains import InvalidDomain, new_entry, normalize_entry
from sessions.redis_types import RedisClient, fields, text, text_dict
from sessions.timefmt import iso_ms, now_ms

_KEY_RE = re.compile(r"^ssk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_WS_RE = re.compile(r"^ws_[0-9a-f]{16}$")


class TenancyError(Exception):
    """Base of tenancy errors: something an administrator named does not exist (404).

    ``message`` is what a caller is shown; ``str()`` is the name that was not found, which
    the command line prints.
    """

    code: str = "NOT_FOUND"
    default_message: str = "Not found."

    def __init__(self, message: str | None = None, *, name: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(name or message or "")


class WorkspaceNotFound(TenancyError):
    """No workspace with that id."""

    default_message = "Workspace not found."

    def __init__(self, workspace_id: str) -> None:
        super().__init__(name=workspace_id)


class KeyNotFound(TenancyError):
    """No API key with that id."""

    default_message = "API key not found."

    def __init__(self, key_id: str) -> None:
        super().__init__(name=key_id)


class DomainNotListed(TenancyError):
    """The workspace has no such allowed-domain entry."""

    default_message = "Domain not found."

    def __init__(self, entry: str) -> None:
        super().__init__(name=entry)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    key_id: str
    workspace_id: str


def key_id_of(api_key: str) -> str | None:
    """The key id embedded in an API key string, or None when it is malformed."""
    match = _KEY_RE.match(api_key)
    return f"key_{match.group(1)}" if match else None


class Tenancy:
    """Reads and writes workspaces, keys and domains."""

    def __init__(self, redis: RedisClient, keys: AppKeys, pepper: bytes) -> None:
        self._redis = redis
        self._keys = keys
        self._pepper = pepper

    def digest(self, api_key: str) -> str:
        """The hex ``HMAC-SHA-256(pepper, api_key)`` a key record stores."""
        return hmac.new(self._pepper, api_key.encode(), hashlib.sha256).hexdigest()

    # Workspaces -------------------------------------------------------------------------

    async def create_workspace(self, name: str) -> dict[str, Any]:
        """Create a workspace and return its public record."""
        ws_id = "ws_" + secrets.token_hex(8)
        created = now_ms()
        record = {"id": ws_id, "name": name, "createdAt": iso_ms(created)}
        # Record first, then the index (two slots; a list never shows a missing record).
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._keys.workspace(ws_id), mapping=fields(record))
            pipe.zadd(self._keys.workspaces(), {ws_id: created})
            await pipe.execute()
        return record

    async def list_workspaces(self) -> list[dict[str, Any]]:
        """Every workspace, oldest first."""
        ids = await self._redis.zrange(self._keys.workspaces(), 0, -1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for ws_id in ids:
                pipe.hgetall(self._keys.workspace(text(ws_id)))
            rows = await pipe.execute()
        return [text_dict(row) for row in rows if row]

    async def get_workspace(self, ws_id: str) -> dict[str, Any]:
        """One workspace, or :class:`WorkspaceNotFound`."""
        row = await self._redis.hgetall(self._keys.workspace(ws_id)) if _WS_RE.match(ws_id) else {}
        if not row:
            raise WorkspaceNotFound(ws_id)
        return dict(text_dict(row))

    # API keys ---------------------------------------------------------------------------

    async def create_key(self, ws_id: str, name: str | None) -> dict[str, Any]:
        """Create a key; the returned dict holds the full key, which is never stored."""
        await self.get_workspace(ws_id)
        hex_id = secrets.token_hex(8)
        api_key = f"ssk_{hex_id}_{secrets.token_urlsafe(32)}"
        key_id = f"key_{hex_id}"
        created = now_ms()
        record = {
            "id": key_id,
            "name": name or "",
            "workspaceId": ws_id,
            "hash": self.digest(api_key),
            "createdAt": iso_ms(created),
        }
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._keys.api_key(key_id), mapping=fields(record))
            pipe.zadd(self._keys.workspace_keys(ws_id), {key_id: created})
            await pipe.execute()
        return {
            "id": key_id,
            "key": api_key,
            "name": name,
            "workspaceId": ws_id,
            "createdAt": record["createdAt"],
        }

    async def list_keys(self, ws_id: str) -> list[dict[str, Any]]:
        """The workspace's keys, without secrets or hashes."""
        await self.get_workspace(ws_id)
        ids = await self._redis.zrange(self._keys.workspace_keys(ws_id), 0, -1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for key_id in ids:
                pipe.hgetall(self._keys.api_key(text(key_id)))
            rows = await pipe.execute()
        return [_public_key(text_dict(row)) for row in rows if row]

    async def revoke_key(self, key_id: str) -> dict[str, Any]:
        """Revoke a key (idempotent) and return its public record."""
        redis_key = self._keys.api_key(key_id)
        if not key_id.startswith("key_") or not await self._redis.exists(redis_key):
            raise KeyNotFound(key_id)
        await self._redis.hsetnx(redis_key, "revokedAt", iso_ms(now_ms()))
        return _public_key(text_dict(await self._redis.hgetall(redis_key)))

    # Allowed domains ---------------------------------------------------------------------

    async def add_domain(self, ws_id: str, domain: str) -> dict[str, Any]:
        """Add (or re-activate) an allowed domain.

        Raises ``InvalidDomain``, its message naming the ``domain`` field, on junk and on
        public suffixes (:func:`~sessions.domains.new_entry`).
        """
        await self.get_workspace(ws_id)
        try:
            entry = new_entry(domain)
        except InvalidDomain as err:
            raise InvalidDomain(f"domain: {err}") from err
        redis_key = self._keys.workspace_domains(ws_id)
        known = await self._redis.hget(redis_key, entry)
        if known is not None and json.loads(known)["active"]:
            return {"domain": entry, "active": True}  # already there: keep its createdAt
        value = json.dumps({"active": True, "createdAt": iso_ms(now_ms())})
        await self._redis.hset(redis_key, entry, value)
        return {"domain": entry, "active": True}

    async def remove_domain(self, ws_id: str, domain: str) -> dict[str, Any]:
        """Mark a domain removed; an unknown entry is :class:`DomainNotListed`."""
        await self.get_workspace(ws_id)
        entry = normalize_entry(domain)
        redis_key = self._keys.workspace_domains(ws_id)
        raw = await self._redis.hget(redis_key, entry)
        if raw is None:
            raise DomainNotListed(entry)
        data = json.loads(raw)
        data["active"] = False
        await self._redis.hset(redis_key, entry, json.dumps(data))
        return {"domain": entry, "active": False, "createdAt": data["createdAt"]}

    async def list_domains(self, ws_id: str) -> list[dict[str, Any]]:
        """Every domain entry of the workspace, removed ones with ``active: false``."""
        await self.get_workspace(ws_id)
        rows = await self._redis.hgetall(self._keys.workspace_domains(ws_id))
        return [{"domain": e, **json.loads(raw)} for e, raw in sorted(text_dict(rows).items())]

    async def active_domains(self, ws_id: str) -> list[str]:
        """The normalised active entries, for matching with ``host_matches``."""
        rows = await self._redis.hgetall(self._keys.workspace_domains(ws_id))
        return [entry for entry, raw in text_dict(rows).items() if json.loads(raw)["active"]]


def _public_key(row: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row.get("name") or None,
        "workspaceId": row["workspaceId"],
        "createdAt": row["createdAt"],
        "revokedAt": row.get("revokedAt"),
        "lastUsedAt": row.get("lastUsedAt"),
    }


def make_tenancy(settings: Settings, redis: RedisClient) -> Tenancy:
    """Workspaces, keys and domains on ``redis``."""
    pepper = derive_key(settings.require_secret(), "api-key-pepper")
    return Tenancy(redis, AppKeys(settings.redis_prefix), pepper)
