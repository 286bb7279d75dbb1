"""The bodies of scoped tokens and live links, fuzzed (SPEC sections 12 and 18): any value
gets an answer in the documented shape, never a 500, and a 400 exactly when the request
model refuses it; deep and huge bodies are refused too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.schemas import LiveRequest, TokenRequest
from tests.integration.sessions_helpers import Client, new_client
from tests.integration.test_ref_fuzz import JUNK
from tests.support.service import Service

ROUTES: dict[str, type[BaseModel]] = {"tokens": TokenRequest, "live": LiveRequest}
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "scope": st.sampled_from(["cdp", "live-view", "live-interact", "CDP", ""]) | JUNK,
    "mode": st.sampled_from(["view", "interact", "View", ""]) | JUNK,
    "ttlSeconds": st.integers(-10, 5000) | st.sampled_from([59, 60, 3600, 3601]) | JUNK,
    "ttl_seconds": st.integers(60, 3600),
    "extra": JUNK,
}


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, Any]:
    """A route and a body: some fields fuzzed, or the whole body now and then."""
    route = draw(st.sampled_from(sorted(ROUTES)))
    body: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=0, unique=True)):
        body[name] = draw(FIELDS[name])
    return route, body if draw(st.integers(0, 9)) else draw(JUNK)


@pytest.fixture(scope="module")
async def client(browser_service: Service) -> Client:
    return await new_client(browser_service)


@pytest.fixture(scope="module")
async def sid(client: Client) -> AsyncIterator[str]:
    session = await client.create()
    yield str(session["id"])
    await client.delete(session["id"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bodies())
@example(case=("tokens", {"scope": "cdp", "ttlSeconds": float("nan")}))
@example(case=("live", {"mode": "view", "ttlSeconds": "600"}))
@example(case=("live", {"mode": "interact", "ttlSeconds": True}))
@example(case=("tokens", {"scope": "x" * 300_000}))
async def test_no_token_or_live_body_makes_a_500(
    client: Client, sid: str, case: tuple[str, Any]
) -> None:
    route, body = case
    headers = {**client.headers, "Content-Type": "application/json"}
    response = await client.service.http.post(
        f"/v1/sessions/{sid}/{route}", headers=headers, content=json.dumps(body)
    )
    event(f"{route} {response.status_code}")
    try:
        ROUTES[route].model_validate(json.loads(json.dumps(body)))
    except ValidationError:
        valid = False
    else:
        valid = True
    assert response.status_code == (201 if valid else 400), (route, body, response.text)
    answer = response.json()
    if response.status_code == 400:
        assert answer["success"] is False and answer["code"] == "VALIDATION_ERROR", answer
    else:
        assert set(answer) == (
            {"token", "scope", "expiresAt"} if route == "tokens" else {"url", "mode", "expiresAt"}
        )


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_deep_and_huge_bodies_are_refused(client: Client, sid: str, route: str) -> None:
    headers = {**client.headers, "Content-Type": "application/json"}
    for raw in (b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        response = await client.service.http.post(
            f"/v1/sessions/{sid}/{route}", headers=headers, content=raw
        )
        assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"
    huge = json.dumps({"scope": "cdp", "mode": "view", "pad": "x" * (2 * 1024 * 1024)})
    response = await client.service.http.post(
        f"/v1/sessions/{sid}/{route}", headers=headers, content=huge
    )
    assert response.status_code == 413 and response.json()["code"] == "PAYLOAD_TOO_LARGE"
