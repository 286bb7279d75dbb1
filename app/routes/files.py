"""``GET /v1/files/{token}``: a stored file behind a signed, expiring link."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import operation_id, security_scheme_blueprint, tag_blueprint

from app.errors import NotFound
from app.openapi import NO_AUTH, media, v1_errors
from app.state import app_state
from storage import CACHE_CONTROL, LocalStorage
from storage import content_disposition as disposition

blueprint = Blueprint("files", __name__, url_prefix="/v1/files")
tag_blueprint(blueprint, ["files"])
security_scheme_blueprint(blueprint, NO_AUTH)  # the signed link is the credential

_FILE = {"schema": {"type": "string", "format": "binary"}}


@blueprint.get("/<path:token>")
@media(
    200,
    {"image/png": _FILE, "image/jpeg": _FILE, "application/pdf": _FILE},
    "The file, with Cache-Control: private, no-store.",
)
@v1_errors(
    403,
    404,
    410,
    e403="SIGNATURE_INVALID: the link was altered.",
    e404="NOT_FOUND: the file is gone, or this service stores files elsewhere (S3).",
)
@operation_id("getFile")
async def get_file(token: str) -> Response:
    """Download a stored file.

    The signed link of a capture's or a screenshot's result: the link itself is the
    credential (no Authorization header), and it works until its `expiresAt`.
    """
    storage = app_state().storage
    if not isinstance(storage, LocalStorage):
        raise NotFound()
    # An altered link is 403, an expired one 410, a deleted file 404 (app/error_handlers.py).
    stored = await storage.open_signed(token)
    assert stored.data is not None
    return Response(
        stored.data,
        content_type=stored.content_type,
        headers={
            "Cache-Control": CACHE_CONTROL,
            "Content-Disposition": disposition(stored.filename),
        },
    )
