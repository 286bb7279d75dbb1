"""The sessions engine of one process: create, act, close, expire, survive a crash."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sessions import actions
from sessions.action_models import ActionRequest
from sessions.config import EngineConfig
from sessions.egress import EgressProxy
from sessions.errors import (
    CapacityExceeded,
    ConcurrencyLimited,
    OwnerUnavailable,
    SessionClosed,
    SessionError,
    SessionNotFound,
)
from sessions.expiry import DeadlineQueue
from sessions.keys import SessionKeys
from sessions.live import DomainSource, LiveSession, Outputs
from sessions.models import SessionOptions
from sessions.observer import NoObserver, Observer
from sessions.pages import PageSource
from sessions.profiles import ProfileNotFound, ProfileVault, apply_state
from sessions.redis_types import RedisClient
from sessions.registry import CloseReason, Registry, SessionRecord, Status
from sessions.render import Rendered, RenderSpec
from sessions.supervisor import LoopGroup
from sessions.tasks import TaskSet
from sessions.timefmt import now_ms
from storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionOutcome:
    """What an action answered, with the session's remaining lifetime."""

    body: dict[str, Any]
    expires_in: int
    owner: str = ""


class SessionEngine:
    """Owns the browser, the egress proxy and the sessions living here."""

    def __init__(
        self,
        config: EngineConfig,
        redis: RedisClient,
        storage: Storage,
        domains: DomainSource,
        observer: Observer | None = None,
        profiles: ProfileVault | None = None,
    ) -> None:
        self.config = config
        self.profiles = profiles
        """Saved profiles (``auth.profile``, ``persistProfile``); None: refused."""
        self.registry = Registry(
            redis, SessionKeys(config.prefix), config.credits, config.ledger_retention_s
        )
        self._storage = storage
        self._domains = domains
        self.observer = observer or NoObserver()
        self._proxy = EgressProxy(config.egress)
        self._tasks = TaskSet()
        self._pages = PageSource(config, self._proxy, self._tasks, self._browser_crashed)
        self._deadlines = DeadlineQueue(self._due)
        self._live: dict[str, LiveSession] = {}
        self._persist: dict[str, str] = {}
        """Session id -> the profile its state is written back to when it closes."""
        self._accepting = False

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self, loops: LoopGroup) -> None:
        """Start the egress proxy, the browser, the warm pool and the deadline loop (in the
        process's supervised ``loops``, which stop it)."""
        await self._proxy.start()
        await self._pages.start()
        loops.add("session-deadlines", self._deadlines.run)
        self._accepting = True

    async def aclose(self, reason: CloseReason = CloseReason.SHUTDOWN) -> None:
        """Close every session here (billed), then the browser and the proxy."""
        self._accepting = False
        await asyncio.gather(
            *(self._close_live(s, reason) for s in list(self._live.values())),
            return_exceptions=True,
        )
        await self._pages.close_pools()
        await self._tasks.aclose()
        await self._pages.host.aclose()
        await self._proxy.aclose()

    async def is_ready(self) -> bool:
        """Readiness: the browser is connected."""
        return await self._pages.host.is_ready()

    def holds(self, session_id: str) -> bool:
        """True when the session lives in this instance's browser."""
        return session_id in self._live

    @property
    def local_count(self) -> int:
        """Sessions held in this instance's browser."""
        return len(self._live)

    def browser_pid(self) -> int | None:
        """The browser's process id (for operations and tests)."""
        return self._pages.host.browser_pid()

    def resource_counts(self) -> dict[str, int]:
        """Open contexts, warm contexts and background tasks (for leak checks)."""
        return {
            **self._pages.counts(),
            "tasks": len(self._tasks),
            "sessions": len(self._live),
        }

    def connect_memory_bytes(self) -> int:
        """Resident memory of the connect browsers here (their own processes)."""
        return self._pages.connect_memory_bytes()

    def held(self, session_id: str) -> LiveSession | None:
        """A session open in this instance's browsers (the relay and the live view)."""
        live = self._live.get(session_id)
        return None if live is None or live.closing else live

    def touch(self, session_id: str) -> None:
        """Note activity on a session held here (CDP traffic): its idle timeout restarts."""
        live = self._live.get(session_id)
        if live is not None:
            live.last_activity = time.monotonic()

    # Sessions ----------------------------------------------------------------------------

    async def create(
        self,
        key_id: str,
        workspace_id: str,
        options: SessionOptions,
        *,
        kind: str = "live",
        extra: dict[str, str] | None = None,
    ) -> SessionRecord:
        """Open a session in this browser and register it."""
        self.config.check(options)
        if not self._accepting or len(self._live) >= self.config.max_sessions:
            raise CapacityExceeded()
        created_ms = now_ms()
        session_id = f"sess_{uuid.uuid4()}"
        profile = await self._profile_state(workspace_id, options)
        # A capture's page renders soon after: the warm pool refills once it is closed.
        made = await self._pages.make(options, session_id, refill=kind != "capture")
        if profile is not None:
            try:
                await apply_state(made.context, profile, options.auth)
            except BaseException:
                await self._pages.discard(made, "profile refused")
                raise
        started_ms = now_ms()
        expires_ms = started_ms + options.max_ttl_seconds * 1000
        fields = {
            "id": session_id,
            "keyId": key_id,
            "workspaceId": workspace_id,
            "owner": self.config.instance_id,
            "status": Status.ACTIVE.value,
            "kind": kind,
            "createdAt": str(created_ms),
            "startedAt": str(started_ms),
            "expiresAt": str(expires_ms),
            "lastActivityAt": str(started_ms),
            "options": json.dumps(options.public()),
            "currentUrl": made.page.url,
            **(extra or {}),
        }
        if made.cdp_url is not None:
            base = self.config.public_url.rstrip("/").replace("http", "ws", 1)
            fields["connectUrl"] = f"{base}/v1/sessions/{session_id}/cdp"
        if options.metadata is not None:
            fields["metadata"] = json.dumps(options.metadata)
        if not await self.registry.create(fields, self.config.workspace_max_sessions):
            await self._pages.discard(made, "workspace limit")
            raise ConcurrencyLimited()
        live = LiveSession(
            id=session_id,
            key_id=key_id,
            workspace_id=workspace_id,
            kind=kind,
            made=made,
            started_ms=started_ms,
            expires_ms=expires_ms,
            idle_timeout_s=options.idle_timeout_seconds,
            auth=options.auth,
            domains=self._domains,
            outputs=Outputs(self._storage, self.config.link_ttl_s),
            refused=lambda: self._proxy.refusal_log(session_id),
            max_content_bytes=self.config.max_content_bytes,
        )
        self._live[session_id] = live
        if options.persist_profile and options.auth is not None and options.auth.profile:
            self._persist[session_id] = options.auth.profile
        if made.cdp_url is not None:  # its own browser: a crash closes this session alone
            made.context.on("close", lambda _c: self._crashed(live))
        self._deadlines.set(session_id, live.deadline())
        self.observer.session_started(kind)
        return SessionRecord(fields)  # exactly what was stored: no read-back

    async def get(self, key_id: str, session_id: str) -> SessionRecord:
        """A session of ``key_id`` (404 for anyone else)."""
        live = self._live.get(session_id)
        if live is not None:
            await live.counted()
        record = await self.registry.get(session_id) if session_id.startswith("sess_") else None
        if record is None or record.key_id != key_id:
            raise SessionNotFound()
        return record

    async def list(
        self, workspace_id: str, key_id: str, status: Status | None
    ) -> list[SessionRecord]:
        """The key's sessions."""
        return await self.registry.list_for_key(workspace_id, key_id, status)

    async def act(
        self, key_id: str, session_id: str, request: ActionRequest, *, title: bool = False
    ) -> ActionOutcome:
        """Run one action, in arrival order with the session's other actions; with ``title``,
        the answer names the page's title too (one more browser round trip)."""
        live = self._live.get(session_id)
        if live is None or live.key_id != key_id:
            record = await self.get(key_id, session_id)
            if record.status is Status.CLOSED:
                raise SessionClosed(record=record)
            raise OwnerUnavailable(record=record)
        action = request.root
        await live.lock.acquire()
        try:
            body, error, url = await self._run_action(key_id, live, request, title)
        except BaseException:
            live.lock.release()
            raise
        count = self._count(live, action.type, error is None, url)
        if live.closing and not await asyncio.shield(count):
            # A close is under way: Redis decides whether the action got in before it.
            raise SessionClosed(record=await self.get(key_id, session_id))
        await asyncio.sleep(0)  # one loop turn: the count's command goes out before the answer
        live.last_activity = time.monotonic()
        self._deadlines.set(session_id, live.deadline())
        if error is not None:
            error.url = url if error.url is None else error.url
            error.expires_in = live.expires_in()
            raise error
        return ActionOutcome(
            body={**body, "url": url},
            expires_in=live.expires_in(),
            owner=self.config.instance_id,
        )

    async def _run_action(
        self, key_id: str, live: LiveSession, request: ActionRequest, title: bool
    ) -> tuple[dict[str, Any], SessionError | None, str]:
        """The action's result or error, and the page's URL after it (the lock is held)."""
        if live.closing:
            raise SessionClosed(record=await self.get(key_id, live.id))
        action = request.root
        started = time.perf_counter()
        error: SessionError | None = None
        body: dict[str, Any] = {}
        try:
            body = await actions.run(live, action.type, action.payload)
        except SessionError as err:  # an ActionError too
            error = err
        url = "" if live.page.is_closed() else live.page.url
        if title and error is None:
            body["title"] = await live.title()
        self.observer.action_done(action.type, time.perf_counter() - started)
        return body, error, url

    def _count(self, live: LiveSession, kind: str, ok: bool, url: str) -> asyncio.Task[bool]:
        """Count the action in Redis without making its answer wait for the round trip.

        ``act`` gives the task one loop turn, so its command is written before the answer
        (unless every pooled connection is busy); a read on another instance comes after
        that instance's own admission round trip. The session's lock is released only once
        Redis has answered, so the next action, render or close comes after the count, and
        ``get`` on this instance waits for it.
        """
        task = asyncio.ensure_future(
            self.registry.count_action(live.workspace_id, live.id, kind, ok, now_ms(), url)
        )
        live.counting = task
        task.add_done_callback(lambda done: self._counted(live, done))
        return task

    def _counted(self, live: LiveSession, task: asyncio.Task[bool]) -> None:
        live.lock.release()
        if task.cancelled():
            return
        if (err := task.exception()) is not None:
            log.error(
                "action not counted",
                extra={"event": "count_failed", "sessionId": live.id, "error": repr(err)},
            )
        elif not task.result() and not live.closing:
            # Closed elsewhere (another instance took this one for lost): drop the copy here.
            self._tasks.spawn(
                self._close_live(live, CloseReason.INSTANCE_LOST), name=f"drop-{live.id}"
            )

    async def render(
        self,
        key_id: str,
        session_id: str,
        spec: RenderSpec,
    ) -> Rendered:
        """Render the session's page to a file kept in memory (counted as an action)."""
        live = self._local(key_id, session_id)
        kind = "pdf" if spec.format == "pdf" else "screenshot"
        async with live.lock:
            ok = False
            try:
                rendered = await actions.render_page(live, spec)
                ok = True
            finally:
                await self.registry.count_action(
                    live.workspace_id, session_id, kind, ok, now_ms(), live.page.url
                )
        return rendered

    def _local(self, key_id: str, session_id: str) -> LiveSession:
        live = self._live.get(session_id)
        if live is None or live.key_id != key_id or live.closing:
            raise SessionNotFound()
        return live

    async def close(self, key_id: str, session_id: str) -> SessionRecord:
        """Close a session (idempotent): bill once, return the final record."""
        record = await self.get(key_id, session_id)
        if record.status is Status.CLOSED:
            return record
        live = self._live.get(session_id)
        if live is None:
            raise OwnerUnavailable(record=record)
        return await self._close_live(live, CloseReason.CLOSED)

    async def _close_live(self, live: LiveSession, reason: CloseReason) -> SessionRecord:
        live.closing = True
        self._deadlines.discard(live.id)
        await live.counted()
        record = await self.registry.get(live.id)
        if record is None:
            await self._drop_unbilled(live)
            raise SessionNotFound()
        changed, final = await asyncio.shield(self.registry.close(record, reason, now_ms()))
        if self._live.pop(live.id, None) is not None:
            await asyncio.shield(self._write_back(live))
            await self._pages.discard(live.made, reason.value)
        if changed:
            self.observer.session_closed(final.kind, int(final.raw.get("billedCredits", 0)))
            await self.observer.session_final(final)
            log.info(
                "session closed",
                extra={"event": "session_closed", "sessionId": live.id, "reason": reason.value},
            )
        return final

    async def _profile_state(
        self, workspace_id: str, options: SessionOptions
    ) -> dict[str, Any] | None:
        """The state of the session's ``auth.profile`` (:class:`ProfileNotFound`)."""
        if options.auth is None or options.auth.profile is None:
            return None
        if self.profiles is None:
            raise ProfileNotFound()
        return await self.profiles.state(workspace_id, options.auth.profile)

    async def save_profile(self, key_id: str, session_id: str, name: str) -> dict[str, Any]:
        """A new profile of the session's workspace holding its cookies and localStorage."""
        live = self._local(key_id, session_id)
        if self.profiles is None:
            raise ProfileNotFound()
        async with live.lock:
            state = await live.made.context.storage_state()
        return await self.profiles.create(live.workspace_id, name, dict(state))

    async def _write_back(self, live: LiveSession) -> None:
        """``persistProfile``: the closing session's state back into its profile, while the
        context can still be read (not after a browser crash)."""
        profile_id = self._persist.pop(live.id, None)
        if profile_id is None or self.profiles is None:
            return
        try:
            state = await live.made.context.storage_state()
            saved = await self.profiles.save_state(live.workspace_id, profile_id, dict(state))
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.warning(
                "profile not written back",
                extra={"event": "profile_lost", "sessionId": live.id, "error": type(err).__name__},
            )
            return
        log.info(
            "profile written back" if saved else "profile gone: not written back",
            extra={"event": "profile_saved", "sessionId": live.id, "profileId": profile_id},
        )

    async def drop_unrecorded(self) -> int:
        """Close the sessions here whose record Redis lost; how many."""
        lost = [s for s in list(self._live.values()) if await self.registry.get(s.id) is None]
        for live in lost:
            await self._drop_unbilled(live)
        return len(lost)

    async def _drop_unbilled(self, live: LiveSession) -> None:
        """Close a session whose record Redis lost (it came back empty): nothing to bill."""
        live.closing = True
        self._deadlines.discard(live.id)
        if self._live.pop(live.id, None) is not None:
            await self._pages.discard(live.made, "record_lost")
            self.observer.session_closed(live.kind, 0)
            log.warning("session record lost", extra={"event": "record_lost", "sessionId": live.id})

    async def _due(self, session_id: str) -> None:
        live = self._live.get(session_id)
        if live is None or live.closing:
            return
        if now_ms() >= live.expires_ms - 50:
            reason = CloseReason.EXPIRED
        elif live.idle_timeout_s is not None and (
            time.monotonic() - live.last_activity >= live.idle_timeout_s - 0.05
        ):
            reason = CloseReason.IDLE_TIMEOUT
        else:
            self._deadlines.set(session_id, live.deadline())
            return
        self._tasks.spawn(self._close_live(live, reason), name=f"expire-{session_id}")

    def _crashed(self, live: LiveSession) -> None:
        if not live.closing and self._live.get(live.id) is live:
            self._tasks.spawn(
                self._close_live(live, CloseReason.BROWSER_CRASHED), name=f"crashed-{live.id}"
            )

    async def _browser_crashed(self) -> None:
        await self._pages.warm.drain()
        shared = [s for s in self._live.values() if s.made.cdp_url is None]
        await asyncio.gather(
            *(self._close_live(s, CloseReason.BROWSER_CRASHED) for s in shared),
            return_exceptions=True,
        )
        self._pages.warm.refill()
