"""JSON responses built directly: plain dicts returned from a view would each be run
through a freshly built pydantic TypeAdapter by quart-schema, a measurable cost per
request on the hot paths."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from quart import Response


def json_bytes(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate (a page's text may hold one) has no UTF-8 form: escaped, it is
        # still valid JSON.
        return json.dumps(body, separators=(",", ":")).encode()


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` as compact JSON."""
    return Response(
        json_bytes(body),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json",
    )
