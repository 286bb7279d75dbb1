"""Webhook endpoints of a workspace: URL, events and signing secrets (sealed in Redis)."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from captures.webhooks.keys import MAX_ENDPOINTS, ROTATION_OVERLAP_MS, WebhookKeys
from sessions.action_models import HttpsUrl
from sessions.crypto import PayloadBox
from sessions.models import Strict
from sessions.redis_types import RedisClient, text
from sessions.timefmt import iso_ms, now_ms

EventName = Literal["capture.completed", "capture.failed", "session.closed"]
EVENTS: tuple[str, ...] = ("capture.completed", "capture.failed", "session.closed")
"""The events an endpoint can subscribe to (``webhook.test`` is sent on demand only)."""
SECRET_BYTES = 32
SECRET_PREFIX = "whsec_"


class EndpointRequest(Strict):
    """Body of ``POST /api/webhooks``."""

    url: HttpsUrl = Field(description="Where deliveries are POSTed; `https:` only.")
    events: list[EventName] = Field(
        min_length=1,
        max_length=len(EVENTS),
        description="The events sent to this endpoint.",
    )

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[EventName]) -> list[EventName]:
        if len(set(value)) != len(value):
            raise ValueError("events must not repeat")
        return value


class TooManyEndpoints(Exception):
    """The workspace already has :data:`MAX_ENDPOINTS` endpoints."""


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class Endpoint:
    """A stored endpoint with its secrets opened."""

    id: str
    url: str
    events: tuple[str, ...]
    created_ms: int
    secret: str
    previous_secret: str | None
    previous_until_ms: int

    def public(self, with_secret: bool = False) -> dict[str, Any]:
        """The API's endpoint object; the secret only right after creation or rotation."""
        body: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "createdAt": iso_ms(self.created_ms),
        }
        if with_secret:
            body["secret"] = self.secret
        return body

    def signing_secrets(self, at_ms: int) -> list[str]:
        """The secrets that sign a delivery made at ``at_ms``: the current one, and the
        previous one for a day after a rotation."""
        if self.previous_secret is not None and at_ms < self.previous_until_ms:
            return [self.secret, self.previous_secret]
        return [self.secret]


# KEYS: endpoints hash; ARGV: endpoint id, JSON, limit. Refuses past the limit (-1).
_CREATE = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# KEYS: endpoints hash; ARGV: endpoint id, new sealed secret, previous-until ms. The current
# secret becomes the previous one; nil when the endpoint is gone.
_ROTATE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local endpoint = cjson.decode(raw)
endpoint['previous'] = endpoint['secret']
endpoint['previousUntil'] = tonumber(ARGV[3])
endpoint['secret'] = ARGV[2]
local out = cjson.encode(endpoint)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
"""


class EndpointStore:
    """All Redis access for endpoints; secrets are sealed with the payload key."""

    def __init__(self, redis: RedisClient, keys: WebhookKeys, box: PayloadBox) -> None:
        self._redis = redis
        self.keys = keys
        self._box = box
        self._create = redis.register_script(_CREATE)
        self._rotate = redis.register_script(_ROTATE)

    async def create(self, ws_id: str, request: EndpointRequest) -> Endpoint:
        """Store a new endpoint with a fresh secret; :class:`TooManyEndpoints` past the
        limit."""
        endpoint_id = f"wh_{uuid.uuid4().hex}"
        secret = new_secret()
        stored = {
            "id": endpoint_id,
            "url": request.url,
            "events": list(request.events),
            "createdAt": now_ms(),
            "secret": self._seal(endpoint_id, secret),
        }
        keys = [self.keys.endpoints(ws_id)]
        args: list[str | int] = [endpoint_id, json.dumps(stored), MAX_ENDPOINTS]
        if int(await self._create(keys=keys, args=args)) < 0:
            raise TooManyEndpoints()
        return self._open(stored)

    async def list_for(self, ws_id: str) -> list[Endpoint]:
        """The workspace's endpoints, oldest first."""
        raw: Any = await self._redis.hgetall(self.keys.endpoints(ws_id))
        found = [self._open(json.loads(text(value))) for value in raw.values()]
        return sorted(found, key=lambda e: (e.created_ms, e.id))

    async def get(self, ws_id: str, endpoint_id: str) -> Endpoint | None:
        """One endpoint, or None."""
        raw: Any = await self._redis.hget(self.keys.endpoints(ws_id), endpoint_id)
        return None if raw is None else self._open(json.loads(text(raw)))

    async def delete(self, ws_id: str, endpoint_id: str) -> Endpoint | None:
        """Remove an endpoint and its log (pending deliveries to it are dropped when due);
        the removed endpoint, or None."""
        endpoint = await self.get(ws_id, endpoint_id)
        if endpoint is None:
            return None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.endpoints(ws_id), endpoint_id)
            pipe.delete(self.keys.log(ws_id, endpoint_id))
            removed, _ = await pipe.execute()
        return endpoint if removed else None

    async def rotate(self, ws_id: str, endpoint_id: str) -> Endpoint | None:
        """A new secret; the previous one keeps signing for a day. None when unknown."""
        secret = new_secret()
        until = now_ms() + ROTATION_OVERLAP_MS
        out: Any = await self._rotate(
            keys=[self.keys.endpoints(ws_id)],
            args=[endpoint_id, self._seal(endpoint_id, secret), until],
        )
        return None if out is None else self._open(json.loads(text(out)))

    def _seal(self, endpoint_id: str, secret: str) -> str:
        return base64.b64encode(self._box.seal(endpoint_id, secret.encode())).decode()

    def _unseal(self, endpoint_id: str, sealed: str) -> str:
        return self._box.open(endpoint_id, base64.b64decode(sealed)).decode()

    def _open(self, stored: dict[str, Any]) -> Endpoint:
        endpoint_id = str(stored["id"])
        previous = stored.get("previous")
        return Endpoint(
            id=endpoint_id,
            url=str(stored["url"]),
            events=tuple(str(e) for e in stored["events"]),
            created_ms=int(stored["createdAt"]),
            secret=self._unseal(endpoint_id, str(stored["secret"])),
            previous_secret=self._unseal(endpoint_id, str(previous)) if previous else None,
            previous_until_ms=int(stored.get("previousUntil") or 0),
        )
