"""Local storage: files in a private directory, read back through HMAC-signed links.

Each key maps to one file under ``root`` (``ws_abc/sess_1/shot_2.png`` → ``root/ws_abc/sess_1/
shot_2.png``). The file holds a small envelope so that the content type and filename travel
with the bytes and are replaced in the same atomic rename::

    b"SSF1" | header length (4 bytes, big-endian) | header JSON {"c", "f"} | data

Writes go to a temporary name in the target directory and are renamed over the key, so a
reader sees the old file or the new one, never a torn one. Files are 0600, directories 0700.

The API serves ``GET /v1/files/{token}`` by calling ``open_signed(token)`` and answering the
file's bytes with ``Content-Type``, ``Cache-Control: private, no-store`` (``CACHE_CONTROL``)
and ``content_disposition(file.filename)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import aiofiles
import aiofiles.os

from storage.base import (
    CACHE_CONTROL,
    FileNotFound,
    SignedLink,
    StorageError,
    StoredFile,
    check_content_type,
    check_ttl,
    clean_filename,
    content_disposition,
)
from storage.signing import sign_token, validate_key, verify_token

__all__ = ["CACHE_CONTROL", "LocalStorage", "content_disposition"]

_MAGIC = b"SSF1"
_HEADER_LEN_BYTES = 4
# Headers are a content type and a filename, both bounded; anything larger is corruption.
_MAX_HEADER_BYTES = 64 * 1024
# Links outliving a week are not short-lived; S3 caps presigned links at the same bound.
MAX_LINK_TTL_S = 7 * 24 * 3600
_TMP_SUFFIX = ".tmp"
# A put whose directory is pruned by a concurrent retention sweep recreates it and retries.
_PUT_ATTEMPTS = 3

_fsync = aiofiles.os.wrap(os.fsync)


def _private_opener(path: str, flags: int) -> int:
    """Create files 0600 from the first byte: no window where another user could open them."""
    return os.open(path, flags, 0o600)


class LocalStorage:
    """Files under ``root``; links are ``{public_url}/v1/files/{token}`` served by the API."""

    def __init__(self, root: Path, public_url: str, secret: bytes) -> None:
        if not public_url.startswith(("http://", "https://")):
            raise ValueError("public_url must be an absolute http(s) URL")
        if not secret:
            raise ValueError("secret must be non-empty bytes")
        self._root = Path(root).absolute()
        self._public_url = public_url.rstrip("/")
        self._secret = secret

    @property
    def root(self) -> Path:
        """The directory holding the files."""
        return self._root

    async def __aenter__(self) -> LocalStorage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (validated, so it is always inside ``root``)."""
        return self._root.joinpath(*validate_key(key).split("/"))

    async def put(self, key: str, data: bytes, content_type: str, filename: str) -> StoredFile:
        """Atomically write ``data`` under ``key`` with its content type and filename."""
        path = self.path_for(key)
        check_content_type(content_type)
        name = clean_filename(filename)
        header = json.dumps({"c": content_type, "f": name}, separators=(",", ":")).encode()
        blob = b"".join((_MAGIC, len(header).to_bytes(_HEADER_LEN_BYTES, "big"), header, data))
        for attempt in range(_PUT_ATTEMPTS):
            try:
                await self._ensure_dir(path.parent)
                await _write_atomic(path, blob)
                break
            except FileNotFoundError as err:
                if attempt == _PUT_ATTEMPTS - 1:
                    raise StorageError(f"could not write file: {key}") from err
            except OSError as err:
                raise StorageError(f"could not write file: {key}") from err
        return StoredFile(key=key, content_type=content_type, size=len(data), filename=name)

    async def get(self, key: str) -> StoredFile:
        """Read ``key`` with its bytes; ``FileNotFound`` if it is not there."""
        path = self.path_for(key)
        try:
            async with aiofiles.open(path, "rb") as handle:
                blob = await handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as err:
            raise FileNotFound(key) from err
        except OSError as err:
            raise StorageError(f"could not read file: {key}") from err
        return _parse_envelope(key, blob)

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing file is fine (idempotent)."""
        path = self.path_for(key)
        try:
            await aiofiles.os.unlink(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as err:
            raise StorageError(f"could not delete file: {key}") from err

    async def signed_url(
        self, key: str, ttl_s: int, filename: str, content_type: str
    ) -> SignedLink:
        """A link to ``/v1/files/{token}`` valid for at least ``ttl_s`` seconds.

        Minting does not touch the disk: a link to a missing file is answered ``FileNotFound``
        when it is opened.
        """
        check_ttl(ttl_s, max_s=MAX_LINK_TTL_S)
        # Rounding up means a link never lives shorter than asked, at most one second longer.
        expires_at_s = math.ceil(time.time()) + ttl_s
        token = sign_token(self._secret, key, expires_at_s, filename, content_type)
        return SignedLink(
            url=f"{self._public_url}/v1/files/{token}",
            expires_at=datetime.fromtimestamp(expires_at_s, UTC),
        )

    async def open_signed(self, token: str, now_s: float | None = None) -> StoredFile:
        """Verify a link token and read its file, with the link's filename and content type.

        Raises ``SignatureInvalid`` (altered or junk token), ``LinkExpired`` (genuine but past
        expiry) or ``FileNotFound`` (the file was deleted since the link was minted).
        """
        claims = verify_token(self._secret, token, time.time() if now_s is None else now_s)
        stored = await self.get(claims.key)
        return StoredFile(
            key=claims.key,
            content_type=claims.content_type,
            size=stored.size,
            filename=claims.filename,
            data=stored.data,
        )

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Delete files whose modification time is before ``cutoff``; returns how many.

        Also removes leftover temporary files and directories emptied by the sweep.
        """
        if cutoff.tzinfo is None:
            raise ValueError("cutoff must be timezone-aware")
        # One thread hop for the whole walk instead of one per file: the sweep touches
        # every entry, and none of it may run on the event loop.
        try:
            return await asyncio.to_thread(_sweep, self._root, cutoff.timestamp())
        except OSError as err:
            raise StorageError("retention sweep failed") from err

    async def aclose(self) -> None:
        """Nothing to release (no handles stay open between calls); idempotent."""

    async def _ensure_dir(self, directory: Path) -> None:
        """Create ``directory`` and its missing parents under ``root``, each 0700."""
        if await aiofiles.os.path.isdir(directory):
            return
        await aiofiles.os.makedirs(self._root, mode=0o700, exist_ok=True)
        # makedirs gives intermediate directories the default mode, so go level by level.
        current = self._root
        for part in directory.relative_to(self._root).parts:
            current = current / part
            with contextlib.suppress(FileExistsError):
                await aiofiles.os.mkdir(current, mode=0o700)


async def _write_atomic(path: Path, blob: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}{_TMP_SUFFIX}")
    renamed = False
    try:
        async with aiofiles.open(tmp, "xb", opener=_private_opener) as handle:
            await handle.write(blob)
            await handle.flush()
            # Data on disk before the rename, so a crash cannot leave an empty file behind.
            await _fsync(handle.fileno())
        await aiofiles.os.replace(tmp, path)
        renamed = True
    finally:
        if not renamed:
            # Whatever stopped the write (error or cancellation), drop the partial temp file.
            with contextlib.suppress(OSError):
                await aiofiles.os.unlink(tmp)


def _parse_envelope(key: str, blob: bytes) -> StoredFile:
    start = len(_MAGIC) + _HEADER_LEN_BYTES
    if len(blob) < start or not blob.startswith(_MAGIC):
        raise StorageError(f"corrupt file: {key}")
    header_len = int.from_bytes(blob[len(_MAGIC) : start], "big")
    if header_len > _MAX_HEADER_BYTES or len(blob) < start + header_len:
        raise StorageError(f"corrupt file: {key}")
    try:
        header = json.loads(blob[start : start + header_len])
        content_type, filename = header["c"], header["f"]
    except (ValueError, TypeError, KeyError) as err:
        raise StorageError(f"corrupt file: {key}") from err
    if not isinstance(content_type, str) or not isinstance(filename, str):
        raise StorageError(f"corrupt file: {key}")
    data = blob[start + header_len :]
    return StoredFile(key, content_type, len(data), filename, data)


def _sweep(root: Path, cutoff_s: float) -> int:
    """Blocking retention walk (run in a thread): delete old files, prune emptied dirs."""
    deleted = 0
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        directory = Path(dirpath)
        # Read before deleting: removing entries bumps the directory's own mtime.
        dir_mtime = _mtime(directory)
        for name in filenames:
            path = directory / name
            mtime = _mtime(path, regular_only=True)
            if mtime is None or mtime >= cutoff_s:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                # Temporary files are debris of interrupted writes, not stored files.
                if not (name.startswith(".") and name.endswith(_TMP_SUFFIX)):
                    deleted += 1
        if directory != root and dir_mtime is not None and dir_mtime < cutoff_s:
            # Only empty directories go; a concurrent put recreates one it needs.
            with contextlib.suppress(OSError):
                directory.rmdir()
    return deleted


def _mtime(path: Path, *, regular_only: bool = False) -> float | None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if regular_only and not stat.S_ISREG(info.st_mode):
        return None
    return info.st_mtime
