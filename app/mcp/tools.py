"""The MCP tools: names as Playwright MCP's, each one (or two) actions of the REST API.

Each tool has an argument model (its ``inputSchema``) and builds the action requests it
runs, as ``{"type", "payload"}`` documents validated by the REST API's own models
(:class:`sessions.action_models.ActionRequest`), so limits live in one place. ``ref`` and
``selector`` go into the payload as given: the action models say which one is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from captures.models import CaptureRequest
from sessions.action_models import ActionRequest
from sessions.models import Strict

Payload = dict[str, Any]
SNAPSHOT_MAX_CHARS = 38_000
"""A snapshot's text, cut on a whole line, leaves room in a tool's 40 000 characters for
the JSON and the page's URL."""


class Args(Strict):
    """Tool arguments: unknown names and loose types are errors, as in the REST API."""


class Target(Args):
    """An element: a ``ref`` of the latest ``browser_snapshot``, or a CSS ``selector``."""

    ref: str | None = Field(
        default=None, description="Element ref from the latest browser_snapshot (e.g. e12)."
    )
    selector: str | None = Field(
        default=None, description="CSS or Playwright selector, instead of ref."
    )


class NavigateArgs(Args):
    url: str = Field(description="The https:// URL to open.")


class SnapshotArgs(Args):
    selector: str | None = Field(default=None, description="Only this element's subtree.")
    depth: int | None = Field(default=None, description="How deep to go (1-50).")


class ClickArgs(Target):
    button: Literal["left", "right", "middle"] = "left"
    double_click: bool = Field(default=False, alias="doubleClick")


class TypeArgs(Target):
    text: str = Field(description="Text to put in the field (it replaces what is there).")
    submit: bool = Field(default=False, description="Press Enter afterwards.")


class SelectOptionArgs(Target):
    values: list[str] = Field(description="Values of the options to select.")


class PressKeyArgs(Args):
    key: str = Field(description="A key name such as Enter, ArrowDown or a.")


class ScrollArgs(Args):
    y: int | None = Field(default=None, description="Scroll the page to this offset (px).")
    ref: str | None = Field(default=None, description="Scroll this element into view.")
    selector: str | None = Field(default=None, description="As ref, by selector.")


class WaitForArgs(Args):
    selector: str | None = Field(default=None, description="Wait until it is visible.")
    text: str | None = Field(default=None, description="Wait until this text is visible.")
    time_ms: int | None = Field(default=None, alias="timeMs", description="Wait this long.")


class NoArgs(Args):
    pass


class GetContentArgs(Args):
    format: Literal["markdown", "text", "html"] = "markdown"
    selector: str | None = Field(default=None, description="Only this element's content.")


class EvaluateArgs(Args):
    expression: str = Field(description="A JavaScript expression; its JSON value is returned.")


class ScreenshotArgs(Args):
    full_page: bool = Field(default=False, alias="fullPage")
    ref: str | None = Field(default=None, description="Only this element.")
    format: Literal["png", "jpeg"] = "png"


def _target(args: Target | ScrollArgs) -> Payload:
    return {k: v for k, v in (("ref", args.ref), ("selector", args.selector)) if v is not None}


def _action(kind: str, payload: Payload | None = None) -> ActionRequest:
    """The action, validated by the REST API's model (a ValidationError when it is not)."""
    return ActionRequest.model_validate({"type": kind, "payload": payload or {}})


def _navigate(a: NavigateArgs) -> list[ActionRequest]:
    return [_action("goto", {"url": a.url})]


def _snapshot(a: SnapshotArgs) -> list[ActionRequest]:
    payload: Payload = {"mode": "ai", "maxChars": SNAPSHOT_MAX_CHARS}
    if a.selector is not None:
        payload["selector"] = a.selector
    if a.depth is not None:
        payload["depth"] = a.depth
    return [_action("snapshot", payload)]


def _click(a: ClickArgs) -> list[ActionRequest]:
    return [
        _action(
            "click", {**_target(a), "button": a.button, "clickCount": 2 if a.double_click else 1}
        )
    ]


def _hover(a: Target) -> list[ActionRequest]:
    return [_action("hover", _target(a))]


def _type(a: TypeArgs) -> list[ActionRequest]:
    steps = [_action("fill", {**_target(a), "value": a.text})]
    if a.submit:
        steps.append(_action("press", {**_target(a), "key": "Enter"}))
    return steps


def _select(a: SelectOptionArgs) -> list[ActionRequest]:
    return [_action("select", {**_target(a), "values": a.values})]


def _press(a: PressKeyArgs) -> list[ActionRequest]:
    return [_action("press", {"key": a.key})]


def _scroll(a: ScrollArgs) -> list[ActionRequest]:
    payload = _target(a)
    if a.y is not None:
        payload["y"] = a.y
    return [_action("scroll", payload)]


def _wait_for(a: WaitForArgs) -> list[ActionRequest]:
    given = [v for v in (a.selector, a.text, a.time_ms) if v is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of selector, text and timeMs")
    if a.time_ms is not None:
        return [_action("wait", {"ms": a.time_ms})]
    selector = a.selector if a.selector is not None else f"text={a.text}"
    return [_action("waitForSelector", {"selector": selector})]


def _back(_: NoArgs) -> list[ActionRequest]:
    return [_action("back")]


def _content(a: GetContentArgs) -> list[ActionRequest]:
    payload: Payload = {"format": a.format}
    if a.selector is not None:
        payload["selector"] = a.selector
    return [_action("content", payload)]


def _evaluate(a: EvaluateArgs) -> list[ActionRequest]:
    return [_action("evaluate", {"expression": a.expression})]


def _screenshot(a: ScreenshotArgs) -> list[ActionRequest]:
    payload: Payload = {"fullPage": a.full_page, "format": a.format, "inline": True}
    if a.ref is not None:
        payload["ref"] = a.ref
    return [_action("screenshot", payload)]


@dataclass(frozen=True)
class ActionTool:
    """A browser tool: its arguments and the actions they make, run in order."""

    name: str
    description: str
    args: type[Args]
    actions: Callable[[Any], list[ActionRequest]]


@dataclass(frozen=True)
class SpecialTool:
    """A tool that is not an action on the browser session (``browser_close``,
    ``capture_page``); the endpoint answers it itself."""

    name: str
    description: str
    args: type[BaseModel]


Tool = ActionTool | SpecialTool

TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        ActionTool("browser_navigate", "Open a URL in the browser.", NavigateArgs, _navigate),
        ActionTool(
            "browser_snapshot",
            "The page's accessibility snapshot, with a ref for each element to act on: "
            "better than a screenshot for deciding what to do next.",
            SnapshotArgs,
            _snapshot,
        ),
        ActionTool("browser_click", "Click an element.", ClickArgs, _click),
        ActionTool("browser_hover", "Move the mouse over an element.", Target, _hover),
        ActionTool("browser_type", "Type text into an editable element.", TypeArgs, _type),
        ActionTool(
            "browser_select_option", "Select options in a select.", SelectOptionArgs, _select
        ),
        ActionTool("browser_press_key", "Press a key on the keyboard.", PressKeyArgs, _press),
        ActionTool(
            "browser_scroll", "Scroll the page, or an element into view.", ScrollArgs, _scroll
        ),
        ActionTool(
            "browser_wait_for",
            "Wait for an element or a text to appear, or for some time to pass.",
            WaitForArgs,
            _wait_for,
        ),
        ActionTool("browser_navigate_back", "Go back to the previous page.", NoArgs, _back),
        ActionTool(
            "browser_get_content",
            "The page's content as Markdown (default), text or HTML.",
            GetContentArgs,
            _content,
        ),
        ActionTool(
            "browser_evaluate",
            "Evaluate a JavaScript expression on the page.",
            EvaluateArgs,
            _evaluate,
        ),
        ActionTool(
            "browser_take_screenshot",
            "A screenshot of the page or of one element.",
            ScreenshotArgs,
            _screenshot,
        ),
        SpecialTool(
            "browser_close",
            "Close the browser session (it is billed); the next browser tool opens a new one.",
            NoArgs,
        ),
        SpecialTool(
            "capture_page",
            "A one-shot capture (the POST /api/captures body): answers once it is final, "
            "with the capture and, for images, the image.",
            CaptureRequest,
        ),
    )
}
"""Every tool, by name."""


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A tool's ``inputSchema``: the model's JSON Schema by its documented names."""
    schema = model.model_json_schema(by_alias=True)
    schema.pop("title", None)
    schema.setdefault("properties", {})
    return schema
