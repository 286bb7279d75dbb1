"""The live view page in real Chromium (SPEC 12): frames shown, input sent only to interact.

A raw ASGI app under Hypercorn on 127.0.0.1 serves ``live_page`` with its policy and the
WebSocket the page opens; each test drives that socket as the server would (frames, then
``end``) and reads what the page sent. The frames are JPEGs of one colour, rendered by the
same Chromium, smaller than the session page they stand for (as a scaled screencast is),
and the viewer's window has another aspect than the frames, so the image is letterboxed and
scaled: a click at a point of the displayed image must arrive in the session page's CSS
pixels. The image's place is read from a screenshot of the viewer, as a person sees it.

NETWORK RULE: the browser reaches only the test server; any other request is recorded and
aborted before it is sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest_asyncio
from hypercorn.asyncio import serve
from hypercorn.config import Config
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    ViewportSize,
    async_playwright,
)

from app.livepage import ENDED_PAGE_CSP, LIVE_PAGE_CSP, ended_page, live_page
from sessions.browser import chromium_args
from tests.support.loopback import ALLOWED_IP, listening_socket
from tests.support.png import Image, decode_png
from tests.support.waiting import eventually

CHROMIUM = "/usr/bin/chromium"
SESSION_W, SESSION_H = 800, 600  # the session page's viewport in CSS px (frame metadata)
JPEG_W, JPEG_H = 400, 300  # the frames' own pixels
VIEWER = ViewportSize(width=640, height=480)
RED, BLUE = (220, 40, 40), (40, 60, 220)
WS_PATH = "/live/ws"
LINK = "l1nk-Token_x"
EXPIRES_AT = "2030-01-02T03:04:05Z"
WAIT_S = 30
STATE = "document.getElementById('state').textContent"
# Records Content-Security-Policy violations as the page sees them (init scripts run
# outside the page's policy).
VIOLATION_RECORDER = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push([e.violatedDirective, e.blockedURI, e.sample].join(" "));
});
"""


@dataclass
class Peer:
    """One WebSocket connection as the server sees it."""

    path: str
    query: dict[str, list[str]]
    origin: str
    received: list[dict[str, Any]] = field(default_factory=list)
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def send(self, message: dict[str, Any]) -> None:
        """Queue a text message to the page."""
        self.outbox.put_nowait(json.dumps(message))

    def frame(self, jpeg: bytes) -> None:
        """Queue one screencast frame of the session page."""
        data = base64.b64encode(jpeg).decode()
        self.send({"type": "frame", "data": data, "width": SESSION_W, "height": SESSION_H})

    async def end(self, reason: str, message: str) -> list[dict[str, Any]]:
        """Send ``end``, close, and return everything the page sent before the close."""
        self.send({"type": "end", "reason": reason, "message": message})
        self.outbox.put_nowait(None)
        await eventually(self.closed.is_set, WAIT_S, "the live socket to close")
        return self.received


class LiveServer:
    """The live page (``/live?mode=…``), the ended page (``/ended``) and the WebSocket."""

    def __init__(self) -> None:
        self.peers: list[Peer] = []
        self.port = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def origin(self) -> str:
        """The server's origin as the browser names it."""
        return f"http://{ALLOWED_IP}:{self.port}"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:  # lifespan: nothing to start or stop
            while (event := await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            assert event["type"] == "lifespan.shutdown"
            await send({"type": "lifespan.shutdown.complete"})

    async def _http(self, scope: Any, send: Any) -> None:
        status, csp, body = 404, ENDED_PAGE_CSP, b"not found"
        if scope["path"] == "/live":
            nonce = secrets.token_urlsafe(18)
            mode = parse_qs(scope["query_string"].decode())["mode"][0]
            body = live_page(f"{WS_PATH}?link={LINK}", mode, EXPIRES_AT, nonce)
            status, csp = 200, LIVE_PAGE_CSP.format(nonce=nonce)
        elif scope["path"] == "/ended":
            status, body = 410, ended_page(410, "Link expired", "Ask for a new <live> link.")
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        headers.append((b"content-security-policy", csp.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope: Any, receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        query = parse_qs(scope["query_string"].decode())
        peer = Peer(scope["path"], query, headers.get("origin", ""))
        self.peers.append(peer)
        pump = asyncio.create_task(self._pump(peer, send))
        try:
            while (message := await receive())["type"] == "websocket.receive":
                peer.received.append(json.loads(message["text"]))
        finally:
            pump.cancel()
            await asyncio.wait([pump])
            peer.closed.set()

    async def _pump(self, peer: Peer, send: Any) -> None:
        while (text := await peer.outbox.get()) is not None:
            await send({"type": "websocket.send", "text": text})
        await send({"type": "websocket.close", "code": 1000})

    async def start(self) -> None:
        """Serve on a free port of 127.0.0.1 (Hypercorn takes the listening socket over)."""
        sock = listening_socket(ALLOWED_IP)
        self.port = int(sock.getsockname()[1])
        config = Config()
        config.bind = [f"fd://{sock.detach()}"]
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")
        config.graceful_timeout = 1.0
        self._task = asyncio.create_task(serve(self, config, shutdown_trigger=self._stop.wait))

    async def aclose(self) -> None:
        """Stop serving and wait."""
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, WAIT_S)


@dataclass
class Viewer:
    """One viewer's page and what its browser did."""

    page: Page
    peer: Peer
    requested: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def status(self) -> str:
        """The status bar's text."""
        return await self.page.inner_text("#bar")

    async def image_box(self, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
        """``(left, top, width, height)`` of the displayed frame of ``colour``, on screen."""
        shot = decode_png(await self.page.screenshot())
        middle_row = [x for x in range(shot.width) if _near(shot, x, shot.height // 2, colour)]
        middle_col = [y for y in range(shot.height) if _near(shot, shot.width // 2, y, colour)]
        assert middle_row and middle_col, "the frame is not on screen"
        left, top = middle_row[0], middle_col[0]
        return left, top, middle_row[-1] + 1 - left, middle_col[-1] + 1 - top

    async def assert_clean(self, origin: str) -> None:
        """Only the test server was asked for anything; no policy violation, no error."""
        assert self.aborted == []
        assert self.requested and all(u.startswith(origin + "/") for u in self.requested)
        ws_origin = origin.replace("http://", "ws://", 1)
        assert self.sockets == [f"{ws_origin}{WS_PATH}?link={LINK}"]
        assert await self.page.evaluate("window.__violations") == []
        assert self.errors == []
        assert self.peer.origin == origin and self.peer.path == WS_PATH
        assert self.peer.query == {"link": [LINK]}


Opener = Callable[[str], Awaitable[Viewer]]


def _near(image: Image, x: int, y: int, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(image.pixel(x, y), colour, strict=True))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium with the product's flags."""
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=chromium_args()
        )
        try:
            yield launched
        finally:
            await launched.close()
    finally:
        await playwright.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server() -> AsyncIterator[LiveServer]:
    """The live page's server for this module."""
    live = LiveServer()
    await live.start()
    try:
        yield live
    finally:
        await live.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def frames(browser: Browser) -> dict[str, bytes]:
    """A red and a blue JPEG of ``JPEG_W`` x ``JPEG_H``, as Chromium encodes them."""
    page = await browser.new_page(viewport={"width": JPEG_W, "height": JPEG_H})
    shots: dict[str, bytes] = {}
    try:
        for name, (r, g, b) in (("red", RED), ("blue", BLUE)):
            await page.set_content(f"<body style='margin:0;background:rgb({r},{g},{b})'>")
            shots[name] = await page.screenshot(type="jpeg", quality=95)
    finally:
        await page.close()
    return shots


@pytest_asyncio.fixture(loop_scope="session")
async def open_viewer(browser: Browser, server: LiveServer) -> AsyncIterator[Opener]:
    """Open the live page of a mode in a fresh context; returns its :class:`Viewer`."""
    contexts: list[BrowserContext] = []

    async def opener(mode: str) -> Viewer:
        context = await browser.new_context(viewport=VIEWER, device_scale_factor=1)
        contexts.append(context)
        page = await context.new_page()
        viewer = Viewer(page, Peer("", {}, ""))

        async def only_own_origin(route: Route) -> None:
            if route.request.url.startswith(server.origin + "/"):
                await route.continue_()
            else:
                viewer.aborted.append(route.request.url)
                await route.abort()

        await page.route("**/*", only_own_origin)
        await page.add_init_script(VIOLATION_RECORDER)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                viewer.errors.append(message.text)

        page.on("request", lambda request: viewer.requested.append(request.url))
        page.on("websocket", lambda socket: viewer.sockets.append(socket.url))
        page.on("console", on_console)
        page.on("pageerror", lambda error: viewer.errors.append(str(error)))
        server.peers.clear()
        response = await page.goto(f"{server.origin}/live?mode={mode}")
        assert response is not None and response.status == 200
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        viewer.peer = await eventually(
            lambda: server.peers[0] if server.peers else None, WAIT_S, "the page's WebSocket"
        )
        await page.wait_for_function(f"{STATE} === 'live'")
        return viewer

    yield opener
    for context in contexts:
        await context.close()


async def show(viewer: Viewer, jpeg: bytes) -> None:
    """Send ``jpeg`` as a frame and wait until the page has it decoded in its image."""
    viewer.peer.frame(jpeg)
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    await viewer.page.wait_for_function(
        "url => { const v = document.getElementById('view'); return v.src === url && v.complete }",
        arg=url,
    )


def at(box: tuple[int, int, int, int], fx: float, fy: float) -> tuple[float, float]:
    """The screen point at fractions ``fx``, ``fy`` of ``box``."""
    return box[0] + fx * box[2], box[1] + fy * box[3]


def assert_point(message: dict[str, Any], x: float, y: float) -> None:
    """``message`` names the session page's point (x, y), give or take a displayed pixel."""
    assert abs(message["x"] - x) <= 3 and abs(message["y"] - y) <= 3, message


async def test_the_page_shows_each_new_frame_and_sends_nothing_in_view_mode(
    open_viewer: Opener, server: LiveServer, frames: dict[str, bytes]
) -> None:
    viewer = await open_viewer("view")
    await show(viewer, frames["red"])
    await show(viewer, frames["blue"])
    box = await viewer.image_box(BLUE)
    # Letterboxed: the 4:3 frame fills the stage's height, centred across.
    assert box[0] > 10 and abs(box[0] + box[2] / 2 - VIEWER["width"] / 2) <= 2
    assert abs(box[2] / box[3] - SESSION_W / SESSION_H) < 0.02
    status = await viewer.status()
    assert "view only" in status and "live" in status and "expires" in status

    page = viewer.page
    await page.mouse.click(*at(box, 0.5, 0.5))
    await page.mouse.move(*at(box, 0.2, 0.2))
    await page.mouse.down()
    await page.mouse.move(*at(box, 0.6, 0.6))
    await page.mouse.up()
    await page.mouse.wheel(0, 120)
    await page.keyboard.press("a")
    await page.keyboard.press("Enter")

    assert await viewer.peer.end("expired", "The link expired.") == []
    await page.wait_for_function(f"{STATE}.startsWith('ended')")
    status = await viewer.status()
    assert "ended: expired" in status and "The link expired." in status
    await viewer.assert_clean(server.origin)


async def test_interact_mode_sends_mouse_wheel_and_keys_in_page_pixels(
    open_viewer: Opener, server: LiveServer, frames: dict[str, bytes]
) -> None:
    viewer = await open_viewer("interact")
    await show(viewer, frames["blue"])
    box = await viewer.image_box(BLUE)
    page = viewer.page

    await page.mouse.click(*at(box, 0.25, 0.75))
    await page.mouse.move(*at(box, 0.1, 0.1))
    await page.mouse.down()
    await page.mouse.move(*at(box, 0.5, 0.4))
    await page.mouse.up()
    await page.mouse.wheel(0, 120)
    await page.keyboard.press("a")
    await page.keyboard.press("Shift+KeyB")
    await page.keyboard.press("Enter")
    sent = await viewer.peer.end("revoked", "The live links were revoked.")

    mouse = [m for m in sent if m["type"] == "mouse"]
    assert [(m["event"], m["button"], m["clickCount"], m["modifiers"]) for m in mouse] == [
        ("mousePressed", "left", 1, 0),
        ("mouseReleased", "left", 1, 0),
        ("mousePressed", "left", 1, 0),
        ("mouseMoved", "left", 0, 0),
        ("mouseReleased", "left", 1, 0),
    ]
    points = [(200, 450), (200, 450), (80, 60), (400, 240), (400, 240)]
    for message, (x, y) in zip(mouse, points, strict=True):
        assert_point(message, x, y)

    [wheel] = [m for m in sent if m["type"] == "wheel"]
    assert_point(wheel, 400, 240)  # the mouse is still where the drag ended
    assert (wheel["deltaX"], wheel["deltaY"], wheel["modifiers"]) == (0, 120, 0)

    keys = [
        (m["event"], m["key"], m["code"], m["text"], m["keyCode"], m["modifiers"])
        for m in sent
        if m["type"] == "key"
    ]
    assert keys == [
        ("keyDown", "a", "KeyA", "a", 65, 0),
        ("keyUp", "a", "KeyA", "", 65, 0),
        ("keyDown", "Shift", "ShiftLeft", "", 16, 8),
        ("keyDown", "B", "KeyB", "B", 66, 8),
        ("keyUp", "B", "KeyB", "", 66, 8),
        ("keyUp", "Shift", "ShiftLeft", "", 16, 0),
        ("keyDown", "Enter", "Enter", "\r", 13, 0),
        ("keyUp", "Enter", "Enter", "", 13, 0),
    ]
    assert [m["type"] for m in sent] == ["mouse"] * 5 + ["wheel"] + ["key"] * 8

    await page.wait_for_function(f"{STATE}.startsWith('ended')")
    assert "ended: revoked" in await viewer.status()
    await viewer.assert_clean(server.origin)


async def test_the_ended_page_is_plain_and_escaped(browser: Browser, server: LiveServer) -> None:
    page = await browser.new_page()
    try:
        await page.add_init_script(VIOLATION_RECORDER)
        response = await page.goto(f"{server.origin}/ended")
        assert response is not None and response.status == 410
        assert await page.inner_text("h1") == "Link expired"
        assert "Ask for a new <live> link." in await page.inner_text("body")
        assert await page.evaluate("document.scripts.length") == 0
        assert await page.evaluate("window.__violations") == []
    finally:
        await page.close()
