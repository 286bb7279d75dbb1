"""A log-in page on the target site: a form sets a session cookie (HttpOnly, from the
server) and a localStorage value (from the page's script); ``/account`` shows both, with an
element present only when the cookie came with the request."""

from __future__ import annotations

import html
import json

from quart import Quart, Response, request

LOGIN_FORM = """<!doctype html><html><head><title>Log in</title></head><body>
<form method="post" action="/login">
<input id="token" name="token"> <input id="pref" name="pref">
<button id="login" type="submit">Log in</button>
</form></body></html>"""

_SIGNED_IN = """<!doctype html><html><head><title>Signed in</title></head><body>
<p id="signed-in">signed in</p>
<script>localStorage.setItem("pref", {pref});</script>
</body></html>"""

_ACCOUNT = """<!doctype html><html><head><title>Account</title>
<style>body {{ margin: 0 }} #state {{ width: 400px; height: 200px; background: {color} }}</style>
</head><body><div id="state"></div>{body}
<p id="pref"></p>
<script>document.getElementById("pref").textContent = localStorage.getItem("pref") || "";
</script></body></html>"""


def _html(body: str) -> Response:
    return Response(body, content_type="text/html; charset=utf-8")


async def _login() -> Response:
    if request.method == "GET":
        return _html(LOGIN_FORM)
    form = await request.form
    token = form.get("token", "")
    pref = form.get("pref", "")
    response = _html(_SIGNED_IN.format(pref=json.dumps(pref).replace("<", "\\u003c")))
    response.set_cookie("sid", token, path="/", secure=True, httponly=True, samesite="Lax")
    return response


async def _account() -> Response:
    token = request.cookies.get("sid")
    if token:
        body = f'<p id="logged-in">logged in as <span id="sid">{html.escape(token)}</span></p>'
        return _html(_ACCOUNT.format(color="#00c000", body=body))
    return _html(_ACCOUNT.format(color="#c00000", body='<p id="logged-out">logged out</p>'))


def add_login_pages(app: Quart) -> None:
    """Serve ``/login`` (GET the form, POST it) and ``/account`` on ``app``."""
    app.add_url_rule("/login", endpoint="login", view_func=_login, methods=["GET", "POST"])
    app.add_url_rule("/account", endpoint="account", view_func=_account, methods=["GET"])
