"""Tool results as MCP content: the action's result as JSON text, then the page.

A result's first text block is the action's answer as JSON (what ``POST
/v1/sessions/{id}/actions`` answers, without ``success``, ``url`` and
``expiresInSeconds``), so a client can parse it; the second names the page (``Page URL:``,
and ``Page title:`` where the answer has it). The page text of a snapshot or a content
action follows as a third block, as is: JSON would escape every line break and quote of
it, which makes it longer and harder to read. A tool's text stays within
:data:`TEXT_CAP` characters: the longest text is shortened and the JSON says
``"truncated": true``. A screenshot's image is an image block, not text. A failure is
``isError`` with text that starts with the error's code.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

TEXT_CAP = 40_000
"""Most characters of a tool's text."""
_LONG_FIELDS = ("snapshot", "content", "result")
"""Fields that can be long, shortened first (``result``: an evaluated value)."""
_RAW_FIELDS = ("snapshot", "content")
"""Page text that follows the JSON as a block of its own, as is."""
_NOT_SHOWN = ("success", "url", "title", "expiresInSeconds")
"""Answer fields a tool result leaves out: the page is named in its own block, and the
browser session's lifetime is the MCP session's business (a new one opens when needed)."""


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is (fewer characters for the same text)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def text(value: str) -> types.TextContent:
    """A text block."""
    return types.TextContent(type="text", text=value)


def fitted(body: dict[str, Any], cap: int = TEXT_CAP) -> str:
    """``body`` as JSON within ``cap`` characters, its longest field shortened (and
    ``truncated`` set) when it is over."""
    out = dumps(body)
    if len(out) <= cap:
        return out
    body = dict(body)
    for name in _LONG_FIELDS:
        value = body.get(name)
        if name == "result" and not isinstance(value, str):
            value = dumps(value)  # an evaluated value: shortened as its JSON text
        if not isinstance(value, str) or not value:
            continue
        body["truncated"] = True
        for _ in range(8):  # escapes make the JSON longer than the text: shorten again
            over = len(dumps(body)) - cap
            if over <= 0:
                return dumps(body)
            value = value[: max(0, len(value) - over - 16)]
            body[name] = value
    return dumps(body)[:cap]  # nothing long left to shorten: a plain cut


def action_result(body: dict[str, Any]) -> types.CallToolResult:
    """A successful action's answer as a tool result."""
    answer = {k: v for k, v in body.items() if k not in _NOT_SHOWN}
    image = _image_of(answer)
    page = page_lines(body)
    name = next((n for n in _RAW_FIELDS if isinstance(answer.get(n), str)), None)
    if name is None:
        blocks = [fitted(answer, TEXT_CAP - len(page)), page]
    else:
        raw: str = answer.pop(name)
        room = TEXT_CAP - len(dumps({**answer, "truncated": True})) - len(page)
        if len(raw) > room:
            raw, answer["truncated"] = raw[: max(0, room)], True
        blocks = [dumps(answer), page, raw]
    content: list[types.TextContent | types.ImageContent] = [text(b) for b in blocks]
    if image is not None:
        content.append(image)
    return types.CallToolResult(content=content, is_error=False)


def page_lines(body: dict[str, Any]) -> str:
    """The page the action left the browser on."""
    lines = [f"Page URL: {body.get('url', '')}"]
    if isinstance(body.get("title"), str):
        lines.append(f"Page title: {body['title']}")
    return "\n".join(lines)


def _image_of(answer: dict[str, Any]) -> types.ImageContent | None:
    """The inline image of a screenshot's answer, taken out of the JSON."""
    result = answer.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("data"), str):
        return None
    result = dict(result)
    data = result.pop("data")
    answer["result"] = result
    mime = "image/jpeg" if result.get("format") == "jpeg" else "image/png"
    return types.ImageContent(type="image", data=data, mime_type=mime)


def json_result(
    body: dict[str, Any], image: types.ImageContent | None = None
) -> types.CallToolResult:
    """A result that is one JSON document (a session, a capture), and an image if any."""
    content: list[types.TextContent | types.ImageContent] = [text(fitted(body))]
    if image is not None:
        content.append(image)
    return types.CallToolResult(content=content, is_error=False)


def error_result(code: str, message: str) -> types.CallToolResult:
    """A failed tool call: ``isError``, its text starting with the error's code."""
    return types.CallToolResult(content=[text(f"{code}: {message}"[:TEXT_CAP])], is_error=True)
