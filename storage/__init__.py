"""Private file storage: one Protocol, ``local`` and ``s3`` backends, signed links."""

from storage.base import (
    CACHE_CONTROL,
    FileNotFound,
    InvalidKey,
    LinkExpired,
    SignatureInvalid,
    SignedLink,
    Storage,
    StorageError,
    StoredFile,
    content_disposition,
)
from storage.factory import open_storage
from storage.local import LocalStorage
from storage.s3 import S3Storage, make_s3_client
from storage.signing import TokenClaims, sign_token, validate_key, verify_token

__all__ = [
    "CACHE_CONTROL",
    "FileNotFound",
    "InvalidKey",
    "LinkExpired",
    "LocalStorage",
    "S3Storage",
    "SignatureInvalid",
    "SignedLink",
    "Storage",
    "StorageError",
    "StoredFile",
    "TokenClaims",
    "content_disposition",
    "make_s3_client",
    "open_storage",
    "sign_token",
    "validate_key",
    "verify_token",
]
