"""Open the configured storage backend from plain values, so storage depends on nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from storage.base import Storage
from storage.local import LocalStorage
from storage.s3 import ClientFactory, S3Storage


def open_storage(
    kind: Literal["local", "s3"],
    *,
    root: Path | str | None = None,
    public_url: str | None = None,
    secret: bytes | None = None,
    bucket: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    client_factory: ClientFactory | None = None,
) -> Storage:
    """Build the backend named by ``kind`` (``SESSIONSHOT_STORAGE``).

    ``local`` needs ``root``, ``public_url`` and ``secret``; ``s3`` needs ``bucket`` and takes
    ``endpoint_url``/``region`` (credentials come from boto3's usual chain unless
    ``client_factory`` builds the client). Nothing is opened yet: the first call connects.
    Raises ``ValueError`` naming what is missing, so a bad configuration fails at start-up.
    """
    if kind == "local":
        if root is None or not public_url or not secret:
            raise ValueError("local storage needs root, public_url and secret")
        return LocalStorage(Path(root), public_url, secret)
    if kind == "s3":
        if not bucket:
            raise ValueError("s3 storage needs a bucket (SESSIONSHOT_S3_BUCKET)")
        return S3Storage(bucket, endpoint_url, region, client_factory=client_factory)
    raise ValueError(f"unknown storage kind: {kind!r}")
