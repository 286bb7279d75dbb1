"""Target-site pages for the output and page options of captures (SPEC section 13).

``/opt/layout`` lays out coloured boxes at fixed CSS pixels, so a test reads an option's
effect from a pixel: the colour scheme, reduced motion, hidden elements, added CSS, an
element's box, a late colour change (``delayMs``), a fetch after load (``networkidle``),
a slow image (``domcontentloaded``), and the time zone, locale and user agent the page saw.
``/opt/resources`` loads an image, a stylesheet and a font whose requests the site records;
``/opt/account`` is a login page unless the ``sid`` cookie is :data:`LOGGED_IN_SID`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable

from quart import Quart, Response, request

RED = (255, 0, 0)
GREEN = (0, 128, 0)
BLUE = (0, 0, 255)
MAGENTA = (255, 0, 255)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

BOX = (40, 60, 200, 100)
"""``#box``: left, top, width, height in CSS pixels (red)."""
HIDE = (300, 60, 100, 100)
"""``#hide-me`` (blue)."""
MOTION = (450, 60, 100, 100)
"""``#motion``: green, magenta under ``prefers-reduced-motion: reduce``."""
LATE = (600, 60, 100, 100)
"""``#late``: red, blue once ``?late=ms`` passed after load."""
NET = (750, 60, 100, 100)
"""``#net``: red, green once the fetch started on load (``?net=ms``) answered."""
LOADED = (900, 60, 100, 100)
"""``#loaded``: red, green once the window's ``load`` event fired."""
PROBE = (40, 200, 200, 100)
"""``#probe``: green when the zone, locale, user agent and device pixel ratio the page saw
are those of the query (``tz``, ``locale``, ``ua``, ``dpr``)."""
PAGE_HEIGHT = 3000
"""CSS height of ``/opt/layout``."""
LOGGED_IN_SID = "signed-in-session"


def _rgb(colour: tuple[int, int, int]) -> str:
    return "rgb({}, {}, {})".format(*colour)


def _abs(box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> str:
    left, top, width, height = box
    return (
        f"position:absolute;left:{left}px;top:{top}px;width:{width}px;height:{height}px;"
        f"background:{_rgb(colour)}"
    )


def layout_page(
    late_ms: int | None, net_ms: int | None, slow_image_ms: int | None, probe: dict[str, str]
) -> str:
    """``/opt/layout``: fixed boxes, see the module's docstring."""
    script = [
        f"window.addEventListener('load', () => {{"
        f" document.getElementById('loaded').style.background = '{_rgb(GREEN)}';"
    ]
    if late_ms is not None:
        script.append(
            f" setTimeout(() => {{ document.getElementById('late').style.background ="
            f" '{_rgb(BLUE)}'; }}, {late_ms});"
        )
    if net_ms is not None:
        script.append(
            f" fetch('/slow?ms={net_ms}').then((r) => r.text()).then(() => {{"
            f" document.getElementById('net').style.background = '{_rgb(GREEN)}'; }});"
        )
    script.append("});")
    if probe:
        script.append(
            f"const want = {json.dumps(probe)};"
            " const seen = {tz: Intl.DateTimeFormat().resolvedOptions().timeZone,"
            " locale: navigator.language, ua: navigator.userAgent,"
            " dpr: String(window.devicePixelRatio)};"
            " const ok = Object.keys(want).every((k) => want[k] === seen[k]);"
            " document.addEventListener('DOMContentLoaded', () => {"
            " const el = document.getElementById('probe');"
            f" el.style.background = ok ? '{_rgb(GREEN)}' : '{_rgb(RED)}';"
            " el.dataset.seen = JSON.stringify(seen); });"
        )
    slow = f'<img src="/slow?ms={slow_image_ms}" width="1" height="1">' if slow_image_ms else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Options</title>
<style>
  html, body {{ margin: 0; padding: 0; }}
  body {{ height: {PAGE_HEIGHT}px; position: relative; }}
  @media (prefers-color-scheme: dark) {{ html {{ background: {_rgb(BLACK)}; }} }}
  @media (prefers-reduced-motion: reduce) {{
    #motion {{ background: {_rgb(MAGENTA)} !important; }} }}
  #footer {{ position: absolute; left: 0; top: {PAGE_HEIGHT - 100}px; width: 100%;
            height: 100px; background: {_rgb(BLUE)}; }}
</style>
<script>{"".join(script)}</script></head>
<body>
<div id="box" style="{_abs(BOX, RED)}"></div>
<div id="hide-me" class="cookie-banner" style="{_abs(HIDE, BLUE)}"></div>
<div id="motion" style="{_abs(MOTION, GREEN)}"></div>
<div id="late" style="{_abs(LATE, RED)}"></div>
<div id="net" style="{_abs(NET, RED)}"></div>
<div id="loaded" style="{_abs(LOADED, RED)}"></div>
<div id="probe" style="{_abs(PROBE, RED if probe else WHITE)}"></div>
<div id="footer"></div>
{slow}
</body></html>"""


def resources_page(marker: str) -> str:
    """``/opt/resources``: an image, a stylesheet and a web font, each tagged ``m=marker``."""
    m = html.escape(marker, quote=True)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Resources</title>
<link rel="stylesheet" href="/opt/style.css?m={m}">
<style>
  @font-face {{ font-family: "Probe"; src: url("/opt/font.woff2?m={m}") format("woff2"); }}
  p {{ font-family: "Probe", sans-serif; }}
</style></head>
<body><p>Resources</p><img src="/pixel.png?m={m}" width="10" height="10"></body></html>"""


def account_page(signed_in: bool) -> str:
    """``/opt/account``: the account page, or a login form without the session cookie."""
    if signed_in:
        body = '<main id="account-dashboard"><h1>Your account</h1><p>Balance: 42</p></main>'
    else:
        body = (
            '<form id="login" action="/opt/account" method="post"><h1>Sign in</h1>'
            '<input name="user"><input name="password" type="password">'
            "<button>Sign in</button></form>"
        )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Account</title></head><body>{body}</body></html>"""


def _int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or not value.isdigit():
        return None
    return min(int(value), 60_000)


def _html(body: str) -> Response:
    return Response(body, content_type="text/html; charset=utf-8")


async def _layout() -> Response:
    probe = {k: request.args[k] for k in ("tz", "locale", "ua", "dpr") if k in request.args}
    return _html(layout_page(_int_arg("late"), _int_arg("net"), _int_arg("slowimg"), probe))


async def _resources() -> Response:
    return _html(resources_page(request.args.get("m", "")[:64]))


async def _style() -> Response:
    return Response("p { color: rgb(0, 0, 0); }", content_type="text/css")


async def _font() -> Response:
    return Response(b"", status=404, content_type="font/woff2")


async def _account() -> Response:
    return _html(account_page(request.cookies.get("sid") == LOGGED_IN_SID))


ROUTES: dict[str, Callable[[], Awaitable[Response]]] = {
    "/opt/layout": _layout,
    "/opt/resources": _resources,
    "/opt/style.css": _style,
    "/opt/font.woff2": _font,
    "/opt/account": _account,
}


def add_option_pages(app: Quart) -> None:
    """Serve the pages of this module on ``app``."""
    for rule, view in ROUTES.items():
        app.add_url_rule(rule, endpoint=f"opt{rule}", view_func=view, methods=["GET", "POST"])
