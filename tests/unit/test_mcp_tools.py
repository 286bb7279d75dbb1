"""MCP tools as actions, and tool results within their cap (no I/O)."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
import pytest
from pydantic import ValidationError

from app.mcp.results import TEXT_CAP, action_result, error_result, fitted
from app.mcp.tools import TOOLS, ActionTool, input_schema


def _actions(name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    tool = TOOLS[name]
    assert isinstance(tool, ActionTool)
    steps = tool.actions(tool.args.model_validate(arguments))
    return [step.model_dump(mode="json", by_alias=True, exclude_defaults=True) for step in steps]


def test_tools_map_to_the_actions_of_the_spec() -> None:
    assert _actions("browser_snapshot", {"depth": 3}) == [
        {"type": "snapshot", "payload": {"mode": "ai", "depth": 3, "maxChars": 38_000}}
    ]
    assert _actions("browser_click", {"ref": "e4", "doubleClick": True}) == [
        {"type": "click", "payload": {"ref": "e4", "clickCount": 2}}
    ]
    assert _actions("browser_type", {"selector": "#q", "text": "hi", "submit": True}) == [
        {"type": "fill", "payload": {"selector": "#q", "value": "hi"}},
        {"type": "press", "payload": {"selector": "#q", "key": "Enter"}},
    ]
    assert _actions("browser_wait_for", {"text": "Done"}) == [
        {"type": "waitForSelector", "payload": {"selector": "text=Done"}}
    ]
    assert _actions("browser_wait_for", {"timeMs": 20}) == [{"type": "wait", "payload": {"ms": 20}}]
    assert _actions("browser_get_content", {}) == [
        {"type": "content", "payload": {"format": "markdown"}}
    ]
    shot = _actions("browser_take_screenshot", {"ref": "e2"})[0]["payload"]
    assert shot["ref"] == "e2" and shot["inline"] is True


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("browser_click", {}),
        ("browser_click", {"ref": "e1", "selector": "#a"}),
        ("browser_click", {"ref": "not a ref"}),
        ("browser_navigate", {"url": "http://app.test/"}),
        ("browser_navigate", {"url": 1}),
        ("browser_wait_for", {}),
        ("browser_wait_for", {"text": "a", "selector": "#b"}),
        ("browser_wait_for", {"timeMs": 999999}),
        ("browser_scroll", {}),
        ("browser_snapshot", {"depth": "3"}),
        ("browser_press_key", {"key": "Enter", "unknown": True}),
    ],
)
def test_invalid_arguments_are_refused(name: str, arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # a pydantic ValidationError is one too
        _actions(name, arguments)


def test_every_tool_has_an_object_schema() -> None:
    for tool in TOOLS.values():
        schema = input_schema(tool.args)
        assert schema["type"] == "object" and "properties" in schema, tool.name
    with pytest.raises(ValidationError):
        TOOLS["capture_page"].args.model_validate({"url": "https://app.test/", "nope": 1})


def test_a_long_result_is_shortened_within_the_cap_and_stays_json() -> None:
    body = {"snapshot": '- button "x" [ref=e1]\n' * 5000, "truncated": False, "refCount": 5000}
    text = fitted(body)
    assert len(text) <= TEXT_CAP
    parsed = json.loads(text)
    assert parsed["truncated"] is True and parsed["refCount"] == 5000
    assert parsed["snapshot"].startswith('- button "x" [ref=e1]')

    nested = {"result": [{"k": "v" * 50}] * 2000}
    parsed = json.loads(fitted(nested))
    assert parsed["truncated"] is True and isinstance(parsed["result"], str)

    small = {"matched": True}
    assert json.loads(fitted(small)) == small


def test_results_put_the_page_after_the_json_and_images_apart() -> None:
    result = action_result(
        {
            "success": True,
            "expiresInSeconds": 200,
            "url": "https://app.test/form",
            "result": {"format": "png", "data": "iVBORw0KGgo="},
        }
    )
    first, second, image = result.content
    assert isinstance(first, types.TextContent) and isinstance(second, types.TextContent)
    assert json.loads(first.text) == {"result": {"format": "png"}}
    assert second.text == "Page URL: https://app.test/form"
    assert isinstance(image, types.ImageContent) and image.mime_type == "image/png"
    failed = error_result("DOMAIN_NOT_ALLOWED", "nope")
    block = failed.content[0]
    assert failed.is_error and isinstance(block, types.TextContent)
    assert block.text == "DOMAIN_NOT_ALLOWED: nope"


def test_page_text_follows_as_is_and_the_whole_stays_within_the_cap() -> None:
    snapshot = '- button "Go" [ref=e1]\n'
    body = {"success": True, "url": "https://app.test/", "truncated": False, "refCount": 1}
    blocks = action_result({**body, "snapshot": snapshot}).content
    texts = [b.text for b in blocks if isinstance(b, types.TextContent)]
    assert texts == ['{"truncated":false,"refCount":1}', "Page URL: https://app.test/", snapshot]

    long = action_result({**body, "content": "x" * 100_000}).content
    texts = [b.text for b in long if isinstance(b, types.TextContent)]
    assert sum(len(t) for t in texts) <= TEXT_CAP
    assert json.loads(texts[0])["truncated"] is True and texts[2].startswith("xxx")
