"""Where the bytes live: the ``Storage`` protocol and its two backends.

Keys are opaque paths made by ``app.storage.service`` (``tenants/<id>/<yyyy>/<mm>/<random>``).
Both backends raise ``StorageUnavailable`` when they cannot be reached and ``ObjectMissing``
when a key has no object, so the callers never see boto3's or the OS's own exceptions.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote

log = logging.getLogger(__name__)

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9][A-Za-z0-9_.\-]*)*")


class StorageError(Exception):
    """Base of the storage errors."""


class StorageUnavailable(StorageError):
    """The backend could not be reached or refused the operation."""


class ObjectMissing(StorageError):
    """No object under this key (deleted by hand, or a backend switched without copying)."""


def check_key(key: str) -> str:
    """Keys are relative paths of safe characters: no ``..``, no leading slash."""
    if not _KEY.fullmatch(key) or ".." in key.split("/") or len(key) > 200:
        raise ValueError(f"unsafe storage key: {key!r}")
    return key


class Storage(Protocol):
    """What the app needs from a place that keeps files."""

    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def open(self, key: str) -> IO[bytes]:
        """A readable stream of the object; the caller closes it."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""
        ...

    def presigned_url(
        self, key: str, *, download_name: str, content_type: str, expires_in: int
    ) -> str | None:
        """A short-lived URL the browser may fetch directly, or None if the backend has none."""
        ...


def content_disposition(disposition: str, filename: str) -> str:
    """``attachment; filename="..."; filename*=UTF-8''...`` with an ASCII fallback name."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


# --- a folder ---------------------------------------------------------------------------------


class LocalStorage:
    """Objects as files under one folder (by default ``instance/files``)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written beside, then renamed: a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageUnavailable(str(exc)) from exc

    def open(self, key: str) -> IO[bytes]:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageUnavailable(str(exc)) from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(str(exc)) from exc

    def presigned_url(
        self, key: str, *, download_name: str, content_type: str, expires_in: int
    ) -> str | None:
        return None


# --- S3 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    region: str = ""
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""


class S3Storage:
    """Objects in one private S3 bucket (or on an S3-compatible server). boto3 is imported
    only when S3 is configured; the bucket's own policy keeps it private."""

    name = "s3"

    def __init__(self, settings: S3Settings, client: Any = None) -> None:
        if not settings.bucket:
            raise ValueError("S3_BUCKET is required for STORAGE_BACKEND=s3")
        self.bucket = settings.bucket
        self.client = client or _s3_client(settings)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type
            )
        except _boto_errors() as exc:
            raise StorageUnavailable(str(exc)) from exc

    def open(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectMissing(key) from exc
            raise StorageUnavailable(str(exc)) from exc
        except _boto_errors() as exc:
            raise StorageUnavailable(str(exc)) from exc
        body: IO[bytes] = response["Body"]
        return body

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))
        except _boto_errors() as exc:
            raise StorageUnavailable(str(exc)) from exc

    def presigned_url(
        self, key: str, *, download_name: str, content_type: str, expires_in: int
    ) -> str | None:
        try:
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": check_key(key),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": content_disposition("attachment", download_name),
                },
                ExpiresIn=expires_in,
            )
        except _boto_errors() as exc:
            raise StorageUnavailable(str(exc)) from exc
        return url


def _boto_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _s3_client(settings: S3Settings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        # Fail fast when S3 is down: a clear message in seconds, not a hung request.
        connect_timeout=3,
        read_timeout=20,
        retries={"max_attempts": 2, "mode": "standard"},
        # S3-compatible servers on a plain host name need path-style addresses.
        s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
    )
    return boto3.client(
        "s3",
        region_name=settings.region or None,
        endpoint_url=settings.endpoint_url or None,
        aws_access_key_id=settings.access_key_id or None,
        aws_secret_access_key=settings.secret_access_key or None,
        config=config,
    )
