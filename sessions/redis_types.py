"""Typed views of redis-py values (clients here decode responses to ``str``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.typing import EncodableT, FieldT

RedisClient: TypeAlias = Redis | RedisCluster
"""A Redis client: one node, or a Redis Cluster (``SESSIONSHOT_REDIS_CLUSTER``). Every key
one script or transaction touches shares a hash tag, so the code is the same for both."""


async def ping(redis: RedisClient) -> bool:
    """PING. On a cluster every primary must answer: one that is away takes its slots (and
    every command on them) with it, so a cluster missing one is not "up"."""
    if isinstance(redis, RedisCluster):
        return bool(await redis.ping(target_nodes=RedisCluster.PRIMARIES))
    return bool(await redis.ping())


def fields(record: Mapping[str, str]) -> dict[FieldT, EncodableT]:
    """A ``str`` mapping typed for ``HSET mapping=``."""
    return {key: value for key, value in record.items()}


def text(value: object) -> str:
    """A decoded Redis reply as ``str``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def text_dict(row: Mapping[bytes | str, bytes | str] | Mapping[Any, Any]) -> dict[str, str]:
    """A decoded ``HGETALL`` reply as ``dict[str, str]``."""
    return {text(key): text(value) for key, value in row.items()}
