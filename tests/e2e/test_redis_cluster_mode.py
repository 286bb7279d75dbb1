"""Choosing between one Redis and a Redis Cluster (SPEC 17), as real processes.

The client kind must match the server: ``serve``, ``worker`` and the admin commands stop at
once, with one JSON error line naming ``SESSIONSHOT_REDIS_CLUSTER``, when a plain
``redis://`` URL points at a cluster node or the flag points at a single Redis. With the
flag (or a ``redis+cluster://`` URL) the admin commands work on the cluster.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import RedisServer, base_env, sessionshot_bin
from tests.support.redis_cluster import RedisClusterServer
from tests.support.service import SECRET_KEY

COMMANDS = [
    ["serve", "--host", "127.0.0.1", "--port", "0"],
    ["worker"],
    ["admin", "workspace", "list"],
]


def _run(env: dict[str, str], args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sessionshot_bin(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def _env(url: str, prefix: str, **extra: str) -> dict[str, str]:
    return base_env(
        SESSIONSHOT_REDIS_URL=url,
        SESSIONSHOT_REDIS_PREFIX=prefix,
        SESSIONSHOT_SECRET_KEY=SECRET_KEY,
        **extra,
    )


def _the_error(done: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a process that stopped at start (status 2); its message."""
    assert done.returncode == 2, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.get("level") == "error"]
    assert len(errors) == 1, done.stderr
    message: str = errors[0]["message"]
    return message


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_a_redis_url_at_a_cluster_node_stops_naming_the_flag(
    redis_cluster: RedisClusterServer, prefix: str, tmp_path: Path, args: list[str]
) -> None:
    done = _run(_env(redis_cluster.node_url(), prefix), args, tmp_path)
    message = _the_error(done)
    assert "SESSIONSHOT_REDIS_CLUSTER" in message and "redis+cluster://" in message, message


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_the_cluster_flag_at_a_single_redis_stops_naming_the_flag(
    redis_server: RedisServer, prefix: str, tmp_path: Path, args: list[str]
) -> None:
    env = _env(redis_server.url, prefix, SESSIONSHOT_REDIS_CLUSTER="true")
    message = _the_error(_run(env, args, tmp_path))
    assert "SESSIONSHOT_REDIS_CLUSTER" in message and "not a cluster" in message, message


def test_admin_commands_work_on_the_cluster_by_url_or_flag(
    redis_cluster: RedisClusterServer, prefix: str, tmp_path: Path
) -> None:
    by_url = _env(redis_cluster.seeds_url, prefix)
    made = []
    for name in ("one", "two"):
        done = _run(by_url, ["admin", "workspace", "create", name], tmp_path)
        assert done.returncode == 0, done.stderr
        made.append(json.loads(done.stdout)["id"])
    by_flag = _env(redis_cluster.node_url(1), prefix, SESSIONSHOT_REDIS_CLUSTER="true")
    listed = _run(by_flag, ["admin", "workspace", "list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [ws["id"] for ws in json.loads(listed.stdout)["workspaces"]] == made
