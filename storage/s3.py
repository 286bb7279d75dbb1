"""S3 storage (AWS or any S3-compatible store) through boto3, never blocking the event loop.

boto3 is synchronous, so every call (including client creation, which reads model files and
may resolve credentials over the network) runs in ``asyncio.to_thread``; boto3 clients are
thread-safe, sessions are not, so one client is built once and shared. Objects are written
without an ACL, so they keep the bucket's private default: an ACL parameter would also be
refused by buckets with ACLs disabled and by several S3-compatible stores. Reads from outside
go through presigned GET links, which also fix the response headers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, unquote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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
from storage.signing import validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

log = logging.getLogger(__name__)

# SigV4 presigned URLs cannot outlive a week.
MAX_LINK_TTL_S = 7 * 24 * 3600
# DeleteObjects takes at most 1000 keys per request.
DELETE_BATCH = 1000
# User metadata holding the original filename, percent-encoded: S3 metadata is ASCII only.
_FILENAME_META = "filename"
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})

ClientFactory = Callable[[], "S3Client"]
_T = TypeVar("_T")


def make_s3_client(
    endpoint_url: str | None,
    region: str | None,
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
) -> S3Client:
    """Build the S3 client SessionShot uses (blocking: call it from a thread).

    Credentials default to boto3's usual chain (environment, config files, instance role).
    With a custom endpoint (MinIO, moto, Ceph …) path-style addressing is used, since such
    endpoints rarely resolve bucket subdomains; SigV4 everywhere, as presigned links need it.
    """
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
    )
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


class S3Storage:
    """Files as private objects in ``bucket``; links are presigned GET URLs."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None,
        region: str | None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("bucket is required for S3 storage")
        self._bucket = bucket
        self._factory: ClientFactory = client_factory or (
            lambda: make_s3_client(endpoint_url, region)
        )
        self._client: S3Client | None = None
        self._client_lock = asyncio.Lock()

    @property
    def bucket(self) -> str:
        """The bucket holding the files."""
        return self._bucket

    async def __aenter__(self) -> S3Storage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def put(self, key: str, data: bytes, content_type: str, filename: str) -> StoredFile:
        """Upload ``data`` as a private object with its content type and filename."""
        validate_key(key)
        check_content_type(content_type)
        name = clean_filename(filename)
        client = await self._get_client()
        await self._call(
            f"put {key}",
            client.put_object,
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ContentDisposition=content_disposition(name),
            Metadata={_FILENAME_META: quote(name, safe="")},
        )
        return StoredFile(key=key, content_type=content_type, size=len(data), filename=name)

    async def get(self, key: str) -> StoredFile:
        """Download ``key`` with its bytes; ``FileNotFound`` if there is no such object."""
        validate_key(key)
        client = await self._get_client()

        def download() -> StoredFile:
            # The body is a blocking stream: read it in the same worker thread.
            response = client.get_object(Bucket=self._bucket, Key=key)
            with response["Body"] as body:
                data = body.read()
            meta = response.get("Metadata", {})
            filename = unquote(meta.get(_FILENAME_META, "")) or key.rsplit("/", 1)[-1]
            content_type = response.get("ContentType") or "application/octet-stream"
            return StoredFile(key, content_type, len(data), filename, data)

        return await self._call(f"get {key}", download, not_found_key=key)

    async def delete(self, key: str) -> None:
        """Delete ``key``; S3 answers success for a missing object, so this is idempotent."""
        validate_key(key)
        client = await self._get_client()
        await self._call(f"delete {key}", client.delete_object, Bucket=self._bucket, Key=key)

    async def signed_url(
        self, key: str, ttl_s: int, filename: str, content_type: str
    ) -> SignedLink:
        """A presigned GET valid ``ttl_s`` seconds that serves the object inline, uncached.

        The link stops working earlier if the signing credentials are temporary and expire.
        """
        validate_key(key)
        check_ttl(ttl_s, max_s=MAX_LINK_TTL_S)
        check_content_type(content_type)
        client = await self._get_client()
        # SigV4 dates have whole seconds; the link is valid until signing time + ttl_s.
        signed_at = math.floor(time.time())
        url: str = await self._call(
            f"presign {key}",
            client.generate_presigned_url,
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": content_disposition(filename),
                "ResponseCacheControl": CACHE_CONTROL,
            },
            ExpiresIn=ttl_s,
        )
        return SignedLink(url=url, expires_at=datetime.fromtimestamp(signed_at + ttl_s, UTC))

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Delete objects last modified before ``cutoff``; returns how many were deleted."""
        if cutoff.tzinfo is None:
            raise ValueError("cutoff must be timezone-aware")
        client = await self._get_client()
        paginator = client.get_paginator("list_objects_v2")
        pages: Iterator[Any] = iter(paginator.paginate(Bucket=self._bucket))
        deleted = 0
        batch: list[ObjectIdentifierTypeDef] = []
        # One thread hop per page, so cancellation is honoured between pages.
        while (page := await self._call("list", next, pages, None)) is not None:
            for obj in page.get("Contents", []):
                if obj["LastModified"] < cutoff:
                    batch.append({"Key": obj["Key"]})
                if len(batch) == DELETE_BATCH:
                    deleted += await self._delete_batch(client, batch)
                    batch = []
        if batch:
            deleted += await self._delete_batch(client, batch)
        return deleted

    async def aclose(self) -> None:
        """Close the HTTP connection pool; idempotent."""
        async with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    async def _delete_batch(
        self, client: S3Client, batch: Sequence[ObjectIdentifierTypeDef]
    ) -> int:
        response = await self._call(
            "delete batch",
            client.delete_objects,
            Bucket=self._bucket,
            Delete={"Objects": list(batch), "Quiet": True},
        )
        errors = response.get("Errors", [])
        if errors:
            # Retention runs again later; a few objects left behind must not stop the sweep.
            log.warning(
                "retention could not delete some objects",
                extra={"failed": len(errors), "code": errors[0].get("Code")},
            )
        return len(batch) - len(errors)

    async def _get_client(self) -> S3Client:
        async with self._client_lock:
            if self._client is None:
                self._client = await self._call("connect", self._factory)
            return self._client

    async def _call(
        self,
        what: str,
        func: Callable[..., _T],
        /,
        *args: Any,
        not_found_key: str | None = None,
        **kwargs: Any,
    ) -> _T:
        """Run one blocking boto3 call in a thread, mapping its errors onto the storage tree."""
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if not_found_key is not None and code in _NOT_FOUND_CODES:
                raise FileNotFound(not_found_key) from err
            raise StorageError(f"S3 {what} failed: {code or 'error'}") from err
        except BotoCoreError as err:
            raise StorageError(f"S3 {what} failed: {type(err).__name__}") from err
