"""Settings: read once, immutable, failing with the variable's name."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings, parse_rate
from app.tenancy import key_id_of


def test_defaults_match_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SESSIONSHOT_REDIS_URL",
        "SESSIONSHOT_RATE_LIMIT",
        "SESSIONSHOT_MAX_SESSIONS",
        "SESSIONSHOT_CONNECT_WARM",
        "SESSIONSHOT_INTERNAL_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.redis_prefix == "ss:"
    assert settings.rate == (600, 60)
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.signed_url_ttl_s == 600
    assert settings.session_max_ttl_s == 3600
    assert settings.instance_timeout_s == 15
    assert settings.capture_timeout_s == 60
    assert settings.max_sessions == 50
    assert settings.admin_token is None
    assert settings.connect_warm == 1
    assert settings.internal_url == ""  # serve fills in the address it listens on


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONSHOT_SIGNED_URL_TTL", "5")
    monkeypatch.setenv("SESSIONSHOT_RATE_LIMIT", "10/second")
    monkeypatch.setenv("SESSIONSHOT_TARGET_ALLOW_CIDRS", "127.0.0.1/32")
    monkeypatch.setenv("SESSIONSHOT_CONNECT_WARM", "3")
    monkeypatch.setenv("SESSIONSHOT_INTERNAL_URL", "http://127.0.0.1:8081")
    settings = load_settings()
    assert settings.signed_url_ttl_s == 5
    assert settings.rate == (10, 1)
    assert settings.connect_warm == 3
    assert settings.internal_url == "http://127.0.0.1:8081"
    with pytest.raises(Exception, match="frozen"):
        settings.max_sessions = 3  # type: ignore[misc]  # assigning is what must fail


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSIONSHOT_MAX_SESSIONS", "many"),
        ("SESSIONSHOT_RATE_LIMIT", "fast"),
        ("SESSIONSHOT_TARGET_ALLOW_CIDRS", "10.0.0.0/33"),
        ("SESSIONSHOT_SIGNED_URL_TTL", "-1"),
        ("SESSIONSHOT_STORAGE", "ftp"),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_secret_key_is_required_for_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SESSIONSHOT_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="SESSIONSHOT_SECRET_KEY"):
        load_settings().require_secret()


@pytest.mark.parametrize(
    ("text", "parsed"), [("600/minute", (600, 60)), ("5/second", (5, 1)), ("1 / hours", (1, 3600))]
)
def test_parse_rate(text: str, parsed: tuple[int, int]) -> None:
    assert parse_rate(text) == parsed


def test_key_id_is_read_from_the_key() -> None:
    key = "ssk_0123456789abcdef_" + "A" * 43
    assert key_id_of(key) == "key_0123456789abcdef"
    assert key_id_of("ssk_0123_" + "A" * 43) is None
    assert key_id_of(key + "x") is None
