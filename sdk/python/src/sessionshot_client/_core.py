"""What the sync and async clients share, without I/O: configuration, calls, retries."""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from sessionshot_client.errors import ConfigurationError, error_from_response

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8080"
"""Where ``sessionshot up`` listens by default."""
RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "sessionshot-client-python/0.1.0"


@dataclass(frozen=True)
class Config:
    """Where the API is and how to talk to it."""

    base_url: str
    api_key: str
    timeout_s: float
    max_retries: int
    max_retry_delay_s: float

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        api_key: str | None,
        *,
        timeout_s: float,
        max_retries: int,
        max_retry_delay_s: float,
    ) -> Config:
        """Arguments first, then ``SESSIONSHOT_URL`` / ``SESSIONSHOT_API_KEY``."""
        url = base_url or os.environ.get("SESSIONSHOT_URL") or DEFAULT_URL
        key = api_key or os.environ.get("SESSIONSHOT_API_KEY")
        if not key:
            raise ConfigurationError("No API key: pass api_key= or set SESSIONSHOT_API_KEY.")
        if max_retries < 0:
            raise ConfigurationError("max_retries must be 0 or more.")
        return cls(url.rstrip("/"), key, timeout_s, max_retries, max_retry_delay_s)

    def __repr__(self) -> str:  # never show the key
        return f"Config(base_url={self.base_url!r}, api_key='***')"


def _none(response: httpx.Response) -> None:
    return None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    body: Any = None
    params: Mapping[str, str] | None = None
    idempotency_key: str | None = None
    extra_timeout_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, config: Config, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The HTTP request (the same one for every retry, idempotency key included)."""
        headers = {
            "Authorization": f"Bearer {config.api_key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **self.headers,
        }
        if self.idempotency_key:
            headers[IDEMPOTENCY_HEADER] = self.idempotency_key
        timeout = httpx.Timeout(config.timeout_s + self.extra_timeout_s)
        return client.build_request(
            self.method,
            config.base_url + self.path,
            json=self.body,
            params=dict(self.params) if self.params else None,
            headers=headers,
            timeout=timeout,
        )


def model_call(
    method: str,
    path: str,
    model: type[T],
    *,
    body: BaseModel | dict[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    create: bool = False,
    idempotency_key: str | None = None,
    extra_timeout_s: float = 0.0,
) -> Call[T]:
    """A call answered by ``model``; ``create`` adds an idempotency key (given or new)."""

    def parse(response: httpx.Response) -> T:
        validate: Callable[[Any], T] = model.model_validate  # type: ignore[attr-defined]
        return validate(response.json())

    if isinstance(body, BaseModel):
        to_json = getattr(body, "to_json", None)
        body = to_json() if callable(to_json) else body.model_dump(mode="json", by_alias=True)
    key = (idempotency_key or f"sdk-{uuid.uuid4()}") if create else None
    return Call(method, path, parse, body, params, key, extra_timeout_s)


def empty_call(method: str, path: str) -> Call[None]:
    """A call whose answer has no body worth reading (204)."""
    return Call(method, path, _none)


def text_call(path: str, params: Mapping[str, str]) -> Call[str]:
    """A call answered by text (CSV)."""
    return Call("GET", path, lambda response: response.text, params=params)


def retry_delay(response: httpx.Response, attempt: int, config: Config) -> float | None:
    """Seconds to wait before retrying ``response``, or None when it is not retried.

    429 and 503 are retried ``config.max_retries`` times, after ``Retry-After`` when the
    service sends one (seconds or an HTTP date), else after a jittered exponential backoff;
    never longer than ``config.max_retry_delay_s``.
    """
    if response.status_code not in RETRY_STATUSES or attempt >= config.max_retries:
        return None
    delay = retry_after_s(response.headers)
    if delay is None:
        delay = 0.5 * 2**attempt * (1 + random.random() / 4)  # jitter, not security
    return min(delay, config.max_retry_delay_s)


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (whole seconds or an HTTP date), None when absent."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def check(response: httpx.Response) -> httpx.Response:
    """``response`` when it is a success, else its typed error raised."""
    if response.is_success:
        return response
    raise error_from_response(
        response.status_code, response.content, retry_after_s(response.headers)
    )


def path_id(value: str) -> str:
    """An id placed in a path, escaped so it cannot change the path."""
    return quote(value, safe="")
