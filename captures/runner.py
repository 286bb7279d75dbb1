"""One capture, run as an ephemeral session through the sessions engine."""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request, Route

from captures.errors import AuthRefused, CaptureFailed, CaptureTimeout
from captures.models import CaptureRequest, step_action
from captures.results import ResultFile
from sessions.action_models import ActionRequest
from sessions.engine import SessionEngine
from sessions.errors import (
    BrowserUnavailable,
    CapacityExceeded,
    ConcurrencyLimited,
    RenderFailed,
    SessionError,
)
from sessions.models import SessionOptions
from sessions.render import RenderSpec, scale_page
from storage import Storage

RETRIED_ERRORS: tuple[type[SessionError], ...] = (
    CapacityExceeded,  # this worker is full or stopping
    ConcurrencyLimited,  # the workspace's sessions may close meanwhile
    BrowserUnavailable,  # the browser is being relaunched
)
"""Engine errors opening a capture's session that a later attempt can get past."""


@dataclass(frozen=True)
class Owner:
    """Who a capture belongs to."""

    capture_id: str
    key_id: str
    workspace_id: str


class CaptureRunner:
    """Runs a capture's steps with the engine's own actions, renders and stores the file."""

    def __init__(self, engine: SessionEngine, storage: Storage, timeout_s: float) -> None:
        self._engine = engine
        self._storage = storage
        self._timeout_s = timeout_s

    def session_options(self, request: CaptureRequest) -> SessionOptions:
        """An ephemeral session sized to the output, carrying the auth state."""
        ttl = max(10, math.ceil(self._timeout_s) + 30)
        return SessionOptions.model_validate(
            {
                "maxTtlSeconds": min(ttl, self._engine.config.session_max_ttl_s),
                "viewport": request.viewport,
                "auth": request.auth,
                **request.page.browser_options(),
            }
        )

    async def open(self, owner: Owner, request: CaptureRequest) -> str:
        """Create the capture's session; its id.

        An error no retry can get past (the browser refused the auth cookies, any other
        engine error) is a :class:`CaptureFailed`; the rest is raised as is, to be retried.
        """
        try:
            record = await self._engine.create(
                owner.key_id,
                owner.workspace_id,
                self.session_options(request),
                kind="capture",
                extra={"captureId": owner.capture_id},
            )
        except RETRIED_ERRORS:
            raise
        except SessionError as err:
            raise CaptureFailed.of(err) from err
        except PlaywrightError as err:
            # With the browser up, only the injected cookies can make a context fail.
            if request.auth is None or not request.auth.cookies:
                raise
            if not await self._engine.is_ready():
                raise
            raise AuthRefused() from err
        return record.id

    async def run(self, owner: Owner, session_id: str, request: CaptureRequest) -> ResultFile:
        """Navigate, act, render, store; the stored file."""
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._run(owner, session_id, request)
        except TimeoutError as err:
            raise CaptureTimeout() from err
        except SessionError as err:
            raise CaptureFailed.of(err) from err

    async def _run(self, owner: Owner, session_id: str, request: CaptureRequest) -> ResultFile:
        engine = self._engine
        await self._dress(session_id, request)
        goto = ActionRequest.model_validate(
            {"type": "goto", "payload": {"url": request.url, "waitUntil": request.page.wait_until}}
        )
        await engine.act(owner.key_id, session_id, goto)
        for step in request.actions:
            await engine.act(owner.key_id, session_id, step_action(step))
        if request.page.delay_ms:
            await asyncio.sleep(request.page.delay_ms / 1000)
        rendered = await engine.render(owner.key_id, session_id, render_spec(request))
        key = f"{owner.workspace_id}/captures/{owner.capture_id}-{secrets.token_hex(4)}"
        filename = f"{owner.capture_id}.{rendered.extension}"
        await self._storage.put(
            f"{key}.{rendered.extension}", rendered.data, rendered.content_type, filename
        )
        return ResultFile.of(rendered, f"{key}.{rendered.extension}", filename)

    async def _dress(self, session_id: str, request: CaptureRequest) -> None:
        """Before the first navigation: device scale and media features emulated,
        resource types refused."""
        live = self._engine.held(session_id)
        if live is None:
            return
        page, options = live.page, request.page
        viewport, scale = request.viewport, request.output.device_scale_factor
        media: dict[str, Any] = {}
        if options.color_scheme is not None:
            media["color_scheme"] = options.color_scheme
        if options.reduced_motion is not None:
            media["reduced_motion"] = "reduce" if options.reduced_motion else "no-preference"
        try:
            if scale != 1:  # before the page loads: it picks its images for this ratio
                cdp = await page.context.new_cdp_session(page)  # attached until the page closes
                await scale_page(cdp, viewport.width, viewport.height, scale)
            if media:
                await page.emulate_media(**media)
            if options.block_resources:
                await page.route("**/*", _blocker(frozenset(options.block_resources)))
        except PlaywrightError as err:
            raise RenderFailed("The page options could not be applied.") from err

    async def close(self, owner: Owner, session_id: str) -> None:
        """Close (and bill) the capture's session."""
        await asyncio.shield(self._engine.close(owner.key_id, session_id))


def _blocker(kinds: frozenset[str]) -> Callable[[Route, Request], Awaitable[None]]:
    """A route handler refusing requests of ``kinds`` before they leave the browser; any
    other request goes on to the context's own handlers (auth headers)."""

    async def handle(route: Route, request: Request) -> None:
        if request.resource_type in kinds:
            await route.abort("blockedbyclient")
        else:
            await route.fallback()

    return handle


def render_spec(request: CaptureRequest) -> RenderSpec:
    """What the capture's render is: format, part of the page, its dressing."""
    output, page = request.output, request.page
    return RenderSpec(
        format=output.format,
        full_page=output.full_page,
        quality=output.quality,
        scale=output.device_scale_factor,
        clip=output.clip,
        selector=output.selector,
        omit_background=output.omit_background,
        pdf=output.pdf,
        redaction=request.redaction,
        css=page.css,
        hide_selectors=tuple(page.hide_selectors),
    )
