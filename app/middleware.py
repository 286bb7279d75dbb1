"""Request hooks: request ids, authentication, rate limits, access logs and metrics."""

from __future__ import annotations

import logging
import re
import secrets
import time

from quart import Quart, Response, g, request

from app.errors import RateLimited, Unauthenticated
from app.logs import request_id_var
from app.state import app_state
from app.tenancy import Principal

log = logging.getLogger("sessionshot.http")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_AUTH_PREFIXES = ("/api/", "/v1/")
# Signed file links are their own credential (SPEC section 3, "Files").
_PUBLIC_PREFIXES = ("/v1/files/",)


def _needs_key(path: str) -> bool:
    return path.startswith(_AUTH_PREFIXES) and not path.startswith(_PUBLIC_PREFIXES)


def bearer_token() -> str | None:
    """The token of a well-formed ``Authorization: Bearer`` header, else None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal() -> Principal:
    """The authenticated caller (only on routes that require a key)."""
    found: Principal = g.principal
    return found


async def _begin() -> None:
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else secrets.token_hex(8)
    g.started = time.perf_counter()
    g.token = request_id_var.set(g.request_id)
    g.response_headers = {}
    if not _needs_key(request.path):
        return
    token = bearer_token()
    admitted = await app_state().admission.admit(token) if token else None
    if admitted is None:
        raise Unauthenticated()
    g.principal = admitted.principal
    g.response_headers.update(admitted.rate.headers())
    if not admitted.rate.allowed:
        raise RateLimited(headers=admitted.rate.headers())


async def _finish(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    for name, value in g.get("response_headers", {}).items():
        response.headers.setdefault(name, value)
    state = app_state()
    state.metrics.requests.labels(request.method, str(response.status_code)).inc()
    elapsed_ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2)
    log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": elapsed_ms,
        },
    )
    return response


async def _teardown(_exc: BaseException | None) -> None:
    token = g.get("token")
    if token is not None:
        request_id_var.reset(token)


def install(app: Quart) -> None:
    """Register the hooks on ``app``."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_teardown)
