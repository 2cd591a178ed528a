"""A staff member's own notifications (what buyers send reaches the coordinator here)."""

from __future__ import annotations

from sqlalchemy import select

from app.notifications.models import Notification


def add_notes(arrange, world):
    def build(s):
        s.add_all(
            [
                Notification(
                    membership_id=world.memberships["coordinator"].id,
                    kind="buyer_message",
                    title="コーディネーター宛の連絡",
                    link="/t/alpha/orders/1",
                ),
                Notification(
                    membership_id=world.memberships["admin"].id,
                    kind="work_request",
                    title="管理者宛の依頼",
                ),
            ]
        )

    arrange(build)


def test_each_member_sees_only_their_own(client, world, samples, arrange):
    add_notes(arrange, world)
    page = client.login_as(world.coordinator).get("/t/alpha/notifications/").text
    assert "コーディネーター宛の連絡" in page and "管理者宛の依頼" not in page
    assert 'href="/t/alpha/orders/1"' in page
    assert "作業の割当" not in page  # the facility's notification
    dashboard = client.get("/t/alpha/").text
    assert "/t/alpha/notifications/" in dashboard


def test_mark_all_read_marks_only_the_members_own(client, world, samples, arrange, read):
    add_notes(arrange, world)
    assert client.login_as(world.coordinator).post("/t/alpha/notifications/read").status_code == 303
    unread = read(
        lambda s: s.scalars(
            select(Notification.title)
            .where(Notification.read_at.is_(None))
            .order_by(Notification.id)
        ).all()
    )
    assert unread == ["作業の割当", "管理者宛の依頼"]
    assert client.login_as(world.viewer).post("/t/alpha/notifications/read").status_code == 403
