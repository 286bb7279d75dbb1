"""The body of ``POST /api/captures/batch`` and how each item becomes one capture request
(SPEC section 13): the defaults deep-merged with the item, validated as one capture."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from captures.models import CaptureRequest
from sessions.models import Strict

MAX_BATCH_ITEMS = 100
"""Most captures one batch may hold."""

BatchItem = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": "object",
            "description": "A capture body as `POST /api/captures` takes it, merged over "
            "`defaults`; validated on its own (a bad item is refused in the answer, alone).",
        }
    ),
]


class CaptureBatch(Strict):
    """Body of ``POST /api/captures/batch``."""

    defaults: dict[str, Any] | None = Field(
        default=None,
        description="Part of a capture body that every item starts from: objects merge key "
        "by key, at any depth; any other value in an item (arrays too) replaces the default's.",
    )
    captures: list[BatchItem] = Field(
        max_length=MAX_BATCH_ITEMS,
        description=f"Up to {MAX_BATCH_ITEMS} capture bodies, answered in the same order.",
    )


def deep_merge(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: objects merge key by key, recursively; any other value
    of ``over`` replaces ``base``'s."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    merged = dict(base)
    for key, value in over.items():
        merged[key] = deep_merge(base[key], value) if key in base else value
    return merged


def item_request(defaults: dict[str, Any] | None, item: Any) -> CaptureRequest:
    """The capture request of one item (``pydantic.ValidationError`` when it is not one)."""
    body = deep_merge(defaults, item) if defaults is not None else item
    return CaptureRequest.model_validate(body)
