"""``GET /docs`` (Swagger UI) and ``GET /redoc`` (Redoc), every asset from this origin.

Both bundles come from the ``drf-spectacular-sidecar`` distribution (its files are read; the
package itself, which imports Django, never is). Pages carry no inline script or style, so
they work offline and under the strict ``Content-Security-Policy`` they are sent with (SPEC
sections 7 and 15). Assets live under a URL holding a tag of their version, so browsers may
cache them for a year.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import aiofiles
from markupsafe import escape
from quart import Blueprint, Response, current_app, request, url_for
from quart.blueprints import BlueprintSetupState
from quart_schema import hide

from app.errors import NotFound

blueprint = Blueprint("docs", __name__)

SIDECAR_DIST = "drf-spectacular-sidecar"
SIDECAR_PACKAGE = "drf_spectacular_sidecar"
_EXTENSION_KEY = "sessionshot.docs_assets"

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
PNG = "image/png"

# Served name -> (path under the package's static directory, content type).
VENDOR_FILES = {
    "swagger-ui-bundle.js": ("swagger-ui-dist/swagger-ui-bundle.js", JS),
    "swagger-ui.css": ("swagger-ui-dist/swagger-ui.css", CSS),
    "favicon-32x32.png": ("swagger-ui-dist/favicon-32x32.png", PNG),
    "redoc.standalone.js": ("redoc/bundles/redoc.standalone.js", JS),
}

# The specification's URL is read from the page (``data-spec-url``), never written in here.
# ``validatorUrl: null``: Swagger UI's default sends the spec's URL to validator.swagger.io
# for a badge (drawn by the standalone layout, not this one, but it stays off either way).
SWAGGER_INIT = b"""\
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    validatorUrl: null,
    showExtensions: true,
    showCommonExtensions: true
  });
})();
"""

REDOC_INIT = b"""\
"use strict";
(function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.dataset.specUrl, {}, root);
})();
"""

PAGE_CSS = b"""\
html { box-sizing: border-box; }
*, *::before, *::after { box-sizing: inherit; }
body { margin: 0; padding: 0; background: #fafafa; }
"""

OWN_FILES = {
    "swagger-init.js": (SWAGGER_INIT, JS),
    "redoc-init.js": (REDOC_INIT, JS),
    "docs.css": (PAGE_CSS, CSS),
}
_OWN_DIGEST = hashlib.sha256(b"".join(body for body, _ in OWN_FILES.values())).hexdigest()[:8]

# Redoc 2 draws the vendor's logo beside "API docs by Redocly" from its CDN and has no option
# to leave it out: the served bundle points it at an empty image instead.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"
# Redoc's styles go into <style> elements carrying webpack's nonce, which starts unset (one
# sheet is inserted while the bundle loads, before any option is read): it starts as the
# nonce of the bundle's own <script> element instead.
WEBPACK_NONCE = re.compile(rb"\b([A-Za-z_$][\w$]*)\.nc=void 0;")
WEBPACK_NONCE_FROM_SCRIPT = rb"\1.nc=(document.currentScript||{}).nonce||void 0;"

ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"

# Why each directive beyond ``default-src 'self'`` is there (without img-src, style-src or
# worker-src as written, the browser test sees the page report a violation):
# - img-src data: both draw icons as data: URLs (Swagger UI's stylesheet, Redoc's section
#   links, built at run time), and the stand-in for Redoc's logo is one;
# - object-src, base-uri, frame-ancestors, form-action: nothing is embedded, the base URL
#   never changes, no other site may frame these pages, no form goes elsewhere;
# - Redoc only: styled-components insert <style> elements (allowed by this response's nonce,
#   not by 'unsafe-inline'), and the search index runs in a worker the bundle builds from a
#   blob: URL (blob: URLs are made by scripts already running here, never fetched).
_CSP_COMMON = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SWAGGER_CSP = _CSP_COMMON
REDOC_CSP = _CSP_COMMON + "; style-src 'self' 'nonce-{nonce}'; worker-src blob:"


def patch_redoc(bundle: bytes) -> bytes:
    """Redoc's bundle without its CDN logo, its load-time stylesheet allowed by the nonce."""
    bundle = bundle.replace(REDOC_LOGO, EMPTY_SVG)
    return WEBPACK_NONCE.sub(WEBPACK_NONCE_FROM_SCRIPT, bundle, count=1)


@dataclass(frozen=True)
class Asset:
    """One served file."""

    body: bytes
    content_type: str
    etag: str


@dataclass
class DocsAssets:
    """The pages' files: read from disk on first use without blocking the loop, then kept."""

    static_root: Path
    vendor_version: str
    _loaded: dict[str, Asset] = field(default_factory=dict)

    @classmethod
    def locate(cls) -> DocsAssets:
        """The installed sidecar distribution's files (its package is not imported)."""
        spec = importlib.util.find_spec(SIDECAR_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{SIDECAR_DIST} is not installed: /docs needs its files")
        package_dir = Path(next(iter(spec.submodule_search_locations)))
        return cls(
            static_root=package_dir / "static" / SIDECAR_PACKAGE,
            vendor_version=importlib.metadata.version(SIDECAR_DIST),
        )

    @property
    def tag(self) -> str:
        """The version part of every asset URL: changes whenever any served file may."""
        return f"{self.vendor_version}-{_OWN_DIGEST}"

    async def get(self, name: str) -> Asset | None:
        """The asset called ``name``, or None when there is no such asset."""
        found = self._loaded.get(name)
        if found is None:
            found = await self._load(name)
            if found is not None:
                self._loaded[name] = found
        return found

    async def _load(self, name: str) -> Asset | None:
        if name in OWN_FILES:
            body, content_type = OWN_FILES[name]
        elif name in VENDOR_FILES:
            relative, content_type = VENDOR_FILES[name]
            async with aiofiles.open(self.static_root / relative, "rb") as handle:
                body = await handle.read()
            if name == "redoc.standalone.js":
                body = patch_redoc(body)
        else:
            return None
        return Asset(body=body, content_type=content_type, etag=f"{self.tag}-{name}")


@blueprint.record_once
def _attach_assets(state: BlueprintSetupState) -> None:
    # Located while the app is built (a few small reads), not on the loop per request.
    state.app.extensions[_EXTENSION_KEY] = DocsAssets.locate()


def _assets() -> DocsAssets:
    assets: DocsAssets = current_app.extensions[_EXTENSION_KEY]
    return assets


def asset_url(name: str) -> str:
    """The versioned URL of asset ``name``."""
    return url_for("docs.asset", tag=_assets().tag, name=name)


def _page(html: str, csp: str) -> Response:
    return Response(
        html,
        content_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": csp,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def _head(title: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" type="image/png" href="{escape(asset_url("favicon-32x32.png"))}">\n'
        f'<link rel="stylesheet" href="{escape(asset_url("docs.css"))}">\n'
    )


@blueprint.get("/docs")
@hide
async def swagger_ui() -> Response:
    """The HTTP API in Swagger UI."""
    html = (
        _head("SessionShot API")
        + f'<link rel="stylesheet" href="{escape(asset_url("swagger-ui.css"))}">\n'
        + "</head>\n<body>\n"
        + f'<div id="swagger-ui" data-spec-url="{escape(url_for("openapi"))}"></div>\n'
        + f'<script src="{escape(asset_url("swagger-ui-bundle.js"))}"></script>\n'
        + f'<script src="{escape(asset_url("swagger-init.js"))}"></script>\n'
        + "</body>\n</html>\n"
    )
    return _page(html, SWAGGER_CSP)


@blueprint.get("/redoc")
@hide
async def redoc_ui() -> Response:
    """The HTTP API in Redoc."""
    nonce = secrets.token_urlsafe(18)
    html = (
        _head("SessionShot API")
        + "</head>\n<body>\n"
        + f'<div id="redoc" data-spec-url="{escape(url_for("openapi"))}"></div>\n'
        + f'<script nonce="{nonce}" src="{escape(asset_url("redoc.standalone.js"))}"></script>\n'
        + f'<script src="{escape(asset_url("redoc-init.js"))}"></script>\n'
        + "</body>\n</html>\n"
    )
    return _page(html, REDOC_CSP.format(nonce=nonce))


@blueprint.get("/docs/assets/<tag>/<name>")
@hide
async def asset(tag: str, name: str) -> Response:
    """A file of the docs pages; its URL changes with its content, so it is cached for good."""
    assets = _assets()
    found = await assets.get(name) if tag == assets.tag else None
    if found is None:
        raise NotFound("No such documentation asset.")
    response = Response(
        found.body,
        content_type=found.content_type,
        headers={
            "Cache-Control": ASSET_CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
        },
    )
    response.set_etag(found.etag)
    return await response.make_conditional(request)
