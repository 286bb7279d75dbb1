"""``GET /v1/files/{token}``: a stored file behind a signed, expiring link."""

from __future__ import annotations

from quart import Blueprint, Response

from app.errors import ApiError, NotFound
from app.state import app_state
from storage import CACHE_CONTROL, FileNotFound, LinkExpired, LocalStorage, SignatureInvalid
from storage import content_disposition as disposition

blueprint = Blueprint("files", __name__, url_prefix="/v1/files")


class LinkExpiredError(ApiError):
    """The signed link is past its expiry."""

    status, code, default_message = 410, "LINK_EXPIRED", "This link has expired."


class SignatureInvalidError(ApiError):
    """The signed link was altered."""

    status, code, default_message = 403, "SIGNATURE_INVALID", "This link is not valid."


@blueprint.get("/<path:token>")
async def get_file(token: str) -> Response:
    """Serve the file; the link is the credential."""
    storage = app_state().storage
    if not isinstance(storage, LocalStorage):
        raise NotFound()
    try:
        stored = await storage.open_signed(token)
    except LinkExpired as err:
        raise LinkExpiredError() from err
    except SignatureInvalid as err:
        raise SignatureInvalidError() from err
    except FileNotFound as err:
        raise NotFound("File not found.") from err
    assert stored.data is not None
    return Response(
        stored.data,
        content_type=stored.content_type,
        headers={
            "Cache-Control": CACHE_CONTROL,
            "Content-Disposition": disposition(stored.filename),
        },
    )
