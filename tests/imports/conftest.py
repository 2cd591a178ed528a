"""Helpers of the import/export tests: uploading, reading the workspace back."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.buyers.models import Buyer
from app.catalogs.models import Capability, DifficultyLevel, LostReason
from app.extensions import db
from tenants.isolation import tenant_scope

BASE = "/t/alpha/data"


def upload(client, kind: str, data: bytes, filename: str = "file.csv", **kwargs: Any):
    return client.post(
        f"{BASE}/{kind}/upload",
        data={f"{kind}-file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def token_of(response) -> str:
    assert response.status_code == 303, response.text[:2000]
    match = re.search(r"/data/\w+/([0-9a-f]{32})$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def upload_ok(client, kind: str, data: bytes, filename: str = "file.csv") -> str:
    return token_of(upload(client, kind, data, filename))


def confirm(client, kind: str, token: str, encoding: str = ""):
    return client.post(f"{BASE}/{kind}/{token}/confirm", data={"encoding": encoding})


def count(app, tenant_id: int, model) -> int:
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def rows(app, tenant_id: int, model, *order) -> list:
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        return list(s.scalars(select(model).order_by(*(order or (model.id,)))).all())


def error_cells(html: str) -> list[tuple[int, str]]:
    """(row, column) of each line in the problems table."""
    table = re.search(r'<table class="data" id="problems">.*?</table>', html, re.S)
    assert table, "no problems table"
    return [
        (int(row), column)
        for row, column in re.findall(
            r'<tr><td class="num">(\d+)</td><td>([^<]*)</td>', table.group(0)
        )
    ]


@pytest.fixture(autouse=True)
def _no_uploads_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """Uploads live in the (session-wide) instance folder: start each test without any."""
    if "app" in request.fixturenames:
        folder = Path(request.getfixturevalue("app").instance_path) / "imports"
        shutil.rmtree(folder, ignore_errors=True)
    yield


@pytest.fixture
def catalogue(app, world):
    """alpha's catalogue: capabilities, difficulty levels, lost reasons and one buyer."""
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        s.add_all([Capability(name="組立"), Capability(name="梱包"), Capability(name="検品")])
        s.add_all(
            DifficultyLevel(level=n, name=name)
            for n, name in ((1, "やさしい"), (2, "ふつう"), (3, "むずかしい"))
        )
        s.add_all([LostReason(label="顧客都合で白紙"), LostReason(label="難易度が高い")])
        s.add(Buyer(name="株式会社サンプル"))
        s.commit()
    return world
