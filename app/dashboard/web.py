"""The dashboard's blueprint and what every page shares: security headers, the sign-in
guard (cookie, rate limit, CSRF) and page rendering."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from quart import Blueprint, Response, g, redirect, render_template, request, send_from_directory
from quart_schema import hide

from app.dashboard.keys import SESSION_TTL_S
from app.dashboard.signins import SignIn, SignIns
from app.state import AppState, app_state

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")

STATIC_DIR = Path(__file__).parent / "static"
STYLESHEET = "dashboard.css"

COOKIE = "sessionshot_dashboard"
"""The sign-in cookie: a random value naming a sign-in kept in Redis."""
FORM_COOKIE = "sessionshot_dashboard_form"
"""Before sign-in: the value the sign-in forms must echo (double-submit CSRF check)."""
COOKIE_PATH = "/dashboard"
CSRF_FIELD = "csrf_token"
MAX_FIELD_CHARS = 4096
"""Longest value any dashboard form field may hold; longer ones are refused inline."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Sent with every dashboard response: no asset, frame or form target off this origin."""

V = TypeVar("V", bound=Callable[..., Awaitable[Any]])


@blueprint.after_request
async def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if request.path.startswith("/dashboard/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@blueprint.get(f"/static/{STYLESHEET}")
@hide
async def stylesheet() -> Response:
    """The dashboard's one stylesheet (the pages have no inline style)."""
    response: Response = await send_from_directory(STATIC_DIR, STYLESHEET)
    return response


def signins(state: AppState | None = None) -> SignIns:
    """The sign-in store of the current app."""
    state = state or app_state()
    limit, period_s = state.settings.rate
    return SignIns(state.redis, state.settings.redis_prefix, limit, period_s)


def is_https() -> bool:
    """Whether browsers reach the dashboard over HTTPS (cookies are then ``Secure``)."""
    return request.scheme == "https" or app_state().settings.public_url.startswith("https:")


def set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    """An HttpOnly, SameSite=Lax cookie on the dashboard's path, Secure over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=is_https(),
    )


def signin() -> SignIn:
    """The sign-in of the current request (only in views behind :func:`signed_in`)."""
    found: SignIn = g.dashboard_signin
    return found


async def page(template: str, status: int = 200, **context: Any) -> Response:
    """A rendered page; signed-in pages get the session's CSRF token and workspace."""
    current: SignIn | None = g.get("dashboard_signin")
    if current is not None:
        context.setdefault("csrf_token", current.csrf)
        context.setdefault("workspace_id", current.workspace_id)
        context.setdefault("key_id", current.key_id)
    html = await render_template(f"dashboard/{template}", **context)
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    for name, value in g.get("dashboard_rate_headers", {}).items():
        response.headers[name] = value
    return response


async def problem(status: int, title: str, message: str) -> Response:
    """A page that explains a refusal."""
    return await page("problem.html", status, title=title, message=message)


def to(path: str) -> Response:
    """A 303 redirect (after a form, the browser GETs ``path``)."""
    response: Response = redirect(path, 303)  # type: ignore[assignment]
    return response


async def form_field(name: str) -> str:
    """A form field's value ("" when absent); :class:`FieldTooLong` past the limit."""
    form = await request.form
    value = str(form.get(name, ""))
    if len(value) > MAX_FIELD_CHARS:
        raise FieldTooLong(name)
    return value


class FieldTooLong(Exception):
    """A form field over :data:`MAX_FIELD_CHARS`."""


async def _csrf_ok(expected: str) -> bool:
    form = await request.form
    presented = form.get(CSRF_FIELD, "")
    if not presented or len(presented) > 128:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def signed_in(view: V) -> V:
    """Guard a view: signed in, within the key's rate limit, and a form's CSRF token."""

    @wraps(view)
    async def guarded(*args: Any, **kwargs: Any) -> Response:
        if request.method == "POST":
            await request.form  # read to its end (or 413): a refusal never cuts a body off
        store = signins()
        cookie = request.cookies.get(COOKIE, "")
        current = await store.find(cookie)
        if current is None:
            return to("/dashboard/signin")
        rate = await store.charge(current)
        if rate is None:  # the key was revoked: the sign-in ends with it
            await store.end(cookie)
            return to("/dashboard/signin?ended=key")
        g.dashboard_signin = current
        g.dashboard_rate_headers = rate.headers()
        if not rate.allowed:
            return await problem(
                429, "Slow down", f"Too many requests; try again in {rate.reset_s} s."
            )
        if request.method == "POST" and not await _csrf_ok(current.csrf):
            return await problem(403, "Form expired", FORM_REFUSED)
        try:
            answer: Response = await view(*args, **kwargs)
        except FieldTooLong as err:
            return await problem(400, "Too long", f"The field {err} is too long.")
        return answer

    return hide(guarded)  # type: ignore[return-value]  # a page, not an API operation


FORM_REFUSED = (
    "This form was not sent from this dashboard page (its security token is missing or "
    "wrong), so nothing was changed. Reload the page and try again."
)


def form_token() -> str:
    """The double-submit token of the sign-in forms: the form cookie's value, or a new one."""
    current = str(request.cookies.get(FORM_COOKIE, ""))
    if 20 <= len(current) <= 64:
        return current
    token: str = g.get("dashboard_form_token") or secrets.token_urlsafe(24)
    g.dashboard_form_token = token
    return token


def keep_form_token(response: Response) -> Response:
    """Set the form cookie when :func:`form_token` made a new one."""
    token = g.get("dashboard_form_token")
    if token:
        set_cookie(response, FORM_COOKIE, token, SESSION_TTL_S)
    return response


async def sign_in_form_ok() -> bool:
    """Whether a sign-in form echoes the browser's form cookie (no cross-site sign-in)."""
    await request.form  # read to its end (or 413) before any answer
    expected = request.cookies.get(FORM_COOKIE, "")
    return bool(expected) and await _csrf_ok(expected)
