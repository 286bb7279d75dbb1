"""``/openapi.json``: the API described from the models that validate its requests and
describe its answers (SPEC section 7).

Quart-Schema builds the document from the routes' decorators. :class:`ApiDocument` finishes
it: operation ids as the routes name them (no method prefix), required query parameters
marked, request and response bodies as named components (so generated clients get named
types), non-JSON answers (CSV, files, metrics), error descriptions, shared response
headers, and the limits that come from settings (the longest session TTL) written in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from quart_schema import document_response
from quart_schema.extension import SecuritySchemeInput
from quart_schema.openapi import HttpSecurityScheme, OpenAPIProvider, Server, Tag
from werkzeug.routing.rules import Rule

from app.idempotency import MAX_KEY_LENGTH
from app.schemas import ErrorResponse, V1Error
from app.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

DESCRIPTION = """\
A self-hostable browser service: live browser sessions driven one action at a time over
HTTP, and one-shot captures that render a logged-in page to a private PNG, JPEG or PDF.

Every `/api` and `/v1` request carries an API key (`Authorization: Bearer ssk_…`); the
admin API takes the service's admin token instead. Errors under `/api` and `/admin` read
`{"error": {"code", "message"}}`; under `/v1` they read
`{"success": false, "error", "code"}`, with `session` and `expiresInSeconds` when the
session exists. Authenticated answers carry `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset`.
"""

API_KEY = "apiKey"
ADMIN_TOKEN = "adminToken"
API_KEY_AUTH: list[dict[str, list[str]]] = [{API_KEY: []}]
ADMIN_AUTH: list[dict[str, list[str]]] = [{ADMIN_TOKEN: []}]
NO_AUTH: list[dict[str, list[str]]] = []

SECURITY_SCHEMES: dict[str, SecuritySchemeInput] = {
    API_KEY: HttpSecurityScheme(scheme="bearer", bearer_format="ssk_<id>_<secret>"),
    ADMIN_TOKEN: HttpSecurityScheme(scheme="bearer"),
}
_SCHEME_DESCRIPTIONS = {
    API_KEY: "An API key of the workspace: `Authorization: Bearer ssk_…`. A capture or a "
    "session belongs to the key that created it.",
    ADMIN_TOKEN: "The service's admin token (`SESSIONSHOT_ADMIN_TOKEN`): "
    "`Authorization: Bearer <token>`. The admin API answers 404 when it is not set.",
}

TAGS: list[Tag | dict[Any, Any]] = [
    Tag("sessions", "Live browser sessions driven one action at a time."),
    Tag("captures", "One-shot captures: a page rendered to a private file."),
    Tag("files", "Stored files behind signed, short-lived links."),
    Tag("usage", "Billing reports: sessions, durations and credits."),
    Tag("admin", "Workspaces, API keys and allowed domains."),
    Tag("health", "Liveness, readiness and metrics."),
]

# The codes of each error status, as API users read them.
ERROR_DESCRIPTIONS = {
    400: "VALIDATION_ERROR: a malformed body, query or header, or a documented limit "
    "exceeded; the message names the field.",
    401: "UNAUTHENTICATED: missing, malformed, unknown or revoked credentials.",
    403: "DOMAIN_NOT_ALLOWED: the target host is not on the workspace's allowed domains.",
    404: "NOT_FOUND: no such resource, or one that belongs to another key.",
    409: "IDEMPOTENCY_CONFLICT or CONFLICT: the Idempotency-Key was used with another body, "
    "or its first request is still running.",
    410: "LINK_EXPIRED: the signed link is past its expiry.",
    413: "PAYLOAD_TOO_LARGE: the body is over the service's limit (1 MiB by default).",
    422: "The action ran and failed: SELECTOR_TIMEOUT, REF_NOT_FOUND (a ref the latest ai "
    "snapshot did not give, or whose element is gone), NAVIGATION_TIMEOUT, "
    "NAVIGATION_FAILED, ACTION_FAILED, TARGET_BLOCKED, DOMAIN_NOT_ALLOWED (the page left "
    "the allowed domains), PAGE_CRASHED or RENDER_FAILED.",
    429: "RATE_LIMITED: over the key's rate limit; Retry-After says when to retry.",
    503: "SERVICE_UNAVAILABLE: a backend is briefly away; retry shortly.",
}

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "The request's id, as in the service's logs (the caller's own "
        "X-Request-Id when it sent a well-formed one).",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
    },
    "Retry-After": {
        "description": "Whole seconds to wait before retrying.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "Location": {
        "description": "Where the redirect leads.",
        "required": True,
        "schema": {"type": "string"},
    },
    "X-Session-Owner": {
        "description": "The id of the instance whose browser holds the session.",
        "schema": {"type": "string"},
    },
}
_RETRY_STATUSES = (429, 503)

_DESCRIPTIONS_ATTR = "_sessionshot_error_descriptions"
_MEDIA_ATTR = "_sessionshot_media"
_BODY_REQUIRED_ATTR = "_sessionshot_body_required"
_SESSION_HEADER_ATTR = "_sessionshot_session_header"


def errors(
    shape: type[BaseModel], statuses: Iterable[int], **descriptions: str
) -> Callable[[F], F]:
    """Document error answers of a route in ``shape`` (:class:`ErrorResponse` or
    :class:`V1Error`); ``descriptions`` (``e409="…"``) replace the generic texts."""

    def decorator(func: F) -> F:
        for status in statuses:
            document_response(shape, status)(func)
        own = getattr(func, _DESCRIPTIONS_ATTR, {})
        own.update({int(name[1:]): text for name, text in descriptions.items()})
        setattr(func, _DESCRIPTIONS_ATTR, own)
        return func

    return decorator


def api_errors(*statuses: int, **descriptions: str) -> Callable[[F], F]:
    """Error answers in the ``/api`` and ``/admin`` shape."""
    return errors(ErrorResponse, statuses, **descriptions)


def v1_errors(*statuses: int, **descriptions: str) -> Callable[[F], F]:
    """Error answers in the ``/v1`` shape."""
    return errors(V1Error, statuses, **descriptions)


def media(
    status: int, content: Mapping[str, Mapping[str, Any]], description: str
) -> Callable[[F], F]:
    """Document a non-JSON answer (or another media type of a JSON one) for ``status``."""

    def decorator(func: F) -> F:
        own = getattr(func, _MEDIA_ATTR, {})
        own[status] = (dict(content), description)
        setattr(func, _MEDIA_ATTR, own)
        return func

    return decorator


def body_required(func: F) -> F:
    """Mark the route's documented request body as required."""
    setattr(func, _BODY_REQUIRED_ATTR, True)
    return func


def session_header(func: F) -> F:
    """Document ``X-Session-Owner`` on the route's successful answers."""
    setattr(func, _SESSION_HEADER_ATTR, True)
    return func


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key with the same body within 24 h answers the first response "
    "again and creates nothing; with another body: 409 IDEMPOTENCY_CONFLICT.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}
_IDEMPOTENT_ATTR = "_sessionshot_idempotent"


def idempotent_route(func: F) -> F:
    """Document the ``Idempotency-Key`` header of a creating route."""
    setattr(func, _IDEMPOTENT_ATTR, True)
    return func


def _strip_titles(node: Any) -> None:
    """Drop pydantic's generated ``title`` of every property (model titles stay)."""
    if isinstance(node, dict):
        for value in (node.get("properties") or {}).values():
            if isinstance(value, dict):
                value.pop("title", None)
        for value in node.values():
            _strip_titles(value)
    elif isinstance(node, list):
        for value in node:
            _strip_titles(value)


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without pydantic's ``null`` branch (absent means None)."""
    schema = {k: v for k, v in schema.items() if k != "title"}
    if schema.get("default", ...) is None:
        del schema["default"]
    branches = [b for b in schema.get("anyOf", ()) if b != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        del schema["anyOf"]
        schema.update(branches[0])
    return schema


def _hoist(holder: dict[str, Any], components: dict[str, Any]) -> None:
    """Move ``holder["schema"]``, when it is a titled model, into the components."""
    schema = holder.get("schema")
    if not isinstance(schema, dict) or "title" not in schema or "$ref" in schema:
        return
    name = schema["title"]
    components[name] = schema
    holder["schema"] = {"$ref": f"#/components/schemas/{name}"}


class ApiDocument(OpenAPIProvider):
    """Quart-Schema's document, finished (see the module docstring)."""

    session_max_ttl_s: int | None = None

    def schema(self) -> dict[str, Any]:
        """The whole document."""
        document = super().schema()
        components = document["components"]
        for name, description in _SCHEME_DESCRIPTIONS.items():
            if name in components.get("securitySchemes", {}):
                components["securitySchemes"][name]["description"] = description
        components["headers"] = HEADERS
        components["parameters"] = {"IdempotencyKey": IDEMPOTENCY_KEY}
        limit = self.session_max_ttl_s
        options = components["schemas"].get("SessionOptions")
        if limit is not None and options is not None:
            options["properties"]["maxTtlSeconds"]["maximum"] = limit
            options["properties"]["maxTtlSeconds"]["description"] = (
                f"10 to {limit} (this service's SESSIONSHOT_SESSION_MAX_TTL)."
            )
        _strip_titles(components["schemas"])
        document["paths"] = dict(sorted(document["paths"].items()))
        return document

    def operation_id(self, method: str, path: str, func: Callable[..., Any]) -> str | None:
        """The id the route names (``createSession``), without a method prefix."""
        return str(getattr(func, "_quart_schema_operation_id", func.__name__))

    def build_querystring_parameters(
        self, model: type[Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Query parameters, the required ones marked so."""
        parameters, definitions = super().build_querystring_parameters(model)
        required = set(TypeAdapter(model).json_schema().get("required", ()))
        for parameter in parameters:
            parameter["schema"] = _not_null(parameter["schema"])
            if parameter["name"] in required:
                parameter["required"] = True
        return parameters, definitions

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        """The rule's operations, finished."""
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        for item in paths.values():
            for method, operation in list(item.items()):
                item[method] = self._finish(func, dict(operation), components)
        return paths, components

    def _finish(
        self, func: Callable[..., Any], operation: dict[str, Any], components: dict[str, Any]
    ) -> dict[str, Any]:
        if "tags" in operation:
            operation["tags"] = sorted(operation["tags"])
        description = operation.get("description", "").strip()
        if description:
            operation["description"] = description
        else:
            operation.pop("description", None)
        if getattr(func, _IDEMPOTENT_ATTR, False):
            reference = {"$ref": "#/components/parameters/IdempotencyKey"}
            operation["parameters"] = [*operation.get("parameters", []), reference]
        body = operation.get("requestBody")
        if body is not None:
            for content in body["content"].values():
                _hoist(content, components)
            if getattr(func, _BODY_REQUIRED_ATTR, False):
                body["required"] = True
        responses = {str(status): dict(value) for status, value in operation["responses"].items()}
        for status, (content, description) in getattr(func, _MEDIA_ATTR, {}).items():
            answer = responses.setdefault(str(status), {"content": {}})
            answer["content"] = {**answer.get("content", {}), **content}
            answer["description"] = description
        described = {**ERROR_DESCRIPTIONS, **getattr(func, _DESCRIPTIONS_ATTR, {})}
        for status, answer in responses.items():
            for content in answer.get("content", {}).values():
                _hoist(content, components)
            code = int(status)
            if code >= 400 and code in described:
                answer["description"] = described[code]
            answer["headers"] = self._headers(func, code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    @staticmethod
    def _headers(func: Callable[..., Any], status: int) -> dict[str, Any]:
        names = ["X-Request-Id"]
        if status in _RETRY_STATUSES:
            names.append("Retry-After")
        if 300 <= status < 400:
            names.append("Location")
        if status < 300 and getattr(func, _SESSION_HEADER_ATTR, False):
            names.append("X-Session-Owner")
        return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def document_provider(settings: Settings) -> type[OpenAPIProvider]:
    """The document class of an app: its settings' limits written into the document."""

    class Document(ApiDocument):
        session_max_ttl_s = settings.session_max_ttl_s

    return Document


def servers(settings: Settings) -> list[Server | dict[Any, Any]]:
    """Where the API is: the public URL when set, else relative to the document."""
    return [Server(url=settings.public_url.rstrip("/") or "/")]
