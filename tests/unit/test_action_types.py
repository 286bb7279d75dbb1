"""The list of action types is the union of action models; everything else agrees with it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from captures.models import Step
from sessions.action_models import ACTION_TYPES, ActionRequest
from sessions.actions import HANDLERS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sessions.md"


def test_every_type_of_the_union_is_listed_once() -> None:
    assert len(set(ACTION_TYPES)) == len(ACTION_TYPES) == 19
    assert ACTION_TYPES[:3] == ("goto", "click", "hover"), "in the union's order"


def test_the_handler_table_has_exactly_the_action_types() -> None:
    assert tuple(HANDLERS) == ACTION_TYPES


def test_the_request_model_takes_exactly_the_action_types() -> None:
    """Validation accepts these types and no other; the schema (and so /openapi.json)
    maps exactly these."""
    with pytest.raises(ValidationError) as refused:
        ActionRequest.model_validate({"type": "teleport", "payload": {}})
    (error,) = refused.value.errors()
    expected = re.findall(r"'(\w+)'", str((error.get("ctx") or {})["expected_tags"]))
    assert tuple(expected) == ACTION_TYPES
    mapping = ActionRequest.model_json_schema(by_alias=True)["discriminator"]["mapping"]
    assert set(mapping) == set(ACTION_TYPES)


def _documented_types() -> list[str]:
    """The first column of the guide's table of actions."""
    section = DOCS.read_text().split("| type | payload | returns |", 1)[1]
    rows = []
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return [name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])]


def test_the_sessions_guide_documents_exactly_the_action_types() -> None:
    documented = _documented_types()
    assert len(documented) == len(set(documented))
    assert set(documented) == set(ACTION_TYPES)


def test_capture_steps_are_action_types() -> None:
    """A capture step runs as the live-session action of the same type."""
    union, _ = get_args(Step)
    steps = {get_args(member.model_fields["type"].annotation)[0] for member in get_args(union)}
    assert steps <= set(ACTION_TYPES)
    assert steps == {"waitForSelector", "click", "type", "scroll", "wait"}
