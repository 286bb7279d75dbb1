"""Captures as the API and the workers see them: one entry point over records, payloads and
the job queue."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from captures.keys import GROUP, CaptureKeys
from captures.listing import listed, page_of_captures
from captures.models import CaptureRequest
from captures.notify import DoneListener
from captures.records import CaptureRecord, CaptureStatus, CaptureStore, check_transition
from captures.results import ResultFile
from sessions.crypto import PayloadBox, PayloadError
from sessions.redis_types import RedisClient, text, text_dict
from sessions.timefmt import now_ms
from storage import Storage

log = logging.getLogger(__name__)

FinalHook = Callable[[CaptureRecord, CaptureStatus], Awaitable[None]]
"""Told once when a capture reached its final state (webhook events)."""


@dataclass(frozen=True)
class Attempt:
    """A worker's attempt at a capture: its number (the record's ``attempts``, which only
    the latest attempt may finish) and the record as the attempt began."""

    number: int
    record: CaptureRecord


@dataclass(frozen=True)
class QueueFigures:
    """Service-wide capture figures for ``/metrics``; None where Redis had no answer."""

    finals: Mapping[str, int] | None
    """Captures per final status."""
    latency_s_sum: float | None
    """Sum of the final captures' latencies, queued to final."""
    depth: int | None
    """Jobs not yet finished: not yet delivered to a worker, or delivered and running."""


class CaptureService:
    """What the HTTP edge and the workers talk to about captures.

    It owns the record schema (:class:`CaptureRecord`), sealing and opening the request,
    queueing the job, reads and long-polls, the moves between states and the figures.
    """

    def __init__(
        self,
        redis: RedisClient,
        keys: CaptureKeys,
        box: PayloadBox,
        storage: Storage,
        link_ttl_s: int,
    ) -> None:
        self.keys = keys
        self.store = CaptureStore(redis, keys)
        self.events = DoneListener(redis, keys.done_channel())
        """Wakes long-polls; its ``run`` is a background loop of the API process."""
        self._redis = redis
        self._box = box
        self._storage = storage
        self._link_ttl_s = link_ttl_s
        self.on_final: FinalHook | None = None

    # The API's side.

    async def submit(
        self, key_id: str, workspace_id: str, request: CaptureRequest
    ) -> dict[str, Any]:
        """Store a new capture with its sealed request and queue it; the 202 answer."""
        record = CaptureRecord.queued(
            f"cap_{uuid.uuid4()}", key_id, workspace_id, request.metadata, now_ms()
        )
        # The request carries the auth state: only a worker ever reads it back, decrypted.
        sealed = self._box.seal(record.id, request.model_dump_json(by_alias=True).encode())
        await self.store.create(record.raw, sealed)
        return record.accepted()

    async def get(self, capture_id: str, key_id: str) -> CaptureRecord | None:
        """The capture, or None when unknown or another key's."""
        if not capture_id.startswith("cap_"):
            return None
        record = await self.store.get(capture_id)
        return record if record is not None and record.key_id == key_id else None

    async def read(self, capture_id: str, key_id: str, wait_s: float = 0) -> CaptureRecord | None:
        """As :meth:`get`; with ``wait_s``, once final or after that long (a long poll)."""
        record = await self.get(capture_id, key_id)
        if record is None or record.status.final or not wait_s:
            return record
        with self.events.watch(capture_id) as done:
            record = await self.get(capture_id, key_id)  # it may have finished meanwhile
            if record is None or record.status.final:
                return record
            try:
                await asyncio.wait_for(done.wait(), wait_s)
            except TimeoutError:
                pass
            return await self.get(capture_id, key_id)

    async def list(
        self, key_id: str, status: CaptureStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the key's captures, newest first, without signed links, and the next
        page's cursor (None after the last); see :func:`page_of_captures`."""
        records, next_cursor = await page_of_captures(
            self._redis, self.store, key_id, status, limit, cursor
        )
        return [listed(record) for record in records], next_cursor

    async def public(self, record: CaptureRecord) -> dict[str, Any]:
        """The capture object of the API, with a freshly signed link to its file."""
        body = record.public()
        file = record.result_file()
        if file is not None:
            link = await self._storage.signed_url(
                file.key, self._link_ttl_s, file.filename, file.content_type
            )
            body["result"] = file.public(link.url, link.expires_at)
        return body

    async def figures(self) -> QueueFigures:
        """Final counts, latency and queue depth (one round trip; raises ``RedisError``)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.stats())
            pipe.xinfo_groups(self.keys.stream())
            stats, groups = await pipe.execute(raise_on_error=False)
        return queue_figures(stats, groups)

    # The workers' side.

    async def start(self, capture_id: str, worker_id: str) -> Attempt | None:
        """Begin an attempt (``processing``, counted); None when the capture is final or
        gone, so there is nothing to do."""
        number = await self.store.start(capture_id, worker_id)
        record = await self.store.get(capture_id)
        if record is not None and record.status.final:
            # Finished, but its job came back: the worker that finished it may have died
            # before the final hook ran (its webhook deliveries). The hook is idempotent.
            await self._announce(record, record.status)
            return None
        if number < 0 or record is None:
            return None  # lost
        return Attempt(number, record)

    async def request(self, record: CaptureRecord) -> CaptureRequest | None:
        """The decrypted request; None when it is gone or unreadable (no retry can help)."""
        sealed = await self.store.payload(record.id)
        if sealed is None:
            return None
        try:
            return CaptureRequest.model_validate_json(self._box.open(record.id, sealed))
        except (PayloadError, ValidationError) as err:
            log.error(
                "capture payload unreadable",
                extra={"captureId": record.id, "errorType": type(err).__name__},
            )
            return None

    async def opened_session(self, capture_id: str, session_id: str) -> None:
        """Note the session the running attempt opened."""
        await self.store.set_fields(capture_id, {"sessionId": session_id})

    async def complete(self, attempt: Attempt, session_id: str, file: ResultFile) -> bool:
        """``completed`` with its file; False when the attempt was superseded."""
        extra = {"result": file.to_json(), "sessionId": session_id}
        return await self._finish(attempt, CaptureStatus.COMPLETED, extra)

    async def fail(self, attempt: Attempt, error: Mapping[str, str]) -> bool:
        """``failed`` with its public ``error`` object; False when the attempt was
        superseded."""
        return await self._finish(attempt, CaptureStatus.FAILED, {"error": json.dumps(error)})

    async def _finish(self, attempt: Attempt, status: CaptureStatus, extra: dict[str, str]) -> bool:
        # The table says which moves exist; the script makes the move atomically and
        # refuses it when another attempt got there first.
        check_transition(attempt.record.status, status)
        record = attempt.record
        done = await self.store.finish(record.id, status, extra, record.created_ms, attempt.number)
        if done:
            await self._announce(record, status)
        return done

    async def _announce(self, record: CaptureRecord, status: CaptureStatus) -> None:
        if self.on_final is not None:
            await self.on_final(record, status)


def queue_figures(stats: Any, groups: Any) -> QueueFigures:
    """Figures from the replies of ``HGETALL`` on the stats hash and ``XINFO GROUPS`` on
    the stream (either may be an error instead, such as a stream not created yet)."""
    finals: dict[str, int] | None = None
    latency_s: float | None = None
    depth: int | None = None
    if isinstance(stats, dict):
        counts = text_dict(stats)
        finals = {s.value: int(counts.get(s.value, 0)) for s in CaptureStatus if s.final}
        latency_s = int(counts.get("latencyMsSum", 0)) / 1000
    if isinstance(groups, list):
        for group in groups:
            info = {text(key): value for key, value in group.items()}
            if text(info.get("name")) == GROUP:
                # Waiting = not yet delivered (lag) + delivered but not finished (pending).
                # Redis answers a nil lag when it cannot count it (deleted entries ahead).
                depth = int(info.get("lag") or 0) + int(info.get("pending") or 0)
    return QueueFigures(finals, latency_s, depth)
