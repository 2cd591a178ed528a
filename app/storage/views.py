"""Downloads for the workspace's staff: previews streamed, originals streamed or (S3) handed
over as a short-lived presigned link. Every file is looked up in the request's workspace."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, redirect, send_file
from flask_babel import gettext as _

from app.extensions import db
from app.storage.backends import ObjectMissing, StorageUnavailable, content_disposition
from app.storage.models import StoredFile
from app.storage.service import get_storage
from app.web.errors import error_page
from tenants.context import staff_view, tenant_blueprint

bp = tenant_blueprint("files", __name__, "/files")

# Objects never change under a key, so browsers may keep them (privately) for a day.
MAX_AGE = 86_400


def storage_down_page() -> Any:
    return error_page(
        503,
        _(
            "The file storage is not answering, so files cannot be shown or saved right now. "
            "Nothing else is affected; try again in a few minutes."
        ),
    )


def _file_or_404(file_id: int) -> StoredFile:
    stored = db.session.get(StoredFile, (g.tenant.id, file_id))
    if stored is None:
        abort(404)
    return stored


def _stream(key: str, content_type: str, download_name: str, inline: bool) -> Any:
    storage = get_storage()
    try:
        handle = storage.open(key)
    except ObjectMissing:
        return error_page(410, _("This file is missing from the storage."))
    except StorageUnavailable:
        return storage_down_page()
    response = send_file(
        handle,
        mimetype=content_type,
        as_attachment=not inline,
        download_name=download_name,
        conditional=False,
        max_age=MAX_AGE,
    )
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", download_name
    )
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@bp.get("/<int:file_id>")
@staff_view()
def download(file_id: int) -> Any:
    """The original as uploaded. Images open in the browser; other files download."""
    stored = _file_or_404(file_id)
    storage = get_storage()
    seconds = current_app.extensions["renkei_settings"].s3_presign_seconds
    try:
        url = storage.presigned_url(
            stored.key,
            download_name=stored.original_name,
            content_type=stored.content_type,
            expires_in=seconds,
        )
    except StorageUnavailable:
        return storage_down_page()
    if url is not None:
        response = redirect(url, code=303)
        response.headers["Cache-Control"] = "no-store"
        return response
    return _stream(stored.key, stored.content_type, stored.original_name, stored.is_image)


@bp.get("/<int:file_id>/preview")
@staff_view()
def preview(file_id: int) -> Any:
    """A small upright JPEG of an image (streamed, so pages may show it under their CSP)."""
    stored = _file_or_404(file_id)
    if stored.preview_key is None:
        return error_page(404)
    name = stored.original_name.rsplit(".", 1)[0] + "-preview.jpg"
    return _stream(stored.preview_key, "image/jpeg", name, inline=True)
