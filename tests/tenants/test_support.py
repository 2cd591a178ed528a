"""Support staff across regions: scope by prefecture, read-only by default (enforced by the
session and, on PostgreSQL, by READ ONLY transactions), support sessions with a reason that
the administrators see and can end, every access in the workspace's audit log, the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import InternalError

from app.auth.service import authenticate, find_user_by_email
from app.buyers.models import Buyer
from app.db import utcnow
from app.extensions import db
from app.mail import outbox
from app.notifications.models import Notification
from tenants.audit import AuditEvent
from tenants.isolation import ReadOnlySession, make_read_only, tenant_scope
from tenants.models import Role, Tenant, TenantKind
from tenants.support import SupportAgent, SupportSession, regions_of
from tests.conftest import add_member
from tests.support.people import PASSWORD, add_agent, start_support_session


@pytest.fixture
def agents(app, world):
    """alpha and beta are in prefecture 22; gamma (13) is outside the local agent's region."""
    with app.app_context(), db.new_session() as s:
        gamma = Tenant(
            slug="gamma", name="ガンマ区", kind=TenantKind.MUNICIPALITY, prefecture_code="13"
        )
        s.add(gamma)
        s.flush()
        local = add_agent(s, "local@support.example", ["22"])
        tokyo = add_agent(s, "tokyo@support.example", ["13"])
        s.commit()
        return {"local": local, "tokyo": tokyo, "gamma": gamma}


def support_events(read, tenant_id):
    return read(
        lambda s: s.execute(
            select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.changes)
            .where(AuditEvent.action.like("support.%"))
            .order_by(AuditEvent.id)
        ).all(),
        tenant_id,
    )


def buyer_count(read):
    return read(lambda s: s.scalar(select(func.count()).select_from(Buyer)))


def test_support_list_shows_only_workspaces_of_the_agents_regions(client, world, agents):
    page = client.login_as(agents["local"]).get("/support").text
    assert world.alpha.name in page and world.beta.name in page and "ガンマ区" not in page
    page = client.login_as(agents["tokyo"]).get("/support").text
    assert "ガンマ区" in page and world.alpha.name not in page
    assert client.login_as(world.admin).get("/support").status_code == 403


def test_agent_signs_in_to_the_support_list(client, world, agents):
    response = client.post("/login", data={"email": "local@support.example", "password": PASSWORD})
    assert response.headers["Location"] == "/support"


def test_out_of_scope_agent_gets_404_like_an_outsider(client, agents):
    tokyo = client.login_as(agents["tokyo"])
    assert tokyo.get("/t/alpha/").status_code == 404
    assert tokyo.get("/t/gamma/").status_code == 200


def test_agent_reads_read_only_and_every_request_is_audited(client, world, agents, read, samples):
    local = client.login_as(agents["local"])
    assert local.get("/t/alpha/").status_code == 200
    assert local.get("/t/alpha/buyers/1").status_code == 200
    assert "support-banner" in local.get("/t/alpha/orders/").text
    assert local.post("/t/alpha/buyers/1/archive").status_code == 403
    assert local.post("/t/alpha/buyers/new", data={"name": "新規"}).status_code == 403
    assert local.get("/t/alpha/settings").status_code == 403  # never an administrator
    events = support_events(read, world.alpha.id)
    assert [e.action for e in events] == ["support.access"] * 6
    assert {e.actor_label for e in events} == {"support"}
    assert [e.changes["mode"] for e in events] == ["read-only"] * 6
    assert events[3].changes["method"] == "POST"
    assert events[3].changes["path"] == "/t/alpha/buyers/1/archive"
    assert buyer_count(read) == 1
    # Nothing of it reaches the other workspace's log.
    assert support_events(read, world.beta.id) == []


def test_the_read_only_session_refuses_writes_itself(app, world, agents):
    """Beyond the views' checks: a read-only session cannot flush."""
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        make_read_only(s)
        s.add(Buyer(name="書けないはず"))
        with pytest.raises(ReadOnlySession):
            s.flush()
        s.rollback()


@pytest.mark.postgres_only
def test_on_postgresql_the_transaction_itself_is_read_only(app, world, agents):
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        make_read_only(s)
        with pytest.raises(InternalError, match="read-only transaction"):
            s.execute(insert(Buyer).values(tenant_id=world.alpha.id, id=99, name="x"))
        s.rollback()


def test_support_session_needs_a_reason_then_allows_writes_and_tells_the_admins(
    app, client, world, agents, read, samples
):
    local = client.login_as(agents["local"])
    assert local.post("/t/alpha/support-session/start", data={"reason": ""}).status_code == 422
    response = local.post("/t/alpha/support-session/start", data={"reason": "取込エラーの修正"})
    assert response.status_code == 303
    assert local.post("/t/alpha/support-session/start", data={"reason": "二重"}).status_code == 422
    response = local.post("/t/alpha/buyers/new", data={"name": "支援で追加した発注企業"})
    assert response.status_code == 303
    assert buyer_count(read) == 2
    notes = read(lambda s: s.scalars(select(Notification)).all())
    admin_notes = [n for n in notes if n.kind == "support_session"]
    assert [n.membership_id for n in admin_notes] == [world.memberships["admin"].id]
    assert "取込エラーの修正" in admin_notes[0].body
    with app.app_context():
        assert "admin@example.jp" in [m.to for m in outbox()]
    created = read(
        lambda s: s.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "buyers", AuditEvent.action == "create")
            .order_by(AuditEvent.id)
        ).all()
    )
    assert [(e.actor_user_id, e.actor_label) for e in created][-1] == (
        agents["local"].id,
        "support",
    )
    actions = [e.action for e in support_events(read, world.alpha.id)]
    assert "support.session.start" in actions
    # Still never an administrator, even in a session.
    assert local.get("/t/alpha/members").status_code == 200
    assert local.post("/t/alpha/members/invite", data={"email": "x@example.jp"}).status_code == 403


def test_admin_sees_the_session_and_can_end_it(client, world, agents, read, app):
    with app.app_context(), db.new_session() as s:
        row = start_support_session(s, world.alpha, agents["local"], reason="帳票の確認")
        s.commit()
        session_id = row.id
    admin = client.login_as(world.admin)
    page = admin.get("/t/alpha/settings").text
    assert "帳票の確認" in page and "local@support.example" in page
    assert "帳票の確認" in admin.get("/t/alpha/").text  # the dashboard's notice
    response = admin.post(f"/t/alpha/support-session/{session_id}/end-by-admin")
    assert response.status_code == 303
    ended = read(lambda s: s.get(SupportSession, (world.alpha.id, session_id)))
    assert ended.ended_at is not None and ended.ended_by_user_id == world.admin.id
    local = client.login_as(agents["local"])
    assert local.post("/t/alpha/buyers/new", data={"name": "もう書けない"}).status_code == 403


def test_an_expired_session_is_read_only_again(app, client, world, agents, read):
    with app.app_context(), db.new_session() as s:
        start_support_session(
            s, world.alpha, agents["local"], now=utcnow() - timedelta(hours=3), minutes=120
        )
        s.commit()
    local = client.login_as(agents["local"])
    assert local.post("/t/alpha/buyers/new", data={"name": "期限切れ"}).status_code == 403
    assert buyer_count(read) == 0


def test_agent_ends_own_session(client, world, agents, app):
    with app.app_context(), db.new_session() as s:
        start_support_session(s, world.alpha, agents["local"])
        s.commit()
    local = client.login_as(agents["local"])
    assert local.post("/t/alpha/support-session/end").status_code == 303
    assert local.post("/t/alpha/buyers/new", data={"name": "x"}).status_code == 403


def test_a_member_who_is_also_an_agent_acts_as_the_member(app, client, world, read):
    with app.app_context(), db.new_session() as s:
        user = add_agent(s, "both@support.example", ["22"])
        add_member(s, world.alpha, user, Role.COORDINATOR)
        s.commit()
    both = client.login_as(user)
    assert both.post("/t/alpha/buyers/new", data={"name": "メンバーとして"}).status_code == 303
    assert support_events(read, world.alpha.id) == []


def test_support_session_screens_are_for_agents_only(client, world, agents):
    admin = client.login_as(world.admin)
    assert admin.get("/t/alpha/support-session/").status_code == 403
    assert admin.post("/t/alpha/support-session/start", data={"reason": "x"}).status_code == 403


# --- the CLI -------------------------------------------------------------------------------


def test_cli_creates_updates_and_disables_an_agent(app, client, world):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["support-user", "New.Agent@Support.example", "--name", "新井 支援", "--region", "22"],
        input="a long enough phrase\na long enough phrase\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context(), db.new_session() as s:
        user = find_user_by_email(s, "new.agent@support.example")
        assert user is not None and user.name == "新井 支援"
        assert regions_of(s, user.id) == ["22"]
        assert authenticate(s, "new.agent@support.example", "a long enough phrase") is not None
    result = runner.invoke(
        args=["support-user", "new.agent@support.example", "--region", "13", "--region", "9"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context(), db.new_session() as s:
        assert regions_of(s, user.id) == ["09", "13"]
    result = runner.invoke(args=["support-user", "new.agent@support.example", "--disable"])
    assert result.exit_code == 0
    with app.app_context(), db.new_session() as s:
        assert s.get(SupportAgent, user.id).disabled_at is not None
    agent = client.login_as(user)
    assert agent.get("/support").status_code == 403
    assert agent.get("/t/gamma/").status_code == 404


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["support-user", "x@support.example", "--name", "X", "--region", "99"],
            "unknown prefecture",
        ),
        (["support-user", "x@support.example", "--name", "X"], "at least one prefecture"),
        (["support-user", "x@support.example", "--region", "22"], "needs --name"),
        (["support-user", "x@support.example", "--disable"], "no active support access"),
    ],
)
def test_cli_refuses_bad_input(app, world, args, message):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0 and message in result.output
    with app.app_context(), db.new_session() as s:
        assert find_user_by_email(s, "x@support.example") is None
