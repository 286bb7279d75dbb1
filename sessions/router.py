"""Requests for a session that lands on another instance go to its owner through Redis.

Each instance pops its inbox (a Redis list) with a bounded blocking read; a forwarder
pushes a request there and waits on a reply list of its own, checking between bounded
waits that the owner still beats. A forwarder waits at most its forward timeout, whatever
the owner does: then it takes its request back out of the inbox, and an owner that pops it
later (it was frozen) drops it unread, so a request given up on before the owner read it
never runs.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from sessions import errors
from sessions.crypto import PayloadBox
from sessions.instances import Instances
from sessions.keys import INBOX_TTL_S, SessionKeys
from sessions.redis_types import RedisClient, text
from sessions.supervisor import OUTAGE_ERRORS
from sessions.tasks import TaskSet
from sessions.timefmt import now_ms

log = logging.getLogger(__name__)

WAIT_SLICE_S = 1.0
"""Longest single blocking read; between reads the owner's heartbeat is checked."""
GIVE_UP_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *OUTAGE_ERRORS)
"""What ends a forward with 503: its time is up, or Redis is away."""


class Forwarded(BaseModel):
    """A request for the owner (pydantic JSON on the wire, never pickle)."""

    id: str
    op: Literal["act", "close", "create", "revoke_live", "profile"]
    key_id: str
    workspace_id: str = ""
    session_id: str = ""
    action: dict[str, Any] | None = None
    title: bool = False
    """``act``: the answer names the page's title too."""
    sealed_options: str | None = None  # AES-GCM: auth state stays encrypted in Redis
    origin: str = ""
    deadline_ms: int = 0
    """Wall-clock ms after which the forwarder no longer waits; 0: none (older senders)."""

    def expired(self) -> bool:
        """True once the forwarder has given up on this request."""
        return 0 < self.deadline_ms < now_ms()


class Answer(BaseModel):
    """The owner's reply. An error travels as its code and kind (never a class name), with
    the message and the session's time left as the owner gave them."""

    ok: bool
    owner: str
    body: dict[str, Any] = {}
    expires_in: int = 0
    code: str | None = None
    kind: str | None = None
    message: str | None = None


Handler = Callable[[Forwarded], Awaitable[Answer]]


def error_answer(owner: str, err: errors.SessionError) -> Answer:
    """An engine error as a reply."""
    return Answer(
        ok=False,
        owner=owner,
        code=err.code,
        kind=err.kind,
        message=err.message,
        expires_in=err.expires_in or 0,
    )


def raise_answer(answer: Answer) -> None:
    """Re-raise an error reply as the engine error it was on the owner: same code, message,
    time left and HTTP status (its kind picks the class)."""
    if answer.ok:
        return
    code = answer.code or errors.SessionError.code
    try:
        kind = errors.Kind(answer.kind or errors.Kind.INTERNAL)
    except ValueError:  # a kind this instance does not know (a newer owner): a fault here
        kind, code = errors.Kind.INTERNAL, errors.SessionError.code
    err = errors.error_class(kind, code)(
        answer.message, expires_in=answer.expires_in, owner=answer.owner
    )
    err.code = code
    raise err


class Router:
    """This instance's inbox loop and its forwarding client."""

    def __init__(
        self,
        redis: RedisClient,
        keys: SessionKeys,
        instance_id: str,
        instances: Instances,
        box: PayloadBox,
        timeout_s: float,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.instance_id = instance_id
        self._instances = instances
        self.box = box
        self.timeout_s = timeout_s
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
        """Send ``message`` to ``owner`` and wait for its answer: 503 when the owner is gone,
        does not answer within the forward timeout, or Redis is away."""
        try:
            # The outer bound only matters when Redis itself stalls mid-command.
            async with asyncio.timeout(self.timeout_s + WAIT_SLICE_S):
                return await self._exchange(owner, message)
        except GIVE_UP_ERRORS as err:
            raise errors.OwnerUnavailable() from err

    async def _exchange(self, owner: str, message: Forwarded) -> Answer:
        if not self._instances.is_alive(await self._instances.last_beat(owner)):
            raise errors.OwnerUnavailable()
        deadline = time.monotonic() + self.timeout_s
        message.origin = self.instance_id
        message.deadline_ms = now_ms() + int(self.timeout_s * 1000)
        inbox = self._keys.inbox(owner)
        reply = self._keys.reply(message.id)
        sent = message.model_dump_json()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.rpush(inbox, sent)
            pipe.expire(inbox, INBOX_TTL_S)
            await pipe.execute()
        while (left := deadline - time.monotonic()) > 0:
            # BLPOP's timeout 0 means "for ever": never let the slice round down to it.
            got: Any = await self._redis.blpop([reply], timeout=max(0.01, min(WAIT_SLICE_S, left)))
            if got is not None:
                return Answer.model_validate_json(text(got[1]))
            if not self._instances.is_alive(await self._instances.last_beat(owner)):
                break
        # Given up: take the request back so a frozen owner cannot run it once it wakes.
        await self._redis.lrem(inbox, 1, sent)
        raise errors.OwnerUnavailable()

    async def serve(self) -> None:
        """Pop the inbox until cancelled; each request runs in its own task, in order.

        A message that is not a request is logged (never its content: it could hold
        secrets) and skipped; one whose forwarder gave up is dropped unread.
        """
        inbox = self._keys.inbox(self.instance_id)
        while True:
            try:
                got: Any = await self._redis.blpop([inbox], timeout=WAIT_SLICE_S)
            except UnicodeDecodeError:
                log.warning("unreadable forwarded request skipped", extra={"event": "inbox_skip"})
                continue
            if got is None:
                continue
            message = self._parse(text(got[1]))
            if message is None:
                continue
            if message.expired():
                log.info(
                    "forwarded request expired before it was read",
                    extra={"event": "inbox_expired", "op": message.op},
                )
                continue
            self._tasks.spawn(self._answer(message), name=f"forwarded-{message.op}")

    @staticmethod
    def _parse(raw: str) -> Forwarded | None:
        try:
            return Forwarded.model_validate_json(raw)
        except ValidationError:
            log.warning(
                "malformed forwarded request skipped",
                extra={"event": "inbox_skip", "bytes": len(raw)},
            )
            return None

    async def aclose(self) -> None:
        """Cancel the forwarded requests still running here (after the inbox stopped)."""
        await self._tasks.aclose()

    async def _answer(self, message: Forwarded) -> None:
        assert self._handler is not None
        try:
            answer = await self._handler(message)
        except errors.SessionError as err:
            if err.kind is errors.Kind.INTERNAL:  # a fault here (a payload sealed elsewhere)
                log.error(
                    "forwarded request failed",
                    extra={"op": message.op, "errorType": type(err).__name__},
                )
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
