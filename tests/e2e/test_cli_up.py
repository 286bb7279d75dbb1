"""``sessionshot up`` with the commands run next to it, and its stop, as real processes.

``admin`` and ``usage`` must find the deployment ``up`` keeps in ``./var`` with no
environment, and must never guess a Redis when there is none. A Ctrl-C (SIGINT to the
terminal's process group) or a SIGTERM to the whole group must stop the API and the
worker before Redis, so that they close and bill their sessions and leave the instance
table: no error in the log, and the next start finds nothing lost.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.procs import (
    RedisServer,
    ServiceProcess,
    base_env,
    free_port,
    sessionshot_bin,
)
from tests.support.waiting import wait_until

INSTANCE_TIMEOUT_S = 2
"""Short, so that a second start would take what the first left behind for lost at once."""


def _cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sessionshot_bin(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def _ok(cwd: Path, env: dict[str, str], *args: str) -> dict[str, object]:
    done = _cli(cwd, env, *args)
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def _request(url: str, key: str, method: str = "GET") -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _start_up(cwd: Path, env: dict[str, str], port: int) -> ServiceProcess:
    proc = ServiceProcess(["up", "--port", str(port)], env, cwd, new_session=True)
    proc.wait_http(f"http://127.0.0.1:{port}/readyz", timeout_s=60)
    wait_until(lambda: "worker_ready" in proc.stderr, 60, "the worker child")
    return proc


def _announced(proc: ServiceProcess) -> dict[str, object]:
    # The key is printed once `up` itself sees /healthz answer, which may be a moment after
    # this test's own probe did.
    wait_until(lambda: "default_workspace_created" in proc.stdout, 60, "the key line")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    found = [line for line in lines if line.get("event") == "default_workspace_created"]
    assert len(found) == 1, proc.stdout
    announced: dict[str, object] = found[0]
    return announced


@pytest.mark.slow
def test_admin_and_usage_find_the_running_up_deployment(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    env = base_env()  # no SESSIONSHOT_ variable at all
    port = free_port()
    up = _start_up(tmp_path, env, port)
    try:
        ws_id = str(_announced(up)["workspaceId"])
        key_id = str(_announced(up)["keyId"])

        listed = _ok(tmp_path, env, "admin", "workspace", "list")
        assert [ws["id"] for ws in listed["workspaces"]] == [ws_id]  # type: ignore[attr-defined]
        keys = _ok(tmp_path, env, "admin", "key", "list", "--workspace", ws_id)
        assert [key["id"] for key in keys["keys"]] == [key_id]  # type: ignore[attr-defined]
        today = datetime.now(UTC).date()
        span = ["--from", str(today), "--to", str(today + timedelta(days=1))]
        report = _ok(tmp_path, env, "usage", *span)
        assert [row["workspaceId"] for row in report["workspaces"]] == [ws_id]  # type: ignore[attr-defined]

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        by_option = _ok(elsewhere, env, "admin", "workspace", "list", "--var", "../var")
        by_env = _ok(
            elsewhere, {**env, "SESSIONSHOT_VAR_DIR": str(tmp_path / "var")}, "usage", *span
        )
        assert by_option == listed and by_env == report

        again = _cli(tmp_path, env, "up", "--port", str(free_port()))
        assert again.returncode == 2 and "already running" in again.stderr, again.stderr

        # Explicit environment wins: this Redis has no workspace under this prefix.
        other = {
            **env,
            "SESSIONSHOT_REDIS_URL": redis_server.url,
            "SESSIONSHOT_REDIS_PREFIX": "cli-up:",
        }
        assert _ok(tmp_path, other, "admin", "workspace", "list") == {"workspaces": []}
        assert up.signal_group(signal.SIGTERM) == 0
    finally:
        up.kill()

    done = _cli(tmp_path, env, "admin", "workspace", "list")
    assert done.returncode == 2 and not done.stdout
    assert "sessionshot up is not running" in json.loads(done.stderr)["message"]


@pytest.mark.parametrize(
    "args",
    [
        ["admin", "workspace", "list"],
        ["admin", "key", "list", "--workspace", "ws_0000000000000000"],
        # With a workspace the report needs no secret: before, it went to 127.0.0.1:6379.
        ["usage", "--from", "2026-01-01", "--to", "2026-01-02", "--workspace", "ws_0"],
    ],
)
def test_without_deployment_or_environment_names_what_to_set(
    tmp_path: Path, args: list[str]
) -> None:
    done = _cli(tmp_path, base_env(), *args)
    assert done.returncode == 2 and not done.stdout
    message = json.loads(done.stderr)["message"]
    # Raised while reading the configuration, before any Redis client exists.
    assert message.startswith("no deployment found")
    assert "SESSIONSHOT_SECRET_KEY" in message and "SESSIONSHOT_REDIS_URL" in message


def test_an_explicit_var_dir_without_a_deployment_is_refused(tmp_path: Path) -> None:
    done = _cli(tmp_path, base_env(), "admin", "workspace", "list", "--var", "missing")
    assert done.returncode == 2
    assert "missing: no sessionshot up deployment there" in json.loads(done.stderr)["message"]


def _problems(output: str) -> list[str]:
    """Lines of ``output`` an operator would read as something having gone wrong."""
    found = []
    for raw in output.splitlines():
        if "Traceback" in raw or "Future exception was never retrieved" in raw:
            found.append(raw)
            continue
        line = json.loads(raw)  # logs are JSON lines only
        if line.get("level") in ("error", "critical"):
            found.append(raw)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_to_the_process_group_stops_up_in_order(tmp_path: Path, sig: signal.Signals) -> None:
    env = base_env(SESSIONSHOT_INSTANCE_TIMEOUT=str(INSTANCE_TIMEOUT_S))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = _start_up(tmp_path, env, port)
    try:
        key = str(_announced(first)["key"])
        status, session = _request(f"{base}/v1/sessions", key, "POST")
        assert status == 201, session
        assert first.signal_group(sig) == 0, first.stderr[-3000:]
    finally:
        first.kill()
    output = first.stdout + first.stderr
    assert _problems(output) == []
    stops = [json.loads(line) for line in first.stderr.splitlines() if "child_stopped" in line]
    assert [line["child"] for line in stops][-1] == "redis", "Redis stops last"
    assert {line["child"] for line in stops} == {"api", "worker", "redis"}

    second = _start_up(tmp_path, env, port)
    try:
        status, closed = _request(f"{base}/v1/sessions/{session['id']}", key)
        assert status == 200, closed
        assert closed["closeReason"] == "shutdown" and int(closed["billedCredits"]) >= 1  # type: ignore[call-overload]
        # Both processes swept for lost instances as they started; give them a few more.
        time.sleep(INSTANCE_TIMEOUT_S + 1)
        assert "instance_lost" not in second.stderr and "instance lost" not in second.stderr
        assert second.signal_group(signal.SIGTERM) == 0
    finally:
        second.kill()
    assert _problems(second.stdout + second.stderr) == []


def test_a_stop_while_the_children_start_is_a_clean_stop(tmp_path: Path) -> None:
    # Signalled as soon as both children exist, before they handle signals themselves (their
    # imports alone take longer): they end by the SIGTERM, which is the stop asked for.
    proc = ServiceProcess(["up", "--port", str(free_port())], base_env(), tmp_path)
    try:
        wait_until(lambda: proc.stderr.count('"child_started"') >= 3, 60, "three children")
        assert proc.terminate() == 0, proc.stderr[-3000:]
    finally:
        proc.kill()
    assert _problems(proc.stdout + proc.stderr) == []
    stops = [json.loads(line) for line in proc.stderr.splitlines() if "child_stopped" in line]
    assert {line["child"] for line in stops} == {"api", "worker", "redis"}


@contextmanager
def socket_bound(port: int) -> Iterator[None]:
    """Hold ``127.0.0.1:port`` listening, so that nothing else can serve on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


@pytest.mark.slow
def test_up_stops_everything_when_a_child_cannot_start(tmp_path: Path) -> None:
    port = free_port()
    # The port is taken: the API child exits at once, and up must not keep the rest running.
    with socket_bound(port):
        proc = ServiceProcess(["up", "--port", str(port)], base_env(), tmp_path, new_session=True)
        try:
            assert proc.proc.wait(90) == 1
        finally:
            proc.kill()
    lines = [json.loads(line) for line in proc.stderr.splitlines() if "sessionshot.up" in line]
    assert any(line.get("event") == "child_exited" and line["child"] == "api" for line in lines)
    assert [line["child"] for line in lines if line.get("event") == "child_stopped"][-1] == "redis"


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


@pytest.mark.slow
def test_children_stop_when_up_itself_is_killed(tmp_path: Path) -> None:
    port = free_port()
    up = _start_up(tmp_path, base_env(), port)
    up.kill()  # SIGKILL to up alone: it cannot stop anything itself
    sock = tmp_path / "var" / "redis" / "redis.sock"
    wait_until(lambda: not _answers(sock), 60, "the embedded Redis to stop")

    def port_free() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) != 0

    wait_until(port_free, 60, "the API child to stop")
