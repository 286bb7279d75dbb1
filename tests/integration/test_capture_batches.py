"""``POST /api/captures/batch``: up to 100 captures in one request, each the defaults
deep-merged with the item and checked alone (SPEC 13).

No worker runs: queued captures stay queued. What a queued capture will run is read back
from its sealed request, as a worker would read it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from captures.batch import MAX_BATCH_ITEMS, item_request
from captures.models import CaptureRequest
from sessions.domains import host_matches
from tests.conftest import ServiceFactory
from tests.integration.test_ref_fuzz import JUNK
from tests.support.procs import RedisServer
from tests.support.service import Service, settings_for_tests, start_service

DOMAIN = "app.test"
URL = f"https://{DOMAIN}/page"
BATCH = "/api/captures/batch"
LEVELS = 10_000


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _assert_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "VALIDATION_ERROR", body
    assert body["error"]["message"], body


async def _post(service: Service, key: str, body: Any, **headers: str) -> httpx.Response:
    return await service.http.post(BATCH, headers={**bearer(key), **headers}, json=body)


async def _request_of(service: Service, capture_id: str) -> CaptureRequest:
    """The request a worker will run for a queued capture (decrypted, white-box)."""
    captures = service.state.captures
    record = await captures.store.get(capture_id)
    assert record is not None
    request = await captures.request(record)
    assert request is not None
    return request


async def _listed(service: Service, key: str) -> list[dict[str, Any]]:
    response = await service.http.get("/api/captures?limit=100", headers=bearer(key))
    assert response.status_code == 200, response.text
    captures: list[dict[str, Any]] = response.json()["captures"]
    return captures


async def test_defaults_are_deep_merged_into_each_item(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    defaults = {
        "url": URL,
        "output": {"format": "jpeg", "quality": 50, "width": 800},
        "redaction": {"selectors": [".a", ".b"], "mode": "blur"},
        "metadata": {"team": "ops", "tags": {"env": "prod", "tier": 1}},
    }
    items = [
        {},
        {"url": f"https://{DOMAIN}/other", "output": {"quality": 90}},
        {"redaction": {"selectors": [".c"]}, "metadata": {"tags": {"tier": 2}, "n": 3}},
    ]
    response = await _post(service, key, {"defaults": defaults, "captures": items})
    assert response.status_code == 202, response.text
    answers = response.json()["captures"]
    assert len(answers) == 3
    assert all(set(a) == {"id", "status"} and a["status"] == "queued" for a in answers), answers

    first, second, third = [await _request_of(service, a["id"]) for a in answers]
    assert first.url == URL and first.output.format == "jpeg"
    assert (first.output.quality, first.output.width) == (50, 800)
    assert second.url == f"https://{DOMAIN}/other"
    assert (second.output.format, second.output.quality, second.output.width) == ("jpeg", 90, 800)
    assert third.redaction is not None
    assert third.redaction.selectors == [".c"], "arrays replace, never append"
    assert third.redaction.mode == "blur"
    assert third.metadata == {"team": "ops", "tags": {"env": "prod", "tier": 2}, "n": 3}

    # Each is an ordinary capture of the key, as a read answers it.
    read = await service.http.get(f"/api/captures/{answers[2]['id']}", headers=bearer(key))
    assert read.status_code == 200 and read.json()["status"] == "queued"
    assert read.json()["metadata"] == third.metadata
    assert {c["id"] for c in await _listed(service, key)} == {a["id"] for a in answers}


async def test_a_bad_item_does_not_refuse_the_others(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    items: list[Any] = [
        {"url": URL},
        {"url": "http://app.test/plain"},  # not https
        {"url": "https://elsewhere.test/"},  # not an allowed domain
        {"url": URL, "output": {"width": 10}},
        {"url": URL, "unknown": 1},
        "https://app.test/",
        None,
        {},
        {"url": URL, "metadata": {"big": "x" * 2000}},
        {"url": f"https://{DOMAIN}/last", "output": {"format": "pdf"}},
    ]
    response = await _post(service, key, {"captures": items})
    assert response.status_code == 202, response.text
    answers = response.json()["captures"]
    assert len(answers) == len(items)
    codes = [a["error"]["code"] if "error" in a else a["status"] for a in answers]
    assert codes == [
        "queued",
        "VALIDATION_ERROR",
        "DOMAIN_NOT_ALLOWED",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "VALIDATION_ERROR",
        "queued",
    ]
    for answer in answers:
        if "error" in answer:
            assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message"}
    assert "elsewhere.test" in answers[2]["error"]["message"]
    assert "width" in answers[3]["error"]["message"]
    assert "unknown" in answers[4]["error"]["message"]
    queued = [answers[0]["id"], answers[9]["id"]]
    assert sorted(c["id"] for c in await _listed(service, key)) == sorted(queued)
    assert (await _request_of(service, answers[9]["id"])).output.format == "pdf"


async def test_a_malformed_envelope_is_refused_whole(make_service: ServiceFactory) -> None:
    service = await make_service(max_body_bytes=64 * 1024)
    _, key = await service.new_key((DOMAIN,))
    item = {"url": URL}
    bodies: list[Any] = [
        [item],
        "captures",
        {},
        {"captures": item},
        {"captures": None},
        {"captures": [item] * (MAX_BATCH_ITEMS + 1)},
        {"captures": [item], "defaults": [item]},
        {"captures": [item], "defaults": "x"},
        {"captures": [item], "extra": True},
        {"captures": [item], "Defaults": {}},
    ]
    for body in bodies:
        _assert_400(await _post(service, key, body))
    raw = {**bearer(key), "Content-Type": "application/json"}
    for content in (b"{", b"", b'{"captures": [}', "\udcff".encode("utf-8", "surrogatepass")):
        _assert_400(await service.http.post(BATCH, headers=raw, content=content))
    assert await _listed(service, key) == [], "nothing was queued"

    full = await _post(service, key, {"captures": [item] * MAX_BATCH_ITEMS})
    assert full.status_code == 202, full.text
    assert len(full.json()["captures"]) == MAX_BATCH_ITEMS
    empty = await _post(service, key, {"captures": []})
    assert empty.status_code == 202 and empty.json() == {"captures": []}

    unauthenticated = await service.http.post(BATCH, json={"captures": [item]})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["code"] == "UNAUTHENTICATED"
    big = {"captures": [{"url": URL, "metadata": {"k": "v" * 900}}] * 80}
    too_large = await _post(service, key, big)
    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_json_nested_ten_thousand_deep_is_a_400(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    headers = {**bearer(key), "Content-Type": "application/json"}
    deep_array = "[" * LEVELS + "]" * LEVELS
    deep_object = '{"a":' * LEVELS + "1" + "}" * LEVELS
    contents = [
        deep_array,
        deep_object,
        '{"captures": ' + deep_array + "}",
        '{"captures": [' + deep_object + "]}",
        '{"defaults": ' + deep_object + ', "captures": []}',
        '{"captures": [{"url": "' + URL + '", "metadata": ' + deep_object + "}]}",
    ]
    for content in contents:
        _assert_400(await service.http.post(BATCH, headers=headers, content=content))


async def test_idempotency_key_replays_the_batch(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    body = {"defaults": {"url": URL}, "captures": [{}, {"url": "https://nope.test/"}]}
    first = await _post(service, key, body, **{"Idempotency-Key": "batch-1"})
    again = await _post(service, key, body, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == again.status_code == 202, first.text
    assert first.json() == again.json()
    assert len(await _listed(service, key)) == 1, "queued once"
    other = {"captures": [{"url": URL}]}
    conflict = await _post(service, key, other, **{"Idempotency-Key": "batch-1"})
    assert conflict.status_code == 409, conflict.text
    assert conflict.json()["error"]["code"] == "IDEMPOTENCY_CONFLICT"
    # One capture's key space is not the batch's: the same key there is a new request.
    single = await service.http.post(
        "/api/captures", headers={**bearer(key), "Idempotency-Key": "batch-1"}, json={"url": URL}
    )
    assert single.status_code == 202, single.text
    assert len(await _listed(service, key)) == 2


# -- fuzzed bodies --------------------------------------------------------------------------------

CAPTURE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "url": st.sampled_from([URL, "https://nope.test/", "http://app.test/", "HTTPS://APP.TEST/"])
    | JUNK,
    "output": st.fixed_dictionaries(
        {},
        optional={
            "format": st.sampled_from(["png", "jpeg", "pdf", "gif"]) | JUNK,
            "quality": st.integers(-5, 120) | JUNK,
            "width": st.integers(0, 5000) | JUNK,
            "fullPage": st.booleans() | JUNK,
        },
    )
    | JUNK,
    "actions": st.lists(
        st.fixed_dictionaries({"type": st.sampled_from(["click", "wait", "scroll"]) | JUNK}),
        max_size=3,
    )
    | JUNK,
    "redaction": st.fixed_dictionaries({"selectors": st.lists(st.text(max_size=5), max_size=2)})
    | JUNK,
    "metadata": st.dictionaries(st.text(max_size=5), JUNK, max_size=3) | JUNK,
    "extra": JUNK,
}


@st.composite
def capture_bodies(draw: st.DrawFn) -> Any:
    """A capture body with some fields, fuzzed (or any value, now and then)."""
    names = draw(st.lists(st.sampled_from(sorted(CAPTURE_FIELDS)), unique=True))
    body = {name: draw(CAPTURE_FIELDS[name]) for name in names}
    return body if draw(st.integers(0, 9)) else draw(JUNK)


@st.composite
def batches(draw: st.DrawFn) -> Any:
    """A batch envelope: defaults and items fuzzed, other fields now and then, or any value."""
    body: dict[str, Any] = {"captures": draw(st.lists(capture_bodies(), max_size=4))}
    if draw(st.booleans()):
        body["defaults"] = draw(capture_bodies())
    if not draw(st.integers(0, 9)):
        body[draw(st.sampled_from(["extra", "captures", "defaults"]))] = draw(JUNK)
    return body if draw(st.integers(0, 19)) else draw(JUNK)


def _envelope_ok(body: Any) -> bool:
    if not isinstance(body, dict) or set(body) - {"captures", "defaults"}:
        return False
    defaults = body.get("defaults")
    captures = body.get("captures")
    return (defaults is None or isinstance(defaults, dict)) and (
        isinstance(captures, list) and len(captures) <= MAX_BATCH_ITEMS
    )


def _expected(defaults: Any, item: Any) -> str:
    try:
        request = item_request(defaults, item)
    except ValidationError:
        return "VALIDATION_ERROR"
    host = urlsplit(request.url).hostname or ""
    return "queued" if host_matches(host, [DOMAIN]) else "DOMAIN_NOT_ALLOWED"


@pytest.fixture(scope="module")
async def fuzz_target(redis_server: RedisServer) -> AsyncIterator[tuple[Service, str]]:
    """One instance and one key for every example."""
    settings_ = settings_for_tests(redis_server.url, f"fz{secrets.token_hex(4)}:")
    service = await start_service(settings_)
    _, key = await service.new_key((DOMAIN,))
    yield service, key
    await service.aclose()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=batches())
@example(body={"captures": [{"url": URL, "output": {"quality": float("nan")}}]})
@example(body={"defaults": {"url": URL}, "captures": [{"url": None}, {"metadata": None}]})
@example(body={"defaults": {"output": [1]}, "captures": [{"url": URL, "output": {}}]})
@example(body={"captures": [{"url": "https://" + "a" * 300_000}]})
@example(body={"captures": [{"url": "e" + "7" * 5000}], "defaults": {}})
@example(body={"captures": [{"url": "https://[::1/"}, {"url": "https://app.test:99999/"}]})
async def test_no_batch_body_makes_a_500(fuzz_target: tuple[Service, str], body: Any) -> None:
    service, key = fuzz_target
    # Serialised here, so NaN and Infinity go out as the literals Python's reader takes.
    headers = {**bearer(key), "Content-Type": "application/json"}
    response = await service.http.post(BATCH, headers=headers, content=json.dumps(body))
    event(f"status {response.status_code}")
    sent = json.loads(json.dumps(body))
    if not _envelope_ok(sent):
        _assert_400(response)
        return
    assert response.status_code == 202, (json.dumps(body)[:300], response.text)
    answers = response.json()["captures"]
    assert len(answers) == len(sent["captures"])
    for item, answer in zip(sent["captures"], answers, strict=True):
        got = answer["error"]["code"] if "error" in answer else answer["status"]
        assert got == _expected(sent.get("defaults"), item), (item, answer)
