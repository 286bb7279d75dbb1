"""Requests for a session that lands on another instance go to its owner through Redis.

Each instance pops its inbox (a Redis list) with a bounded blocking read; a forwarder
pushes a request there and waits on a reply list of its own, checking between bounded
waits that the owner still beats, so a request never hangs on a dead owner.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from sessions import errors
from sessions.crypto import PayloadBox
from sessions.instances import Instances
from sessions.keys import INBOX_TTL_S, SessionKeys
from sessions.redis_types import text
from sessions.tasks import TaskSet

log = logging.getLogger(__name__)

WAIT_SLICE_S = 1.0
"""Longest single blocking read; between reads the owner's heartbeat is checked."""


class Forwarded(BaseModel):
    """A request for the owner (pydantic JSON on the wire, never pickle)."""

    id: str
    op: Literal["act", "close", "create"]
    key_id: str
    workspace_id: str = ""
    session_id: str = ""
    action: dict[str, Any] | None = None
    sealed_options: str | None = None  # AES-GCM: auth state stays encrypted in Redis
    origin: str = ""


class Answer(BaseModel):
    """The owner's reply."""

    ok: bool
    owner: str
    body: dict[str, Any] = {}
    expires_in: int = 0
    error: str | None = None
    message: str | None = None


Handler = Callable[[Forwarded], Awaitable[Answer]]


def error_answer(owner: str, err: errors.SessionError) -> Answer:
    """An engine error as a reply."""
    return Answer(
        ok=False,
        owner=owner,
        error=type(err).__name__,
        message=err.message,
        expires_in=int(err.context.get("expires_in", 0)),
    )


def raise_answer(answer: Answer) -> None:
    """Re-raise an error reply as the engine error it was on the owner."""
    if answer.ok:
        return
    cls = getattr(errors, answer.error or "", None)
    if not (isinstance(cls, type) and issubclass(cls, errors.SessionError)):
        cls = errors.SessionError
    err = cls(answer.message)
    err.context["expires_in"] = answer.expires_in
    raise err


class Router:
    """This instance's inbox loop and its forwarding client."""

    def __init__(
        self,
        redis: Redis,
        keys: SessionKeys,
        instance_id: str,
        instances: Instances,
        box: PayloadBox,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.instance_id = instance_id
        self._instances = instances
        self.box = box
        self._handler: Handler | None = None
        self._tasks = TaskSet()

    def bind(self, handler: Handler) -> None:
        """Set what runs forwarded requests here (the engine)."""
        self._handler = handler

    def seal(self, message_id: str, data: bytes) -> str:
        """Encrypt a payload bound to one message."""
        return base64.b64encode(self.box.seal(message_id, data)).decode()

    def open(self, message_id: str, sealed: str) -> bytes:
        """Decrypt a payload sealed by :meth:`seal`."""
        return self.box.open(message_id, base64.b64decode(sealed))

    def new_id(self) -> str:
        """A fresh message id."""
        return uuid.uuid4().hex

    async def forward(self, owner: str, message: Forwarded) -> Answer:
        """Send ``message`` to ``owner`` and wait for its answer (or 503 if it is gone)."""
        if not self._instances.is_alive(await self._instances.last_beat(owner)):
            raise errors.OwnerUnavailable()
        message.origin = self.instance_id
        inbox = self._keys.inbox(owner)
        reply = self._keys.reply(message.id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(inbox, message.model_dump_json())
            pipe.expire(inbox, INBOX_TTL_S)
            await pipe.execute()
        while True:
            got: Any = await self._redis.blpop([reply], timeout=WAIT_SLICE_S)
            if got is not None:
                return Answer.model_validate_json(text(got[1]))
            if not self._instances.is_alive(await self._instances.last_beat(owner)):
                raise errors.OwnerUnavailable()

    async def serve(self) -> None:
        """Pop the inbox until cancelled; each request runs in its own task, in order."""
        inbox = self._keys.inbox(self.instance_id)
        try:
            while True:
                got: Any = await self._redis.blpop([inbox], timeout=WAIT_SLICE_S)
                if got is None:
                    continue
                message = Forwarded.model_validate_json(text(got[1]))
                self._tasks.spawn(self._answer(message), name=f"forwarded-{message.op}")
        finally:
            await self._tasks.aclose()

    async def _answer(self, message: Forwarded) -> None:
        assert self._handler is not None
        try:
            answer = await self._handler(message)
        except errors.SessionError as err:
            answer = error_answer(self.instance_id, err)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("forwarded request failed", extra={"op": message.op})
            answer = error_answer(self.instance_id, errors.SessionError())
        reply = self._keys.reply(message.id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(reply, answer.model_dump_json())
            pipe.expire(reply, INBOX_TTL_S)
            await pipe.execute()
