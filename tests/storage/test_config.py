"""Storage settings come from the environment alone."""

from __future__ import annotations

import pytest

from app.config import REQUEST_OVERHEAD_BYTES, Settings
from app.storage.backends import LocalStorage, S3Storage
from app.storage.service import build_storage, config_of


def settings(tmp_path, **env):
    return Settings.from_env({"RENKEI_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", **env})


def test_local_folder_by_default_and_s3_when_a_bucket_is_named(tmp_path):
    local = settings(tmp_path)
    assert local.storage_backend == "local"
    s3 = settings(
        tmp_path,
        S3_BUCKET="renkei-files",
        S3_REGION="ap-northeast-1",
        S3_ENDPOINT_URL="http://127.0.0.1:9000",
        S3_PRESIGN_SECONDS="120",
    )
    assert (s3.storage_backend, s3.s3_bucket, s3.s3_presign_seconds) == ("s3", "renkei-files", 120)


def test_impossible_storage_settings_stop_the_start(tmp_path):
    with pytest.raises(RuntimeError):
        settings(tmp_path, STORAGE_BACKEND="s3")
    with pytest.raises(RuntimeError):
        settings(tmp_path, STORAGE_BACKEND="ftp")


def test_the_request_limit_follows_the_upload_limit(tmp_path):
    config = settings(tmp_path, UPLOAD_MAX_BYTES=str(5 * 1024 * 1024)).flask_config()
    assert config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024 + REQUEST_OVERHEAD_BYTES


def test_backends_are_built_from_the_settings(app, tmp_path):
    assert isinstance(build_storage(config_of(app)), LocalStorage)
    from types import SimpleNamespace

    s3 = settings(tmp_path, S3_BUCKET="renkei-files", S3_REGION="ap-northeast-1")
    other_app = SimpleNamespace(extensions={"renkei_settings": s3})
    storage = build_storage(config_of(other_app))  # type: ignore[arg-type]
    assert isinstance(storage, S3Storage) and storage.bucket == "renkei-files"
