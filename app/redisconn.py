"""The Redis client of every process: one node, or a Redis Cluster (SPEC 17).

``SESSIONSHOT_REDIS_CLUSTER=true``, or a URL of the form
``redis+cluster://[user:password@]host:port[,host:port...][?option=value]``
(``rediss+cluster://`` for TLS), makes a cluster client; any one reachable seed is enough,
the client learns the other nodes from it. With the flag, a plain ``redis://host:port`` URL
names one seed. Without either, the client talks to one node, as always.

A client of the wrong kind fails in confusing ways (a single-node client gets ``MOVED`` for
most keys; a cluster client cannot map a non-cluster node), so :func:`check_redis_mode`
asks the server at start and stops the process with a message naming the setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import RedisClusterException, RedisError

from app.settings import Settings, SettingsError
from sessions.redis_types import RedisClient

REDIS_POOL_WAIT_S = 10
"""Longest a request waits for a free Redis connection before failing (one node)."""
CONNECT_TIMEOUT_S = 2
HEALTH_CHECK_INTERVAL_S = 10
CLUSTER_FLAG = "SESSIONSHOT_REDIS_CLUSTER"
URL_VAR = "SESSIONSHOT_REDIS_URL"
CLUSTER_SUFFIX = "+cluster"


@dataclass(frozen=True)
class ClusterSeeds:
    """The seeds of a cluster URL, and the URL redis-py reads the options from."""

    nodes: list[tuple[str, int]]
    base_url: str
    """``redis[s]://[userinfo@]first-seed[?query]``: credentials, TLS and options."""


def parse_cluster_url(url: str) -> ClusterSeeds:
    """Seeds of ``redis[s]+cluster://`` or ``redis[s]://`` URL; a :class:`SettingsError`
    naming the variable when there is no ``host:port``."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.removesuffix(CLUSTER_SUFFIX)
    if not sep or scheme not in ("redis", "rediss"):
        raise SettingsError(
            f"{URL_VAR}: a cluster URL is redis+cluster://host:port[,host:port...] "
            "(or rediss+cluster:// for TLS)"
        )
    authority, _, tail = rest.partition("?")
    authority, _, database = authority.partition("/")
    if database not in ("", "0"):
        raise SettingsError(f"{URL_VAR}: a Redis Cluster has one database (/0), not /{database}")
    userinfo, at, hosts = authority.rpartition("@")
    nodes: list[tuple[str, int]] = []
    for seed in filter(None, hosts.split(",")):
        host, colon, port = seed.rpartition(":")
        if not colon or not host or not port.isdigit():
            raise SettingsError(f"{URL_VAR}: cluster seed {seed!r} is not host:port")
        nodes.append((unquote(host.strip("[]")), int(port)))
    if not nodes:
        raise SettingsError(f"{URL_VAR}: a cluster URL names at least one host:port seed")
    first = f"{nodes[0][0]}:{nodes[0][1]}"
    query = f"?{tail}" if tail else ""
    return ClusterSeeds(nodes, f"{scheme}://{userinfo}{at}{first}{query}")


def open_redis(settings: Settings) -> RedisClient:
    """The Redis client of ``settings`` (decoded strings, bounded timeouts and pools).

    One node: a blocking pool, so a burst of blocking reads (inboxes, replies, the job
    stream, each holding a connection) waits for a free one instead of failing. A cluster:
    at most ``SESSIONSHOT_REDIS_MAX_CONNECTIONS`` per node; redis-py's cluster client has
    no waiting pool, so a command finding its node's connections all taken fails at once
    (as Redis being away: 503).
    """
    if settings.redis_cluster_mode:
        return open_cluster(settings)
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=REDIS_POOL_WAIT_S,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool


def open_cluster(settings: Settings) -> RedisCluster:
    """A cluster client seeded from every ``host:port`` of the URL."""
    seeds = parse_cluster_url(settings.redis_url)
    return RedisCluster.from_url(
        seeds.base_url,
        startup_nodes=[ClusterNode(host, port) for host, port in seeds.nodes[1:]],
        max_connections=settings.redis_max_connections,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
    )


NOT_A_CLUSTER = (
    f"{CLUSTER_FLAG}: the Redis at {URL_VAR} is not a cluster node (cluster_enabled:0); "
    f"unset {CLUSTER_FLAG} and use a redis:// URL"
)
IS_A_CLUSTER = (
    f"{CLUSTER_FLAG}: the Redis at {URL_VAR} is a Redis Cluster node (cluster_enabled:1); "
    f"set {CLUSTER_FLAG}=true or use a redis+cluster://host:port URL"
)


async def check_redis_mode(settings: Settings) -> None:
    """Stop with a :class:`SettingsError` when the server and the client disagree about
    being a cluster. A Redis that does not answer yet is not judged here: the process
    starts and waits for it, as it always has."""
    redis = open_redis(settings)
    try:
        info = await redis.info("cluster")
    except RedisClusterException as err:
        if "not enabled" in str(err):
            raise SettingsError(NOT_A_CLUSTER) from err
        return
    except (RedisError, OSError):
        return
    finally:
        await redis.aclose()
    if isinstance(redis, RedisCluster):
        return  # it mapped the slots: every node it reached is a cluster node
    if str(info.get("cluster_enabled", "0")) == "1":
        raise SettingsError(IS_A_CLUSTER)
