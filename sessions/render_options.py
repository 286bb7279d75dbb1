"""The options of a render (SPEC section 13), shared by captures' ``output`` and the live
``screenshot`` / ``pdf`` actions: image formats, clips, PDF paper, and which of them go
together."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from sessions.models import Strict

ImageFormat = Literal["png", "jpeg", "webp"]
PdfPaperFormat = Literal["A4", "A3", "A5", "Letter", "Legal", "Tabloid"]
QUALITY_FORMATS = ("jpeg", "webp")
TRANSPARENT_FORMATS = ("png", "webp")
MAX_CLIP_PX = 16384
"""Largest clip side, in CSS pixels (Chromium's largest texture)."""
CSS_LENGTH_PATTERN = r"^(0|[0-9]{1,4}(\.[0-9]{1,3})?(px|in|cm|mm))$"
PAGE_RANGES_PATTERN = (
    r"^\s*[0-9]{1,5}(\s*-\s*[0-9]{0,5})?(\s*,\s*[0-9]{1,5}(\s*-\s*[0-9]{0,5})?)*\s*$"
)

QUALITY_WITH_LOSSY: dict[str, Any] = {
    "if": {"required": ["quality"], "properties": {"quality": {"type": "integer"}}},
    "then": {"required": ["format"], "properties": {"format": {"enum": list(QUALITY_FORMATS)}}},
}
"""``quality`` only with ``format: jpeg`` or ``webp``, as the schema says it."""


class Clip(Strict):
    """A rectangle of the page in CSS pixels, from its top-left corner (not the viewport's)."""

    x: float = Field(ge=0, le=MAX_CLIP_PX, allow_inf_nan=False)
    y: float = Field(ge=0, le=100_000, allow_inf_nan=False)
    width: float = Field(ge=1, le=MAX_CLIP_PX, allow_inf_nan=False)
    height: float = Field(ge=1, le=MAX_CLIP_PX, allow_inf_nan=False)


CssLength = Annotated[str, Field(max_length=16, pattern=CSS_LENGTH_PATTERN, examples=["1cm"])]


class PdfMargin(Strict):
    """Page margins as CSS lengths (``px``, ``in``, ``cm``, ``mm``; ``0`` alone)."""

    top: CssLength = "0"
    right: CssLength = "0"
    bottom: CssLength = "0"
    left: CssLength = "0"


class PdfOptions(Strict):
    """How a PDF is printed: paper, orientation, backgrounds, scale, margins, pages."""

    format: PdfPaperFormat = "A4"
    landscape: bool = False
    print_background: bool = Field(default=True, alias="printBackground")
    scale: float = Field(default=1, ge=0.1, le=2, allow_inf_nan=False)
    margin: PdfMargin | None = None
    page_ranges: str | None = Field(
        default=None,
        alias="pageRanges",
        max_length=200,
        pattern=PAGE_RANGES_PATTERN,
        examples=["1-3, 5"],
    )

    @field_validator("page_ranges")
    @classmethod
    def _ranges_ascend(cls, value: str | None) -> str | None:
        for part in (value or "").replace(" ", "").split(","):
            first, _, last = part.partition("-")
            if first and int(first) < 1:
                raise ValueError("pages are numbered from 1")
            if first and last and int(last) < int(first):
                raise ValueError(f"the range {part} ends before it starts")
        return value


def image_option_problems(
    fmt: str,
    *,
    quality: int | None,
    full_page: bool,
    clip: Clip | None,
    selector: bool,
    omit_background: bool,
) -> list[str]:
    """What is wrong with a combination of image options, each sentence naming its fields;
    an empty list when they make sense together."""
    problems: list[str] = []
    if quality is not None and fmt not in QUALITY_FORMATS:
        problems.append("quality is only allowed with format jpeg or webp")
    if omit_background and fmt not in TRANSPARENT_FORMATS:
        problems.append("omitBackground is only allowed with format png or webp")
    chosen = [
        name
        for name, given in (
            ("selector", selector),
            ("clip", clip is not None),
            ("fullPage", full_page),
        )
        if given
    ]
    if len(chosen) > 1:
        problems.append(f"{' and '.join(chosen)} exclude each other: give at most one of them")
    return problems
