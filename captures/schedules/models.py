"""Request bodies of ``/api/schedules``."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from captures.models import CaptureRequest
from captures.schedules.cron import check_cron, check_timezone
from sessions.models import Strict


class ScheduleRequest(Strict):
    """Body of ``POST /api/schedules``."""

    name: str = Field(min_length=1, max_length=200)
    cron: str = Field(
        max_length=200,
        description="Five fields: minute hour day-of-month month day-of-week.",
        examples=["0 7 * * 1-5"],
    )
    timezone: str = Field(
        default="UTC", max_length=64, description="IANA time zone the cron expression is read in."
    )
    capture: CaptureRequest = Field(
        description="A `POST /api/captures` body, checked as one now and sealed."
    )
    paused: bool = False

    _cron_ok = field_validator("cron")(check_cron)
    _timezone_ok = field_validator("timezone")(check_timezone)


class SchedulePatch(Strict):
    """Body of ``PATCH /api/schedules/{id}``: the fields to change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    cron: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    paused: bool | None = None

    @field_validator("cron")
    @classmethod
    def _cron_ok(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone_ok(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @model_validator(mode="after")
    def _something(self) -> SchedulePatch:
        if self.model_fields_set == set():
            raise ValueError("give at least one of name, cron, timezone, paused")
        return self
