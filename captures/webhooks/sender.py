"""One delivery attempt: sign per Standard Webhooks and POST through the egress guard."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import httpx
from standardwebhooks import Webhook

TIMEOUT_S = 10.0
"""Longest an attempt may take, connection to answer; then it counts as failed."""
USER_AGENT = "SessionShot-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """How an attempt went: ``ok`` for a 2xx answer; ``reason`` for the log."""

    ok: bool
    status_code: int | None
    reason: str


def signed_headers(
    delivery_id: str, body: bytes, secrets: Sequence[str], at: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers of ``body``, one ``v1,`` signature per secret."""
    signatures = " ".join(Webhook(secret).sign(delivery_id, at, body) for secret in secrets)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signatures,
    }


class Sender:
    """An HTTP client whose every connection is a ``CONNECT`` through an egress guard
    endpoint: the guard resolves and checks the address, so a refused one is never
    contacted. Use as ``async with Sender(proxy_url, verify) as sender``."""

    def __init__(self, proxy_url: str, verify: bool) -> None:
        self._client = httpx.AsyncClient(
            proxy=proxy_url,
            verify=verify,
            timeout=TIMEOUT_S,
            follow_redirects=False,  # a redirect is an answer, not a 2xx: retried as such
            trust_env=False,  # never the environment's proxies or certificates
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client's connections (idempotent)."""
        await self._client.aclose()

    async def send(
        self, url: str, delivery_id: str, body: bytes, secrets: Sequence[str]
    ) -> Outcome:
        """POST ``body`` to ``url``, signed with every one of ``secrets``."""
        headers = signed_headers(delivery_id, body, secrets, datetime.now(UTC))
        try:
            async with asyncio.timeout(TIMEOUT_S):
                # Streamed and closed unread: only the status matters, whatever the size.
                async with self._client.stream("POST", url, content=body, headers=headers) as got:
                    code = got.status_code
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(False, None, "timeout")
        except httpx.ProxyError:
            return Outcome(False, None, "blocked")  # the guard refused the address
        except httpx.HTTPError as err:
            return Outcome(False, None, type(err).__name__)
        return Outcome(200 <= code < 300, code, "answered")
