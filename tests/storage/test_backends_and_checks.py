"""Both storage backends against the same expectations (S3 on a real loopback server), and
the content checks of uploads."""

from __future__ import annotations

import io
import time
import urllib.request

import pytest
from PIL import Image

from app.storage.backends import (
    LocalStorage,
    ObjectMissing,
    StorageUnavailable,
    check_key,
    content_disposition,
)
from app.storage.checks import (
    IMAGES,
    IMAGES_AND_DOCUMENTS,
    MAX_PIXELS,
    UploadRefused,
    inspect_upload,
    make_preview,
    sniff,
)
from tests.support.storage import PDF_BYTES, jpeg_bytes, object_keys, png_bytes, webp_bytes

MB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    return request.getfixturevalue("s3_storage")


def test_put_open_delete_round_trip(backend):
    key = "tenants/7/2026/11/abc123.jpg"
    data = jpeg_bytes()
    backend.put(key, data, "image/jpeg")
    with backend.open(key) as handle:
        assert handle.read() == data
    assert object_keys(backend) == [key]
    backend.delete(key)
    assert object_keys(backend) == []
    backend.delete(key)  # already gone: no error
    with pytest.raises(ObjectMissing):
        backend.open(key)


def test_unsafe_keys_are_refused(backend):
    for key in ("../etc/passwd", "/abs/key", "a//b", "tenants/1/../2/x", "", "a b"):
        with pytest.raises(ValueError):
            check_key(key)
        with pytest.raises(ValueError):
            backend.put(key, b"x", "text/plain")


def test_s3_presigned_link_downloads_the_object_with_its_japanese_name(s3_storage):
    key = "tenants/1/2026/11/doc.pdf"
    s3_storage.put(key, PDF_BYTES, "application/pdf")
    url = s3_storage.presigned_url(
        key, download_name="検査成績書.pdf", content_type="application/pdf", expires_in=60
    )
    assert url is not None and "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (loopback URL)
        assert response.read() == PDF_BYTES
        disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E6%A4%9C" in disposition


def test_local_storage_has_no_presigned_links(tmp_path):
    storage = LocalStorage(tmp_path)
    assert storage.presigned_url("a/b", download_name="x", content_type="x", expires_in=1) is None


def test_unreachable_s3_fails_fast_with_storage_unavailable(down_storage):
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        down_storage.put("tenants/1/x.jpg", b"x", "image/jpeg")
    with pytest.raises(StorageUnavailable):
        down_storage.open("tenants/1/x.jpg")
    assert time.monotonic() - started < 15


def test_content_disposition_keeps_japanese_names_and_an_ascii_fallback():
    header = content_disposition("attachment", '検品"写真".jpg')
    assert header.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E6%A4%9C%E5%93%81" in header
    assert header.count('"') == 2


# --- what an upload is --------------------------------------------------------------------------


def test_types_are_read_from_the_content():
    assert sniff(jpeg_bytes()) == "image/jpeg"
    assert sniff(png_bytes()) == "image/png"
    assert sniff(webp_bytes()) == "image/webp"
    assert sniff(PDF_BYTES) == "application/pdf"
    assert sniff(b"GIF89a....") is None
    assert sniff("これは写真ではありません".encode()) is None


def test_accepted_uploads_report_type_size_and_upright_size():
    checked = inspect_upload(jpeg_bytes((64, 48)), allowed=IMAGES, max_bytes=MB)
    assert (checked.content_type, checked.width, checked.height) == ("image/jpeg", 64, 48)
    turned = inspect_upload(jpeg_bytes((64, 48), orientation=6), allowed=IMAGES, max_bytes=MB)
    assert (turned.width, turned.height) == (48, 64)  # EXIF says: rotate 90°
    document = inspect_upload(PDF_BYTES, allowed=IMAGES_AND_DOCUMENTS, max_bytes=MB)
    assert document.content_type == "application/pdf" and document.width is None


@pytest.mark.parametrize(
    ("data", "allowed", "reason"),
    [
        (b"", IMAGES, UploadRefused.EMPTY),
        (b"not an image at all", IMAGES, UploadRefused.WRONG_TYPE),
        (PDF_BYTES, IMAGES, UploadRefused.WRONG_TYPE),
        (b"GIF89a" + b"\0" * 20, IMAGES_AND_DOCUMENTS, UploadRefused.WRONG_TYPE),
        (jpeg_bytes()[:200], IMAGES, UploadRefused.BROKEN_IMAGE),
        (b"\xff\xd8\xff" + b"forged jpeg header", IMAGES, UploadRefused.BROKEN_IMAGE),
    ],
)
def test_refused_uploads(data, allowed, reason):
    with pytest.raises(UploadRefused) as refused:
        inspect_upload(data, allowed=allowed, max_bytes=MB)
    assert refused.value.reason == reason


def test_size_limit():
    data = jpeg_bytes((600, 600))
    with pytest.raises(UploadRefused) as refused:
        inspect_upload(data, allowed=IMAGES, max_bytes=len(data) - 1)
    assert refused.value.reason == UploadRefused.TOO_LARGE
    assert inspect_upload(data, allowed=IMAGES, max_bytes=len(data)).size == len(data)


def test_decompression_bombs_are_refused():
    side = int(MAX_PIXELS**0.5) + 10
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")  # small file, huge canvas
    with pytest.raises(UploadRefused) as refused:
        inspect_upload(out.getvalue(), allowed=IMAGES, max_bytes=50 * MB)
    assert refused.value.reason == UploadRefused.TOO_MANY_PIXELS


def test_previews_are_small_upright_jpegs_without_metadata():
    preview = make_preview(jpeg_bytes((3000, 1000), orientation=6))
    with Image.open(io.BytesIO(preview)) as image:
        assert image.format == "JPEG"
        assert image.size == (427, 1280)  # turned upright, longest side 1280
        assert not image.getexif()
    transparent = make_preview(png_bytes((40, 30), mode="RGBA"))
    with Image.open(io.BytesIO(transparent)) as image:
        assert image.mode == "RGB" and image.size == (40, 30)
        assert image.getpixel((0, 0))[1] > 150  # green over white, not over black
