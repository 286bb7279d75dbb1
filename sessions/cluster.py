"""Sessions across instances: local when held here, forwarded to the owner otherwise."""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.exceptions import RedisClusterException, RedisError

from sessions.action_models import ActionRequest
from sessions.engine import ActionOutcome, SessionEngine
from sessions.errors import (
    CapacityExceeded,
    OwnerUnavailable,
    SessionClosed,
)
from sessions.instances import Heart, InstanceInfo, Instances
from sessions.models import SessionOptions
from sessions.registry import SessionRecord, Status
from sessions.router import Answer, Forwarded, Router, raise_answer
from sessions.screencast import Screencasts
from sessions.supervisor import LoopGroup, RedisLink
from sessions.timefmt import now_ms

log = logging.getLogger(__name__)


class SessionService:
    """What the HTTP edge talks to: one instance's view of every session."""

    def __init__(
        self,
        engine: SessionEngine,
        router: Router,
        instances: Instances,
        heartbeat_s: float,
        link: RedisLink,
    ) -> None:
        self.engine = engine
        self.instance_id = engine.config.instance_id
        self._router = router
        self.instances = instances
        """The instance table (heartbeats, internal URLs)."""
        self._draining = False
        self.screencasts = Screencasts()
        """The live views of the sessions held here."""
        self._loops: LoopGroup | None = None
        self._heart = Heart(
            instances,
            engine.registry,
            self.describe,
            heartbeat_s,
            link=link,
            healthy=lambda: self._loops is None or self._loops.healthy(),
            on_return=self._redis_returned,
            on_closed=engine.observer.session_final,
        )

    def describe(self) -> InstanceInfo:
        """This instance's heartbeat."""
        return InstanceInfo(
            id=self.instance_id,
            role="api",
            sessions=self.engine.local_count,
            capacity=self.engine.config.max_sessions,
            draining=self._draining,
            last_beat_ms=now_ms(),
            internal_url=self.engine.config.internal_url,
        )

    async def start(self, loops: LoopGroup) -> None:
        """Join the instance table; beat and serve the inbox in the process's loop group."""
        self._router.bind(self._handle)
        await self._heart.start()
        self._loops = loops
        loops.add("heartbeat", self._heart.run)
        loops.add("inbox", self._router.serve)

    async def aclose(self) -> None:
        """Stop taking sessions, close ours as ``shutdown`` (billed), leave the table."""
        self._draining = True
        if self._loops is None or self._loops.failed is None:
            try:
                await self.instances.beat(self.describe())
            except (RedisError, RedisClusterException, OSError):
                log.warning("could not announce draining")  # the sessions still close below
        await self.engine.aclose()
        if self._loops is not None:
            await self._loops.stop("heartbeat", "inbox")  # no beat may follow the goodbye
        await self._router.aclose()
        try:
            await self.instances.forget(self.instance_id)
        except (RedisError, RedisClusterException, OSError):
            log.warning("could not leave the instance table; others will time it out")

    async def _redis_returned(self) -> None:
        """Redis came back: sessions whose record it lost (it came back empty) are closed
        here, unbilled, since nothing is left to bill them against."""
        await self.engine.drop_unrecorded()

    # The API -------------------------------------------------------------------------

    async def create(
        self, key_id: str, workspace_id: str, options: SessionOptions
    ) -> SessionRecord:
        """Create here, or on the least loaded live instance with room."""
        if not self._draining and self.engine.local_count < self.engine.config.max_sessions:
            return await self.engine.create(key_id, workspace_id, options)
        candidates = [
            info
            for info in await self.instances.live()
            if info.role == "api" and info.id != self.instance_id and info.room > 0
        ]
        for info in sorted(candidates, key=lambda i: (i.sessions / max(1, i.capacity), i.id)):
            message = Forwarded(
                id=self._router.new_id(), op="create", key_id=key_id, workspace_id=workspace_id
            )
            options_json = options.model_dump_json(by_alias=True).encode()
            message.sealed_options = self._router.seal(message.id, options_json)
            try:
                answer = await self._router.forward(info.id, message)
            except OwnerUnavailable:
                continue
            if answer.code == CapacityExceeded.code:
                continue  # it filled up meanwhile: try the next one
            raise_answer(answer)
            return SessionRecord(answer.body)
        raise CapacityExceeded()

    async def get(self, key_id: str, session_id: str) -> SessionRecord:
        """Answered from Redis, wherever the session lives."""
        return await self.engine.get(key_id, session_id)

    async def list(
        self, workspace_id: str, key_id: str, status: Status | None
    ) -> list[SessionRecord]:
        """The key's sessions."""
        return await self.engine.list(workspace_id, key_id, status)

    async def act(
        self, key_id: str, session_id: str, request: ActionRequest, *, title: bool = False
    ) -> ActionOutcome:
        """Run an action where the session lives (``title``: see :meth:`SessionEngine.act`)."""
        if self.engine.holds(session_id):
            return await self.engine.act(key_id, session_id, request, title=title)
        record = await self._remote(key_id, session_id)
        message = Forwarded(
            id=self._router.new_id(),
            op="act",
            key_id=key_id,
            session_id=session_id,
            action=request.model_dump(mode="json", by_alias=True),
            title=title,
        )
        answer = await self._forward(record, message)
        return ActionOutcome(body=answer.body, expires_in=answer.expires_in, owner=answer.owner)

    async def close(self, key_id: str, session_id: str) -> SessionRecord:
        """Close where the session lives (idempotent)."""
        if self.engine.holds(session_id):
            return await self.engine.close(key_id, session_id)
        try:
            record = await self._remote(key_id, session_id)
        except SessionClosed as err:
            if err.record is None:
                raise
            return err.record
        message = Forwarded(
            id=self._router.new_id(), op="close", key_id=key_id, session_id=session_id
        )
        return SessionRecord((await self._forward(record, message)).body)

    async def save_profile(self, key_id: str, session_id: str, name: str) -> dict[str, Any]:
        """Save the session's state as a new profile, where the session lives."""
        if self.engine.holds(session_id):
            return await self.engine.save_profile(key_id, session_id, name)
        record = await self._remote(key_id, session_id)
        message = Forwarded(
            id=self._router.new_id(),
            op="profile",
            key_id=key_id,
            session_id=session_id,
            action={"name": name},
        )
        return (await self._forward(record, message)).body

    async def revoke_live(self, key_id: str, session_id: str) -> None:
        """Revoke every live link of a session: links made before stop working, and the
        owner ends the views open through them."""
        record = await self.engine.get(key_id, session_id)
        if record.status is Status.CLOSED:
            raise SessionClosed(record=record)
        await self.engine.registry.next_live_generation(record)
        if self.engine.holds(session_id):
            self.screencasts.end(session_id, "revoked")
            return
        message = Forwarded(
            id=self._router.new_id(), op="revoke_live", key_id=key_id, session_id=session_id
        )
        try:
            await self._forward(record, message)
        except OwnerUnavailable:
            # The links are dead already; views open on an owner that does not answer end
            # with it (or at their link's expiry).
            log.warning("live views not ended", extra={"sessionId": session_id})

    async def _remote(self, key_id: str, session_id: str) -> SessionRecord:
        record = await self.engine.get(key_id, session_id)
        if record.status is Status.CLOSED:
            raise SessionClosed(record=record)
        if record.owner == self.instance_id:
            raise OwnerUnavailable(record=record)  # ours, but not held: we restarted
        return record

    async def _forward(self, record: SessionRecord, message: Forwarded) -> Answer:
        self.engine.observer.request_routed()
        try:
            answer = await self._router.forward(record.owner, message)
        except OwnerUnavailable as err:
            err.record = record
            raise
        raise_answer(answer)
        return answer

    async def _handle(self, message: Forwarded) -> Answer:
        """Run a request forwarded to this instance."""
        me = self.instance_id
        if message.op == "act":
            request = ActionRequest.model_validate(message.action)
            outcome = await self.engine.act(
                message.key_id, message.session_id, request, title=message.title
            )
            return Answer(ok=True, owner=me, body=outcome.body, expires_in=outcome.expires_in)
        if message.op == "close":
            record = await self.engine.close(message.key_id, message.session_id)
            return Answer(ok=True, owner=me, body=record.raw)
        if message.op == "profile":
            name = str((message.action or {}).get("name", ""))
            body = await self.engine.save_profile(message.key_id, message.session_id, name)
            return Answer(ok=True, owner=me, body=body)
        if message.op == "revoke_live":
            self.screencasts.end(message.session_id, "revoked")
            return Answer(ok=True, owner=me)
        assert message.sealed_options is not None
        options_json = self._router.open(message.id, message.sealed_options)
        options = SessionOptions.model_validate(json.loads(options_json))
        if self._draining:
            raise CapacityExceeded()
        record = await self.engine.create(message.key_id, message.workspace_id, options)
        return Answer(ok=True, owner=me, body=record.raw)
