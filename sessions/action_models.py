"""Action requests of ``POST /v1/sessions/{id}/actions``: ``{"type", "payload"}``."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, RootModel, model_validator

from sessions.models import Strict
from sessions.render_options import (
    QUALITY_WITH_LOSSY,
    Clip,
    ImageFormat,
    PdfOptions,
    image_option_problems,
)

Selector = Annotated[
    str, Field(min_length=1, max_length=2000, examples=["body", "form#login button[type=submit]"])
]
REF_PATTERN = r"^(?:f[0-9]{1,6})?e[0-9]{1,9}$"
"""A ref as Playwright's AI snapshot writes it: ``e12``, or ``f1e3`` in an iframe."""
Ref = Annotated[
    str,
    Field(
        min_length=2,
        max_length=20,
        pattern=REF_PATTERN,
        examples=["e12"],
        description="A ref of the session's latest `ai` snapshot, instead of `selector`.",
    ),
]
SelectorTimeoutMs = Annotated[int, Field(ge=0, le=15000)]
WaitUntil = Literal["load", "domcontentloaded", "networkidle", "commit"]

DEFAULT_SELECTOR_TIMEOUT_MS = 5000
DEFAULT_NAVIGATION_TIMEOUT_MS = 30000


class Redaction(Strict):
    """Elements masked before rendering."""

    selectors: list[Selector] = Field(default_factory=list, max_length=50)
    mode: Literal["block", "blur"] = "block"


def _given(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def one_of(first: str, *others: str) -> dict[str, Any]:
    """Exactly one of the fields ``first`` and ``others``, as the schema says it (a null one
    is absent). Written with ``if``/``then``/``else`` rather than ``oneOf``: client generators
    turn a ``oneOf`` into one model per branch, and the payload would lose its name."""
    if not others:
        return _given(first)
    return {
        "if": _given(first),
        "then": {"not": {"anyOf": [_given(name) for name in others]}},
        "else": one_of(*others),
    }


AT_MOST_ONE_TARGET: dict[str, Any] = {"not": {"allOf": [_given("selector"), _given("ref")]}}
"""``selector`` or ``ref`` or neither, never both, as the schema says it."""


class OneTarget(Strict):
    """A payload about one element: its ``selector``, or a ``ref`` of the latest ``"ai"``
    snapshot, exactly one of the two."""

    model_config = ConfigDict(json_schema_extra=one_of("selector", "ref"))

    selector: Selector | None = None
    ref: Ref | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.selector is None) == (self.ref is None):
            raise ValueError("give exactly one of selector and ref")
        return self


class OptionalTarget(Strict):
    """A payload about the page, or one element of it by ``selector`` or ``ref``."""

    model_config = ConfigDict(json_schema_extra=AT_MOST_ONE_TARGET)

    selector: Selector | None = None
    ref: Ref | None = None

    @model_validator(mode="after")
    def _at_most_one_target(self) -> Self:
        if self.selector is not None and self.ref is not None:
            raise ValueError("give selector or ref, not both")
        return self


HTTPS_URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]://[^\s/?#]"
"""How an https URL starts (the scheme in any case, then a host): the schema's ``pattern``,
and the first check of :func:`check_https_url`."""
_HTTPS_START = re.compile(HTTPS_URL_PATTERN)


def check_https_url(value: str) -> str:
    """An absolute ``https:`` URL with a host (scheme case-insensitive)."""
    if not _HTTPS_START.match(value):
        raise ValueError("must be an https:// URL with a host")
    parts = urlsplit(value.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("must be an https:// URL with a host")
    return value.strip()


HttpsUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=8192,
        examples=["https://example.com/account"],
        json_schema_extra={"pattern": HTTPS_URL_PATTERN},
    ),
    AfterValidator(check_https_url),
]


class GotoPayload(Strict):
    url: HttpsUrl
    wait_until: WaitUntil = Field(default="load", alias="waitUntil")
    timeout: int = Field(default=DEFAULT_NAVIGATION_TIMEOUT_MS, ge=0, le=60000)


class ClickPayload(OneTarget):
    button: Literal["left", "right", "middle"] = "left"
    click_count: int = Field(default=1, ge=1, le=3, alias="clickCount")
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS


class HoverPayload(OneTarget):
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS


class TypePayload(OneTarget):
    text: str = Field(max_length=1000)
    delay_ms: int = Field(default=0, ge=0, le=1000, alias="delayMs")
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS


class FillPayload(OneTarget):
    value: str = Field(max_length=100_000)
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS


class PressPayload(OptionalTarget):
    key: str = Field(min_length=1, max_length=64)
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS


class SelectPayload(OneTarget):
    values: list[Annotated[str, Field(max_length=1000)]] = Field(max_length=100)
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS


class ScrollPayload(Strict):
    """Scroll to `y` (and `x`), or scroll the element of `selector` or `ref` into view:
    exactly one of the three."""

    model_config = ConfigDict(json_schema_extra=one_of("y", "selector", "ref"))

    y: int | None = Field(default=None, ge=0, le=50000)
    x: int = Field(default=0, ge=0, le=50000)
    selector: Selector | None = None
    ref: Ref | None = None
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS

    @model_validator(mode="after")
    def _one_target(self) -> ScrollPayload:
        given = [v for v in (self.y, self.selector, self.ref) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of y (and x), selector and ref")
        return self


class WaitForSelectorPayload(OneTarget):
    state: Literal["attached", "detached", "visible", "hidden"] = "visible"
    timeout: SelectorTimeoutMs = DEFAULT_SELECTOR_TIMEOUT_MS


class WaitPayload(Strict):
    ms: int = Field(ge=0, le=10000)


class QueryPayload(OneTarget):
    pass


class HistoryPayload(Strict):
    wait_until: WaitUntil = Field(default="load", alias="waitUntil")
    timeout: int = Field(default=DEFAULT_NAVIGATION_TIMEOUT_MS, ge=0, le=60000)


class ContentPayload(OptionalTarget):
    format: Literal["html", "text", "markdown"] = "html"


class SnapshotPayload(Strict):
    mode: Literal["default", "ai"] = "default"
    selector: Selector | None = None
    depth: int | None = Field(default=None, ge=1, le=50)
    max_chars: int = Field(default=40_000, ge=1000, le=200_000, alias="maxChars")


class EvaluatePayload(Strict):
    expression: str = Field(min_length=1, max_length=10000)


class ScreenshotPayload(OptionalTarget):
    model_config = ConfigDict(json_schema_extra={**QUALITY_WITH_LOSSY, **AT_MOST_ONE_TARGET})

    format: ImageFormat = "png"
    full_page: bool = Field(default=False, alias="fullPage")
    quality: int | None = Field(default=None, ge=1, le=100)
    device_scale_factor: float = Field(
        default=1, ge=1, le=3, alias="deviceScaleFactor", allow_inf_nan=False
    )
    clip: Clip | None = None
    omit_background: bool = Field(default=False, alias="omitBackground")
    redaction: Redaction | None = None
    inline: bool = False

    @model_validator(mode="after")
    def _options_fit(self) -> ScreenshotPayload:
        problems = image_option_problems(
            self.format,
            quality=self.quality,
            full_page=self.full_page,
            clip=self.clip,
            selector=self.selector is not None or self.ref is not None,
            omit_background=self.omit_background,
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class PdfPayload(PdfOptions):
    """The ``pdf`` action: print options (``format``, ``landscape``, ``printBackground``,
    ``scale``, ``margin``, ``pageRanges``), ``redaction`` and ``inline``. Without any print
    option the PDF has pages of the viewport's size, backgrounds printed."""

    redaction: Redaction | None = None
    inline: bool = False

    def options(self) -> PdfOptions | None:
        """The print options given, or None when only ``redaction``/``inline`` were."""
        given = self.model_fields_set - {"redaction", "inline"}
        return (
            PdfOptions.model_validate(self.model_dump(include=given, by_alias=True))
            if given
            else None
        )


class GotoAction(Strict):
    """``goto``."""

    type: Literal["goto"]
    payload: GotoPayload


class ClickAction(Strict):
    """``click``."""

    type: Literal["click"]
    payload: ClickPayload


class HoverAction(Strict):
    """``hover``."""

    type: Literal["hover"]
    payload: HoverPayload


class TypeAction(Strict):
    """``type``."""

    type: Literal["type"]
    payload: TypePayload


class FillAction(Strict):
    """``fill``."""

    type: Literal["fill"]
    payload: FillPayload


class PressAction(Strict):
    """``press``."""

    type: Literal["press"]
    payload: PressPayload


class SelectAction(Strict):
    """``select``."""

    type: Literal["select"]
    payload: SelectPayload


class ScrollAction(Strict):
    """``scroll``."""

    type: Literal["scroll"]
    payload: ScrollPayload


class WaitForSelectorAction(Strict):
    """``waitForSelector``."""

    type: Literal["waitForSelector"]
    payload: WaitForSelectorPayload


class WaitAction(Strict):
    """``wait``."""

    type: Literal["wait"]
    payload: WaitPayload


class QueryAction(Strict):
    """``query``."""

    type: Literal["query"]
    payload: QueryPayload


class BackAction(Strict):
    """``back``."""

    type: Literal["back"]
    payload: HistoryPayload = Field(default_factory=HistoryPayload)


class ForwardAction(Strict):
    """``forward``."""

    type: Literal["forward"]
    payload: HistoryPayload = Field(default_factory=HistoryPayload)


class ReloadAction(Strict):
    """``reload``."""

    type: Literal["reload"]
    payload: HistoryPayload = Field(default_factory=HistoryPayload)


class ContentAction(Strict):
    """``content``."""

    type: Literal["content"]
    payload: ContentPayload = Field(default_factory=ContentPayload)


class SnapshotAction(Strict):
    """``snapshot``."""

    type: Literal["snapshot"]
    payload: SnapshotPayload = Field(default_factory=SnapshotPayload)


class EvaluateAction(Strict):
    """``evaluate``."""

    type: Literal["evaluate"]
    payload: EvaluatePayload


class ScreenshotAction(Strict):
    """``screenshot``."""

    type: Literal["screenshot"]
    payload: ScreenshotPayload = Field(default_factory=ScreenshotPayload)


class PdfAction(Strict):
    """``pdf``."""

    type: Literal["pdf"]
    payload: PdfPayload = Field(default_factory=PdfPayload)


AnyAction = Annotated[
    GotoAction
    | ClickAction
    | HoverAction
    | TypeAction
    | FillAction
    | PressAction
    | SelectAction
    | ScrollAction
    | WaitForSelectorAction
    | WaitAction
    | QueryAction
    | BackAction
    | ForwardAction
    | ReloadAction
    | ContentAction
    | SnapshotAction
    | EvaluateAction
    | ScreenshotAction
    | PdfAction,
    Field(discriminator="type"),
]


class ActionRequest(RootModel[AnyAction]):
    """One action: ``{"type": ..., "payload": {...}}``."""


def _action_types() -> tuple[str, ...]:
    union, _ = get_args(AnyAction)
    return tuple(get_args(member.model_fields["type"].annotation)[0] for member in get_args(union))


ACTION_TYPES = _action_types()
"""Every action type, read from :data:`AnyAction`: the union is the one list of actions
(the handler table of ``sessions/actions.py`` and the docs are checked against it)."""
