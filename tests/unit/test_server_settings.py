"""The API server's timeouts come from settings, with the defaults they always had."""

from __future__ import annotations

import pytest

from app.server import hypercorn_config
from app.settings import SettingsError, load_settings

TIMEOUT_VARS = (
    "SESSIONSHOT_GRACEFUL_TIMEOUT_S",
    "SESSIONSHOT_KEEP_ALIVE_TIMEOUT_S",
    "SESSIONSHOT_STOP_DEADLINE_S",
)


@pytest.fixture(autouse=True)
def _no_timeout_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TIMEOUT_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_unchanged() -> None:
    settings = load_settings()
    assert settings.graceful_timeout_s == 10
    assert settings.keep_alive_timeout_s == 75
    assert settings.stop_deadline_s == 60
    config = hypercorn_config(settings, "127.0.0.1", 8080)
    assert (config.graceful_timeout, config.keep_alive_timeout) == (10, 75)


def test_hypercorn_takes_the_timeouts_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSIONSHOT_GRACEFUL_TIMEOUT_S", "35")
    monkeypatch.setenv("SESSIONSHOT_KEEP_ALIVE_TIMEOUT_S", "620")
    monkeypatch.setenv("SESSIONSHOT_STOP_DEADLINE_S", "90")
    settings = load_settings()
    assert settings.stop_deadline_s == 90
    config = hypercorn_config(settings, "127.0.0.1", 8080)
    assert config.bind == ["127.0.0.1:8080"]
    assert (config.graceful_timeout, config.keep_alive_timeout) == (35, 620)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSIONSHOT_GRACEFUL_TIMEOUT_S", "-1"),
        ("SESSIONSHOT_KEEP_ALIVE_TIMEOUT_S", "0"),
        ("SESSIONSHOT_KEEP_ALIVE_TIMEOUT_S", "long"),
        ("SESSIONSHOT_STOP_DEADLINE_S", "0"),
    ],
)
def test_malformed_timeouts_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


@pytest.mark.parametrize("deadline", ["30", "20"])
def test_the_stop_deadline_must_outlast_the_drain(
    monkeypatch: pytest.MonkeyPatch, deadline: str
) -> None:
    """Sessions are closed and billed after the drain: a deadline that ends the process
    during the drain would leave them unbilled."""
    monkeypatch.setenv("SESSIONSHOT_GRACEFUL_TIMEOUT_S", "30")
    monkeypatch.setenv("SESSIONSHOT_STOP_DEADLINE_S", deadline)
    with pytest.raises(SettingsError, match=r"SESSIONSHOT_STOP_DEADLINE_S.*GRACEFUL_TIMEOUT_S"):
        load_settings()
