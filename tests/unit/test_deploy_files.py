"""The deployment files stay valid and complete (they cannot run on the test machine)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement

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


def test_installs_come_from_the_locks() -> None:
    """make install and the image install exactly the locked, hash-checked set."""
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes $(LOCK)" in makefile and "LOCK := requirements/dev.lock" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/main.lock" in dockerfile
    for lock in ("dev", "main", "build"):
        text = (ROOT / "requirements" / f"{lock}.lock").read_text()
        pins = [line for line in text.splitlines() if line and line[0].isalnum()]
        assert pins and all("==" in pin for pin in pins), lock
        assert text.count("--hash=sha256:") >= len(pins), lock


def test_the_environment_is_the_lock() -> None:
    """Every package pinned in the dev lock for this interpreter is installed at its version:
    a newer release resolved by accident would show here."""
    text = (ROOT / "requirements" / "dev.lock").read_text()
    checked = 0
    for line in text.splitlines():
        if not line or not line[0].isalnum():
            continue
        requirement = Requirement(line.rstrip(" \\"))
        if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate():
            continue
        (pinned,) = (spec.version for spec in requirement.specifier)
        assert metadata.version(requirement.name) == pinned, requirement.name
        checked += 1
    assert checked > 50
