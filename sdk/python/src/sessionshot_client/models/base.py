"""Base classes of every model: Python names in snake_case, JSON names in camelCase."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class RequestModel(BaseModel):
    """A request body (or part of one). Unknown fields are refused here, as the API does."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON body: camelCase names, only the fields that were given."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return data


class ResponseModel(BaseModel):
    """A response body. Fields a newer server adds are kept (``model_extra``), not refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="allow",
    )


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that were actually passed (``None`` means "not given")."""
    return {name: value for name, value in fields.items() if value is not None}
