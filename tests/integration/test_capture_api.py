"""The captures API over real HTTP: the validation matrix and every error code (SPEC 2, 3).

Accepted captures are queued on the private key prefix of a fresh ``make_service`` instance and
processed by nobody: no worker runs here.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx

from tests.support.procs import RedisServer
from tests.support.service import ADMIN_TOKEN, Service

Factory = Callable[..., Awaitable[Service]]
Case = tuple[str, Any, int]
"""``(label, JSON body, expected status)``."""

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DOMAIN = "app.test"
URL = "https://app.test/page"
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
UNKNOWN_KEY = "ssk_0123456789abcdef_" + "A" * 43


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _api_shape(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the documented ``/api/`` error: exactly ``{"error": {"code", "message"}}``."""
    assert response.status_code == status, (status, response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message and "Traceback" not in message, body
    return body


def _capture(**fields: Any) -> dict[str, Any]:
    """A valid capture body with ``fields`` set on top of the URL."""
    return {"url": URL, **fields}


def _compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _metadata_of(size: int, char: str = "a") -> dict[str, Any]:
    """Metadata of exactly ``size`` bytes as compact UTF-8 JSON, filled with ``char``."""
    overhead = _compact_size({"k": ""})
    fill = size - overhead
    width = len(char.encode())
    metadata = {"k": char * (fill // width) + "a" * (fill % width)}
    assert _compact_size(metadata) == size
    return metadata


async def _allowed_key(service: Service) -> str:
    _, key = await service.new_key((DOMAIN,))
    return key


async def _check_cases(service: Service, key: str, cases: list[Case]) -> None:
    """POST every case and report all the mismatches at once."""
    wrong: list[str] = []
    for label, body, expected in cases:
        response = await service.http.post("/api/captures", headers=bearer(key), json=body)
        if response.status_code != expected:
            wrong.append(
                f"{label}: expected {expected}, got {response.status_code} {response.text}"
            )
            continue
        if expected == 400:
            _api_shape(response, 400, "VALIDATION_ERROR")
        else:
            assert response.json()["id"].startswith("cap_"), (label, response.text)
    assert not wrong, "\n".join(wrong)


# -- the validation matrix ------------------------------------------------------------------------


def _output_cases() -> list[Case]:
    cases: list[Case] = []
    for width, status in ((320, 202), (3840, 202), (319, 400), (3841, 400)):
        cases.append((f"width {width}", _capture(output={"width": width}), status))
    for height, status in ((240, 202), (4320, 202), (239, 400), (4321, 400)):
        cases.append((f"height {height}", _capture(output={"height": height}), status))
    for quality, status in ((1, 202), (100, 202), (0, 400), (101, 400)):
        output = {"format": "jpeg", "quality": quality}
        cases.append((f"jpeg quality {quality}", _capture(output=output), status))
    for fmt in ("png", "pdf"):
        output = {"format": fmt, "quality": 80}
        cases.append((f"quality with {fmt}", _capture(output=output), 400))
    cases.append(("quality without format (png)", _capture(output={"quality": 80}), 400))
    for fmt, status in (("png", 202), ("jpeg", 202), ("pdf", 202), ("gif", 400), ("PNG", 400)):
        cases.append((f"format {fmt}", _capture(output={"format": fmt}), status))
    cases.append(("fullPage true", _capture(output={"fullPage": True}), 202))
    cases.append(("width as string", _capture(output={"width": "wide"}), 400))
    return cases


def _cookies(count: int) -> list[dict[str, Any]]:
    return [{"name": f"c{i}", "value": "v", "domain": DOMAIN} for i in range(count)]


def _storage(count: int) -> list[dict[str, str]]:
    return [{"key": f"k{i}", "value": "v"} for i in range(count)]


def _headers(count: int) -> dict[str, str]:
    return {f"X-Extra-{i}": "v" for i in range(count)}


SENSITIVE_HEADERS = (
    "Authorization",
    "cookie",
    "Proxy-Authorization",
    "HOST",
    "Set-Cookie",
    "Sec-Fetch-Site",
    "sec-anything",
    "Proxy-Foo",
)


def _auth_cases() -> list[Case]:
    full_cookie = {
        "name": "sid",
        "value": "secret",
        "domain": DOMAIN,
        "path": "/",
        "expires": 4102444800,
        "httpOnly": True,
        "secure": True,
        "sameSite": "Lax",
    }
    cases: list[Case] = [
        ("50 cookies", _capture(auth={"cookies": _cookies(50)}), 202),
        ("51 cookies", _capture(auth={"cookies": _cookies(51)}), 400),
        ("cookie with every field", _capture(auth={"cookies": [full_cookie]}), 202),
        ("cookie without domain", _capture(auth={"cookies": [{"name": "a", "value": "b"}]}), 400),
        ("50 localStorage", _capture(auth={"localStorage": _storage(50)}), 202),
        ("51 localStorage", _capture(auth={"localStorage": _storage(51)}), 400),
        ("20 headers", _capture(auth={"headers": _headers(20)}), 202),
        ("21 headers", _capture(auth={"headers": _headers(21)}), 400),
        ("harmless X-Tenant", _capture(auth={"headers": {"X-Tenant": "acme"}}), 202),
    ]
    for name in SENSITIVE_HEADERS:
        cases.append((f"header {name}", _capture(auth={"headers": {name: "x"}}), 400))
    return cases


def _actions(count: int) -> list[dict[str, Any]]:
    return [{"type": "click", "selector": f"#b{i}"} for i in range(count)]


def _action_cases() -> list[Case]:
    def one(action: dict[str, Any]) -> dict[str, Any]:
        return _capture(actions=[action])

    wait_for = {"type": "waitForSelector", "selector": "#a"}
    typing = {"type": "type", "selector": "#q"}
    return [
        ("20 actions", _capture(actions=_actions(20)), 202),
        ("21 actions", _capture(actions=_actions(21)), 400),
        ("waitForSelector 15000", one({**wait_for, "timeout": 15000}), 202),
        ("waitForSelector 15001", one({**wait_for, "timeout": 15001}), 400),
        ("waitForSelector no timeout", one({"type": "waitForSelector", "selector": "#a"}), 202),
        ("click", one({"type": "click", "selector": "#tab"}), 202),
        ("click without selector", one({"type": "click"}), 400),
        ("type 1000 chars", one({**typing, "text": "t" * 1000}), 202),
        ("type 1001 chars", one({**typing, "text": "t" * 1001}), 400),
        ("type 1000 multibyte chars", one({**typing, "text": "é" * 1000}), 202),
        ("scroll 50000", one({"type": "scroll", "y": 50000}), 202),
        ("scroll 50001", one({"type": "scroll", "y": 50001}), 400),
        ("wait 10000", one({"type": "wait", "ms": 10000}), 202),
        ("wait 10001", one({"type": "wait", "ms": 10001}), 400),
        ("unknown action type", one({"type": "hover", "selector": "#a"}), 400),
        ("action without type", one({"selector": "#a"}), 400),
        ("unknown field in click", one({"type": "click", "selector": "#a", "force": True}), 400),
        ("unknown field in wait", one({"type": "wait", "ms": 10, "payload": {}}), 400),
        ("nested payload form", one({"type": "click", "payload": {"selector": "#a"}}), 400),
        ("actions not a list", _capture(actions={"type": "click", "selector": "#a"}), 400),
    ]


def _redaction_cases() -> list[Case]:
    def selectors(count: int) -> dict[str, Any]:
        return {"selectors": [f".s{i}" for i in range(count)]}

    return [
        ("50 redaction selectors", _capture(redaction=selectors(50)), 202),
        ("51 redaction selectors", _capture(redaction=selectors(51)), 400),
        ("redaction block", _capture(redaction={"selectors": [".x"], "mode": "block"}), 202),
        ("redaction blur", _capture(redaction={"selectors": [".x"], "mode": "blur"}), 202),
        ("redaction other", _capture(redaction={"selectors": [".x"], "mode": "other"}), 400),
    ]


def _metadata_cases() -> list[Case]:
    return [
        ("metadata 1024 ascii bytes", _capture(metadata=_metadata_of(1024)), 202),
        ("metadata 1025 ascii bytes", _capture(metadata=_metadata_of(1025)), 400),
        # 1024 bytes of UTF-8 (about 510 characters; far above 1024 if \u-escaped) is inside.
        ("metadata 1024 bytes of é", _capture(metadata=_metadata_of(1024, "é")), 202),
        ("metadata 1024 bytes of emoji", _capture(metadata=_metadata_of(1024, "😀")), 202),
        # 1025 bytes is outside although it is only about 520 characters.
        ("metadata 1025 bytes of é", _capture(metadata=_metadata_of(1025, "é")), 400),
        ("metadata 1025 bytes of €", _capture(metadata=_metadata_of(1025, "€")), 400),
        ("metadata empty object", _capture(metadata={}), 202),
        ("metadata nested", _capture(metadata={"a": {"b": [1, 2.5, None, True]}}), 202),
        ("metadata not an object", _capture(metadata=["a"]), 400),
        ("metadata a string", _capture(metadata="tag"), 400),
    ]


def _url_cases() -> list[Case]:
    return [
        ("https", {"url": "https://app.test/x?y=1#z"}, 202),
        ("HTTPS upper case", {"url": "HTTPS://app.test/x"}, 202),
        ("mixed-case scheme", {"url": "HtTpS://app.test/x"}, 202),
        ("http", {"url": "http://app.test/x"}, 400),
        ("ftp", {"url": "ftp://app.test/x"}, 400),
        ("file", {"url": "file:///etc/passwd"}, 400),
        ("javascript", {"url": "javascript:alert(1)"}, 400),
        ("data", {"url": "data:text/html,<b>x</b>"}, 400),
        ("relative", {"url": "/relative/path"}, 400),
        ("scheme-relative", {"url": "//app.test/x"}, 400),
        ("https without host", {"url": "https:///x"}, 400),
        ("empty url", {"url": ""}, 400),
        ("url not a string", {"url": 42}, 400),
        ("missing url", {"output": {"format": "png"}}, 400),
        ("empty object", {}, 400),
    ]


def _unknown_field_cases() -> list[Case]:
    cookie = {"name": "a", "value": "b", "domain": DOMAIN, "extra": 1}
    return [
        ("unknown top-level field", _capture(callbackUrl="https://app.test/cb"), 400),
        ("unknown output field", _capture(output={"format": "png", "scale": 2}), 400),
        ("unknown auth field", _capture(auth={"cookies": [], "basic": "u:p"}), 400),
        ("unknown cookie field", _capture(auth={"cookies": [cookie]}), 400),
        (
            "unknown localStorage field",
            _capture(auth={"localStorage": [{"key": "k", "value": "v", "origin": URL}]}),
            400,
        ),
        ("unknown redaction field", _capture(redaction={"selectors": [], "color": "red"}), 400),
    ]


def _snake_case_cases() -> list[Case]:
    """The Python attribute names behind the documented camelCase fields are not fields."""
    cookie = {"name": "a", "value": "b", "domain": DOMAIN}
    return [
        ("output.full_page", _capture(output={"full_page": True}), 400),
        ("auth.local_storage", _capture(auth={"local_storage": _storage(1)}), 400),
        ("cookie http_only", _capture(auth={"cookies": [{**cookie, "http_only": True}]}), 400),
        ("cookie same_site", _capture(auth={"cookies": [{**cookie, "same_site": "Lax"}]}), 400),
    ]


async def test_output_and_url_limits(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    await _check_cases(service, key, _output_cases() + _url_cases())


async def test_auth_limits_and_sensitive_headers(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    await _check_cases(service, key, _auth_cases())


async def test_action_limits(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    await _check_cases(service, key, _action_cases())


async def test_redaction_metadata_and_unknown_fields(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    cases = _redaction_cases() + _metadata_cases() + _unknown_field_cases()
    await _check_cases(service, key, cases)


async def test_undocumented_snake_case_names_are_unknown_fields(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    await _check_cases(service, key, _snake_case_cases())


async def test_malformed_bodies_are_400(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    headers = {**bearer(key), "Content-Type": "application/json"}
    bodies = [
        b"{not json",
        b'{"url": "https://app.test/x"',
        b"[1, 2]",
        b'[{"url": "https://app.test/x"}]',
        b'"https://app.test/x"',
        b"null",
        b"42",
        b"",
        b"\xff\xfe",
        b'{"url": "https://app.test/\xff"}',
        b'{"url": "https://app.test/x", "metadata": {"k": "\xc3"}}',
    ]
    wrong = []
    for body in bodies:
        response = await service.http.post("/api/captures", headers=headers, content=body)
        if response.status_code != 400:
            wrong.append(f"{body!r}: {response.status_code} {response.text}")
            continue
        _api_shape(response, 400, "VALIDATION_ERROR")
    form = await service.http.post(
        "/api/captures", headers={**bearer(key), "Content-Type": "text/plain"}, content=b"url=x"
    )
    if form.status_code != 400:
        wrong.append(f"text/plain body: {form.status_code} {form.text}")
    assert not wrong, "\n".join(wrong)


# -- the 202 answer and GET ----------------------------------------------------------------------


async def test_accepted_body_shape_and_status(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    plain = await service.http.post("/api/captures", headers=bearer(key), json={"url": URL})
    assert plain.status_code == 202, plain.text
    body = plain.json()
    assert set(body) == {"id", "status", "createdAt", "statusUrl"}, "no metadata when not sent"
    assert body["id"].startswith("cap_")
    uuid.UUID(body["id"].removeprefix("cap_"))
    assert body["status"] == "queued"
    assert ISO_Z.match(body["createdAt"]), body["createdAt"]
    datetime.fromisoformat(body["createdAt"].replace("Z", "+00:00"))
    assert body["statusUrl"] == "/api/captures/" + body["id"]

    metadata = {"order": 42, "tags": ["a", "ü"], "nested": {"ok": True, "none": None}}
    tagged = await service.http.post(
        "/api/captures", headers=bearer(key), json=_capture(metadata=metadata)
    )
    assert tagged.status_code == 202, tagged.text
    assert tagged.json()["metadata"] == metadata
    assert tagged.json()["id"] != body["id"]

    got = await service.http.get(tagged.json()["statusUrl"], headers=bearer(key))
    assert got.status_code == 200, got.text
    shown = got.json()
    assert shown["id"] == tagged.json()["id"] and shown["status"] == "queued"
    assert shown["metadata"] == metadata
    assert shown["createdAt"] == tagged.json()["createdAt"]
    assert "result" not in shown and "error" not in shown

    untagged = (await service.http.get(body["statusUrl"], headers=bearer(key))).json()
    assert untagged["status"] == "queued" and "metadata" not in untagged

    empty = await service.http.post(
        "/api/captures", headers=bearer(key), json=_capture(metadata={})
    )
    assert empty.status_code == 202 and empty.json()["metadata"] == {}, "sent, so echoed"
    empty_got = (await service.http.get(empty.json()["statusUrl"], headers=bearer(key))).json()
    assert empty_got["metadata"] == {}


async def test_get_wait_parameter(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    created = (
        await service.http.post("/api/captures", headers=bearer(key), json=_capture())
    ).json()
    path = created["statusUrl"]
    for bad in ("31", "-1", "abc", "1.5", "", "1e1"):
        response = await service.http.get(f"{path}?wait={bad}", headers=bearer(key))
        assert response.status_code == 400, (bad, response.text)
        _api_shape(response, 400, "VALIDATION_ERROR")
    for ok in ("0", "1"):
        response = await service.http.get(f"{path}?wait={ok}", headers=bearer(key))
        assert response.status_code == 200, (ok, response.text)
        assert response.json()["status"] == "queued", "nobody processes it: still queued"


# -- the error table ----------------------------------------------------------------------------


async def _new_key_of(service: Service, ws_id: str) -> dict[str, Any]:
    key: dict[str, Any] = await service.admin(
        "POST", f"/admin/workspaces/{ws_id}/keys", json={"name": "second"}
    )
    return key


async def test_unauthenticated(make_service: Factory) -> None:
    service = await make_service()
    ws_id, key = await service.new_key((DOMAIN,))
    doomed = await _new_key_of(service, ws_id)
    accepted = await service.http.post(
        "/api/captures", headers=bearer(doomed["key"]), json=_capture()
    )
    assert accepted.status_code == 202, "the key works before it is revoked"
    revoked = await service.admin("DELETE", f"/admin/keys/{doomed['id']}")
    assert revoked["revokedAt"]

    variants: list[tuple[str, dict[str, str]]] = [
        ("missing header", {}),
        ("empty header", {"Authorization": ""}),
        ("Basic scheme", {"Authorization": f"Basic {key}"}),
        ("Bearer without token", {"Authorization": "Bearer"}),
        ("bare key", {"Authorization": key}),
        ("malformed key", bearer("ssk_nope")),
        ("truncated key", bearer(key[:-1])),
        ("unknown key", bearer(UNKNOWN_KEY)),
        ("wrong secret of a real id", bearer(key[:21] + "B" * 43)),
        ("revoked key", bearer(doomed["key"])),
    ]
    for label, headers in variants:
        post = await service.http.post("/api/captures", headers=headers, json=_capture())
        assert post.status_code == 401, (label, post.text)
        _api_shape(post, 401, "UNAUTHENTICATED")
        get = await service.http.get(accepted.json()["statusUrl"], headers=headers)
        _api_shape(get, 401, "UNAUTHENTICATED")


async def test_domain_not_allowed_queues_nothing(make_service: Factory) -> None:
    service = await make_service()
    key = await _allowed_key(service)
    _, bare_key = await service.new_key()
    stream = service.state.captures.keys.stream()
    ok = await service.http.post("/api/captures", headers=bearer(key), json=_capture())
    assert ok.status_code == 202, ok.text
    before = await service.state.redis.xlen(stream)
    assert before == 1

    refused = [
        (key, "https://other.test/"),
        (key, "https://sub.app.test/"),
        (key, "https://app.test.evil.test/"),
        (key, "https://127.0.0.1/"),
        (bare_key, URL),
    ]
    for api_key, url in refused:
        response = await service.http.post(
            "/api/captures", headers=bearer(api_key), json={"url": url}
        )
        _api_shape(response, 403, "DOMAIN_NOT_ALLOWED")
    assert await service.state.redis.xlen(stream) == before, "a refused capture queues nothing"

    upper = await service.http.post(
        "/api/captures", headers=bearer(key), json={"url": "https://APP.test./x"}
    )
    assert upper.status_code == 202, ("host matched case-insensitively", upper.text)


async def test_not_found_for_unknown_malformed_and_foreign_ids(make_service: Factory) -> None:
    service = await make_service()
    ws_id, key = await service.new_key((DOMAIN,))
    sibling = (await _new_key_of(service, ws_id))["key"]
    _, stranger = await service.new_key((DOMAIN,))
    created = await service.http.post("/api/captures", headers=bearer(key), json=_capture())
    path = created.json()["statusUrl"]
    assert (await service.http.get(path, headers=bearer(key))).status_code == 200

    for other in (sibling, stranger):
        _api_shape(await service.http.get(path, headers=bearer(other)), 404, "NOT_FOUND")
        waited = await service.http.get(f"{path}?wait=0", headers=bearer(other))
        _api_shape(waited, 404, "NOT_FOUND")
    for capture_id in (f"cap_{uuid.uuid4()}", "not-a-capture", "cap_", "cap_%2E%2E", "12345"):
        response = await service.http.get(f"/api/captures/{capture_id}", headers=bearer(key))
        _api_shape(response, 404, "NOT_FOUND")


async def test_payload_too_large_and_check_order(make_service: Factory) -> None:
    service = await make_service(max_body_bytes=2048)
    key = await _allowed_key(service)
    _, no_domain_key = await service.new_key()
    big = _capture(metadata={"k": "x" * (2 * 1024 * 1024)})
    over = _capture(metadata={"k": "x" * 3000})  # also invalid metadata: 413 comes first
    invalid = _capture(output={"width": 1})
    foreign = {"url": "https://other.test/"}

    def post(api_key: str, body: Any) -> Awaitable[httpx.Response]:
        return service.http.post("/api/captures", headers=bearer(api_key), json=body)

    _api_shape(await post(UNKNOWN_KEY, big), 401, "UNAUTHENTICATED")
    _api_shape(await post(key, big), 413, "PAYLOAD_TOO_LARGE")
    _api_shape(await post(key, over), 413, "PAYLOAD_TOO_LARGE")
    _api_shape(await post(no_domain_key, over), 413, "PAYLOAD_TOO_LARGE")
    _api_shape(await post(UNKNOWN_KEY, invalid), 401, "UNAUTHENTICATED")
    _api_shape(await post(key, invalid), 400, "VALIDATION_ERROR")
    _api_shape(await post(no_domain_key, invalid), 400, "VALIDATION_ERROR")
    _api_shape(await post(key, {**foreign, "output": {"width": 1}}), 400, "VALIDATION_ERROR")
    _api_shape(await post(key, foreign), 403, "DOMAIN_NOT_ALLOWED")
    _api_shape(await post(UNKNOWN_KEY, foreign), 401, "UNAUTHENTICATED")
    assert (await post(key, _capture(metadata={"k": "x" * 1000}))).status_code == 202

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"url": "https://app.test/", "metadata": {"k": "'
        for _ in range(4):
            yield b"x" * 1024
        yield b'"}}'

    for api_key, status, code in (
        (key, 413, "PAYLOAD_TOO_LARGE"),
        (UNKNOWN_KEY, 401, "UNAUTHENTICATED"),
    ):
        streamed = await service.http.post(
            "/api/captures",
            headers={**bearer(api_key), "Content-Type": "application/json"},
            content=chunks(),
        )
        _api_shape(streamed, status, code)  # a chunked body without Content-Length too
    assert await service.state.redis.xlen(service.state.captures.keys.stream()) == 1


async def test_rate_limited_with_retry_after(make_service: Factory) -> None:
    service = await make_service(rate_limit="2/minute")
    key = await _allowed_key(service)
    first = await service.http.post("/api/captures", headers=bearer(key), json=_capture())
    assert first.status_code == 202, first.text
    second = await service.http.get(first.json()["statusUrl"], headers=bearer(key))
    assert second.status_code == 200, second.text
    for method in ("POST", "GET"):
        limited = await service.http.request(
            method,
            "/api/captures" if method == "POST" else first.json()["statusUrl"],
            headers=bearer(key),
            json=_capture() if method == "POST" else None,
        )
        _api_shape(limited, 429, "RATE_LIMITED")
        retry_after = limited.headers["Retry-After"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, retry_after
        assert limited.headers["RateLimit-Limit"] == "2"
        assert limited.headers["RateLimit-Remaining"] == "0"
    assert await service.state.redis.xlen(service.state.captures.keys.stream()) == 1


async def test_redis_away_is_a_503_that_reveals_nothing(
    tmp_redis: RedisServer, make_service: Factory
) -> None:
    # tmp_redis comes first so that it is torn down last, after the service has stopped.
    service = await make_service(redis_url=tmp_redis.url)
    key = await _allowed_key(service)
    created = await service.http.post("/api/captures", headers=bearer(key), json=_capture())
    assert created.status_code == 202, created.text
    await asyncio.to_thread(tmp_redis.stop)
    try:
        responses = [
            await service.http.post("/api/captures", headers=bearer(key), json=_capture()),
            await service.http.get(created.json()["statusUrl"], headers=bearer(key)),
        ]
        for response in responses:
            body = _api_shape(response, 503, "SERVICE_UNAVAILABLE")
            assert response.headers["Retry-After"] == "1"
            message = body["error"]["message"]
            for leak in ("redis", "connection", "traceback", "errno", ".py", "/work", "6379"):
                assert leak not in message.lower(), message
            assert str(tmp_redis.port) not in message
            assert "Traceback" not in response.text and "redis" not in response.text.lower()
    finally:
        await asyncio.to_thread(tmp_redis.start)


async def test_idempotency_key(make_service: Factory) -> None:
    service = await make_service()
    ws_id, key = await service.new_key((DOMAIN,))
    sibling = (await _new_key_of(service, ws_id))["key"]
    stream = service.state.captures.keys.stream()
    body = _capture(metadata={"n": 1})
    headers = {**bearer(key), "Idempotency-Key": "order-42"}

    first = await service.http.post("/api/captures", headers=headers, json=body)
    again = await service.http.post("/api/captures", headers=headers, json=body)
    assert first.status_code == 202 and again.status_code == 202, (first.text, again.text)
    assert again.json() == first.json(), "the first response is replayed"
    assert await service.state.redis.xlen(stream) == 1, "only one job queued"

    changed = await service.http.post(
        "/api/captures", headers=headers, json=_capture(metadata={"n": 2})
    )
    _api_shape(changed, 409, "IDEMPOTENCY_CONFLICT")
    assert await service.state.redis.xlen(stream) == 1

    other_key = await service.http.post(
        "/api/captures", headers={**bearer(sibling), "Idempotency-Key": "order-42"}, json=body
    )
    assert other_key.status_code == 202, other_key.text
    assert other_key.json()["id"] != first.json()["id"], "another key never replays this one"

    too_long = await service.http.post(
        "/api/captures", headers={**bearer(key), "Idempotency-Key": "k" * 256}, json=body
    )
    _api_shape(too_long, 400, "VALIDATION_ERROR")
    longest = await service.http.post(
        "/api/captures", headers={**bearer(key), "Idempotency-Key": "k" * 255}, json=body
    )
    assert longest.status_code == 202, longest.text
    assert await service.state.redis.xlen(stream) == 3
