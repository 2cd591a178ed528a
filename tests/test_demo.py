"""The demo workspace: created only by the command, deterministic, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import User
from app.auth.service import authenticate
from app.demo import DEMO_PASSWORD, load_demo
from app.extensions import db
from tenants.isolation import tenant_scope
from tenants.models import Invitation, Membership, Tenant


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def counts(session):
    """Rows per table; tenant tables are counted workspace by workspace (RLS sees one)."""
    tenant_ids = session.scalars(select(Tenant.id)).all()
    per_tenant = [0, 0]
    for tenant_id in tenant_ids:
        with tenant_scope(session, tenant_id):
            per_tenant[0] += count(session, Membership)
            per_tenant[1] += count(session, Invitation)
    return (len(tenant_ids), count(session, User), *per_tenant)


def test_demo_loads_once_and_again_changes_nothing(app):
    with app.app_context(), db.new_session() as session:
        assert counts(session) == (0, 0, 0, 0)  # never created outside the demo command
        created = load_demo(session)
        assert "demo" in created and "admin@demo.example" in created
        first = counts(session)
        # Users: 4 staff, a buyer's and a facility's person, a support agent (no membership).
        assert first == (2, 7, 8, 1)
        assert load_demo(session) == []
        assert counts(session) == first
        demo = session.scalar(select(Tenant).where(Tenant.slug == "demo"))
        assert demo.name == "デモ市 共同受注窓口"
        for email in ("admin@demo.example", "coordinator@demo.example", "viewer@demo.example"):
            assert authenticate(session, email, DEMO_PASSWORD) is not None


def test_demo_command_prints_the_logins(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.example" in result.output and "renkei-demo" in result.output
    again = app.test_cli_runner().invoke(args=["demo"])
    assert "already loaded" in again.output


def test_demo_admin_sees_both_workspaces(app, client):
    app.test_cli_runner().invoke(args=["demo"])
    response = client.post(
        "/login", data={"email": "admin@demo.example", "password": DEMO_PASSWORD}
    )
    assert response.headers["Location"] == "/workspaces"
    page = client.get("/workspaces").text
    assert "デモ市 共同受注窓口" in page and "デモ県 セルプセンター" in page
