"""Does the Python client know every field the API documents? The check behind the drift test.

Every component schema reachable from a request or response body of an API-key endpoint
(``/api/`` and ``/v1/``) must map to a model of ``sessionshot_client`` that has every one of
the schema's properties under its JSON name. The admin API (``/admin``, its own token) and
the operator endpoints (``/healthz``, ``/readyz``, ``/metrics``) are not the client's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from sessionshot_client import models as m

CLIENT_PREFIXES = ("/api/", "/v1/")
REF = "#/components/schemas/"

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    # Captures (§3, §13)
    "CaptureRequest": m.CaptureRequest,
    "Output": m.Output,
    "OutputOptions": m.Output,
    "PdfOptions": m.PdfOptions,
    "PdfMargin": m.PdfMargin,
    "Margin": m.PdfMargin,
    "Clip": m.Clip,
    "PageOptions": m.PageOptions,
    "AuthState": m.AuthState,
    "Cookie": m.Cookie,
    "StorageEntry": m.StorageEntry,
    "Redaction": m.Redaction,
    "WaitForSelectorStep": m.WaitForSelectorStep,
    "ClickStep": m.ClickStep,
    "TypeStep": m.TypeStep,
    "ScrollStep": m.ScrollStep,
    "WaitStep": m.WaitStep,
    "CaptureBatch": m.CaptureBatch,
    "CaptureAccepted": m.CaptureAccepted,
    "Capture": m.Capture,
    "CaptureFile": m.CaptureFile,
    "CaptureError": m.CaptureError,
    "ListedCapture": m.ListedCapture,
    "ListedCaptureFile": m.ListedCaptureFile,
    "CaptureList": m.CaptureList,
    "CaptureBatchAccepted": m.CaptureBatchAccepted,
    "BatchItemQueued": m.BatchItemQueued,
    "BatchItemRefused": m.BatchItemRefused,
    # Errors (§3, §4)
    "ErrorResponse": m.ApiErrorBody,
    "ErrorDetail": m.ApiErrorDetail,
    "V1Error": m.V1ErrorBody,
    # Sessions (§4, §12)
    "SessionOptions": m.SessionCreate,
    "Viewport": m.Viewport,
    "Session": m.Session,
    "SessionObject": m.Session,
    "SessionOptionsView": m.SessionOptionsView,
    "ActionTally": m.ActionTally,
    "SessionList": m.SessionList,
    "LiveRequest": m.LiveRequest,
    "LiveLink": m.LiveLink,
    "TokenRequest": m.TokenRequest,
    "ScopedToken": m.ScopedToken,
    # Actions (§4, §11, §13): every ``{"type", "payload"}`` variant is an Action
    "ActionRequest": m.Action,
    "ActionResult": m.ActionResult,
    "BoundingBox": m.BoundingBox,
    "Point": m.Point,
    "GotoPayload": m.GotoPayload,
    "ClickPayload": m.ClickPayload,
    "HoverPayload": m.HoverPayload,
    "TypePayload": m.TypePayload,
    "FillPayload": m.FillPayload,
    "PressPayload": m.PressPayload,
    "SelectPayload": m.SelectPayload,
    "ScrollPayload": m.ScrollPayload,
    "WaitForSelectorPayload": m.WaitForSelectorPayload,
    "WaitPayload": m.WaitPayload,
    "QueryPayload": m.QueryPayload,
    "HistoryPayload": m.HistoryPayload,
    "ContentPayload": m.ContentPayload,
    "SnapshotPayload": m.SnapshotPayload,
    "EvaluatePayload": m.EvaluatePayload,
    "ScreenshotPayload": m.ScreenshotPayload,
    "PdfPayload": m.PdfPayload,
    # Usage (§6)
    "WorkspaceUsage": m.WorkspaceUsage,
    "Counters": m.Counters,
    "DayUsage": m.DayUsage,
    "KeyUsage": m.KeyUsage,
    # Webhooks (§13)
    "EndpointRequest": m.WebhookCreate,
    "WebhookEndpoint": m.WebhookEndpoint,
    "WebhookWithSecret": m.WebhookWithSecret,
    "WebhookList": m.WebhookList,
    "WebhookDelivery": m.WebhookDelivery,
    "WebhookDeliveries": m.WebhookDeliveries,
    # Profiles and schedules (§16)
    "ProfileRequest": m.ProfileCreate,
    "ProfileCreate": m.ProfileCreate,
    "Profile": m.Profile,
    "ProfileList": m.ProfileList,
    "ScheduleRequest": m.ScheduleCreate,
    "SchedulePatch": m.ScheduleUpdate,
    "Schedule": m.Schedule,
    "ScheduleDetail": m.Schedule,
    "ScheduleRun": m.RecentCapture,
    "ScheduleList": m.ScheduleList,
}
ACTION_VARIANT_SUFFIX = "Action"
"""``ClickAction`` and the rest: the ``{"type", "payload"}`` variants of ``ActionRequest``."""


def json_names(model: type[BaseModel]) -> set[str]:
    """The JSON names a model reads: each field's alias, else its name."""
    return {field.alias or name for name, field in model.model_fields.items()}


def model_for(name: str) -> type[BaseModel] | None:
    """The client model of an OpenAPI component schema, None when there is none."""
    if name in SCHEMA_MODELS:
        return SCHEMA_MODELS[name]
    if name.endswith(ACTION_VARIANT_SUFFIX) and name != ACTION_VARIANT_SUFFIX:
        return m.Action
    return None


def _refs(node: Any) -> Iterator[str]:
    """Every component name referenced anywhere inside a schema node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref[len(REF) :]
        for key, value in node.items():
            if key == "mapping" and isinstance(value, dict):
                yield from (v[len(REF) :] for v in value.values() if str(v).startswith(REF))
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def body_schemas(document: Mapping[str, Any]) -> set[str]:
    """Component schemas of the request and response bodies of the client's endpoints."""
    roots: set[str] = set()
    for path, operations in document.get("paths", {}).items():
        if not path.startswith(CLIENT_PREFIXES):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody", {})]
            bodies += list(operation.get("responses", {}).values())
            for body in bodies:
                roots.update(_refs(body.get("content", {})))
    return roots


def reachable(document: Mapping[str, Any]) -> set[str]:
    """The body schemas and every schema they use, transitively."""
    schemas = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    todo = list(body_schemas(document))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_refs(schemas.get(name, {})))
    return seen


def drift(document: Mapping[str, Any]) -> list[str]:
    """What the client lacks, one line per problem; empty when it knows the whole API."""
    schemas = document.get("components", {}).get("schemas", {})
    problems: list[str] = []
    for name in sorted(reachable(document)):
        model = model_for(name)
        if model is None:
            problems.append(f"{name}: no client model")
            continue
        missing = set(schemas.get(name, {}).get("properties", {})) - json_names(model)
        if missing:
            problems.append(f"{name} -> {model.__name__}: lacks {sorted(missing)}")
    return problems
