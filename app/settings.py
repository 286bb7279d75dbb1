"""Service configuration: every ``SESSIONSHOT_`` variable, read once, immutable."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import shutil
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from captures.webhooks.schedule import DEFAULT_BACKOFF_S, parse_backoff

_RATE_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")


class SettingsError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


def parse_rate(text: str) -> tuple[int, int]:
    """Parse ``600/minute`` into ``(limit, period_s)``."""
    match = _RATE_RE.match(text)
    if match is None:
        raise ValueError("expected COUNT/PERIOD, e.g. 600/minute")
    limit = int(match.group(1))
    if limit < 1:
        raise ValueError("the count must be at least 1")
    return limit, _RATE_PERIODS[match.group(2)]


def _default_chromium() -> str:
    return shutil.which("chromium") or "/usr/bin/chromium"


class Settings(BaseSettings):
    """All configuration of a SessionShot process (SPEC section 9)."""

    model_config = SettingsConfigDict(
        env_prefix="SESSIONSHOT_", frozen=True, extra="ignore", populate_by_name=True
    )

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "ss:"
    redis_max_connections: int = Field(default=512, ge=8)
    redis_cluster: bool = False
    """Talk to a Redis Cluster (also implied by a ``redis+cluster://`` URL)."""
    instance_id: str = ""
    public_url: str = ""
    internal_url: str = ""
    """Where other instances reach this one (the CDP relay and the live view go to a
    session's owner); by default the address ``serve`` listens on."""
    secret_key: SecretStr | None = None
    payload_key: SecretStr | None = None
    admin_token: SecretStr | None = None

    storage: Literal["local", "s3"] = "local"
    storage_dir: str = "./var/storage"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    signed_url_ttl_s: int = Field(default=600, ge=1, alias="SESSIONSHOT_SIGNED_URL_TTL")

    chromium_path: str = Field(default_factory=_default_chromium)
    max_sessions: int = Field(default=50, ge=1)
    session_max_ttl_s: int = Field(default=3600, ge=10, alias="SESSIONSHOT_SESSION_MAX_TTL")
    workspace_max_sessions: int = Field(default=20, ge=1)
    warm_contexts: int = Field(default=2, ge=0)
    connect_warm: int = Field(default=1, ge=0)
    """Browsers kept launched for ``connect`` sessions (each session has one of its own)."""
    worker_concurrency: int = Field(default=4, ge=1)
    worker_grace_s: float = Field(default=30, ge=0)
    worker_visibility_s: float | None = Field(default=None, gt=0)
    storage_retention_s: int = Field(default=7 * 24 * 3600, ge=60)
    capture_timeout_s: float = Field(default=60, gt=0, alias="SESSIONSHOT_CAPTURE_TIMEOUT")
    instance_timeout_s: float = Field(default=15, gt=0, alias="SESSIONSHOT_INSTANCE_TIMEOUT")
    forward_timeout_s: float = Field(default=25, gt=0, le=28)
    """Longest a forwarded request waits for its owner before 503 ``OWNER_UNAVAILABLE``:
    above the longest selector-bound action (15 s) or ``wait`` (10 s), with room for one
    queued short action; at most 28 so that the answer comes within SPEC's 30 s."""
    graceful_timeout_s: float = Field(default=10, ge=0)
    """After a stop, how long ``serve`` lets requests in flight finish before cutting them."""
    keep_alive_timeout_s: float = Field(default=75, gt=0)
    """Idle keep-alive connections are closed after this long: above the idle timeout of a
    load balancer in front, so that it never sends a request on a connection being closed."""
    stop_deadline_s: float = Field(default=60, gt=0)
    """A stopping ``serve`` that has not finished by then (requests drained, sessions closed
    and billed) exits anyway: a stuck close must never keep a stopped process alive."""

    upstream_proxy: str | None = None
    target_allow_cidrs: str = ""
    host_map: str = ""
    ignore_https_errors: bool = False
    webhook_backoff_s: str = DEFAULT_BACKOFF_S
    """Delays between webhook delivery attempts, seconds, comma-separated (one attempt
    more than delays)."""

    credits_min: int = Field(default=1, ge=0)
    credit_seconds: int = Field(default=60, ge=1)
    ledger_retention_days: int = Field(default=400, ge=367)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_content_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    rate_limit: str = "600/minute"
    log_level: str = "INFO"

    @field_validator("rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("webhook_backoff_s")
    @classmethod
    def _check_backoff(cls, value: str) -> str:
        parse_backoff(value)
        return value

    @field_validator("target_allow_cidrs")
    @classmethod
    def _check_cidrs(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)
        return value

    @field_validator("stop_deadline_s")
    @classmethod
    def _check_stop_deadline(cls, value: float, info: ValidationInfo) -> float:
        graceful = info.data.get("graceful_timeout_s")
        if graceful is not None and value <= graceful:
            # Sessions close after the drain: a deadline inside it would leave them unbilled.
            raise ValueError("must be above SESSIONSHOT_GRACEFUL_TIMEOUT_S")
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if not value or "{" in value or "}" in value:
            raise ValueError("must be non-empty and contain no braces")
        return value

    @property
    def redis_cluster_mode(self) -> bool:
        """True when the Redis is a cluster: the flag, or a ``redis+cluster://`` URL."""
        return self.redis_cluster or self.redis_url.split("://", 1)[0].endswith("+cluster")

    @property
    def visibility_s(self) -> float:
        """Idle time after which a worker's unacknowledged job counts as abandoned."""
        return self.worker_visibility_s or self.capture_timeout_s + 30

    @property
    def webhook_backoff(self) -> tuple[float, ...]:
        """The webhook backoff delays in seconds."""
        return parse_backoff(self.webhook_backoff_s)

    @property
    def rate(self) -> tuple[int, int]:
        """The per-key rate limit as ``(limit, period_s)``."""
        return parse_rate(self.rate_limit)

    def as_env(self) -> dict[str, str]:
        """``SESSIONSHOT_*`` variables giving a child process these settings (not its id)."""
        env: dict[str, str] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None or value == "" or name == "instance_id":
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            var = info.alias or f"SESSIONSHOT_{name.upper()}"
            env[var] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    def require_secret(self) -> bytes:
        """The signing secret, or a :class:`SettingsError` naming the variable."""
        if self.secret_key is None or len(self.secret_key.get_secret_value()) < 16:
            raise SettingsError("SESSIONSHOT_SECRET_KEY: required, at least 16 characters")
        return self.secret_key.get_secret_value().encode()


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; a bad value becomes a :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        problems = []
        for item in err.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            name = _env_name(field)
            problems.append(f"{name}: {item['msg']}")
        raise SettingsError("; ".join(problems)) from err


def _env_name(field: str) -> str:
    if field.startswith("SESSIONSHOT_"):
        return field
    info = Settings.model_fields.get(field)
    if info is not None and info.alias:
        return info.alias
    return "SESSIONSHOT_" + field.upper()


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the service secret."""
    return hmac.new(secret, b"sessionshot:" + purpose.encode(), hashlib.sha256).digest()
