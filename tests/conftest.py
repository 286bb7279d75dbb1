"""Fixtures shared by every tier: a private redis-server and in-process API instances."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.logs import configure_logging
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import CaptureStack
from tests.support.cluster import Cluster
from tests.support.hosts import host_map
from tests.support.procs import RedisServer, ServiceProcess, base_env
from tests.support.redis_cluster import RedisBackend, RedisClusterServer
from tests.support.service import Service, settings_env, settings_for_tests, start_service
from tests.support.sites_fixtures import canary_baseline, canary_site, target_site, tls_material
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

ServiceFactory = Callable[..., Awaitable[Service]]

__all__ = ["canary_baseline", "canary_site", "target_site", "tls_material"]


@pytest.fixture(scope="session", autouse=True)
def _json_logs() -> None:
    configure_logging("WARNING")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private redis-server on a free port for the whole run."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServer]:
    """One private three-primary Redis Cluster on loopback ports for the whole run."""
    cluster = RedisClusterServer(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session", params=["single", pytest.param("cluster", marks=pytest.mark.slow)])
def redis_backend(request: pytest.FixtureRequest) -> RedisBackend:
    """Each Redis the product supports: the session's redis-server, then its Redis Cluster
    (SPEC 17). A test or fixture taking this runs once per backend."""
    if request.param == "cluster":
        cluster: RedisClusterServer = request.getfixturevalue("redis_cluster")
        return RedisBackend("cluster", cluster.url)
    server: RedisServer = request.getfixturevalue("redis_server")
    return RedisBackend("single", server.url)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The Redis of :func:`make_service`: the session's redis-server. A module overrides it
    with ``redis_backend.url`` to run its services on one Redis and on a cluster."""
    return redis_server.url


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own, so tests sharing Redis never see each other."""
    return f"t{secrets.token_hex(4)}:"


@pytest.fixture
async def make_service(redis_url: str, prefix: str) -> AsyncIterator[ServiceFactory]:
    """Start API instances on the test's prefix; they are stopped after the test."""
    started: list[Service] = []

    async def factory(*, action_lane: bool = True, **overrides: Any) -> Service:
        url = overrides.pop("redis_url", redis_url)
        settings = settings_for_tests(url, prefix, **overrides)
        service = await start_service(settings, action_lane=action_lane)
        started.append(service)
        return service

    yield factory
    for service in reversed(started):
        await service.aclose()


@pytest.fixture
async def service(make_service: ServiceFactory) -> Service:
    """One API instance with default settings."""
    return await make_service()


def browser_overrides(
    target: TargetSite, canary: CanarySite, storage_dir: Path, **extra: Any
) -> dict[str, Any]:
    """Settings for an instance that browses the loopback test sites."""
    values: dict[str, Any] = {
        "host_map": host_map(target, canary),
        "target_allow_cidrs": "127.0.0.1/32",
        "ignore_https_errors": True,
        "storage_dir": str(storage_dir),
        "warm_contexts": 1,
    }
    values.update(extra)
    return values


@contextlib.asynccontextmanager
async def instances_a_and_b(
    redis: RedisServer,
    target: TargetSite,
    canary: CanarySite,
    workdir: Path,
    prefix: str,
    **overrides: Any,
) -> AsyncIterator[Cluster]:
    """Real ``serve`` processes ``a`` and ``b`` on one fresh Redis prefix (starting with
    ``prefix``), browsing the loopback test sites; stopped on exit."""
    shared = Cluster(
        redis.url,
        f"{prefix}{secrets.token_hex(4)}:",
        workdir,
        **browser_overrides(target, canary, workdir / "storage"),
        **overrides,
    )
    try:
        await shared.start("a", "b")
        yield shared
    finally:
        await shared.aclose()


def two_instances(name: str, prefix: str, **overrides: Any) -> Any:
    """A module's ``cluster`` fixture: :func:`instances_a_and_b` in a folder named ``name``,
    kept for the module (write ``cluster = two_instances(...)`` at its top level)."""

    @pytest.fixture(scope="module")
    async def cluster(
        redis_server: RedisServer,
        target_site: TargetSite,
        canary_site: CanarySite,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> AsyncIterator[Cluster]:
        workdir = tmp_path_factory.mktemp(name)
        async with instances_a_and_b(
            redis_server, target_site, canary_site, workdir, prefix, **overrides
        ) as shared:
            yield shared

    return cluster


@contextlib.asynccontextmanager
async def api_and_worker(
    redis: RedisServer,
    target: TargetSite,
    canary: CanarySite,
    workdir: Path,
    prefix: str,
    *,
    workers: int = 1,
    **overrides: Any,
) -> AsyncIterator[CaptureStack]:
    """A real ``serve`` process and ``workers`` capture workers on a fresh Redis prefix
    (starting with ``prefix``), browsing the loopback test sites; stopped on exit."""
    started = await CaptureStack.start(
        redis.url,
        f"{prefix}{secrets.token_hex(4)}:",
        workdir,
        **browser_overrides(target, canary, workdir / "storage", **overrides),
    )
    try:
        for index in range(workers):
            await started.start_worker(f"w{index}")
        yield started
    finally:
        await started.aclose()


@pytest.fixture(scope="module")
async def stack(
    request: pytest.FixtureRequest,
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[CaptureStack]:
    """One ``sessionshot serve`` and one ``sessionshot worker`` for the module, with the
    module's ``STACK_SETTINGS`` (setting overrides, e.g. ``{"capture_timeout_s": 30}``)."""
    overrides: dict[str, Any] = getattr(request.module, "STACK_SETTINGS", {})
    workdir = tmp_path_factory.mktemp("stack")
    async with api_and_worker(
        redis_server, target_site, canary_site, workdir, "st", **overrides
    ) as started:
        yield started


@pytest.fixture(scope="session")
async def browser_service(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Service]:
    """One API instance with a real browser, shared by the session tests of the run."""
    overrides = browser_overrides(target_site, canary_site, tmp_path_factory.mktemp("storage"))
    service = await start_service(
        settings_for_tests(redis_server.url, f"b{secrets.token_hex(4)}:", **overrides)
    )
    yield service
    await service.aclose()


@pytest.fixture(scope="session")
async def capture_worker(
    browser_service: Service, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    """A real ``sessionshot worker`` process sharing the browser service's Redis and storage."""
    env = base_env(**{**settings_env(browser_service.settings), "SESSIONSHOT_WORKER_GRACE_S": "5"})
    worker = ServiceProcess(["worker"], env, tmp_path_factory.mktemp("worker"))
    await eventually(lambda: "worker_ready" in worker.stderr + worker.stdout, 60, "worker_ready")
    yield worker
    assert await asyncio.to_thread(worker.terminate, 60) == 0


@pytest.fixture
def tmp_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone (for tests that stop it)."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
