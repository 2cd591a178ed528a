"""Helpers shared by the catalogue and facility tests.

No assertions on wording (the Japanese catalogue is written separately): status codes,
redirects, database state and the field an error is shown at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import db
from tenants.isolation import tenant_scope
from tenants.models import Tenant


@contextmanager
def workspace(app: Flask, tenant: Tenant) -> Iterator[Session]:
    """A session bound to one workspace; commits when the block ends without error."""
    with app.app_context(), db.new_session() as session, tenant_scope(session, tenant.id):
        yield session
        session.commit()


def count(app: Flask, tenant: Tenant, model: type[Any]) -> int:
    with workspace(app, tenant) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def rows(app: Flask, tenant: Tenant, model: type[Any], *order: Any) -> list[Any]:
    with workspace(app, tenant) as s:
        found = list(s.scalars(select(model).order_by(*(order or (model.id,)))))
        s.expunge_all()
        return found


def error_fields(html: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)-error"', html))


def assert_error_at(html: str, field_id: str) -> None:
    """Exactly one field shows an error, and it is this one, inside its marked wrapper."""
    assert error_fields(html) == {field_id}, error_fields(html)
    wrapper = re.search(
        r'<div class="field has-error">(?:(?!</div>).)*?id="' + re.escape(field_id) + '"',
        html,
        re.S,
    )
    assert wrapper is not None, f"{field_id} is not inside a field marked has-error"


def htmx(target: str) -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": target}


def statements_for(client: Any, url: str, query_counter: list[str]) -> int:
    client.get(url)  # warm-up (translations, templates)
    query_counter.clear()
    response = client.get(url)
    assert response.status_code == 200
    return len(query_counter)
