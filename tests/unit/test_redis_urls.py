"""Which Redis client the settings ask for, and the seeds of a cluster URL (SPEC 17)."""

from __future__ import annotations

import pytest

from app.redisconn import parse_cluster_url
from app.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("url", "flag", "cluster"),
    [
        ("redis://127.0.0.1:6379/0", False, False),
        ("unix:///var/run/redis.sock", False, False),
        ("redis://127.0.0.1:7000", True, True),
        ("redis+cluster://127.0.0.1:7000", False, True),
        ("rediss+cluster://127.0.0.1:7000", False, True),
    ],
)
def test_the_flag_or_a_cluster_url_asks_for_a_cluster(url: str, flag: bool, cluster: bool) -> None:
    settings = Settings(redis_url=url, redis_cluster=flag)
    assert settings.redis_cluster_mode is cluster


def test_the_flag_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONSHOT_REDIS_CLUSTER", "true")
    assert Settings().redis_cluster_mode is True


def test_every_seed_is_kept_and_the_first_carries_the_options() -> None:
    seeds = parse_cluster_url(
        "redis+cluster://user:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0?socket_timeout=5"
    )
    assert seeds.nodes == [("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002)]
    assert seeds.base_url == "redis://user:p%40ss@10.0.0.1:7000?socket_timeout=5"


def test_tls_and_a_plain_seed_url() -> None:
    assert parse_cluster_url("rediss+cluster://h:1").base_url == "rediss://h:1"
    assert parse_cluster_url("redis://h:6379/0").nodes == [("h", 6379)]


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://",
        "redis+cluster://host",
        "redis+cluster://h:x",
        "redis+cluster://h:1/2",
        "unix+cluster:///s",
        "h:1",
    ],
)
def test_a_cluster_url_without_a_host_and_port_names_the_variable(url: str) -> None:
    with pytest.raises(SettingsError, match="SESSIONSHOT_REDIS_URL"):
        parse_cluster_url(url)
