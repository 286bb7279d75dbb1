"""Public suffixes refused as allowed domains by the command line (admin and ``up``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.procs import RedisServer, base_env, sessionshot_bin
from tests.support.service import SECRET_KEY


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sessionshot_bin(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_admin_domain_add_refuses_a_wildcard_public_suffix(
    redis_server: RedisServer, prefix: str, tmp_path: Path
) -> None:
    env = base_env(
        SESSIONSHOT_REDIS_URL=redis_server.url,
        SESSIONSHOT_REDIS_PREFIX=prefix,
        SESSIONSHOT_SECRET_KEY=SECRET_KEY,
    )
    created = _run(env, tmp_path, "admin", "workspace", "create", "acme")
    assert created.returncode == 0, created.stderr
    ws_id = json.loads(created.stdout)["id"]
    for domain in ("*.com", "*.github.io"):
        refused = _run(env, tmp_path, "admin", "domain", "add", "--workspace", ws_id, domain)
        assert refused.returncode == 1, refused.stdout
        message = json.loads(refused.stdout)["error"]["message"]
        assert message.startswith("domain: ") and "public suffix" in message
    added = _run(env, tmp_path, "admin", "domain", "add", "--workspace", ws_id, "*.example.com")
    assert added.returncode == 0 and json.loads(added.stdout)["domain"] == "*.example.com"


def test_up_refuses_a_wildcard_public_suffix_before_starting(tmp_path: Path) -> None:
    done = _run(base_env(), tmp_path, "up", "--port", "1", "--allow-domain", "*.co.uk")
    assert done.returncode == 2
    assert "--allow-domain" in done.stderr and "public suffix" in done.stderr
    assert not (tmp_path / "var").exists(), "nothing was created"
