"""The target site's Quart app: a view per page, and every request recorded on the site.

Pages come from ``pages.py``, ``redaction_pages.py`` and ``attack_pages.py``; a view adds
only what depends on the request or the running site (its port, the canary's).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from quart import Quart, Response, request, websocket

from tests.support.attack_pages import attack_page, service_worker_script, sw_probe_page
from tests.support.hosts import OTHER_HOST, THIRDPARTY_HOST
from tests.support.login_pages import add_login_pages
from tests.support.option_pages import add_option_pages
from tests.support.pages import (
    article_page,
    big_page,
    echo_page,
    form_page,
    ls_first_page,
    pixel_png,
    secret_page,
    simple_page,
    third_party_page,
    third_party_redirect_page,
)
from tests.support.redaction_pages import (
    REDACT_FIXED_DEFAULT_SECRET,
    redact_fixed_page,
    redact_rerender_page,
    redact_table_page,
    redact_tricky_page,
)
from tests.support.request_records import RecordedRequest, cookie_dict, header_dict

if TYPE_CHECKING:
    from tests.support.target_site import TargetSite

READY_PATH = "/__ready"
"""Readiness probe path; requests to it are not recorded."""
_MAX_SLOW_MS = 600_000
_HTML = "text/html; charset=utf-8"


def _scope_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """The headers as received (Quart's ``request.headers`` adds ``Remote-Addr``)."""
    raw: Iterable[tuple[bytes, bytes]] = scope["headers"]
    return header_dict((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def _name_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _page(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=_HTML)


class TargetApp:
    """The Quart app of a :class:`TargetSite` (views as methods, recording in a hook)."""

    def __init__(self, site: TargetSite) -> None:
        self.site = site
        self.app = Quart(__name__)
        self.app.before_request(self._record_http)
        self.app.before_websocket(self._record_websocket)
        self.app.after_request(self._no_store)
        routes: dict[str, Callable[[], Awaitable[Response]]] = {
            "/": self._index,
            READY_PATH: self._ready,
            "/echo": self._echo,
            "/echo.json": self._echo_json,
            "/third-party": self._third_party,
            "/pixel.png": self._pixel,
            "/form": self._form,
            "/slow": self._slow,
            "/redirect": self._redirect,
            "/secret": self._secret,
            "/attack": self._attack,
            "/sw.js": self._service_worker,
            "/sw-probe": self._sw_probe,
            "/big": self._big,
            "/article": self._article,
            "/redact-fixed": self._redact_fixed,
            "/redact-tricky": self._redact_tricky,
            "/ls-first": self._ls_first,
            "/redact-rerender": self._redact_rerender,
            "/redact-table": self._redact_table,
            "/third-party-redirect": self._third_party_redirect,
        }
        for rule, view in routes.items():
            self.app.add_url_rule(rule, view_func=view, methods=["GET", "POST"])
        self.app.add_url_rule("/status/<int:code>", view_func=self._status, methods=["GET", "POST"])
        self.app.add_url_rule("/api", view_func=self._api, methods=["GET", "POST", "OPTIONS"])
        self.app.add_websocket("/ws", view_func=self._ws)
        add_option_pages(self.app)
        add_login_pages(self.app)

    def _record(self, kind: str) -> None:
        # Quart runs each handler in a task of its own that outlives a cancelled ASGI
        # call; the site cancels the ones still running when it stops.
        task = asyncio.current_task()
        if task is not None:
            self.site.handler_tasks.add(task)
            task.add_done_callback(self.site.handler_tasks.discard)
        current = websocket if kind == "ws" else request
        if current.path == READY_PATH:
            return
        headers = _scope_headers(current.scope)
        self.site.requests.append(
            RecordedRequest(
                method="GET" if kind == "ws" else request.method,
                scheme=current.scheme,
                host=current.host,
                path=current.path,
                query=current.query_string.decode("latin-1"),
                headers=headers,
                cookies=cookie_dict(headers),
                http_version=current.http_version,
                websocket=kind == "ws",
            )
        )

    async def _record_http(self) -> None:
        self._record("http")

    async def _record_websocket(self) -> None:
        self._record("ws")

    async def _no_store(self, response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _seen(self) -> tuple[dict[str, str], dict[str, str]]:
        headers = _scope_headers(request.scope)
        return headers, cookie_dict(headers)

    async def _index(self) -> Response:
        return _page(simple_page("SessionShot target"))

    async def _ready(self) -> Response:
        return Response("ready", content_type="text/plain")

    async def _echo(self) -> Response:
        return _page(echo_page(*self._seen()))

    async def _echo_json(self) -> Response:
        headers, cookies = self._seen()
        body = {
            "method": request.method,
            "host": request.host,
            "path": request.path,
            "headers": headers,
            "cookies": cookies,
        }
        return Response(json.dumps(body, sort_keys=True), content_type="application/json")

    async def _third_party(self) -> Response:
        return _page(third_party_page(self.site.origin(THIRDPARTY_HOST)))

    async def _pixel(self) -> Response:
        response = Response(pixel_png(), content_type="image/png")
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def _api(self) -> Response:
        if request.method == "OPTIONS":
            response = Response("", status=204)
        else:
            headers, _ = self._seen()
            body = {"host": request.host, "headers": headers}
            response = Response(json.dumps(body, sort_keys=True), content_type="application/json")
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        return response

    async def _form(self) -> Response:
        return _page(form_page(self.site.origin(OTHER_HOST), self.site.canary_origin()))

    async def _slow(self) -> Response:
        try:
            ms = max(0, min(int(request.args.get("ms", "1000")), _MAX_SLOW_MS))
        except ValueError:
            return _page(simple_page("Bad ms"), 400)
        await asyncio.sleep(ms / 1000)
        return _page(simple_page("Slow page", f'<p id="slow">slept {ms} ms</p>'))

    async def _status(self, code: int) -> Response:
        if not 200 <= code <= 599:
            return _page(simple_page("Bad status"), 400)
        if code in (204, 205, 304):
            return Response("", status=code)
        return _page(simple_page(f"Status {code}"), code)

    async def _redirect(self) -> Response:
        target = request.args.get("to")
        if not target:
            return _page(simple_page("Missing to"), 400)
        return Response("", status=302, headers={"Location": target})

    async def _secret(self) -> Response:
        return _page(secret_page())

    async def _redact_fixed(self) -> Response:
        secret = request.args.get("secret", REDACT_FIXED_DEFAULT_SECRET)[:64]
        return _page(redact_fixed_page(secret))

    async def _redact_tricky(self) -> Response:
        return _page(redact_tricky_page())

    async def _ls_first(self) -> Response:
        return _page(ls_first_page())

    async def _redact_rerender(self) -> Response:
        return _page(redact_rerender_page())

    async def _redact_table(self) -> Response:
        return _page(redact_table_page())

    async def _third_party_redirect(self) -> Response:
        return _page(third_party_redirect_page(self.site.origin(THIRDPARTY_HOST)))

    async def _attack(self) -> Response:
        skip = _name_list(request.args.get("skip", ""))
        extra = _name_list(request.args.get("with", ""))
        return _page(attack_page(self.site.canary_port, skip, extra))

    async def _service_worker(self) -> Response:
        script = service_worker_script(self.site.canary_origin())
        return Response(script, content_type="application/javascript")

    async def _sw_probe(self) -> Response:
        return _page(sw_probe_page(request.args.get("frame"), request.args.get("popup")))

    async def _big(self) -> Response:
        return _page(big_page())

    async def _article(self) -> Response:
        return _page(article_page())

    async def _ws(self) -> None:
        await websocket.accept()
        while True:
            await websocket.send(await websocket.receive())
