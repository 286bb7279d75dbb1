"""The storage contract: one Protocol, its value types, its errors and the shared headers.

Stored files are private. The only way to read one from outside is a short-lived signed link
(``signed_url``): an HMAC token served by the API for local storage, an S3 presigned GET for
S3. Both backends answer the same headers for a file, built here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import quote

# What a browser is told about caching a signed file: the link is a credential, so no shared
# cache may keep the response and no copy may outlive the tab.
CACHE_CONTROL = "private, no-store"

# Longest filename put into a header; longer ones are cut so headers stay small.
MAX_FILENAME_CHARS = 200

# RFC 5987 attr-char beyond ALPHA / DIGIT (urllib's ``quote`` always keeps "_.-~").
_ATTR_CHAR_SAFE = "!#$&+^`|"

# Characters kept verbatim in the quoted ASCII fallback; everything else becomes "_", so the
# quoted-string never needs escaping and no header parser can be confused.
_FALLBACK_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$&'()+,-.=@[]^_`{}~"
)


class StorageError(Exception):
    """Base of every error raised by the storage package.

    ``code`` and ``message`` (fixed by the class) are what a caller may be shown; ``str()``
    says which file, for logs. Neither ever holds a secret.
    """

    code: str = "INTERNAL"
    default_message: str = "Internal error."

    @property
    def message(self) -> str:
        """The text a caller may be shown."""
        return self.default_message


class FileNotFound(StorageError):
    """No stored file under this key (never written, deleted, or swept by retention)."""

    code, default_message = "NOT_FOUND", "File not found."

    def __init__(self, key: str) -> None:
        super().__init__(f"file not found: {key}")
        self.key = key


class LinkExpired(StorageError):
    """A signed link whose signature is valid but whose expiry has passed."""

    code, default_message = "LINK_EXPIRED", "This link has expired."

    def __init__(self, expires_at: datetime) -> None:
        super().__init__("signed link expired")
        self.expires_at = expires_at


class SignatureInvalid(StorageError):
    """A signed link that was altered, truncated, garbled or signed with another secret."""

    code, default_message = "SIGNATURE_INVALID", "This link is not valid."

    def __init__(self, detail: str = "signed link is invalid") -> None:
        super().__init__(detail)


class InvalidKey(StorageError, ValueError):
    """An object key outside ``[A-Za-z0-9._/-]``, absolute, or with ``..``/empty segments."""

    def __init__(self, key: str) -> None:
        super().__init__(f"invalid storage key: {key!r}")
        self.key = key


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A stored file's description; ``data`` holds its bytes when it was read."""

    key: str
    content_type: str
    size: int
    filename: str
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class SignedLink:
    """An absolute URL that reads one file until ``expires_at`` (timezone-aware, UTC)."""

    url: str
    expires_at: datetime


@runtime_checkable
class Storage(Protocol):
    """Private file storage with short-lived signed read links.

    Keys look like ``ws_abc/sess_123/shot_456.png`` (see ``storage.signing.validate_key``);
    every method raises ``InvalidKey`` for anything else, and ``StorageError`` when the backend
    fails.
    """

    async def put(self, key: str, data: bytes, content_type: str, filename: str) -> StoredFile:
        """Store ``data`` under ``key``, replacing any previous file; returns it without bytes."""
        ...

    async def get(self, key: str) -> StoredFile:
        """Read a file with its bytes; ``FileNotFound`` if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a file; removing a missing file is not an error."""
        ...

    async def signed_url(
        self, key: str, ttl_s: int, filename: str, content_type: str
    ) -> SignedLink:
        """Mint a link that serves the file inline for ``ttl_s`` seconds."""
        ...

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Retention: delete every file last written before ``cutoff``; returns how many."""
        ...

    async def aclose(self) -> None:
        """Release the backend's resources; idempotent."""
        ...


def check_ttl(ttl_s: int, *, max_s: int) -> None:
    """Reject link lifetimes a backend cannot honour (zero, negative, or over ``max_s``)."""
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 1 <= ttl_s <= max_s:
        raise ValueError(f"ttl_s must be an integer between 1 and {max_s}")


def check_content_type(content_type: str) -> None:
    """Reject content types that could break out of a header (controls, non-ASCII, huge)."""
    if (
        not content_type
        or len(content_type) > 255
        or not all(" " <= ch <= "~" for ch in content_type)
        or "/" not in content_type
    ):
        raise ValueError("content_type must be a printable ASCII media type")


def clean_filename(filename: str) -> str:
    """A filename safe to show: no control characters, no path, bounded; never empty."""
    text = "".join(
        "_" if ch in "/\\" else ch
        for ch in filename
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
    ).strip()
    return text[:MAX_FILENAME_CHARS] or "download"


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """Build a ``Content-Disposition`` value that is safe for any filename.

    The quoted ``filename=`` is a plain-ASCII fallback for old clients (other characters
    become ``_``, so nothing needs escaping); when the real name is not that, RFC 5987
    ``filename*=UTF-8''…`` carries it percent-encoded and modern browsers prefer it.
    """
    if disposition not in ("inline", "attachment"):
        raise ValueError("disposition must be 'inline' or 'attachment'")
    name = clean_filename(filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(ch if ch in _FALLBACK_SAFE else "_" for ch in ascii_name).strip()
    stem = fallback.rpartition(".")[0] if "." in fallback else fallback
    if not stem.strip("_ .-"):
        # Nothing readable survived (e.g. an all-CJK name): say so plainly, keep the type.
        fallback = _fallback_with_extension(name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        encoded = quote(name, safe=_ATTR_CHAR_SAFE, encoding="utf-8", errors="replace")
        value += f"; filename*=UTF-8''{encoded}"
    return value


def _fallback_with_extension(name: str) -> str:
    """``download.png`` for a name such as ``截图.png``: keeps the type visible to old clients."""
    _, dot, ext = name.rpartition(".")
    if dot and ext and len(ext) <= 8 and ext.isascii() and ext.isalnum():
        return f"download.{ext}"
    return "download"
