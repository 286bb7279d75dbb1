"""The output and page options of ``POST /api/captures`` (SPEC section 13), fuzzed: any value
gets an answer in the documented shape, never a 500; a 400 exactly when the request model
refuses it, naming the fields at fault; nonsense combinations are refused by name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from captures.models import CaptureRequest
from sessions.action_models import ActionRequest
from tests.integration.sessions_helpers import Client, new_client
from tests.integration.test_ref_fuzz import JUNK
from tests.support.service import Service

URL = "https://app.test/page"

OUTPUT: dict[str, st.SearchStrategy[Any]] = {
    "format": st.sampled_from(["png", "jpeg", "webp", "pdf", "gif", "WEBP"]) | JUNK,
    "quality": st.integers(-5, 105) | JUNK,
    "fullPage": st.booleans() | JUNK,
    "deviceScaleFactor": st.floats(0, 4) | st.integers(0, 4) | JUNK,
    "selector": st.sampled_from(["#box", "", "x" * 2001]) | JUNK,
    "clip": st.fixed_dictionaries(
        {
            "x": st.integers(-10, 20_000) | st.floats(),
            "y": st.integers(-10, 200_000),
            "width": st.integers(-1, 20_000) | JUNK,
            "height": st.integers(0, 20_000),
        }
    )
    | JUNK,
    "omitBackground": st.booleans() | JUNK,
    "pdf": st.fixed_dictionaries(
        {},
        optional={
            "format": st.sampled_from(["A4", "A3", "A5", "Letter", "Legal", "Tabloid", "a4"])
            | JUNK,
            "landscape": st.booleans() | JUNK,
            "printBackground": st.booleans() | JUNK,
            "scale": st.floats(0, 3) | JUNK,
            "margin": st.fixed_dictionaries(
                {}, optional={"top": st.sampled_from(["1cm", "10px", "0", "1 furlong", "-1mm"])}
            )
            | JUNK,
            "pageRanges": st.sampled_from(["1", "1-3, 5", "2-", "one", "", "1--2", "3-2", "0"])
            | JUNK,
            "extra": JUNK,
        },
    )
    | JUNK,
}
PAGE: dict[str, st.SearchStrategy[Any]] = {
    "waitUntil": st.sampled_from(["load", "domcontentloaded", "networkidle", "commit"]) | JUNK,
    "delayMs": st.integers(-1, 10_001) | JUNK,
    "colorScheme": st.sampled_from(["light", "dark", "no-preference"]) | JUNK,
    "reducedMotion": st.booleans() | JUNK,
    "timezoneId": st.sampled_from(["Europe/Paris", "Mars/Base", "UTC"]) | JUNK,
    "locale": st.sampled_from(["fr-FR", "en", "not a locale"]) | JUNK,
    "userAgent": st.sampled_from(["Agent/1", "", "u" * 513]) | JUNK,
    "css": st.text(max_size=20) | st.integers(9999, 10_001).map(lambda n: "a" * n) | JUNK,
    "hideSelectors": st.lists(st.sampled_from(["#a", ".b", ""]), max_size=52) | JUNK,
    "blockResources": st.lists(
        st.sampled_from(["image", "media", "font", "stylesheet", "script"]), max_size=5
    )
    | JUNK,
    "extra": JUNK,
}


def _some(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(fields)), unique=True))
    return {name: draw(fields[name]) for name in names}


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A capture body with fuzzed output and page options (or junk in their place)."""
    body: dict[str, Any] = {"url": URL}
    body["output"] = _some(draw, OUTPUT) if draw(st.integers(0, 9)) else draw(JUNK)
    body["page"] = _some(draw, PAGE) if draw(st.integers(0, 9)) else draw(JUNK)
    return body


async def _post(service: Service, key: str, content: str | bytes) -> Any:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return await service.http.post("/api/captures", headers=headers, content=content)


@pytest.fixture
async def key(service: Service) -> str:
    _, key = await service.new_key(("app.test",))
    return key


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=bodies())
@example(body={"url": URL, "output": {"deviceScaleFactor": float("nan")}})
@example(body={"url": URL, "output": {"clip": {"x": 0, "y": 0, "width": 1e400, "height": 1}}})
@example(body={"url": URL, "page": {"delayMs": True}})
@example(body={"url": URL, "output": {"format": "pdf", "pdf": {"scale": "1"}}})
async def test_no_options_body_makes_a_500(service: Service, key: str, body: Any) -> None:
    # Serialised here, so NaN and Infinity go out as the literals Python's reader takes.
    response = await _post(service, key, json.dumps(body))
    event(str(response.status_code))
    try:
        CaptureRequest.model_validate(json.loads(json.dumps(body)))
    except ValidationError as err:
        fields = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
    else:
        fields = set()
    if not fields:
        assert response.status_code == 202, (body, response.text)
        return
    assert response.status_code == 400, (body, response.text)
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert any(name in error["message"] for name in fields), (error, fields)


@pytest.mark.parametrize(
    ("output", "page", "named"),
    [
        ({"format": "png", "quality": 80}, {}, "quality is only allowed with format jpeg or webp"),
        ({"format": "jpeg", "omitBackground": True}, {}, "omitBackground"),
        ({"format": "pdf", "omitBackground": True}, {}, "omitBackground"),
        ({"selector": "#a", "fullPage": True}, {}, "selector and fullPage"),
        ({"clip": {"x": 0, "y": 0, "width": 9, "height": 9}, "selector": "#a"}, {}, "selector"),
        (
            {"clip": {"x": 0, "y": 0, "width": 9, "height": 9}, "fullPage": True},
            {},
            "clip and fullPage",
        ),
        ({"format": "png", "pdf": {"format": "A4"}}, {}, "pdf is only allowed with format pdf"),
        ({"format": "pdf", "deviceScaleFactor": 2}, {}, "deviceScaleFactor"),
        ({"format": "pdf", "clip": {"x": 0, "y": 0, "width": 9, "height": 9}}, {}, "clip"),
        ({"deviceScaleFactor": 3.5}, {}, "output.deviceScaleFactor"),
        ({"deviceScaleFactor": 0.5}, {}, "output.deviceScaleFactor"),
        ({"clip": {"x": -1, "y": 0, "width": 9, "height": 9}}, {}, "output.clip.x"),
        ({"clip": {"x": 0, "y": 0, "width": 0, "height": 9}}, {}, "output.clip.width"),
        ({"clip": {"x": 0, "y": 0, "width": 9}}, {}, "output.clip.height"),
        ({"format": "pdf", "pdf": {"scale": 2.5}}, {}, "output.pdf.scale"),
        ({"format": "pdf", "pdf": {"format": "B5"}}, {}, "output.pdf.format"),
        ({"format": "pdf", "pdf": {"margin": {"top": "1em"}}}, {}, "output.pdf.margin.top"),
        ({"format": "pdf", "pdf": {"pageRanges": "1;2"}}, {}, "output.pdf.pageRanges"),
        ({"format": "pdf", "pdf": {"pageRanges": "3-1"}}, {}, "output.pdf.pageRanges"),
        ({"format": "pdf", "pdf": {"pageRanges": "0-2"}}, {}, "output.pdf.pageRanges"),
        ({}, {"waitUntil": "commit"}, "page.waitUntil"),
        ({}, {"delayMs": 10_001}, "page.delayMs"),
        ({}, {"colorScheme": "sepia"}, "page.colorScheme"),
        ({}, {"css": "a" * 10_001}, "page.css"),
        ({}, {"hideSelectors": ["#a"] * 51}, "page.hideSelectors"),
        ({}, {"blockResources": ["script"]}, "page.blockResources"),
        ({}, {"timezoneId": "Mars/Base"}, "page.timezoneId"),
        ({}, {"locale": "not a locale"}, "page.locale"),
        ({}, {"userAgent": ""}, "page.userAgent"),
        ({}, {"scripts": []}, "page.scripts"),
    ],
)
async def test_nonsense_options_are_400s_naming_the_fields(
    service: Service, key: str, output: dict[str, Any], page: dict[str, Any], named: str
) -> None:
    body = {"url": URL, "output": output, "page": page}
    response = await _post(service, key, json.dumps(body))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and named in error["message"], error


async def test_deep_and_huge_options_are_refused(service: Service, key: str) -> None:
    deep = '{"url": "' + URL + '", "page": {"css": ' + "[" * 5000 + "]" * 5000 + "}}"
    response = await _post(service, key, deep)
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    nested = {"url": URL, "output": {"pdf": {"margin": {"top": {"a": [[[[[{"b": 1}]]]]]}}}}}
    response = await _post(service, key, json.dumps(nested))
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    huge = json.dumps({"url": URL, "page": {"css": "a" * (2 * 1024 * 1024)}})
    response = await _post(service, key, huge)
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    valid = {"url": URL, "output": {"format": "webp", "quality": 90, "deviceScaleFactor": 2}}
    response = await _post(service, key, json.dumps(valid))
    assert response.status_code == 202, response.text


ACTION_FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "screenshot": {
        **{k: OUTPUT[k] for k in ("format", "quality", "fullPage", "deviceScaleFactor")},
        **{k: OUTPUT[k] for k in ("selector", "clip", "omitBackground")},
        "ref": st.sampled_from(["e1", "e", "f1e2"]) | JUNK,
        "inline": st.just(True),
    },
    "pdf": {
        "format": st.sampled_from(["A4", "Letter", "Tabloid", "B5"]) | JUNK,
        "landscape": st.booleans() | JUNK,
        "printBackground": st.booleans() | JUNK,
        "scale": st.floats(0, 3) | JUNK,
        "margin": st.fixed_dictionaries({}, optional={"left": st.sampled_from(["2in", "x"])})
        | JUNK,
        "pageRanges": st.sampled_from(["1", "1-", "a"]) | JUNK,
        "inline": st.just(True),
    },
}


@pytest.fixture
async def live(service: Service) -> tuple[Client, str]:
    """A client and one of its sessions, on a blank page."""
    client = await new_client(service)
    session = await client.create()
    return client, str(session["id"])


@st.composite
def render_actions(draw: st.DrawFn) -> dict[str, Any]:
    """A screenshot or pdf action with some of its options fuzzed."""
    kind = draw(st.sampled_from(sorted(ACTION_FIELDS)))
    return {"type": kind, "payload": _some(draw, ACTION_FIELDS[kind])}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(action=render_actions())
@example(action={"type": "screenshot", "payload": {"deviceScaleFactor": float("inf")}})
@example(action={"type": "pdf", "payload": {"scale": float("nan")}})
async def test_no_render_action_payload_makes_a_500(
    service: Service, live: tuple[Client, str], action: Any
) -> None:
    client, sid = live
    headers = {**client.headers, "Content-Type": "application/json"}
    response = await service.http.post(
        f"/v1/sessions/{sid}/actions", headers=headers, content=json.dumps(action), timeout=60
    )
    event(f"{action['type']} {response.status_code}")
    try:
        ActionRequest.model_validate(json.loads(json.dumps(action)))
    except ValidationError:
        assert response.status_code == 400, (action, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"
    else:
        # A clip off the blank page, a page range or an element it lacks: the render
        # fails, by its code.
        assert response.status_code in (200, 422), (action, response.text)
        if response.status_code == 422:
            codes = ("RENDER_FAILED", "REF_NOT_FOUND", "SELECTOR_TIMEOUT")
            assert response.json()["code"] in codes, response.text
