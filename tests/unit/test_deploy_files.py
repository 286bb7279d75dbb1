"""The deployment files stay valid and complete (they cannot run on the test machine)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_describes_the_production_shape() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "--appendonly" in services["redis"]["command"]
    assert "minio" in services and "minio-setup" in services
    apis = [name for name, svc in services.items() if svc.get("command", [None])[0] == "serve"]
    workers = [name for name, svc in services.items() if svc.get("command") == ["worker"]]
    assert len(apis) == 2 and len(workers) == 2
    assert set(services["lb"]["depends_on"]) == set(apis)
    for name in apis + workers:
        env = services[name]["environment"]
        assert env["SESSIONSHOT_STORAGE"] == "s3"
        assert env["SESSIONSHOT_REDIS_URL"].startswith("redis://redis:")
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert all(f"server {name}:8080" in nginx for name in apis)


def test_dockerfile_uses_debian_chromium() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "bookworm" in dockerfile and " chromium " in dockerfile
    assert "playwright install" not in dockerfile
