"""The capture request of ``POST /api/captures``, validated exactly as SPEC section 3."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from sessions.action_models import (
    QUALITY_ONLY_WITH_JPEG,
    ActionRequest,
    HttpsUrl,
    Redaction,
    Selector,
)
from sessions.models import AuthState, Strict, Viewport, check_metadata


class Output(Strict):
    """What to render."""

    model_config = ConfigDict(json_schema_extra=QUALITY_ONLY_WITH_JPEG)

    format: Literal["png", "jpeg", "pdf"] = "png"
    full_page: bool = Field(default=False, alias="fullPage")
    width: int = Field(default=1280, ge=320, le=3840)
    height: int = Field(default=800, ge=240, le=4320)
    quality: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _quality_with_jpeg(self) -> Output:
        if self.quality is not None and self.format != "jpeg":
            raise ValueError("quality is only allowed with format jpeg")
        return self


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
    auth: AuthState | None = None
    actions: list[Step] = Field(default_factory=list, max_length=20)
    redaction: Redaction | None = None
    metadata: dict[str, Any] | None = None

    _metadata_ok = field_validator("metadata")(check_metadata)

    @property
    def viewport(self) -> Viewport:
        """The browser viewport for this capture."""
        return Viewport(width=self.output.width, height=self.output.height)
