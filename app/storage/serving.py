"""Handing a stored file to the browser, once a view has decided the person may have it.

Shared by the staff's download routes (``app.storage.views``) and the portals' own routes,
which check the file against what the buyer or the facility may see before calling these.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, send_file
from flask_babel import gettext as _

from app.storage.backends import ObjectMissing, StorageUnavailable, content_disposition
from app.storage.models import StoredFile
from app.storage.service import get_storage
from app.web.errors import error_page

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


def stream(key: str, content_type: str, download_name: str, inline: bool) -> Any:
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


def send_original(stored: StoredFile) -> Any:
    """The original as uploaded: a short-lived presigned link on S3, streamed otherwise.
    Images open in the browser; other files download."""
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
    return stream(stored.key, stored.content_type, stored.original_name, stored.is_image)


def send_preview(stored: StoredFile) -> Any:
    """A small upright JPEG of an image without its metadata (streamed, so pages may show it
    under their CSP); 404 for a file that has no preview."""
    if stored.preview_key is None:
        return error_page(404)
    name = stored.original_name.rsplit(".", 1)[0] + "-preview.jpg"
    return stream(stored.preview_key, "image/jpeg", name, inline=True)
