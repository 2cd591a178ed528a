"""The portals in the demo workspace: a buyer's person, a facility's person and a support
agent, with a little history that shows each portal at work.

Deterministic and idempotent like the rest of the demo: the company and the facility are found
by name among the demo records, times are fixed around the demo's "today", and nothing is
added twice. The data is Japanese because it is what people would type; it is not UI text.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.buyers.models import Buyer
from app.demo_records import DEMO_TODAY, at
from app.facilities.models import Facility
from app.notifications.models import Notification
from app.orders.models import Order, OrderStatus
from app.portal.quality_demo import add_portal_quality
from app.timeline.models import EntryKind, TimelineEntry
from tenants.models import Membership, Role
from tenants.support import SupportAgent, save_agent

DEMO_BUYER = "株式会社駿河フーズ"  # an agreement with a forecast deadline, an order, a quote
DEMO_FACILITY = "一般社団法人いっぽ いっぽ製作所"  # works on that company's order
SUPPORT_REGIONS = ("22",)  # 静岡県: both demo workspaces

BUYER_MESSAGE = (
    "12月分は年末の出荷が増えるため、ロットL2612-03を12月18日までに納品いただけると"
    "助かります。可否をご連絡ください。"
)
COORDINATOR_REPLY = (
    "ご連絡ありがとうございます。担当事業所と調整し、12月18日納品で対応可能です。"
    "数量に変更があれば12月10日までにお知らせください。"
)


def load_portal_demo(session: Session, users: dict[str, User], coordinator: User) -> list[str]:
    """Link the demo buyer and facility people to their company and facility in the current
    workspace (the session is scoped to it), and add their bits of history."""
    created: list[str] = []
    buyer = session.scalar(select(Buyer).where(Buyer.name == DEMO_BUYER))
    facility = session.scalar(select(Facility).where(Facility.name == DEMO_FACILITY))
    if buyer is None or facility is None:
        return created
    existing = set(session.scalars(select(Membership.user_id)))
    buyer_user = users["buyer@demo.example"]
    facility_user = users["facility@demo.example"]
    if buyer_user.id not in existing:
        session.add(Membership(user_id=buyer_user.id, role=Role.BUYER, buyer_id=buyer.id))
        created.append("demo: buyer portal")
    if facility_user.id not in existing:
        session.add(
            Membership(user_id=facility_user.id, role=Role.FACILITY, facility_id=facility.id)
        )
        created.append("demo: facility portal")
    session.flush()
    if created:
        _buyer_messages(session, buyer, buyer_user, coordinator)
        _facility_notices(session, facility)
        if add_portal_quality(session, buyer, facility, buyer_user):
            created.append("demo: portal quality records")
    return created


def _buyer_messages(session: Session, buyer: Buyer, buyer_user: User, coordinator: User) -> None:
    order = session.scalars(
        select(Order)
        .where(Order.buyer_id == buyer.id, Order.status == OrderStatus.IN_PROGRESS)
        .order_by(Order.id)
    ).first()
    if order is None:
        return
    session.add_all(
        [
            TimelineEntry(
                order_id=order.id,
                kind=EntryKind.NOTE,
                body=BUYER_MESSAGE,
                author_user_id=buyer_user.id,
                at=at(date(2026, 11, 18), 15, 20),
            ),
            TimelineEntry(
                order_id=order.id,
                kind=EntryKind.NOTE,
                body=COORDINATOR_REPLY,
                author_user_id=coordinator.id,
                at=at(date(2026, 11, 19), 10, 5),
            ),
        ]
    )
    session.flush()


def _facility_notices(session: Session, facility: Facility) -> None:
    notices = [
        (
            at(date(2026, 9, 28), 16),
            "作業の割当: 水産加工品のラベル貼り・検品（2026年10月〜）",
            f"{facility.name} 様\n\n株式会社駿河フーズ の「水産加工品のラベル貼り・検品」について、"
            "10月分からの作業をお願いすることになりました。\n詳しくは担当コーディネーターからご連絡します。",
            True,
        ),
        (
            at(date(2026, 11, 20), 11),
            "納期変更のお知らせ: ロットL2611-02",
            f"{facility.name} 様\n\nロットL2611-02の納期が 11月28日 から 12月6日 に変わりました。"
            "作業の予定を確認してください。",
            False,
        ),
        (
            at(DEMO_TODAY, 9),
            "12月分の作業予定について",
            f"{facility.name} 様\n\n12月は年末の出荷に合わせ、ロットL2612-03を12月18日までに"
            "納品する予定です。作業日程のご相談はコーディネーターまで。",
            False,
        ),
    ]
    for created_at, title, body, read in notices:
        session.add(
            Notification(
                facility_id=facility.id,
                kind="assignment",
                title=title,
                body=body,
                created_at=created_at,
                read_at=created_at + timedelta(hours=1) if read else None,
            )
        )
    session.flush()


def load_support_agent(session: Session, user: User) -> bool:
    """The demo support agent (a platform account, no workspace membership)."""
    if session.get(SupportAgent, user.id) is not None:
        return False
    save_agent(session, user, SUPPORT_REGIONS)
    return True
