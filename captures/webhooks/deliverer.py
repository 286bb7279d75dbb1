"""The delivery loop of a process: claim due deliveries, attempt them, record the outcome."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from captures.service import CaptureService
from captures.webhooks.endpoints import EndpointStore
from captures.webhooks.schedule import Delivery, DeliveryStatus, Schedule
from captures.webhooks.sender import TIMEOUT_S, Outcome, Sender
from sessions.egress import EgressPolicy, EgressProxy
from sessions.supervisor import is_outage
from sessions.tasks import TaskSet
from sessions.timefmt import iso_ms, now_ms

log = logging.getLogger(__name__)

CONCURRENCY = 8
"""Attempts in flight per process."""
LEASE_S = TIMEOUT_S + 20
"""How long a claimed delivery stays with its claimer: longer than one attempt can take,
so it is claimed again only when the claimer died."""
IDLE_WAIT_S = 1.0
"""Longest wait between looks at the schedule (other processes add deliveries too)."""
EGRESS_TAG = "webhooks"


class Deliverer:
    """Runs deliveries of every workspace; any number of processes run one each."""

    def __init__(
        self,
        schedule: Schedule,
        endpoints: EndpointStore,
        captures: CaptureService,
        egress: EgressPolicy,
        verify_tls: bool,
    ) -> None:
        self._schedule = schedule
        self._endpoints = endpoints
        self._captures = captures
        self._egress = egress
        self._verify_tls = verify_tls
        self._tasks = TaskSet()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the schedule now (a delivery was just added)."""
        self._wake.set()

    async def run(self) -> None:
        """The loop (for the process's supervised loop group): every connection goes
        through an egress guard endpoint of this process, with the sessions' policy."""
        async with EgressProxy(self._egress) as proxy:
            proxy_url = await proxy.open_endpoint(EGRESS_TAG)
            async with Sender(proxy_url, self._verify_tls) as sender:
                try:
                    while True:
                        await self._claim_and_start(sender)
                        await self._wait()
                finally:
                    await self._tasks.aclose()

    async def _claim_and_start(self, sender: Sender) -> None:
        free = CONCURRENCY - len(self._tasks)
        if free <= 0:
            return
        for ws_id, delivery_id in await self._schedule.claim(free, LEASE_S):
            task = self._tasks.spawn(
                self._attempt(sender, ws_id, delivery_id), name=f"webhook-{delivery_id}"
            )
            task.add_done_callback(lambda _: self._wake.set())

    async def _wait(self) -> None:
        wait_s = IDLE_WAIT_S
        due = await self._schedule.next_due_ms()
        if due is not None:
            wait_s = min(wait_s, max(0.0, (due - now_ms()) / 1000))
        if len(self._tasks) >= CONCURRENCY:
            wait_s = IDLE_WAIT_S  # a finished attempt wakes the loop
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), wait_s)
        except TimeoutError:
            pass

    async def _attempt(self, sender: Sender, ws_id: str, delivery_id: str) -> None:
        delivery = await self._schedule.get(ws_id, delivery_id)
        if delivery is None or delivery.status is not DeliveryStatus.PENDING:
            await self._schedule.drop(ws_id, delivery_id)
            return
        endpoint = await self._endpoints.get(ws_id, delivery.endpoint_id)
        if endpoint is None:  # removed since: nothing to send to
            await self._schedule.drop(ws_id, delivery_id)
            return
        try:
            body = await self._body(delivery)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if is_outage(err):
                raise  # the lease brings it back once Redis answers
            log.exception("webhook body failed", extra={"deliveryId": delivery.id})
            await self._schedule.attempted(delivery, None, False)
            return
        outcome = await sender.send(
            endpoint.url, delivery.id, body, endpoint.signing_secrets(now_ms())
        )
        await self._schedule.attempted(delivery, outcome.status_code, outcome.ok)
        _log_attempt(delivery, outcome)

    async def _body(self, delivery: Delivery) -> bytes:
        """``{"type", "timestamp", "data"}``: a capture as ``GET /api/captures/{id}``
        answers it now (a fresh link), or the data fixed at the event."""
        data: dict[str, Any] | None = delivery.data
        if delivery.ref:
            record = await self._captures.store.get(delivery.ref)
            data = await self._captures.public(record) if record else {"id": delivery.ref}
        payload = {"type": delivery.event, "timestamp": iso_ms(delivery.created_ms), "data": data}
        return json.dumps(payload, separators=(",", ":")).encode()


def _log_attempt(delivery: Delivery, outcome: Outcome) -> None:
    log.info(
        "webhook attempt",
        extra={
            "event": "webhook_attempt",
            "deliveryId": delivery.id,
            "endpointId": delivery.endpoint_id,
            "attempt": delivery.attempts + 1,
            "ok": outcome.ok,
            "statusCode": outcome.status_code,
            "reason": outcome.reason,
        },
    )
