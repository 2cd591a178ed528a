"""Saving uploads (objects first, then the row; nothing left behind on failure) and serving
them to the workspace's staff only — on both backends."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.storage.backends import StorageUnavailable
from app.storage.checks import IMAGES, IMAGES_AND_DOCUMENTS, UploadRefused
from app.storage.models import StoredFile
from app.storage.service import save_upload
from tenants.isolation import tenant_scope
from tests.support.storage import PDF_BYTES, installed, jpeg_bytes, object_keys

MB = 1024 * 1024


def count_files(read):
    return read(lambda s: s.scalar(select(func.count()).select_from(StoredFile)))


def upload(arrange, storage, data, name="写真.jpg", allowed=IMAGES_AND_DOCUMENTS):
    return arrange(
        lambda s: (
            save_upload(s, storage, data=data, filename=name, allowed=allowed, max_bytes=MB).id
        )
    )


def test_an_image_is_stored_with_its_preview_and_metadata(world, arrange, read, storage):
    data = jpeg_bytes((800, 600))
    file_id = upload(arrange, storage, data, name="C:\\写真\\検品①.jpg")
    stored = read(lambda s: s.get(StoredFile, (world.alpha.id, file_id)))
    assert stored.original_name == "検品①.jpg"
    assert stored.content_type == "image/jpeg"
    assert (stored.size_bytes, stored.width, stored.height) == (len(data), 800, 600)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.key.startswith(f"tenants/{world.alpha.id}/")
    assert stored.preview_key is not None
    assert object_keys(storage) == sorted([stored.key, stored.preview_key])
    with storage.open(stored.key) as handle:
        assert handle.read() == data


def test_refused_upload_leaves_nothing(world, arrange, read, storage):
    with pytest.raises(UploadRefused):
        upload(arrange, storage, "テキスト".encode(), name="fake.jpg", allowed=IMAGES)
    assert count_files(read) == 0
    assert object_keys(storage) == []


def test_storage_down_leaves_no_row(world, arrange, read, down_storage):
    with pytest.raises(StorageUnavailable):
        upload(arrange, down_storage, jpeg_bytes())
    assert count_files(read) == 0


def test_objects_of_a_transaction_that_does_not_commit_are_deleted(app, world, storage):
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        save_upload(s, storage, data=jpeg_bytes(), filename="a.jpg", allowed=IMAGES, max_bytes=MB)
        assert len(object_keys(storage)) == 2
        s.rollback()
        assert object_keys(storage) == []
        save_upload(
            s, storage, data=PDF_BYTES, filename="b.pdf", allowed=IMAGES_AND_DOCUMENTS, max_bytes=MB
        )
        assert len(object_keys(storage)) == 1
    assert object_keys(storage) == []  # closed without a commit
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        save_upload(
            s, storage, data=PDF_BYTES, filename="c.pdf", allowed=IMAGES_AND_DOCUMENTS, max_bytes=MB
        )
        s.commit()
    assert len(object_keys(storage)) == 1  # committed: kept


# --- downloads --------------------------------------------------------------------------------


def test_staff_download_and_preview_on_the_local_backend(app, client, world, arrange, tmp_path):
    from app.storage.backends import LocalStorage

    local = LocalStorage(tmp_path / "files")
    with installed(app, local):
        data = jpeg_bytes((100, 80))
        photo = upload(arrange, local, data, name="検品写真.jpg")
        document = upload(arrange, local, PDF_BYTES, name="成績書.pdf")
        client.login_as(world.viewer)
        # Streamed responses hold the file open until the server closes them: so do we.
        with client.get(f"/t/alpha/files/{photo}") as response:
            assert response.status_code == 200 and response.data == data
            assert response.headers["Content-Type"] == "image/jpeg"
            assert response.headers["Content-Disposition"].startswith("inline;")
            assert "private" in response.headers["Cache-Control"]
        with client.get(f"/t/alpha/files/{document}") as pdf:
            assert pdf.status_code == 200 and pdf.data == PDF_BYTES
            assert pdf.headers["Content-Disposition"].startswith("attachment;")
            assert "%E6%88%90%E7%B8%BE" in pdf.headers["Content-Disposition"]
        with client.get(f"/t/alpha/files/{photo}/preview") as preview:
            assert preview.status_code == 200 and preview.data.startswith(b"\xff\xd8\xff")
        assert client.get(f"/t/alpha/files/{document}/preview").status_code == 404


def test_s3_downloads_hand_over_a_short_lived_link(app, client, world, arrange, s3_storage):
    with installed(app, s3_storage):
        data = jpeg_bytes((90, 70))
        photo = upload(arrange, s3_storage, data)
        client.login_as(world.coordinator)
        response = client.get(f"/t/alpha/files/{photo}")
        assert response.status_code == 303
        link = response.headers["Location"]
        assert link.startswith(s3_storage.client.meta.endpoint_url)
        assert "X-Amz-Expires=300" in link
        with urllib.request.urlopen(link, timeout=10) as fetched:  # noqa: S310  (loopback URL)
            assert fetched.read() == data
        # Previews are streamed through the app: pages show them under their own CSP.
        with client.get(f"/t/alpha/files/{photo}/preview") as preview:
            assert preview.status_code == 200 and preview.data.startswith(b"\xff\xd8\xff")


def test_outsiders_get_404_and_never_the_bytes(app, client, world, arrange, storage):
    photo = upload(arrange, storage, jpeg_bytes())
    client.login_as(world.outsider)
    for url in (f"/t/alpha/files/{photo}", f"/t/alpha/files/{photo}/preview"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"\xff\xd8" not in response.data
    # Beta's own file id 1 is not alpha's.
    assert client.get(f"/t/beta/files/{photo}").status_code == 404


def test_a_lost_object_is_gone_not_a_crash(app, client, world, arrange, storage):
    photo = upload(arrange, storage, jpeg_bytes())
    for key in object_keys(storage):
        storage.delete(key)
    client.login_as(world.admin)
    response = client.get(f"/t/alpha/files/{photo}/preview")
    assert response.status_code == 410


def test_storage_down_shows_a_clear_page(app, client, world, arrange, tmp_path, down_storage):
    from app.storage.backends import LocalStorage

    photo = upload(arrange, LocalStorage(tmp_path), jpeg_bytes())
    client.login_as(world.admin)
    with installed(app, down_storage):
        response = client.get(f"/t/alpha/files/{photo}/preview")
    assert response.status_code == 503
    assert 'lang="ja"' in response.text
