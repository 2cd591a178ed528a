"""Two things the other suites rely on.

- On PostgreSQL the app — the very engine the access matrix, the outsider tests and the fuzz
  run through — connects as a role that owns no table and is held by row-level security.
- Client addresses (which rate limits count by) come from X-Forwarded-For only when the
  deployment says a proxy is in front (PROXY_HOPS): otherwise the header is a client's word.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tenants.isolation import tenant_tables
from tests.conftest import CsrfClient, dispose, make_settings


@pytest.mark.postgres_only
def test_the_suites_run_under_row_level_security(app, samples):
    with app.app_context(), db.engine.connect() as connection:
        role = connection.execute(
            text(
                "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                "WHERE rolname = current_user"
            )
        ).one()
        unprotected = connection.scalars(
            text(
                "SELECT relname FROM pg_class WHERE relname = ANY(:tables) "
                "AND NOT relrowsecurity ORDER BY relname"
            ),
            {"tables": tenant_tables()},
        ).all()
        # No workspace chosen for this transaction: RLS shows nothing, though alpha has rows.
        visible = connection.scalar(text("SELECT count(*) FROM facilities"))
    assert tuple(role) == ("renkei_app", False, False)
    assert unprotected == []
    assert samples["facilities"] == 1 and visible == 0


def fail_sign_in(client, n: int, forwarded_for: str):
    return client.post(
        "/login",
        data={"email": f"nobody{n}@example.jp", "password": "wrong password"},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_a_forged_forwarded_for_does_not_escape_the_limit(client, world):
    """20 failed sign-ins per address in 10 minutes (to different accounts)."""
    for n in range(20):
        assert fail_sign_in(client, n, f"203.0.113.{n}").status_code == 422
    assert fail_sign_in(client, 20, "203.0.113.99").status_code == 429


@pytest.fixture
def behind_a_proxy(database, tmp_path):
    flask_app = create_app(make_settings(database, tmp_path, proxy_hops=1))
    flask_app.test_client_class = CsrfClient
    yield flask_app
    dispose(flask_app)


def test_behind_a_proxy_each_client_address_counts(behind_a_proxy, world):
    client = behind_a_proxy.test_client()
    for n in range(20):
        assert fail_sign_in(client, n, "198.51.100.7").status_code == 422
    assert fail_sign_in(client, 20, "198.51.100.7").status_code == 429
    assert fail_sign_in(client, 21, "198.51.100.8").status_code == 422  # someone else
