"""Scoped tokens and live view links of a session (SPEC section 12).

A token is handed to a tool (``cdp``) or a person (``live-…``) instead of the API key; a live
link is a page on this service that shows the session's page as it changes. Both are signed
(:mod:`app.scoped`), both die with the session, and ``DELETE …/live`` kills every live link
made before it. The page and its stream are answered by any instance; the stream comes from
the session's owner (:mod:`app.sockets`).
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, Field
from quart import Blueprint, Response, request
from quart_schema import (
    document_querystring,
    document_response,
    operation_id,
    security_scheme_blueprint,
    tag_blueprint,
    validate_request,
)

from app.livepage import ENDED_PAGE_CSP, LIVE_PAGE_CSP, LiveMode, live_page
from app.middleware import principal
from app.openapi import API_KEY_AUTH, NO_AUTH, media, session_header, v1_errors
from app.responses import json_response
from app.schemas import LiveLink, LiveRequest, ScopedToken, TokenRequest
from app.scoped import CredentialExpired, CredentialRefused, Grant, Scope
from app.sockets import live_grant, live_refusal
from app.state import AppState, app_state, session_service
from sessions.errors import SessionClosed
from sessions.registry import LIVE_GENERATION, SessionRecord, Status
from sessions.timefmt import iso_ms, now_ms

blueprint = Blueprint("live", __name__, url_prefix="/v1/sessions")
tag_blueprint(blueprint, ["sessions"])
security_scheme_blueprint(blueprint, API_KEY_AUTH)

pages = Blueprint("live_pages", __name__)
tag_blueprint(pages, ["sessions"])
security_scheme_blueprint(pages, NO_AUTH)  # the token or the link is the credential

_HTML = {"schema": {"type": "string"}}
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the URL is a credential
    "X-Content-Type-Options": "nosniff",
}


async def _active(session_id: str) -> SessionRecord:
    record = await session_service().get(principal().key_id, session_id)
    if record.status is Status.CLOSED:
        raise SessionClosed(record=record)
    return record


@blueprint.post("/<session_id>/tokens")
@validate_request(TokenRequest)
@document_response(ScopedToken, 201)
@v1_errors(400, 401, 404, 409, 413, 429, 503)
@session_header
@operation_id("createSessionToken")
async def create_token(session_id: str, data: TokenRequest) -> Response:
    """Create a scoped token.

    A short-lived credential for this session alone, to give a tool or a person instead of
    the API key: `cdp` for the CDP endpoint (`?token=`), `live-view` / `live-interact` for
    `GET /v1/sessions/{id}/live?token=`. It stops working at `expiresAt` or when the
    session closes.
    """
    record = await _active(session_id)
    expires_ms = now_ms() + data.ttl_seconds * 1000
    token = app_state().tokens.issue(Grant(session_id, data.scope, expires_ms))
    body = {"token": token, "scope": data.scope, "expiresAt": iso_ms(expires_ms)}
    return json_response(body, 201, {"X-Session-Owner": record.owner})


@blueprint.post("/<session_id>/live")
@validate_request(LiveRequest)
@document_response(LiveLink, 201)
@v1_errors(400, 401, 404, 409, 413, 429, 503)
@session_header
@operation_id("createLiveView")
async def create_live(session_id: str, data: LiveRequest) -> Response:
    """Open a live view.

    A link to a page that shows the session's page as it changes; in `interact` mode a
    person's clicks, wheel and keys reach the page. The link is the credential: it stops
    working at `expiresAt`, when the session closes, or after `DELETE …/live`.
    """
    record = await _active(session_id)
    scope: Scope = "live-interact" if data.mode == "interact" else "live-view"
    body = _live_link(app_state(), record, scope, now_ms() + data.ttl_seconds * 1000)
    return json_response(body, 201, {"X-Session-Owner": record.owner})


def _live_link(
    state: AppState, record: SessionRecord, scope: Scope, expires_ms: int
) -> dict[str, Any]:
    generation = int(record.raw.get(LIVE_GENERATION) or 0)
    link = state.live_links.issue(Grant(record.id, scope, expires_ms, generation))
    return {
        "url": f"{state.settings.public_url.rstrip('/')}/live/{link}",
        "mode": "interact" if scope == "live-interact" else "view",
        "expiresAt": iso_ms(expires_ms),
    }


@blueprint.delete("/<session_id>/live")
@media(204, {}, "Revoked: no live link made so far works any more.")
@v1_errors(401, 404, 409, 429, 503)
@session_header
@operation_id("revokeLiveViews")
async def revoke_live(session_id: str) -> Response:
    """Revoke the live views.

    Every live link of the session made so far stops working, and views open through them
    stop receiving frames. New links can be made afterwards.
    """
    await session_service().revoke_live(principal().key_id, session_id)
    return Response(b"", status=204)


class LiveTokenQuery(BaseModel):
    """Query of ``GET /v1/sessions/{id}/live`` (read by the view: a refusal is a page)."""

    token: str = Field(
        description="A `live-view` or `live-interact` token of this session, made by "
        "`POST /v1/sessions/{id}/tokens`."
    )


@pages.get("/v1/sessions/<session_id>/live")
@document_querystring(LiveTokenQuery)
@media(302, {}, "To the live view page of the token's mode.")
@media(403, {"text/html": _HTML}, "The token is not valid for this session.")
@media(410, {"text/html": _HTML}, "The token has expired, or the session has closed.")
@operation_id("openLiveView")
async def open_live(session_id: str) -> Response:
    """Open a live view with a token.

    `?token=` a `live-view` or `live-interact` token of the session: redirects to a live
    view page of that mode, valid as long as the token.
    """
    state = app_state()
    try:
        grant = state.tokens.read(request.args.get("token", ""))
        if grant.session_id != session_id or grant.scope == "cdp":
            raise CredentialRefused()
        record = await state.engine.registry.get(session_id)
        if record is None:
            raise CredentialRefused()
        if record.status is Status.CLOSED:
            raise CredentialExpired("The session has closed.")
    except Exception as err:  # a person's browser: a page, not JSON
        return _ended(*live_refusal(err))
    link = _live_link(state, record, grant.scope, grant.expires_ms)
    return Response(b"", status=302, headers={**_PAGE_HEADERS, "Location": link["url"]})


@pages.get("/live/<link>")
@media(200, {"text/html": _HTML}, "The live view page.")
@media(403, {"text/html": _HTML}, "The link was altered.")
@media(410, {"text/html": _HTML}, "The link has expired or been revoked, or the session closed.")
@operation_id("getLiveView")
async def get_live(link: str) -> Response:
    """The live view page.

    Shows the session's page as it changes; in `interact` mode, clicks, wheel and keys on it
    reach the page. Opened from a link made by `POST /v1/sessions/{id}/live`.
    """
    try:
        grant, _record = await live_grant(app_state(), link)
    except Exception as err:
        return _ended(*live_refusal(err))
    nonce = secrets.token_urlsafe(18)
    mode: LiveMode = "interact" if grant.scope == "live-interact" else "view"
    html = live_page(f"/live/{link}/socket", mode, iso_ms(grant.expires_ms), nonce)
    headers = {**_PAGE_HEADERS, "Content-Security-Policy": LIVE_PAGE_CSP.format(nonce=nonce)}
    return Response(html, status=200, content_type="text/html; charset=utf-8", headers=headers)


def _ended(status: int, html: bytes) -> Response:
    headers = {**_PAGE_HEADERS, "Content-Security-Policy": ENDED_PAGE_CSP}
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=headers)
