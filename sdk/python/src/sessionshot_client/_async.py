"""The asynchronous client: ``AsyncSessionShot``, its captures and its live sessions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Generator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, PrivateAttr

from sessionshot_client import _endpoints as api
from sessionshot_client._actions import ActionMethods
from sessionshot_client._async_account import (
    AsyncProfiles,
    AsyncSchedules,
    AsyncUsage,
    AsyncWebhooks,
)
from sessionshot_client._core import Call, Config, check, retry_delay
from sessionshot_client.errors import ConnectionFailed, WaitTimeout
from sessionshot_client.models import (
    ActionResult,
    AuthState,
    Capture,
    CaptureAccepted,
    CaptureBatch,
    CaptureBatchAccepted,
    CaptureList,
    CaptureStep,
    LiveLink,
    LiveMode,
    LiveRequest,
    Output,
    PageOptions,
    Profile,
    ProfileCreate,
    Redaction,
    ScopedToken,
    Session,
    SessionList,
    TokenRequest,
    TokenScope,
    Viewport,
)
from sessionshot_client.models.base import given

T = TypeVar("T")


class AsyncSessionShot:
    """The AsyncSessionShot API, synchronously.

    ``base_url`` and ``api_key`` default to ``SESSIONSHOT_URL`` and ``SESSIONSHOT_API_KEY``.
    429 and 503 answers are retried up to ``max_retries`` times after ``Retry-After`` (at
    most ``max_retry_delay_s`` each), then raised as typed errors. ``http_client`` lets you
    bring your own ``httpx.AsyncClient`` (event hooks, proxies); it is then yours to close.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        max_retry_delay_s: float = 60.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = Config.resolve(
            base_url,
            api_key,
            timeout_s=timeout_s,
            max_retries=max_retries,
            max_retry_delay_s=max_retry_delay_s,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()
        self.captures = AsyncCaptures(self)
        self.sessions = AsyncSessions(self)
        self.webhooks = AsyncWebhooks(self)
        self.profiles = AsyncProfiles(self)
        self.schedules = AsyncSchedules(self)
        self.usage = AsyncUsage(self)

    async def send(self, call: Call[T]) -> T:
        """Send one API call, retrying 429/503 as configured; the parsed answer."""
        request = call.request(self.config, self._http)
        attempt = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as err:
                raise ConnectionFailed(f"{type(err).__name__}: {err}") from err
            delay = retry_delay(response, attempt, self.config)
            if delay is None:
                return call.parse(check(response))
            await response.aclose()
            attempt += 1
            await asyncio.sleep(delay)

    async def download(self, url: str) -> bytes:
        """The bytes behind a signed link (sent without the API key: the link is the key)."""
        try:
            response = await self._http.get(
                api.file_url(self.config.base_url, url), timeout=self.config.timeout_s
            )
        except httpx.TransportError as err:
            raise ConnectionFailed(f"{type(err).__name__}: {err}") from err
        return check(response).content

    async def close(self) -> None:
        """Close the HTTP connections (not a client you passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncSessionShot:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncCaptureJob(CaptureAccepted):
    """A capture just accepted (``id``, ``status``...); ``wait()`` gives its final state."""

    _captures: AsyncCaptures | None = PrivateAttr(default=None)

    def bind(self, captures: AsyncCaptures) -> AsyncCaptureJob:
        """Attach the client that made it."""
        self._captures = captures
        return self

    async def wait(self, timeout_s: float = 300.0) -> Capture:
        """Long-poll until the capture is ``completed`` or ``failed``."""
        assert self._captures is not None, "a AsyncCaptureJob comes from captures.create()"
        return await self._captures.wait(self.id, timeout_s=timeout_s)


class AsyncCaptures:
    """One-shot captures: ``create(...).wait()``, ``get``, ``list``, ``download``."""

    def __init__(self, client: AsyncSessionShot) -> None:
        self._client = client

    async def create(
        self,
        url: str,
        *,
        output: Output | Mapping[str, Any] | None = None,
        auth: AuthState | Mapping[str, Any] | None = None,
        actions: Sequence[CaptureStep | Mapping[str, Any]] | None = None,
        redaction: Redaction | Mapping[str, Any] | None = None,
        page: PageOptions | Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncCaptureJob:
        """Queue a capture of ``url``; the body's fields as keyword arguments."""
        request = api.capture_request(
            url=url, output=output, auth=auth, actions=actions, redaction=redaction,
            page=page, metadata=metadata,
        )  # fmt: skip
        accepted = await self._client.send(api.create_capture(request, idempotency_key))
        return AsyncCaptureJob.model_validate(accepted.model_dump()).bind(self)

    async def batch(
        self,
        captures: Sequence[Mapping[str, Any] | BaseModel],
        *,
        defaults: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> CaptureBatchAccepted:
        """Queue up to 100 captures, each merged onto ``defaults``; results in order."""
        batch = CaptureBatch(captures=[api.body_of(item) for item in captures], defaults=defaults)
        return await self._client.send(api.create_batch(batch, idempotency_key))

    async def get(self, capture_id: str, *, wait_s: int | None = None) -> Capture:
        """The capture; ``wait_s`` (up to 30) long-polls until it is final."""
        return await self._client.send(api.get_capture(capture_id, wait_s))

    async def list(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> CaptureList:
        """A page of this key's captures, newest first."""
        return await self._client.send(api.list_captures(status, limit, cursor))

    async def wait(self, capture_id: str, *, timeout_s: float = 300.0) -> Capture:
        """Long-poll until ``completed`` or ``failed``; :class:`WaitTimeout` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            capture = await self.get(capture_id, wait_s=max(1, min(api.MAX_WAIT_S, int(left))))
            if capture.is_final:
                return capture
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"capture {capture_id} still {capture.status} after {timeout_s} s"
                )

    async def download(self, capture: Capture | str, path: str | Path | None = None) -> bytes:
        """The rendered file of a completed capture (a fresh link is read when needed);
        written to ``path`` too when given. A failed capture raises its typed error."""
        if isinstance(capture, str) or capture.result is None:
            capture = await self.get(capture if isinstance(capture, str) else capture.id)
        data = await self._client.download(api.file_link(capture))
        if path is not None:
            Path(path).write_bytes(data)
        return data


class AsyncSessions:
    """Live sessions: ``async with client.sessions.create() as session: ...``."""

    def __init__(self, client: AsyncSessionShot) -> None:
        self._client = client

    def create(
        self,
        *,
        max_ttl_seconds: int | None = None,
        idle_timeout_seconds: int | None = None,
        proxy: bool | None = None,
        bypass_bot_detection: bool | None = None,
        connect: bool | None = None,
        viewport: Viewport | Mapping[str, Any] | None = None,
        user_agent: str | None = None,
        locale: str | None = None,
        timezone_id: str | None = None,
        auth: AuthState | Mapping[str, Any] | None = None,
        persist_profile: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> SessionStart:
        """Start a session: ``await`` it, or ``async with`` it to close it at the end."""
        options = api.session_options(
            max_ttl_seconds=max_ttl_seconds, idle_timeout_seconds=idle_timeout_seconds,
            proxy=proxy, bypass_bot_detection=bypass_bot_detection, connect=connect,
            viewport=viewport, user_agent=user_agent, locale=locale, timezone_id=timezone_id,
            auth=auth, persist_profile=persist_profile, metadata=metadata,
        )  # fmt: skip
        return SessionStart(self._client, api.create_session(options, idempotency_key))

    async def attach(self, session_id: str) -> AsyncLiveSession:
        """A handle on an existing session of this key."""
        return AsyncLiveSession(self._client, await self.get(session_id))

    async def get(self, session_id: str) -> Session:
        """The session object."""
        return await self._client.send(api.get_session(session_id))

    async def list(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> SessionList:
        """A page of this key's sessions (``status="active"`` or ``"closed"``)."""
        return await self._client.send(api.list_sessions(status, limit, cursor))

    async def close(self, session_id: str) -> Session:
        """Close and bill the session (idempotent); its final object."""
        return await self._client.send(api.close_session(session_id))


class SessionStart:
    """A session being created: awaitable (the session) and an async context manager
    (the session, closed on exit)."""

    def __init__(self, client: AsyncSessionShot, call: Call[Session]) -> None:
        self._client = client
        self._call = call
        self._session: AsyncLiveSession | None = None

    async def _start(self) -> AsyncLiveSession:
        return AsyncLiveSession(self._client, await self._client.send(self._call))

    def __await__(self) -> Generator[Any, None, AsyncLiveSession]:
        return self._start().__await__()

    async def __aenter__(self) -> AsyncLiveSession:
        self._session = await self._start()
        return self._session

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            # Closed (and billed) even when the block was cancelled.
            await asyncio.shield(self._session.close())


class AsyncLiveSession(ActionMethods[Awaitable[ActionResult]]):
    """A live session: every action as a method; ``info`` is its latest known object."""

    def __init__(self, client: AsyncSessionShot, info: Session) -> None:
        self._client = client
        self.info = info
        self.id = info.id

    def _run(self, type_: str, payload: BaseModel | None) -> Awaitable[ActionResult]:
        return self._client.send(api.run_action(self.id, type_, payload))

    async def refresh(self) -> Session:
        """Read the session again."""
        self.info = await self._client.send(api.get_session(self.id))
        return self.info

    async def close(self) -> Session:
        """Close and bill the session (idempotent)."""
        self.info = await self._client.send(api.close_session(self.id))
        return self.info

    async def live_link(
        self, mode: LiveMode = "view", *, ttl_seconds: int | None = None
    ) -> LiveLink:
        """A live-view link for a person to watch (or interact with) the page."""
        request = LiveRequest.model_validate(given(mode=mode, ttl_seconds=ttl_seconds))
        return await self._client.send(api.create_live_link(self.id, request))

    async def revoke_live_links(self) -> None:
        """Revoke every live link of the session."""
        await self._client.send(api.revoke_live_links(self.id))

    async def token(self, scope: TokenScope, *, ttl_seconds: int | None = None) -> ScopedToken:
        """A short-lived token for one scope of this session."""
        request = TokenRequest.model_validate(given(scope=scope, ttl_seconds=ttl_seconds))
        return await self._client.send(api.create_token(self.id, request))

    async def save_profile(self, name: str) -> Profile:
        """Save the session's cookies and localStorage as a profile of the workspace."""
        return await self._client.send(api.save_profile(self.id, ProfileCreate(name=name)))

    async def __aenter__(self) -> AsyncLiveSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.shield(self.close())
