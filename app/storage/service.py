"""Saving uploads: check the bytes, write the objects, then the ``StoredFile`` row.

The order matters for "nothing stored half-way". Objects are written first: if the backend is
down, nothing reaches the database and the caller shows ``StorageUnavailable``'s message.
The keys written are remembered on the session; if its transaction then ends without a commit
(a form error further on, a database failure, a rollback), they are deleted again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from app.db import utcnow
from app.storage.backends import (
    LocalStorage,
    S3Settings,
    S3Storage,
    Storage,
    StorageError,
)
from app.storage.checks import EXTENSIONS, JPEG, inspect_upload, make_preview
from app.storage.models import StoredFile
from tenants.isolation import USER_KEY, current_tenant_id

log = logging.getLogger(__name__)

EXTENSION_KEY = "renkei_storage"
PENDING_KEY = "storage_pending_objects"
MAX_NAME = 255


@dataclass(frozen=True)
class StorageConfig:
    backend: str
    local_root: Path
    s3: S3Settings
    presign_seconds: int
    max_bytes: int


def config_of(app: Flask) -> StorageConfig:
    settings = app.extensions["renkei_settings"]
    return StorageConfig(
        backend=settings.storage_backend,
        local_root=Path(settings.instance_path) / "files",
        s3=S3Settings(
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        ),
        presign_seconds=settings.s3_presign_seconds,
        max_bytes=settings.upload_max_bytes,
    )


def build_storage(config: StorageConfig) -> Storage:
    if config.backend == "s3":
        return S3Storage(config.s3)
    if config.backend == "local":
        return LocalStorage(config.local_root)
    raise ValueError(f"unknown STORAGE_BACKEND: {config.backend!r} (local or s3)")


def get_storage(app: Flask | None = None) -> Storage:
    """The app's storage, made on first use (tests may put their own in ``app.extensions``)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    storage: Storage | None = app.extensions.get(EXTENSION_KEY)
    if storage is None:
        storage = build_storage(config_of(app))
        app.extensions[EXTENSION_KEY] = storage
    return storage


def max_upload_bytes(app: Flask | None = None) -> int:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return int(app.extensions["renkei_settings"].upload_max_bytes)


def new_key(tenant_id: int, content_type: str, now: datetime) -> str:
    """``tenants/<id>/<yyyy>/<mm>/<32 random hex>.<ext>``: the tenant first, unguessable."""
    suffix = EXTENSIONS.get(content_type, "")
    return f"tenants/{tenant_id}/{now:%Y/%m}/{secrets.token_hex(16)}{suffix}"


def preview_key_for(key: str) -> str:
    return key.rsplit(".", 1)[0] + "-preview.jpg"


def clean_name(filename: str | None) -> str:
    """The name as the user knows it (no folders), for display and downloads only."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-MAX_NAME:] or "file"


def save_upload(
    session: Session,
    storage: Storage,
    *,
    data: bytes,
    filename: str | None,
    allowed: frozenset[str],
    max_bytes: int,
) -> StoredFile:
    """Check and store one upload; returns its flushed ``StoredFile``.

    Raises ``UploadRefused`` (nothing written) or ``StorageUnavailable`` (nothing left behind).
    """
    checked = inspect_upload(data, allowed=allowed, max_bytes=max_bytes)
    tenant_id = current_tenant_id(session)
    now = utcnow()
    key = new_key(tenant_id, checked.content_type, now)
    preview = make_preview(data) if checked.is_image else None
    written: list[str] = []
    try:
        storage.put(key, data, checked.content_type)
        written.append(key)
        if preview is not None:
            storage.put(preview_key_for(key), preview, JPEG)
            written.append(preview_key_for(key))
    except StorageError:
        _delete_quietly(storage, written)
        raise
    _remember(session, storage, written)
    row = StoredFile(
        key=key,
        preview_key=preview_key_for(key) if preview is not None else None,
        original_name=clean_name(filename),
        content_type=checked.content_type,
        size_bytes=checked.size,
        sha256=hashlib.sha256(data).hexdigest(),
        width=checked.width,
        height=checked.height,
        uploaded_by_user_id=session.info.get(USER_KEY),
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def files_by_id(session: Session, ids: set[int]) -> dict[int, StoredFile]:
    if not ids:
        return {}
    return {f.id: f for f in session.scalars(select(StoredFile).where(StoredFile.id.in_(ids)))}


# --- objects written by a session that did not commit -----------------------------------------


def _remember(session: Session, storage: Storage, keys: list[str]) -> None:
    session.info.setdefault(PENDING_KEY, []).extend((storage, key) for key in keys)


def forget_pending(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def discard_pending(session: Session) -> None:
    """Delete the objects this session wrote since its last commit (best effort)."""
    for storage, key in session.info.pop(PENDING_KEY, []):
        _delete_quietly(storage, [key])


def _delete_quietly(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except StorageError:  # the backend went away: an orphan object, never a broken row
            log.warning("could not delete %s after a failed upload", key)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    forget_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    # Still pending when the outermost transaction ends: it was rolled back or closed.
    if transaction.parent is None and session.info.get(PENDING_KEY):
        discard_pending(session)
