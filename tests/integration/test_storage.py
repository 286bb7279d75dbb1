"""One behaviour suite for both storage backends: local files and S3 (moto over real HTTP).

The S3 backend talks to moto's server mode on 127.0.0.1 through boto3, and signed links are
fetched with urllib like a browser would. The local backend's links are opened through
``LocalStorage.open_signed``, which is what the API's ``GET /v1/files/{token}`` route calls.
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import stat
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from moto.server import ThreadedMotoServer

from storage import (
    CACHE_CONTROL,
    FileNotFound,
    InvalidKey,
    LinkExpired,
    LocalStorage,
    S3Storage,
    SignatureInvalid,
    SignedLink,
    StorageError,
    content_disposition,
    make_s3_client,
    open_storage,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
PUBLIC_URL = "https://files.sessionshot.test/"
SECRET = b"integration-test-secret-0123456789"
PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(2048)

# moto 5.2.5 serves presigned GETs without checking X-Amz-Expires or X-Amz-Signature (see
# moto/s3/responses.py, S3Response._key_response: only unsigned requests are refused), so an
# expired or altered S3 link cannot be refused here; real S3 answers 403 for both. strict=True
# turns these into failures the day moto starts checking, so the marker gets removed.
MOTO_SKIPS_PRESIGN_CHECKS = pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="moto does not verify presigned URL expiry or signature",
)


@dataclass
class Fetched:
    """What a browser gets for a link."""

    status: int
    body: bytes
    content_type: str | None = None
    cache_control: str | None = None
    disposition: str | None = None


@dataclass
class Backend:
    """A storage under test plus how a browser would use its links."""

    kind: str
    storage: LocalStorage | S3Storage

    async def fetch(self, url: str) -> Fetched:
        """Follow a signed link; refusals come back as the status a browser would see."""
        if isinstance(self.storage, S3Storage):
            return await asyncio.to_thread(_http_get, url)
        token = url.rsplit("/", 1)[1]
        try:
            stored = await self.storage.open_signed(token)
        except SignatureInvalid:
            return Fetched(403, b"")
        except LinkExpired:
            return Fetched(410, b"")
        except FileNotFound:
            return Fetched(404, b"")
        assert stored.data is not None
        # The headers the /v1/files route sets from what open_signed returned.
        return Fetched(
            200,
            stored.data,
            stored.content_type,
            CACHE_CONTROL,
            content_disposition(stored.filename),
        )

    async def age(self, keys: list[str]) -> datetime:
        """Make ``keys`` older than the returned cutoff; later puts are newer than it."""
        if isinstance(self.storage, LocalStorage):
            hour_ago = time.time() - 3600
            for key in keys:
                os.utime(self.storage.path_for(key), (hour_ago, hour_ago))
            return datetime.now(UTC) - timedelta(minutes=1)
        # moto stamps LastModified at put time, in whole seconds: cross a second boundary
        # and cut at a whole second so later puts cannot round down below the cutoff.
        await asyncio.sleep(1.1)
        return datetime.fromtimestamp(math.floor(time.time()), UTC)


def _http_get(url: str) -> Fetched:
    # No proxy: the traffic must stay on 127.0.0.1 whatever the environment says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            headers = response.headers
            return Fetched(
                response.status,
                response.read(),
                headers.get("Content-Type"),
                headers.get("Cache-Control"),
                headers.get("Content-Disposition"),
            )
    except urllib.error.HTTPError as err:
        with err:
            return Fetched(err.code, err.read())


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 in server mode on a free port of 127.0.0.1, for the whole run."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, moto_endpoint: str
) -> AsyncIterator[Backend]:
    """A fresh, empty storage of each kind, built by the same factory as the service."""
    if request.param == "local":
        storage = open_storage(
            "local", root=tmp_path / "storage", public_url=PUBLIC_URL, secret=SECRET
        )
    else:
        # Explicit dummy credentials: nothing from the environment, nothing reaches AWS.
        def client() -> S3Client:
            return make_s3_client(
                moto_endpoint, REGION, access_key_id="testing", secret_access_key="testing"
            )

        bucket = f"test-{secrets.token_hex(6)}"
        await asyncio.to_thread(lambda: client().create_bucket(Bucket=bucket))
        storage = open_storage(
            "s3", bucket=bucket, endpoint_url=moto_endpoint, region=REGION, client_factory=client
        )
    assert isinstance(storage, LocalStorage | S3Storage)
    async with storage:
        yield Backend(request.param, storage)


KEY = "ws_abc/sess_123/shot_456.png"


async def test_put_then_get_round_trips_bytes_type_and_name(backend: Backend) -> None:
    put = await backend.storage.put(KEY, PNG, "image/png", "capture été.png")
    assert (put.key, put.size, put.content_type, put.data) == (KEY, len(PNG), "image/png", None)

    got = await backend.storage.get(KEY)
    assert got.data == PNG
    assert got.size == len(PNG)
    assert got.content_type == "image/png"
    assert got.filename == "capture été.png"


async def test_put_replaces_the_previous_file(backend: Backend) -> None:
    await backend.storage.put(KEY, b"first", "image/png", "a.png")
    await backend.storage.put(KEY, b"second", "application/pdf", "b.pdf")
    got = await backend.storage.get(KEY)
    assert (got.data, got.content_type, got.filename) == (b"second", "application/pdf", "b.pdf")


async def test_delete_is_idempotent(backend: Backend) -> None:
    await backend.storage.put(KEY, PNG, "image/png", "shot.png")
    await backend.storage.delete(KEY)
    with pytest.raises(FileNotFound):
        await backend.storage.get(KEY)
    await backend.storage.delete(KEY)
    await backend.storage.delete("ws_abc/never/written.png")


async def test_get_of_a_missing_key_is_file_not_found(backend: Backend) -> None:
    with pytest.raises(FileNotFound) as info:
        await backend.storage.get("ws_abc/sess_1/missing.png")
    assert info.value.key == "ws_abc/sess_1/missing.png"


@pytest.mark.parametrize("key", ["../escape.png", "/etc/passwd", "a//b", "ws/.tmp", "a b"])
async def test_unsafe_keys_are_refused_everywhere(backend: Backend, key: str) -> None:
    storage = backend.storage
    with pytest.raises(InvalidKey):
        await storage.put(key, b"x", "image/png", "x.png")
    with pytest.raises(InvalidKey):
        await storage.get(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)
    with pytest.raises(InvalidKey):
        await storage.signed_url(key, 60, "x.png", "image/png")


async def test_signed_link_serves_the_file_privately(backend: Backend) -> None:
    await backend.storage.put(KEY, PNG, "image/png", "shot_456.png")
    before = datetime.now(UTC)
    link = await backend.storage.signed_url(KEY, 600, "shot_456.png", "image/png")

    assert before + timedelta(seconds=599) <= link.expires_at <= before + timedelta(seconds=601)
    assert link.expires_at.tzinfo is not None
    if backend.kind == "local":
        assert link.url.startswith("https://files.sessionshot.test/v1/files/")
    else:
        _assert_presigned_for(link, ttl_s=600)

    fetched = await backend.fetch(link.url)
    assert fetched.status == 200
    assert fetched.body == PNG
    assert fetched.content_type == "image/png"
    assert fetched.cache_control == "private, no-store"
    assert fetched.disposition == 'inline; filename="shot_456.png"'


def _assert_presigned_for(link: SignedLink, ttl_s: int) -> None:
    query = parse_qs(urlsplit(link.url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == [str(ttl_s)]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert link.expires_at == signed_at + timedelta(seconds=ttl_s)


async def test_link_to_a_deleted_file_finds_nothing(backend: Backend) -> None:
    await backend.storage.put(KEY, PNG, "image/png", "shot.png")
    link = await backend.storage.signed_url(KEY, 600, "shot.png", "image/png")
    await backend.storage.delete(KEY)
    fetched = await backend.fetch(link.url)
    # S3 answers 403 rather than 404 when the signer may not list the bucket (and moto
    # answers 403 for any presigned GET of a missing key), so both mean "gone" there.
    assert fetched.status in ((404,) if backend.kind == "local" else (403, 404))
    assert PNG not in fetched.body


@pytest.mark.parametrize(
    "backend", ["local", pytest.param("s3", marks=MOTO_SKIPS_PRESIGN_CHECKS)], indirect=True
)
async def test_signed_link_expires(backend: Backend) -> None:
    await backend.storage.put(KEY, PNG, "image/png", "shot.png")
    link = await backend.storage.signed_url(KEY, 1, "shot.png", "image/png")
    await asyncio.sleep(2)

    fetched = await backend.fetch(link.url)
    assert fetched.status == (410 if backend.kind == "local" else 403)
    assert fetched.body != PNG
    # The file itself outlives its links.
    assert (await backend.storage.get(KEY)).data == PNG


@pytest.mark.parametrize(
    "backend", ["local", pytest.param("s3", marks=MOTO_SKIPS_PRESIGN_CHECKS)], indirect=True
)
async def test_tampered_link_is_refused(backend: Backend) -> None:
    await backend.storage.put(KEY, PNG, "image/png", "shot.png")
    await backend.storage.put("ws_abc/sess_123/other.png", b"other", "image/png", "other.png")
    link = await backend.storage.signed_url(KEY, 600, "shot.png", "image/png")

    flipped = link.url[:-1] + ("A" if link.url[-1] != "A" else "B")
    retargeted = link.url.replace("shot_456.png", "other.png")
    if backend.kind == "local":
        payload, signature = link.url.rsplit("/", 1)[1].split(".")
        other = await backend.storage.signed_url("ws_abc/sess_123/other.png", 600, "o", "image/png")
        retargeted = f"{other.url.rsplit('.', 1)[0]}.{signature}"
        assert payload not in retargeted
    for url in (flipped, retargeted):
        fetched = await backend.fetch(url)
        assert fetched.status == 403, url
        assert fetched.body == b""


async def test_delete_older_than_removes_only_older_files(backend: Backend) -> None:
    old = [f"ws_abc/sess_old/shot_{i}.png" for i in range(3)]
    new = [f"ws_abc/sess_new/shot_{i}.png" for i in range(2)]
    for key in old:
        await backend.storage.put(key, b"old", "image/png", "old.png")
    cutoff = await backend.age(old)
    for key in new:
        await backend.storage.put(key, b"new", "image/png", "new.png")

    assert await backend.storage.delete_older_than(cutoff) == len(old)

    for key in old:
        with pytest.raises(FileNotFound):
            await backend.storage.get(key)
    for key in new:
        assert (await backend.storage.get(key)).data == b"new"
    assert await backend.storage.delete_older_than(cutoff) == 0


async def test_delete_older_than_needs_an_aware_cutoff(backend: Backend) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await backend.storage.delete_older_than(datetime.now())


async def test_stored_files_are_never_public(backend: Backend) -> None:
    await backend.storage.put(KEY, PNG, "image/png", "shot.png")
    storage = backend.storage
    if isinstance(storage, S3Storage):
        endpoint = urlsplit((await storage.signed_url(KEY, 60, "s.png", "image/png")).url)
        unsigned = f"{endpoint.scheme}://{endpoint.netloc}/{storage.bucket}/{KEY}"
        fetched = await asyncio.to_thread(_http_get, unsigned)
        assert fetched.status == 403
        assert PNG not in fetched.body
        return
    # Local: only the owner may read the tree, and no token means no file.
    path = storage.path_for(KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (path.parent, path.parent.parent, storage.root):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert (await backend.fetch(f"{PUBLIC_URL}v1/files/")).status == 403
    with pytest.raises(SignatureInvalid):
        await storage.open_signed(KEY)


async def test_local_writes_are_atomic_and_leave_no_debris(tmp_path: Path) -> None:
    async with LocalStorage(tmp_path, PUBLIC_URL, SECRET) as storage:
        await asyncio.gather(
            *(storage.put(KEY, bytes([i]) * 4096, "image/png", f"{i}.png") for i in range(20))
        )
        got = await storage.get(KEY)
        assert got.data is not None
        assert len(set(got.data)) == 1
        assert got.filename == f"{got.data[0]}.png"
        assert [p.name for p in storage.path_for(KEY).parent.iterdir()] == ["shot_456.png"]


async def test_local_corrupt_file_is_a_storage_error(tmp_path: Path) -> None:
    async with LocalStorage(tmp_path, PUBLIC_URL, SECRET) as storage:
        await storage.put(KEY, PNG, "image/png", "shot.png")
        storage.path_for(KEY).write_bytes(b"not an envelope")
        with pytest.raises(StorageError, match="corrupt"):
            await storage.get(KEY)


def test_factory_fails_fast_on_missing_configuration() -> None:
    with pytest.raises(ValueError, match="root, public_url and secret"):
        open_storage("local", root="/tmp/x", public_url=PUBLIC_URL, secret=b"")
    with pytest.raises(ValueError, match="bucket"):
        open_storage("s3", endpoint_url="http://127.0.0.1:1", region=REGION)


async def test_local_retention_clears_debris_and_emptied_directories(tmp_path: Path) -> None:
    async with LocalStorage(tmp_path, PUBLIC_URL, SECRET) as storage:
        await storage.put("ws_abc/sess_old/shot.png", PNG, "image/png", "shot.png")
        await storage.put("ws_abc/sess_new/shot.png", PNG, "image/png", "shot.png")
        old_dir = storage.path_for("ws_abc/sess_old/shot.png").parent
        debris = old_dir / ".shot.png.0123456789abcdef.tmp"
        debris.write_bytes(b"half a write")
        hour_ago = time.time() - 3600
        for path in (old_dir / "shot.png", debris, old_dir):
            os.utime(path, (hour_ago, hour_ago))

        # Interrupted writes are cleaned but not counted as stored files.
        assert await storage.delete_older_than(datetime.now(UTC) - timedelta(minutes=1)) == 1
        assert not old_dir.exists()
        assert (await storage.get("ws_abc/sess_new/shot.png")).data == PNG
