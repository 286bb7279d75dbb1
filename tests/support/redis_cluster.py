"""A private three-primary Redis Cluster on loopback ports (SPEC 17, "Redis Cluster").

Three ``redis-server --cluster-enabled yes`` nodes joined by ``redis-cli --cluster create``
with no replicas, so every hash slot has exactly one owner. Each node keeps its cluster
config file in its own directory: a node stopped and started again on the same port rejoins
the cluster with the slots it owned, empty unless the cluster keeps append-only files
(``aof=True``, for tests that take Redis away and bring it back with its data).

NETWORK RULE: every node binds 127.0.0.1, and the cluster announces 127.0.0.1 addresses only.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.asyncio import Redis, RedisCluster

from app.redisconn import CLUSTER_SUFFIX, parse_cluster_url
from sessions.redis_types import RedisClient
from tests.support.procs import RedisServer
from tests.support.waiting import wait_until

NODES = 3
"""Primaries in the cluster (no replicas: each slot has one owner)."""
BUS_OFFSET = 10_000
"""Redis puts a node's cluster bus on its port plus this."""
PORT_RANGE = (12_000, 22_000)
"""Client ports are drawn from here: with port + :data:`BUS_OFFSET` they stay below Linux's
ephemeral range (from 32768), where any connection or free-port pick of a process beside
the tests could take a bus port between its check and the node's start."""
READY_TIMEOUT_S = 60.0


def client_for(url: str, *, decode_responses: bool = True) -> RedisClient:
    """An asyncio client of ``url``: a cluster client for a ``redis+cluster://`` URL."""
    if url.split("://", 1)[0].endswith(CLUSTER_SUFFIX):
        seeds = parse_cluster_url(url)
        return RedisCluster.from_url(seeds.base_url, decode_responses=decode_responses)
    return Redis.from_url(url, decode_responses=decode_responses)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cluster_ports(count: int = NODES) -> list[int]:
    """``count`` client ports whose cluster bus ports are free as well."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(*PORT_RANGE)
        if port in ports or not (_port_free(port) and _port_free(port + BUS_OFFSET)):
            continue
        ports.append(port)
    return ports


class RedisClusterNode(RedisServer):
    """One ``redis-server`` of the cluster; can be stopped and started again on its port."""

    def extra_args(self) -> list[str]:
        """Cluster mode, its config file in the data dir, a short node timeout."""
        return [
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "2000",
        ]  # fmt: skip

    def wait_ready(self) -> None:
        """Wait until the node answers (not until the cluster is ok)."""
        wait_until(lambda: self.info_cluster() is not None, READY_TIMEOUT_S, f"node {self.port}")

    def info_cluster(self) -> dict[str, str] | None:
        """``CLUSTER INFO`` as a dict, or None while the node does not answer."""
        client = redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=2, decode_responses=True
        )
        try:
            info: dict[str, Any] = client.cluster("INFO")
        except redis.RedisError:
            return None
        finally:
            client.close()
        return {key: str(value) for key, value in info.items()}

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def wipe_data(self) -> None:
        """Remove the node's append-only files (not its cluster config): it restarts empty."""
        shutil.rmtree(self.data_dir / "appendonlydir", ignore_errors=True)


class RedisClusterServer:
    """Three loopback primaries joined into one cluster; ``url`` is its SessionShot URL."""

    def __init__(self, root: Path, *, aof: bool = False) -> None:
        """``aof``: every node keeps an append-only file, so a restart keeps its data."""
        self.root = root
        self.ports = cluster_ports()
        self.nodes = [RedisClusterNode(root / f"node-{port}", port, aof=aof) for port in self.ports]
        self.url = f"redis+cluster://127.0.0.1:{self.ports[0]}"
        """One seed is enough: the client learns the other nodes from it."""
        self._created = False

    @property
    def seeds_url(self) -> str:
        """The URL naming every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def node_url(self, index: int = 0) -> str:
        """A plain ``redis://`` URL of one node (what a missing cluster flag looks like)."""
        return f"redis://127.0.0.1:{self.ports[index]}/0"

    def start(self) -> None:
        """Start every node, join them the first time, and wait until the cluster is ok."""
        for node in self.nodes:
            if not node.running:
                node.start()
        if not self._created:
            self._create()
            self._created = True
        self.wait_ok()

    def _create(self) -> None:
        binary = shutil.which("redis-cli")
        assert binary, "redis-cli is not installed (run make install)"
        addresses = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [binary, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    def wait_ok(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until every node reports ``cluster_state:ok`` and knows all its peers."""

        def ok() -> bool:
            for node in self.nodes:
                info = node.info_cluster()
                if info is None or info.get("cluster_state") != "ok":
                    return False
                if info.get("cluster_known_nodes") != str(NODES):
                    return False
            return True

        wait_until(ok, timeout_s, "cluster_state:ok on every node")

    def flushall(self) -> None:
        """Empty every primary."""
        for port in self.ports:
            client = redis.Redis(host="127.0.0.1", port=port)
            try:
                client.flushall()
            finally:
                client.close()

    def start_empty(self) -> None:
        """Start every stopped node without its data (the slot map stays)."""
        self.wipe_data()
        self.start()

    def stop_node(self, index: int) -> None:
        """Stop one node: the slots it owns become unreachable (there are no replicas)."""
        self.nodes[index].stop()

    def kill(self) -> None:
        """SIGKILL every node, like a crash of the whole cluster."""
        for node in self.nodes:
            node.kill()

    def wipe_data(self) -> None:
        """Remove every node's data while they are down: the next start is empty."""
        for node in self.nodes:
            node.wipe_data()

    def stop(self) -> None:
        """Stop every node (the cluster config files stay, so ``start`` rejoins them)."""
        for node in self.nodes:
            node.stop()


@dataclass(frozen=True)
class RedisBackend:
    """The Redis a parametrised test runs on: ``single`` (one redis-server) or ``cluster``."""

    kind: str
    url: str
    """What ``SESSIONSHOT_REDIS_URL`` is set to (``redis+cluster://`` for the cluster)."""

    def client(self, *, decode_responses: bool = True) -> RedisClient:
        """A client of this Redis, for a test's own reads and writes."""
        return client_for(self.url, decode_responses=decode_responses)
