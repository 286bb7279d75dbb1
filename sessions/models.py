"""Validated inputs shared by live sessions and captures: auth state, viewport, options."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

MAX_METADATA_BYTES = 1024
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "cookie", "proxy-authorization", "host", "set-cookie"}
    | {"connection", "content-length", "transfer-encoding", "upgrade", "te", "trailer"}
)
_SENSITIVE_PREFIXES = ("sec-", "proxy-")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

# Cookie names and values as a browser takes them (RFC 6265 section 5's parsing, which is
# what Chromium applies): no control characters, no ';', no '=' in a name, and no white
# space at either end; quotes, commas, inner spaces and non-ASCII are kept as they are, so
# a cookie exported from a real browser can be injected unchanged. Checked against
# Chromium's own add_cookies, character by character.
_COOKIE_NAME = re.compile(
    r"[^\x00-\x20\x7f;=\ud800-\udfff](?:[^\x00-\x1f\x7f;=\ud800-\udfff]*"
    r"[^\x00-\x20\x7f;=\ud800-\udfff])?"
)
_COOKIE_VALUE = re.compile(
    r"(?:[^\x00-\x20\x7f;\ud800-\udfff](?:[^\x00-\x1f\x7f;\ud800-\udfff]*"
    r"[^\x00-\x20\x7f;\ud800-\udfff])?)?"
)
# What Chromium keeps as it is in a cookie path: it percent-encodes anything else, and its
# 1024-byte limit counts the encoded path.
_COOKIE_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,=:@/%]*")
_HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# URL parsers (WHATWG) read a host whose last label is a number as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
COOKIE_DOMAIN_PATTERN = r"^(?:\.?[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*|\[[0-9A-Fa-f:.]+\])$"
"""The characters a cookie's domain may hold: the schema's ``pattern``, and the first check
of :func:`_is_cookie_domain`."""
_COOKIE_DOMAIN = re.compile(COOKIE_DOMAIN_PATTERN)
MAX_COOKIE_BYTES = 4096
"""Chromium's limit on a cookie's name and value together."""
MAX_COOKIE_EXPIRES = 253402300799
"""9999-12-31T23:59:59Z, the latest ``expires`` Playwright passes on to the browser."""


class Strict(BaseModel):
    """Base of every input model: unknown fields, other spellings and loose types are errors.

    Only the documented (camelCase) names are accepted, and a number is never read from a
    string, nor a boolean from a number.
    """

    model_config = ConfigDict(extra="forbid", strict=True)


def _is_cookie_domain(value: str) -> bool:
    """A host name (a leading dot allowed), an IPv4 address or a bracketed IPv6 address."""
    if not _COOKIE_DOMAIN.fullmatch(value):
        return False
    if value.startswith("[") and value.endswith("]"):
        try:
            ipaddress.IPv6Address(value[1:-1])
        except ValueError:
            return False
        return "%" not in value  # a zone id means nothing to a cookie
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        labels = value.removeprefix(".").split(".")
        valid = all(_HOST_LABEL.fullmatch(label) for label in labels)
        return valid and not _NUMERIC_LABEL.fullmatch(labels[-1])
    return True


def _name_of(info: ValidationInfo) -> str:
    """The cookie's name as checked so far ("" when it was refused)."""
    name = info.data.get("name")
    return name if isinstance(name, str) else ""


def _prefix_of(info: ValidationInfo) -> str:
    """The cookie's name in lower case: Chromium matches name prefixes in any case."""
    return _name_of(info).lower()


class Cookie(Strict):
    """A cookie to inject before the first navigation; refused unless Chromium would take it."""

    # Fields are checked in the order declared, so a rule over two fields is checked on the
    # later one, which is the field its error names. Errors never repeat the value.

    name: str = Field(min_length=1, max_length=256)
    value: str = Field(max_length=MAX_COOKIE_BYTES)
    domain: str = Field(
        min_length=1, max_length=253, json_schema_extra={"pattern": COOKIE_DOMAIN_PATTERN}
    )
    path: str = Field(default="/", max_length=1024)
    expires: float | None = Field(default=None, allow_inf_nan=False)
    http_only: bool = Field(default=False, alias="httpOnly")
    same_site: Literal["Strict", "Lax", "None"] | None = Field(default=None, alias="sameSite")
    secure: bool = False

    @model_validator(mode="before")
    @classmethod
    def _flags_given(cls, data: Any) -> Any:
        """Left-out flags are given as false, so their rules run and their errors carry
        the documented names (a default's error would say ``http_only``)."""
        if isinstance(data, dict):
            return {"httpOnly": False, "secure": False, **data}
        return data

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not _COOKIE_NAME.fullmatch(name):
            raise ValueError(
                "must have no control characters, ';' or '=', and no space at either end"
            )
        return name

    @field_validator("value")
    @classmethod
    def _check_value(cls, value: str, info: ValidationInfo) -> str:
        if not _COOKIE_VALUE.fullmatch(value):
            raise ValueError("must have no control characters or ';', and no space at either end")
        if len(_name_of(info).encode()) + len(value.encode()) > MAX_COOKIE_BYTES:
            raise ValueError(
                f"name and value together must be at most {MAX_COOKIE_BYTES} bytes of UTF-8"
            )
        return value

    @field_validator("domain")
    @classmethod
    def _check_domain(cls, domain: str, info: ValidationInfo) -> str:
        if not _is_cookie_domain(domain):
            raise ValueError(
                "must be a host name (a leading dot allowed; IDNs in punycode), "
                "an IPv4 address or an IPv6 address in brackets"
            )
        if _prefix_of(info).startswith("__host-") and domain.startswith("."):
            raise ValueError("a __Host- cookie belongs to one host: no leading dot")
        return domain

    @field_validator("path")
    @classmethod
    def _check_path(cls, path: str, info: ValidationInfo) -> str:
        if not _COOKIE_PATH.fullmatch(path):
            raise ValueError(
                "must start with '/' and hold only letters, digits, '%' (percent-encode "
                "anything else) and -._~!$&'()*+,=:@/"
            )
        if _prefix_of(info).startswith("__host-") and path != "/":
            raise ValueError("a __Host- cookie must have path '/'")
        return path

    @field_validator("expires")
    @classmethod
    def _check_expires(cls, expires: float | None) -> float | None:
        if expires is not None and expires != -1 and not 0 <= expires <= MAX_COOKIE_EXPIRES:
            raise ValueError(
                "must be -1 (a session cookie) or a Unix time in seconds, "
                f"0 to {MAX_COOKIE_EXPIRES}"
            )
        return expires

    @field_validator("http_only")
    @classmethod
    def _check_http_only(cls, http_only: bool, info: ValidationInfo) -> bool:
        if _prefix_of(info).startswith(("__http-", "__host-http-")) and not http_only:
            raise ValueError("must be true for a cookie named __Http-… or __Host-Http-…")
        return http_only

    @field_validator("secure")
    @classmethod
    def _check_secure(cls, secure: bool, info: ValidationInfo) -> bool:
        if secure:
            return secure
        if info.data.get("same_site") == "None":
            raise ValueError("must be true when sameSite is None")
        if _prefix_of(info).startswith(("__secure-", "__host-", "__http-")):
            raise ValueError("must be true for a cookie named __Secure-…, __Host-… or __Http-…")
        return secure

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
    profile: str | None = Field(
        default=None,
        pattern=r"^prof_[0-9a-f]{32}$",
        description="A saved profile (`prof_…`) of this workspace: its cookies and "
        "localStorage are put in place first; `cookies` and `localStorage` given here win "
        "per name and key.",
    )

    _headers_ok = field_validator("headers")(_check_headers)

    @property
    def empty(self) -> bool:
        """True when nothing is to be injected."""
        return not (self.cookies or self.local_storage or self.headers or self.profile)


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
    connect: bool = Field(
        default=False,
        description="Run the session in a browser of its own and give a `connectUrl` to drive "
        "it over the Chrome DevTools Protocol (Playwright `connect_over_cdp`, Puppeteer).",
    )

    persist_profile: bool = Field(
        default=False,
        alias="persistProfile",
        description="With `auth.profile`: write the session's cookies and localStorage back "
        "to that profile when the session closes, whatever the reason.",
    )

    _metadata_ok = field_validator("metadata")(check_metadata)

    @model_validator(mode="after")
    def _persist_needs_profile(self) -> SessionOptions:
        if self.persist_profile and (self.auth is None or self.auth.profile is None):
            raise ValueError("persistProfile needs auth.profile")
        return self

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
            "connect": self.connect,
        }
