"""Request hooks: request ids, authentication, rate limits, access logs and metrics.

The pieces that decide something (the request id, the bearer token, admission's verdict, the
access log line) are plain functions, shared by Quart's hooks and the front door
(:mod:`app.front`), so both edges answer alike.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from quart import Quart, Response, g, request

from app.admission import Admitted
from app.errors import RateLimited, Unauthenticated
from app.logs import request_id_var
from app.metrics import Metrics
from app.state import app_state
from app.tenancy import Principal

log = logging.getLogger("sessionshot.http")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_AUTH_PREFIXES = ("/api/", "/v1/")
# Signed file links are their own credential (SPEC section 3, "Files").
_PUBLIC_PREFIXES = ("/v1/files/",)


# A live-view token in the query is the credential of this one (SPEC section 12).
_TOKEN_PAGE = re.compile(r"/v1/sessions/[^/]+/live")
# Paths that are credentials themselves: logged without their secret part.
_SECRET_PATHS = re.compile(r"^(/v1/files/|/live/)[^/]+")


def _needs_key(path: str, method: str = "POST") -> bool:
    if method == "GET" and _TOKEN_PAGE.fullmatch(path):
        return False
    return path.startswith(_AUTH_PREFIXES) and not path.startswith(_PUBLIC_PREFIXES)


def loggable_path(path: str) -> str:
    """``path`` as the access log shows it: a signed link's token is replaced by ``…``."""
    return _SECRET_PATHS.sub(r"\1…", path)


def request_id_for(incoming: str) -> str:
    """The caller's ``X-Request-Id`` when it is well-formed, else a fresh one."""
    return incoming if _REQUEST_ID_RE.match(incoming) else secrets.token_hex(8)


def token_of(authorization: str) -> str | None:
    """The token of a well-formed ``Authorization: Bearer`` header value, else None."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_token() -> str | None:
    """The current request's bearer token, if well-formed."""
    return token_of(request.headers.get("Authorization", ""))


def admitted_principal(admitted: Admitted | None, response_headers: dict[str, str]) -> Principal:
    """Admission's verdict as the caller: 401 for no valid key, 429 over the rate limit.

    A valid key's rate headers go into ``response_headers``, whatever the answer.
    """
    if admitted is None:
        raise Unauthenticated()
    response_headers.update(admitted.rate.headers())
    if not admitted.rate.allowed:
        raise RateLimited(headers=admitted.rate.headers())
    return admitted.principal


def principal() -> Principal:
    """The authenticated caller (only on routes that require a key)."""
    found: Principal = g.principal
    return found


def record_request(metrics: Metrics, method: str, path: str, status: int, started: float) -> None:
    """Count the request and write its access log line (``ms`` since ``started``)."""
    metrics.requests.labels(method, str(status)).inc()
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    log.info(
        "request",
        extra={"method": method, "path": loggable_path(path), "status": status, "ms": elapsed_ms},
    )


async def _begin() -> None:
    g.request_id = request_id_for(request.headers.get("X-Request-Id", ""))
    g.started = time.perf_counter()
    g.token = request_id_var.set(g.request_id)
    g.response_headers = {}
    if not _needs_key(request.path, request.method):
        return
    admitted = await app_state().admission.admit(bearer_token())
    g.principal = admitted_principal(admitted, g.response_headers)


def declares_body(headers: Any) -> bool:
    """Whether a request's headers announce a body (lower-case names or a Headers object)."""
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("", "0")


def closes_connection(declared: bool, whole: bool) -> bool:
    """Whether an answer must say ``Connection: close``: a body was announced and not all of
    it has arrived. The server then drops the connection after the answer, so the client
    must be told, or it sends its next request into a closed connection."""
    return declared and not whole


def _body_received() -> bool:
    # Quart receives the body in the background as it comes; its completion has no public
    # name. Arrived in full means the server has parsed all of it and keeps the connection.
    complete = getattr(request.body, "_complete", None)
    return complete is None or complete.is_set()


async def _finish(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    if closes_connection(declares_body(request.headers), _body_received()):
        response.headers["Connection"] = "close"
    for name, value in g.get("response_headers", {}).items():
        response.headers.setdefault(name, value)
    started = g.get("started", time.perf_counter())
    record_request(app_state().metrics, request.method, request.path, response.status_code, started)
    return response


async def _teardown(_exc: BaseException | None) -> None:
    token = g.get("token")
    if token is not None:
        request_id_var.reset(token)


REQUEST_HOOKS: dict[str, tuple[Callable[..., Any], ...]] = {
    "before_request": (_begin,),
    "after_request": (_finish,),
    "teardown_request": (_teardown,),
}
"""Every request hook of the app, by kind. The front door (:mod:`app.front`) does what each
of them does for the requests it answers, and refuses to stand in front of an app with any
other."""


def install(app: Quart) -> None:
    """Register the hooks on ``app``."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_teardown)
