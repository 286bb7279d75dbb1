"""Request bodies parsed as JSON with a bound on nesting.

Python's decoder recurses once per level, so a body such as ``[[[[…`` ten thousand levels
deep ends in ``RecursionError`` instead of a ``ValueError``, and a value that parses just under
the interpreter's limit can still overflow later, when it is validated or echoed. Every body
the API reads goes through :func:`loads_body`: nothing deeper than :data:`MAX_JSON_DEPTH`
levels gets past the edge, and what is refused is a 400 in the documented shape.
"""

from __future__ import annotations

import json
from typing import Any

from quart import Quart
from quart.json.provider import DefaultJSONProvider, JSONProvider

from app.errors import ValidationFailed

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a body may have (request bodies need a handful)."""

_TOO_DEEP = f"Request body is nested deeper than {MAX_JSON_DEPTH} levels."


class JsonTooDeep(ValidationFailed):
    """A body nested deeper than :data:`MAX_JSON_DEPTH`."""

    default_message = _TOO_DEEP


def loads_body(raw: str | bytes) -> Any:
    """``raw`` parsed as JSON; :class:`JsonTooDeep` past the depth bound, ``ValueError`` when
    it is not JSON."""
    try:
        data = json.loads(raw)
    except RecursionError as err:
        raise JsonTooDeep() from err
    # Counting brackets is a C-speed scan: only a body with more of them than the bound can
    # be too deep, and only such a body pays for the walk.
    if isinstance(raw, bytes):
        openers = raw.count(b"[") + raw.count(b"{")
    else:
        openers = raw.count("[") + raw.count("{")
    if openers > MAX_JSON_DEPTH and depth_of(data) > MAX_JSON_DEPTH:
        raise JsonTooDeep()
    return data


def depth_of(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """The app's JSON provider with :func:`loads_body` for request bodies; everything else
    (how responses are dumped) is left to the provider it wraps."""

    def __init__(self, app: Quart, inner: JSONProvider) -> None:
        super().__init__(app)
        self._inner = inner

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """As the wrapped provider dumps it."""
        return self._inner.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse ``s``, refusing bodies nested deeper than :data:`MAX_JSON_DEPTH`."""
        if kwargs:
            return self._inner.loads(s, **kwargs)
        return loads_body(s)


def bound_request_json(app: Quart) -> None:
    """Make every JSON body ``app`` parses go through :func:`loads_body` (call it after any
    extension that installs its own provider, as Quart-Schema does)."""
    app.json = BoundedJSONProvider(app, app.json)
