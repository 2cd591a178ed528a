"""Downloads for the workspace's staff: previews streamed, originals streamed or (S3) handed
over as a short-lived presigned link. Every file is looked up in the request's workspace."""

from __future__ import annotations

from typing import Any

from flask import abort, g

from app.extensions import db
from app.storage.models import StoredFile
from app.storage.serving import send_original, send_preview
from tenants.context import staff_view, tenant_blueprint

bp = tenant_blueprint("files", __name__, "/files")


def _file_or_404(file_id: int) -> StoredFile:
    stored = db.session.get(StoredFile, (g.tenant.id, file_id))
    if stored is None:
        abort(404)
    return stored


@bp.get("/<int:file_id>")
@staff_view()
def download(file_id: int) -> Any:
    """The original as uploaded. Images open in the browser; other files download."""
    return send_original(_file_or_404(file_id))


@bp.get("/<int:file_id>/preview")
@staff_view()
def preview(file_id: int) -> Any:
    """A small upright JPEG of an image (streamed, so pages may show it under their CSP)."""
    return send_preview(_file_or_404(file_id))
