"""Signing in (with an API key or a one-time link) and out."""

from __future__ import annotations

from quart import Response, request
from quart_schema import hide

from app.dashboard.keys import SESSION_TTL_S, DashboardKeys
from app.dashboard.links import use_link
from app.dashboard.web import (
    COOKIE,
    FORM_COOKIE,
    FORM_REFUSED,
    blueprint,
    form_token,
    keep_form_token,
    page,
    problem,
    set_cookie,
    sign_in_form_ok,
    signed_in,
    signins,
    to,
)
from app.state import app_state

_ENDED = {
    "key": "The API key this sign-in used was revoked; sign in again with another key.",
    "out": "You are signed out.",
}
_BAD_KEY = "That is not an active API key of this service. Keys start with ssk_."


@blueprint.get("")
@blueprint.get("/")
@hide
async def home() -> Response:
    """The dashboard starts on the usage page (which asks to sign in first if needed)."""
    return to("/dashboard/usage")


@blueprint.get("/signin")
@hide
async def signin_page() -> Response:
    """The sign-in form (a browser already signed in goes on to its pages)."""
    if await signins().find(request.cookies.get(COOKIE, "")) is not None:
        return to("/dashboard/usage")
    notice = _ENDED.get(request.args.get("ended", ""), "")
    token = form_token()
    return keep_form_token(await page("signin.html", form_token=token, notice=notice))


@blueprint.post("/signin")
@hide
async def signin_with_key() -> Response:
    """Sign in with an API key of the workspace; the sign-in acts as that key."""
    if not await sign_in_form_ok():
        return await problem(403, "Form expired", FORM_REFUSED)
    form = await request.form
    api_key = form.get("api_key", "").strip()
    admitted = await app_state().admission.admit(api_key) if len(api_key) <= 200 else None
    if admitted is None or not admitted.rate.allowed:
        error = _BAD_KEY if admitted is None else "Too many requests with this key; wait a minute."
        token = form_token()
        return keep_form_token(await page("signin.html", 400, form_token=token, error=error))
    who = admitted.principal
    return await _signed_in(who.workspace_id, who.key_id, "key")


@blueprint.get("/link")
@hide
async def link_page() -> Response:
    """A one-time link's landing page: one button uses it (a link preview that only GETs
    the page does not spend it)."""
    token = request.args.get("token", "")[:128]
    form = form_token()
    return keep_form_token(await page("link.html", link_token=token, form_token=form))


@blueprint.post("/link")
@hide
async def signin_with_link() -> Response:
    """Use a one-time link: it signs in as the workspace's newest active key."""
    if not await sign_in_form_ok():
        return await problem(403, "Form expired", FORM_REFUSED)
    state = app_state()
    form = await request.form
    ws_id = await use_link(
        state.redis, DashboardKeys(state.settings.redis_prefix), form.get("token", "")
    )
    if ws_id is None:
        return await problem(
            410,
            "Link used or expired",
            "This sign-in link has been used already or is older than 10 minutes. Ask for a "
            "new one (sessionshot admin dashboard-link) or sign in with an API key.",
        )
    active = [key for key in await state.tenancy.list_keys(ws_id) if not key["revokedAt"]]
    if not active:
        return await problem(
            409,
            "No active API key",
            "The dashboard acts as one of the workspace's API keys and this workspace has "
            "none. Create one (sessionshot admin key create) and ask for a new link.",
        )
    return await _signed_in(ws_id, active[-1]["id"], "link")  # keys are listed oldest first


async def _signed_in(ws_id: str, key_id: str, via: str) -> Response:
    cookie = await signins().start(ws_id, key_id, via)
    response = to("/dashboard/usage")
    set_cookie(response, COOKIE, cookie, SESSION_TTL_S)
    response.delete_cookie(FORM_COOKIE, path="/dashboard")
    return response


@blueprint.post("/signout")
@signed_in
async def signout() -> Response:
    """End the sign-in: its cookie stops working, here and on every instance."""
    await signins().end(request.cookies.get(COOKIE, ""))
    response = to("/dashboard/signin?ended=out")
    response.delete_cookie(COOKIE, path="/dashboard")
    return response
