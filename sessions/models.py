"""Validated inputs shared by live sessions and captures: auth state, viewport, options."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_METADATA_BYTES = 1024
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "cookie", "proxy-authorization", "host", "set-cookie"}
    | {"connection", "content-length", "transfer-encoding", "upgrade", "te", "trailer"}
)
_SENSITIVE_PREFIXES = ("sec-", "proxy-")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class Strict(BaseModel):
    """Base of every input model: unknown fields, other spellings and loose types are errors.

    Only the documented (camelCase) names are accepted, and a number is never read from a
    string, nor a boolean from a number.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


class Cookie(Strict):
    """A cookie to inject before the first navigation."""

    name: str = Field(min_length=1, max_length=256)
    value: str = Field(max_length=4096)
    domain: str = Field(min_length=1, max_length=253)
    path: str = Field(default="/", max_length=1024)
    expires: float | None = None
    http_only: bool = Field(default=False, alias="httpOnly")
    secure: bool = False
    same_site: Literal["Strict", "Lax", "None"] | None = Field(default=None, alias="sameSite")

    def playwright(self) -> dict[str, Any]:
        """The cookie in Playwright's ``add_cookies`` form."""
        cookie: dict[str, Any] = {
            "name": self.name,
            "value": self.value,
            "domain": self.domain,
            "path": self.path,
            "httpOnly": self.http_only,
            "secure": self.secure,
        }
        if self.expires is not None:
            cookie["expires"] = self.expires
        if self.same_site is not None:
            cookie["sameSite"] = self.same_site
        return cookie


class StorageEntry(Strict):
    """A localStorage entry for the target origin."""

    key: str = Field(min_length=1, max_length=1024)
    value: str = Field(max_length=65536)


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name in headers:
        lowered = name.lower()
        if not _HEADER_NAME.match(name):
            raise ValueError(f"invalid header name {name!r}")
        if lowered in _SENSITIVE_HEADERS or lowered.startswith(_SENSITIVE_PREFIXES):
            raise ValueError(f"header {name!r} cannot be set; use the dedicated fields")
    for value in headers.values():
        if "\r" in value or "\n" in value or len(value) > 8192:
            raise ValueError("header values must be one line of at most 8192 characters")
    return headers


class AuthState(Strict):
    """Logged-in state: cookies, localStorage and extra headers for the target host."""

    cookies: list[Cookie] = Field(default_factory=list, max_length=50)
    local_storage: list[StorageEntry] = Field(
        default_factory=list, max_length=50, alias="localStorage"
    )
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)

    _headers_ok = field_validator("headers")(_check_headers)

    @property
    def empty(self) -> bool:
        """True when nothing is to be injected."""
        return not (self.cookies or self.local_storage or self.headers)


class Viewport(Strict):
    """Viewport size in CSS pixels."""

    width: int = Field(default=1280, ge=320, le=3840)
    height: int = Field(default=800, ge=240, le=4320)


def check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Metadata must be at most 1024 bytes as compact UTF-8 JSON."""
    if value is not None:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_METADATA_BYTES:
            raise ValueError(f"metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}")
    return value


class SessionOptions(Strict):
    """Body of ``POST /v1/sessions`` (every field optional)."""

    max_ttl_seconds: int = Field(default=300, ge=10, alias="maxTtlSeconds")
    idle_timeout_seconds: int | None = Field(default=None, ge=1, alias="idleTimeoutSeconds")
    proxy: bool = False
    bypass_bot_detection: bool = Field(default=False, alias="bypassBotDetection")
    viewport: Viewport | None = None
    user_agent: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(
        default=None, alias="userAgent"
    )
    locale: str | None = Field(default=None, max_length=35)
    timezone_id: str | None = Field(default=None, max_length=64, alias="timezoneId")
    auth: AuthState | None = None
    metadata: dict[str, Any] | None = None

    _metadata_ok = field_validator("metadata")(check_metadata)

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str | None) -> str | None:
        if value is not None and not _LOCALE.match(value):
            raise ValueError("expected a BCP 47 tag such as en-US")
        return value

    @field_validator("timezone_id")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ValueError("unknown IANA time zone") from err
        return value

    @property
    def is_default(self) -> bool:
        """True when a pre-made context with default settings can serve this session."""
        return not (
            self.proxy
            or self.bypass_bot_detection
            or self.viewport not in (None, Viewport())
            or self.user_agent
            or self.locale
            or self.timezone_id
            or (self.auth is not None and not self.auth.empty)
        )

    def public(self) -> dict[str, Any]:
        """The ``options`` object of the session record."""
        return {
            "maxTtlSeconds": self.max_ttl_seconds,
            "idleTimeoutSeconds": self.idle_timeout_seconds,
            "proxy": self.proxy,
            "bypassBotDetection": self.bypass_bot_detection,
        }
