"""The live view's owner side: a session's page as a stream of frames, and a person's input.

Each viewer gets a CDP session of its own on the page and ``Page.startScreencast``: Chromium
sends a JPEG frame when the page repaints and the next one only after the last was
acknowledged, so a frame is acknowledged once the viewer has been sent it (a slow viewer
gets fewer frames, never a backlog). In ``interact`` mode the viewer's mouse, wheel and key
messages become ``Input.dispatchMouseEvent`` / ``Input.dispatchKeyEvent``; in ``view`` mode
they are read and dropped. The wire messages are those of ``app/livepage.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from sessions.timefmt import now_ms

log = logging.getLogger(__name__)

JPEG_QUALITY = 70
MAX_INPUT_CHARS = 4096
"""A viewer's input message is small; anything longer is dropped unread."""

Coordinate = Annotated[float, Field(ge=-100_000, le=100_000, allow_inf_nan=False)]
Modifiers = Annotated[int, Field(ge=0, le=15)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class Mouse(_Input):
    """A mouse button or move on the view, in the page's CSS pixels."""

    type: Literal["mouse"]
    event: Literal["mousePressed", "mouseReleased", "mouseMoved"]
    x: Coordinate
    y: Coordinate
    button: Literal["left", "middle", "right", "none"] = "none"
    click_count: Annotated[int, Field(ge=0, le=3)] = Field(default=0, alias="clickCount")
    modifiers: Modifiers = 0

    def command(self) -> dict[str, Any]:
        """``Input.dispatchMouseEvent`` parameters."""
        return {
            "type": self.event,
            "x": self.x,
            "y": self.y,
            "button": self.button,
            "clickCount": self.click_count,
            "modifiers": self.modifiers,
        }


class Wheel(_Input):
    """A wheel turn over the view."""

    type: Literal["wheel"]
    x: Coordinate
    y: Coordinate
    delta_x: Coordinate = Field(default=0, alias="deltaX")
    delta_y: Coordinate = Field(default=0, alias="deltaY")
    modifiers: Modifiers = 0

    def command(self) -> dict[str, Any]:
        """``Input.dispatchMouseEvent`` parameters (a ``mouseWheel``)."""
        return {
            "type": "mouseWheel",
            "x": self.x,
            "y": self.y,
            "deltaX": self.delta_x,
            "deltaY": self.delta_y,
            "modifiers": self.modifiers,
        }


class Key(_Input):
    """A key going down or up while the view has the focus."""

    type: Literal["key"]
    event: Literal["keyDown", "keyUp"]
    key: Annotated[str, Field(max_length=32)] = ""
    code: Annotated[str, Field(max_length=32)] = ""
    text: Annotated[str, Field(max_length=4)] = ""
    key_code: Annotated[int, Field(ge=0, le=255)] = Field(default=0, alias="keyCode")
    modifiers: Modifiers = 0

    def command(self) -> dict[str, Any]:
        """``Input.dispatchKeyEvent`` parameters: a key with text types it."""
        kind: str = self.event
        if kind == "keyDown" and not self.text:
            kind = "rawKeyDown"  # a key that types nothing (arrows, Enter's down without text)
        params: dict[str, Any] = {
            "type": kind,
            "key": self.key,
            "code": self.code,
            "windowsVirtualKeyCode": self.key_code,
            "modifiers": self.modifiers,
        }
        if self.text and self.event == "keyDown":
            params["text"] = self.text
        return params


_INPUT: TypeAdapter[Mouse | Wheel | Key] = TypeAdapter(
    Annotated[Mouse | Wheel | Key, Field(discriminator="type")]
)


def read_input(raw: str) -> Mouse | Wheel | Key | None:
    """A viewer's message as an input event, or None for anything else (never raises)."""
    if len(raw) > MAX_INPUT_CHARS:
        return None
    try:
        return _INPUT.validate_json(raw)
    except (ValidationError, ValueError, RecursionError):
        return None


Send = Callable[[str], Awaitable[None]]
Receive = Callable[[], Awaitable[str | None]]
"""The viewer's next text message; None once it has gone."""


class Screencasts:
    """The viewers of the sessions held here, so that revoking their links ends them."""

    def __init__(self) -> None:
        self._ends: dict[str, set[asyncio.Future[str]]] = {}

    def end(self, session_id: str, reason: str) -> int:
        """End every viewer of a session with ``reason``; how many there were."""
        ends = self._ends.pop(session_id, set())
        for end in ends:
            if not end.done():
                end.set_result(reason)
        return len(ends)

    async def serve(
        self,
        session_id: str,
        page: Page,
        *,
        interact: bool,
        expires_ms: int,
        send: Send,
        receive: Receive,
        on_input: Callable[[], None],
    ) -> str:
        """Stream ``page`` to one viewer until it leaves, the link expires or is revoked, or
        the page closes; the reason it ended (``left``, ``expired``, ``revoked``, ``closed``)."""
        loop = asyncio.get_running_loop()
        end: asyncio.Future[str] = loop.create_future()
        self._ends.setdefault(session_id, set()).add(end)
        expiry = loop.call_later(max(0, expires_ms - now_ms()) / 1000, _settle, end, "expired")
        page.once("close", lambda _p: _settle(end, "closed"))
        try:
            cdp = await page.context.new_cdp_session(page)
        except PlaywrightError:
            return "closed"
        tasks = [
            asyncio.ensure_future(_frames(cdp, send)),
            asyncio.ensure_future(_inputs(cdp, receive, interact, on_input)),
        ]
        for task in tasks:
            task.add_done_callback(lambda t: _settle(end, _outcome(t)))
        try:
            return await end
        finally:
            expiry.cancel()
            self._ends.get(session_id, set()).discard(end)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(PlaywrightError):
                await cdp.detach()


def _settle(end: asyncio.Future[str], reason: str) -> None:
    if not end.done():
        end.set_result(reason)


def _outcome(task: asyncio.Future[None]) -> str:
    if task.cancelled():
        return "left"
    err = task.exception()
    if err is None or isinstance(err, ConnectionError):
        return "left"
    if isinstance(err, PlaywrightError):
        return "closed"
    log.error("live view failed", extra={"event": "live_failed", "error": repr(err)})
    return "error"


async def _frames(cdp: CDPSession, send: Send) -> None:
    """Frames to the viewer, each acknowledged once sent (Chromium's flow control)."""
    latest: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    cdp.on("Page.screencastFrame", latest.put_nowait)
    await cdp.send("Page.startScreencast", {"format": "jpeg", "quality": JPEG_QUALITY})
    while True:
        frame = await latest.get()
        meta = frame.get("metadata", {})
        message = {
            "type": "frame",
            "data": frame["data"],
            "width": meta.get("deviceWidth"),
            "height": meta.get("deviceHeight"),
        }
        await send(json.dumps(message))
        await cdp.send("Page.screencastFrameAck", {"sessionId": frame["sessionId"]})


async def _inputs(
    cdp: CDPSession, receive: Receive, interact: bool, on_input: Callable[[], None]
) -> None:
    """The viewer's messages: input events in ``interact`` mode, nothing otherwise."""
    while (raw := await receive()) is not None:
        event = read_input(raw) if interact else None
        if event is None:
            continue
        method = "Input.dispatchKeyEvent" if isinstance(event, Key) else "Input.dispatchMouseEvent"
        await cdp.send(method, event.command())
        on_input()
