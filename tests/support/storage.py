"""Storage for tests: a real S3-compatible server on loopback (moto's server mode, started
once per session), a fresh bucket per test, and the local folder backend — installed into
the app for one test at a time."""

from __future__ import annotations

import io
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from app.storage.backends import LocalStorage, S3Settings, S3Storage, Storage
from app.storage.service import EXTENSION_KEY

REGION = "ap-northeast-1"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_storage_at(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(
        S3Settings(
            bucket=bucket,
            region=REGION,
            endpoint_url=endpoint,
            access_key_id="testing",
            secret_access_key="testing",
        )
    )


@pytest.fixture
def s3_storage(s3_endpoint: str) -> S3Storage:
    storage = s3_storage_at(s3_endpoint, f"renkei-{uuid.uuid4().hex[:16]}")
    storage.client.create_bucket(
        Bucket=storage.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return storage


@pytest.fixture
def down_storage() -> S3Storage:
    """S3 configured at a loopback port where nothing listens: every call fails fast."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return s3_storage_at(f"http://127.0.0.1:{port}", "renkei-unreachable")


def object_keys(storage: Storage) -> list[str]:
    """Every object the backend holds (to prove nothing was left behind)."""
    if isinstance(storage, S3Storage):
        listing = storage.client.list_objects_v2(Bucket=storage.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))
    assert isinstance(storage, LocalStorage)
    root = storage.root
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, app: Flask, tmp_path: Path) -> Iterator[Storage]:
    """Each backend in turn, installed as the app's storage for this test."""
    chosen: Storage
    if request.param == "s3":
        chosen = request.getfixturevalue("s3_storage")
    else:
        chosen = LocalStorage(tmp_path / "files")
    with installed(app, chosen):
        yield chosen


class installed:  # noqa: N801  (used as a context manager, reads like a function)
    """Make ``storage`` the app's storage inside the block."""

    def __init__(self, app: Flask, storage: Storage) -> None:
        self.app = app
        self.storage = storage
        self.previous: Storage | None = None

    def __enter__(self) -> Storage:
        self.previous = self.app.extensions.get(EXTENSION_KEY)
        self.app.extensions[EXTENSION_KEY] = self.storage
        return self.storage

    def __exit__(self, *_exc: object) -> None:
        if self.previous is None:
            self.app.extensions.pop(EXTENSION_KEY, None)
        else:
            self.app.extensions[EXTENSION_KEY] = self.previous


# --- files to upload --------------------------------------------------------------------------


def jpeg_bytes(
    size: tuple[int, int] = (64, 48), color: str = "red", orientation: int | None = None
) -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    if orientation is None:
        image.save(out, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bytes(size: tuple[int, int] = (40, 30), mode: str = "RGBA") -> bytes:
    image = Image.new(mode, size, (0, 128, 0, 128) if mode == "RGBA" else "green")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(out, "WEBP")
    return out.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
