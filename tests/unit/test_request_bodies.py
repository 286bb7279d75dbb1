"""Request bodies at the edge: JSON nesting bounded, and action bodies read as the API reads them.

``loads_body`` parses every JSON body the API reads; ``parse_body`` is how the front door
turns a raw body into its route's model (here an action, as the action lane reads one for
``POST /v1/sessions/{id}/actions``). Whatever the body, the caller sees a documented 400
(mapped by ``api_error_of``), never a crash.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from app.error_handlers import api_error_of
from app.front import parse_body
from app.jsonbody import MAX_JSON_DEPTH, JsonTooDeep, depth_of, loads_body
from sessions.action_models import ActionRequest

WAIT = b'{"type": "wait", "payload": {"ms": 1}}'
TOO_DEEP = f"Request body is nested deeper than {MAX_JSON_DEPTH} levels."


def _nested_lists(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _parse_action(content_type: str, raw: bytes) -> ActionRequest:
    return parse_body(ActionRequest, content_type, raw)


def _refusal(raw: bytes, content_type: str = "application/json") -> tuple[int, str, str]:
    with pytest.raises(Exception) as caught:
        _parse_action(content_type, raw)
    mapped = api_error_of(caught.value)
    return mapped.status, mapped.code, mapped.message


# --------------------------------------------------------------------------- depth_of


@pytest.mark.parametrize(
    ("value", "depth"),
    [
        (None, 0),
        ("[[[", 0),
        (7, 0),
        ([], 1),
        ({}, 1),
        ([1, "two", None], 1),
        ([[]], 2),
        ({"a": [1, {"b": 2}]}, 3),
        ([[], [[[]]], []], 4),
        ({"a": 1, "b": {"c": {"d": {}}}}, 4),
    ],
)
def test_depth_counts_arrays_and_objects_not_scalars(value: Any, depth: int) -> None:
    assert depth_of(value) == depth


def test_depth_of_a_very_deep_value_needs_no_recursion() -> None:
    assert depth_of(_nested_lists(100_000)) > MAX_JSON_DEPTH


# --------------------------------------------------------------------------- loads_body


@pytest.mark.parametrize("raw", [WAIT, WAIT.decode()])
def test_bodies_parse_from_bytes_and_text(raw: str | bytes) -> None:
    assert loads_body(raw) == {"type": "wait", "payload": {"ms": 1}}


def test_nesting_up_to_the_bound_is_accepted() -> None:
    body = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert depth_of(loads_body(body)) == MAX_JSON_DEPTH
    objects = '{"a":' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH
    assert depth_of(loads_body(objects.encode())) == MAX_JSON_DEPTH
    # More brackets than the bound, but never nested past it.
    siblings = "[" + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + ", [], {}]"
    assert depth_of(loads_body(siblings)) == MAX_JSON_DEPTH


@pytest.mark.parametrize(
    "raw",
    [
        "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
        '{"a":' * (MAX_JSON_DEPTH + 1) + "null" + "}" * (MAX_JSON_DEPTH + 1),
        '{"a": [' * 40 + "]}" * 40,  # arrays and objects count alike: 80 levels
        "[" * 100_000 + "]" * 100_000,  # deeper than the interpreter's recursion limit
        "[" * 100_000,  # unterminated, and too deep before the end is seen
    ],
)
def test_bodies_nested_past_the_bound_are_a_documented_400(raw: str) -> None:
    with pytest.raises(JsonTooDeep) as caught:
        loads_body(raw.encode())
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "VALIDATION_ERROR",
        TOO_DEEP,
    )


def test_brackets_inside_strings_and_wide_bodies_are_not_depth() -> None:
    in_strings = json.dumps({"note": "[" * 1000, "more": ["{" * 1000]})
    assert loads_body(in_strings)["note"] == "[" * 1000
    wide = json.dumps([[n] for n in range(1000)])
    assert len(loads_body(wide)) == 1000


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2", b"nul", b'{"a": 1}}'])
def test_text_that_is_not_json_is_a_value_error_not_a_depth_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        loads_body(raw)


# --------------------------------------------------------------------------- _parse_action


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        " application/json ;charset=UTF-8",
        "application/vnd.sessionshot+json",
    ],
)
def test_json_content_types_are_read_as_actions(content_type: str) -> None:
    action = _parse_action(content_type, WAIT)
    assert action.model_dump(by_alias=True)["type"] == "wait"


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_declared_json_is_not_an_action(content_type: str) -> None:
    with pytest.raises(ValidationError):
        _parse_action(content_type, WAIT)
    status, code, message = _refusal(WAIT, content_type)
    assert (status, code) == (400, "VALIDATION_ERROR")
    assert message.startswith("body:")


@pytest.mark.parametrize("raw", [b"", b"{not json", b'{"type": "wait"'])
def test_malformed_json_is_a_malformed_body(raw: bytes) -> None:
    assert _refusal(raw) == (400, "VALIDATION_ERROR", "Malformed request body.")


def test_a_body_that_is_not_utf8_is_a_malformed_body() -> None:
    assert _refusal(b'{"type": "\xff\xfe"}') == (400, "VALIDATION_ERROR", "Malformed request body.")


def test_a_deep_body_is_refused_before_it_is_validated() -> None:
    deep = b'{"type": "wait", "payload": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert _refusal(deep) == (400, "VALIDATION_ERROR", TOO_DEEP)


@pytest.mark.parametrize(
    ("raw", "location"),
    [
        (b"[1, 2]", "body:"),
        (b'"wait"', "body:"),
        (b"null", "body:"),
        (b'{"type": "teleport", "payload": {}}', "body:"),
        (b'{"type": "wait", "payload": {"ms": 1}, "extra": 1}', "wait.extra:"),
        (b'{"type": "wait", "payload": {"ms": 10001}}', "wait.payload.ms:"),
    ],
)
def test_json_that_is_not_a_valid_action_names_where(raw: bytes, location: str) -> None:
    status, code, message = _refusal(raw)
    assert (status, code) == (400, "VALIDATION_ERROR")
    assert message.startswith(location), message
