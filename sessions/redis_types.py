"""Typed views of redis-py values (clients here decode responses to ``str``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.typing import EncodableT, FieldT


def fields(record: Mapping[str, str]) -> dict[FieldT, EncodableT]:
    """A ``str`` mapping typed for ``HSET mapping=``."""
    return {key: value for key, value in record.items()}


def text(value: object) -> str:
    """A decoded Redis reply as ``str``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def text_dict(row: Mapping[bytes | str, bytes | str] | Mapping[Any, Any]) -> dict[str, str]:
    """A decoded ``HGETALL`` reply as ``dict[str, str]``."""
    return {text(key): text(value) for key, value in row.items()}
