"""The fields of refs, snapshots and Markdown, fuzzed: any value gets an answer in the
documented shape, never a 500 (SPEC sections 5 and 11), and a 400 exactly when the action's
model refuses the body."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sessions.action_models import REF_PATTERN, ActionRequest
from tests.integration.sessions_helpers import Client, new_client
from tests.support.service import Service
from tests.support.target_site import TargetSite

JUNK: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=24)
    | st.integers(1000, 300_000).map(lambda n: "e" + "7" * n),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
"""Any JSON value: wrong types, huge strings and numbers, non-finite floats, nesting."""

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "ref": st.from_regex(REF_PATTERN, fullmatch=True) | st.sampled_from(["e1", "e2"]) | JUNK,
    # Only selectors that match at once: a missing one would wait out its timeout.
    "selector": st.sampled_from(["#btn", "#name", "#color"])
    | JUNK.filter(lambda value: not isinstance(value, str)),
    "mode": st.sampled_from(["ai", "default", "AI", ""]) | JUNK,
    "depth": st.integers(-5, 60) | JUNK,
    "maxChars": st.integers(0, 300_000) | JUNK,
    "format": st.sampled_from(["markdown", "html", "text", "png"]) | JUNK,
}
ACTION_FAILURES = {
    "REF_NOT_FOUND",
    "SELECTOR_TIMEOUT",
    "ACTION_FAILED",
    "DOMAIN_NOT_ALLOWED",
    "TARGET_BLOCKED",
    "NAVIGATION_FAILED",
}
TARGET = ("ref", "selector")
WAITS = {"timeout": 200}  # an element that never comes costs little
TYPES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    # type: (the fields fuzzed, the other fields it needs)
    "click": (TARGET, WAITS),
    "hover": (TARGET, WAITS),
    "type": (TARGET, {"text": "x", **WAITS}),
    "fill": (TARGET, {"value": "x", **WAITS}),
    "select": (TARGET, {"values": ["red"], **WAITS}),
    "press": (TARGET, {"key": "a", **WAITS}),
    "scroll": (TARGET, WAITS),
    "waitForSelector": (TARGET, WAITS),
    "query": (TARGET, {}),
    "content": ((*TARGET, "format"), {}),
    "screenshot": ((*TARGET, "format"), {"inline": True}),
    "snapshot": (("selector", "mode", "depth", "maxChars"), {}),
}


@st.composite
def actions(draw: st.DrawFn) -> dict[str, Any]:
    """An action of a type that takes a target or the snapshot's fields, some of them fuzzed
    (or its whole payload, now and then)."""
    kind = draw(st.sampled_from(sorted(TYPES)))
    fuzzed, needed = TYPES[kind]
    payload: dict[str, Any] = dict(needed) if draw(st.integers(0, 4)) else {}
    for name in draw(st.lists(st.sampled_from(fuzzed), min_size=1, unique=True)):
        payload[name] = draw(FIELDS[name])
    return {"type": kind, "payload": payload if draw(st.integers(0, 9)) else draw(JUNK)}


@pytest.fixture(scope="module")
async def client(browser_service: Service) -> Client:
    return await new_client(browser_service)


@pytest.fixture(scope="module")
async def sid(client: Client, target_site: TargetSite) -> AsyncIterator[str]:
    """One session on the form page, with an ai snapshot taken (refs e1, e2 … exist)."""
    session = await client.create()
    await client.ok(session["id"], "goto", url=target_site.url("/form"))
    await client.ok(session["id"], "snapshot", mode="ai")
    yield str(session["id"])
    await client.delete(session["id"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(action=actions())
@example(action={"type": "click", "payload": {"ref": "e" + "9" * 300_000}})
@example(action={"type": "snapshot", "payload": {"mode": "ai", "maxChars": float("nan")}})
@example(action={"type": "snapshot", "payload": {"depth": [[[[{"a": 1}]]]]}})
@example(action={"type": "content", "payload": {"format": "markdown", "ref": {"ref": "e1"}}})
@example(action={"type": "scroll", "payload": {"ref": "e1", "timeout": 200}})
async def test_no_ref_or_markdown_field_makes_a_500(
    client: Client, sid: str, action: dict[str, Any]
) -> None:
    # Serialised here, so NaN and Infinity go out as the literals Python's reader takes.
    headers = {**client.headers, "Content-Type": "application/json"}
    response = await client.service.http.post(
        f"/v1/sessions/{sid}/actions", headers=headers, content=json.dumps(action)
    )
    assert response.status_code in (200, 400, 422), (json.dumps(action)[:300], response.text)
    event(f"status {response.status_code}")
    try:
        ActionRequest.model_validate(json.loads(json.dumps(action)))
    except ValidationError:
        valid = False
    else:
        valid = True
    assert (response.status_code != 400) is valid, (json.dumps(action)[:300], response.text)
    body = response.json()
    assert body["success"] is (response.status_code == 200), body
    if response.status_code == 400:
        assert body["code"] == "VALIDATION_ERROR"
    elif response.status_code == 422:
        # A fuzzed click may follow a link, off the allowed hosts too.
        assert body["code"] in ACTION_FAILURES, body
