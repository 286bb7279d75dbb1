"""A live view's stream read without a browser: the WebSocket its page opens (SPEC 12).

The page at ``/live/{link}`` opens ``/live/{link}/socket``; frames come down as
``{"type": "frame", "data": <base64 JPEG>, …}`` and, in ``interact`` mode, input goes up as
``mouse`` / ``wheel`` / ``key`` messages in the session page's CSS pixels (``app/livepage.py``).
Tests use this to send what a page in ``view`` mode never would, and to watch a view of a
session whose page a CDP client changes.

NETWORK RULE: links point at test instances on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

WAIT_S = 30.0


async def open_stream(link_url: str) -> ClientConnection:
    """The stream of the live link ``link_url`` (``http://…/live/{link}``)."""
    return await connect(link_url.replace("http://", "ws://", 1) + "/socket", max_size=None)


async def next_frame(stream: ClientConnection) -> str:
    """The next frame's base64 JPEG; fails on ``end``."""
    while True:
        message = json.loads(await asyncio.wait_for(stream.recv(), WAIT_S))
        assert message["type"] != "end", message
        if message["type"] == "frame":
            data: str = message["data"]
            return data


async def frame_unlike(stream: ClientConnection, seen: str) -> str:
    """The first frame from now on that differs from ``seen``."""
    async with asyncio.timeout(WAIT_S):
        while (frame := await next_frame(stream)) == seen:
            pass
    return frame


async def click(stream: ClientConnection, box: dict[str, Any]) -> None:
    """A left click at the middle of ``box`` (the session page's CSS pixels)."""
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for event in ("mousePressed", "mouseReleased"):
        message = {"type": "mouse", "event": event, "x": x, "y": y}
        await stream.send(json.dumps({**message, "button": "left", "clickCount": 1}))
