"""The capture request of ``POST /api/captures``, validated exactly as SPEC section 3."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sessions.action_models import ActionRequest, HttpsUrl, Redaction, Selector
from sessions.models import AuthState, SessionOptions, Strict, Viewport, check_metadata
from sessions.render_options import QUALITY_WITH_LOSSY, Clip, PdfOptions, image_option_problems


class Output(Strict):
    """What to render."""

    model_config = ConfigDict(json_schema_extra=QUALITY_WITH_LOSSY)

    format: Literal["png", "jpeg", "webp", "pdf"] = "png"
    full_page: bool = Field(default=False, alias="fullPage")
    width: int = Field(default=1280, ge=320, le=3840)
    height: int = Field(default=800, ge=240, le=4320)
    quality: int | None = Field(default=None, ge=1, le=100)
    device_scale_factor: float = Field(
        default=1, ge=1, le=3, alias="deviceScaleFactor", allow_inf_nan=False
    )
    selector: Selector | None = None
    clip: Clip | None = None
    omit_background: bool = Field(default=False, alias="omitBackground")
    pdf: PdfOptions | None = None

    @model_validator(mode="after")
    def _options_fit(self) -> Output:
        problems = image_option_problems(
            self.format,
            quality=self.quality,
            full_page=self.full_page,
            clip=self.clip,
            selector=self.selector is not None,
            omit_background=self.omit_background,
        )
        if self.pdf is not None and self.format != "pdf":
            problems.append("pdf is only allowed with format pdf")
        if self.format == "pdf":
            given = {
                "deviceScaleFactor": self.device_scale_factor != 1,
                "selector": self.selector is not None,
                "clip": self.clip is not None,
            }
            named = [name for name, on in given.items() if on]
            if named:
                problems.append(f"{' and '.join(named)} only allowed with an image format")
        if problems:
            raise ValueError("; ".join(problems))
        return self


_SESSION_NAMES = {"locale": "locale", "timezone_id": "timezoneId", "user_agent": "userAgent"}
Css = Annotated[str, Field(max_length=10_000)]
ResourceType = Literal["image", "media", "font", "stylesheet"]


class PageOptions(Strict):
    """How the page is loaded and dressed before the render."""

    wait_until: Literal["load", "domcontentloaded", "networkidle"] = Field(
        default="load", alias="waitUntil"
    )
    delay_ms: int = Field(default=0, ge=0, le=10_000, alias="delayMs")
    color_scheme: Literal["light", "dark"] | None = Field(default=None, alias="colorScheme")
    reduced_motion: bool | None = Field(default=None, alias="reducedMotion")
    timezone_id: str | None = Field(default=None, max_length=64, alias="timezoneId")
    locale: str | None = Field(default=None, max_length=35)
    user_agent: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(
        default=None, alias="userAgent"
    )
    css: Css | None = None
    hide_selectors: list[Selector] = Field(
        default_factory=list, max_length=50, alias="hideSelectors"
    )
    block_resources: list[ResourceType] = Field(
        default_factory=list, max_length=4, alias="blockResources"
    )

    @field_validator("locale", "timezone_id", "user_agent")
    @classmethod
    def _as_for_sessions(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A session's own checks: one place says what a locale or a time zone is.
        if value is not None:
            name = _SESSION_NAMES[info.field_name or ""]
            try:
                SessionOptions.model_validate({name: value})
            except ValidationError as err:
                raise ValueError(err.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return value

    def browser_options(self) -> dict[str, Any]:
        """The session options this page needs (``userAgent``, ``locale``, ``timezoneId``)."""
        given = {
            "userAgent": self.user_agent,
            "locale": self.locale,
            "timezoneId": self.timezone_id,
        }
        return {name: value for name, value in given.items() if value is not None}


class WaitForSelectorStep(Strict):
    """``{"type": "waitForSelector", "selector", "timeout"?}``."""

    type: Literal["waitForSelector"]
    selector: Selector
    timeout: int = Field(default=5000, ge=0, le=15000)


class ClickStep(Strict):
    """``{"type": "click", "selector"}``."""

    type: Literal["click"]
    selector: Selector


class TypeStep(Strict):
    """``{"type": "type", "selector", "text"}``."""

    type: Literal["type"]
    selector: Selector
    text: str = Field(max_length=1000)


class ScrollStep(Strict):
    """``{"type": "scroll", "y"}``."""

    type: Literal["scroll"]
    y: int = Field(ge=0, le=50000)


class WaitStep(Strict):
    """``{"type": "wait", "ms"}``."""

    type: Literal["wait"]
    ms: int = Field(ge=0, le=10000)


Step = Annotated[
    WaitForSelectorStep | ClickStep | TypeStep | ScrollStep | WaitStep,
    Field(discriminator="type"),
]


def step_action(step: Step) -> ActionRequest:
    """The live-session action that performs a capture step (one implementation)."""
    payload: dict[str, Any] = step.model_dump(by_alias=True, exclude={"type"})
    return ActionRequest.model_validate({"type": step.type, "payload": payload})


class CaptureRequest(Strict):
    """Body of ``POST /api/captures``."""

    url: HttpsUrl
    output: Output = Field(default_factory=Output)
    page: PageOptions = Field(default_factory=PageOptions)
    auth: AuthState | None = None
    actions: list[Step] = Field(default_factory=list, max_length=20)
    redaction: Redaction | None = None
    metadata: dict[str, Any] | None = None

    _metadata_ok = field_validator("metadata")(check_metadata)

    @property
    def viewport(self) -> Viewport:
        """The browser viewport for this capture."""
        return Viewport(width=self.output.width, height=self.output.height)
