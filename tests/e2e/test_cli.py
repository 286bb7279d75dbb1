"""The ``sessionshot`` command line as real processes (SPEC sections 1, 8, 9)."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.procs import (
    RedisServer,
    ServiceProcess,
    base_env,
    free_port,
    sessionshot_bin,
)
from tests.support.service import SECRET_KEY
from tests.support.waiting import wait_until


def _run_cli(env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sessionshot_bin(), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, object] = json.loads(done.stdout)
    return data


def _get(url: str, key: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _json_lines(text: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


@pytest.fixture
def env(redis_server: RedisServer, prefix: str) -> dict[str, str]:
    return base_env(
        SESSIONSHOT_REDIS_URL=redis_server.url,
        SESSIONSHOT_REDIS_PREFIX=prefix,
        SESSIONSHOT_SECRET_KEY=SECRET_KEY,
    )


def test_admin_cli_manages_tenancy(env: dict[str, str]) -> None:
    ws = _run_cli(env, "admin", "workspace", "create", "acme")
    assert str(ws["id"]).startswith("ws_") and ws["name"] == "acme"
    listed = _run_cli(env, "admin", "workspace", "list")
    assert ws in listed["workspaces"]  # type: ignore[operator]

    key = _run_cli(env, "admin", "key", "create", "--workspace", str(ws["id"]), "--name", "ci")
    assert str(key["key"]).startswith("ssk_")
    keys = _run_cli(env, "admin", "key", "list", "--workspace", str(ws["id"]))
    assert str(key["key"]) not in json.dumps(keys)

    added = _run_cli(env, "admin", "domain", "add", "--workspace", str(ws["id"]), "Example.com")
    assert added == {"domain": "example.com", "active": True}
    removed = _run_cli(
        env, "admin", "domain", "remove", "--workspace", str(ws["id"]), "example.com"
    )
    assert removed["active"] is False
    domains = _run_cli(env, "admin", "domain", "list", "--workspace", str(ws["id"]))
    assert domains["domains"][0]["active"] is False  # type: ignore[index]

    revoked = _run_cli(env, "admin", "key", "revoke", str(key["id"]))
    assert revoked["revokedAt"]


def test_serve_runs_until_sigterm_and_logs_json(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    proc = ServiceProcess(["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
    try:
        proc.wait_http(f"http://127.0.0.1:{port}/healthz")
        status, body = _get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and body["status"] == "ok"
        status, body = _get(f"http://127.0.0.1:{port}/v1/sessions")
        assert status == 401 and body["code"] == "UNAUTHENTICATED"
        assert proc.terminate() == 0, proc.stderr[-3000:]
    finally:
        proc.kill()
    lines = _json_lines(proc.stdout + proc.stderr)
    requests = [line for line in lines if line.get("message") == "request"]
    assert requests and all(line.get("requestId") for line in requests)
    assert SECRET_KEY not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("SESSIONSHOT_SECRET_KEY", None), ("SESSIONSHOT_MAX_SESSIONS", "lots")],
)
def test_serve_fails_fast_naming_the_variable(
    env: dict[str, str], tmp_path: Path, name: str, value: str | None
) -> None:
    if value is None:
        env.pop(name)
    else:
        env[name] = value
    done = subprocess.run(
        [sessionshot_bin(), "serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert name in done.stderr
    _json_lines(done.stderr)


def test_up_starts_everything_and_shows_the_key_once(tmp_path: Path) -> None:
    env = base_env()
    port = free_port()
    args = ["up", "--port", str(port), "--allow-domain", "example.com"]
    base = f"http://127.0.0.1:{port}"

    first = ServiceProcess(args, env, tmp_path)
    try:
        first.wait_http(f"{base}/readyz")
        wait_until(lambda: "worker_ready" in first.stderr, 60, "the worker child")
        # `up` prints the key once its own probe sees /healthz answer: maybe after ours did.
        wait_until(lambda: "default_workspace_created" in first.stdout, 60, "the key line")
        announced = [
            line
            for line in _json_lines(first.stdout)
            if line.get("event") == "default_workspace_created"
        ]
        assert len(announced) == 1
        key = str(announced[0]["key"])
        status, body = _get(f"{base}/v1/nothing", key)
        assert status == 404 and body["code"] == "NOT_FOUND", "the printed key authenticates"
        assert first.terminate() == 0, first.stderr[-3000:]
    finally:
        first.kill()
    assert (tmp_path / "var" / "redis" / "appendonlydir").is_dir(), "AOF is on under ./var"
    with pytest.raises(OSError), socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(tmp_path / "var" / "redis" / "redis.sock"))  # the child stopped too
    secrets_file = tmp_path / "var" / "secrets.json"
    assert secrets_file.stat().st_mode & 0o077 == 0

    second = ServiceProcess(args, env, tmp_path)
    try:
        second.wait_http(f"{base}/readyz")
        wait_until(lambda: '"ready"' in second.stderr + second.stdout, 60, "up's ready line")
        assert "default_workspace_created" not in second.stdout, "printed on first start only"
        assert key not in second.stdout + second.stderr
        status, _ = _get(f"{base}/v1/nothing", key)
        assert status == 404, "data survived the restart"
        admin = json.loads(secrets_file.read_text())["adminToken"]
        ws_id = announced[0]["workspaceId"]
        status, body = _get(f"{base}/admin/workspaces/{ws_id}/domains", admin)
        assert status == 200
        assert body["domains"][0]["domain"] == "example.com"  # type: ignore[index]
        assert second.terminate() == 0, second.stderr[-3000:]
    finally:
        second.kill()


def test_up_shows_the_key_once_the_api_answers(tmp_path: Path) -> None:
    port = free_port()
    up = ServiceProcess(["up", "--port", str(port)], base_env(), tmp_path)
    try:
        wait_until(lambda: "default_workspace_created" in up.stdout, 120, "the key line")
        (line,) = [
            x for x in _json_lines(up.stdout) if x.get("event") == "default_workspace_created"
        ]
        # No waiting, no retry: a client that read the key can use it at once.
        status, body = _get(f"http://127.0.0.1:{port}/v1/nothing", str(line["key"]))
        assert status == 404 and body["code"] == "NOT_FOUND"
        logged = _json_lines(up.stderr + up.stdout)
        assert any(x.get("event") == "ready" for x in logged), "up says when it serves"
        assert up.terminate() == 0, up.stderr[-3000:]
    finally:
        up.kill()
