"""The portals' world, shared by the portal tests and the browser tests: alpha's sample
records plus a second company, a second facility and the people of each, arranged relative to
today (the pages work with ``today_jst()``).

Company A is the sample buyer (id 1): agreement 1 (forecast deadline day 28, service scope),
order 1 running from this month for six months, won deal 1, and deal 2 at the quote stage
(owned by the coordinator). Company B has its own deal, order and agreement. Facility X is the
sample facility (1), facility Y another one; each has a person and a notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from app.agreements.models import Agreement, AgreementKind
from app.auth.models import User
from app.buyers.models import Buyer
from app.deals.models import Deal, DealStage
from app.extensions import db
from app.facilities.models import Facility, FacilityKind
from app.jp import today_jst
from app.matching.models import Assignment
from app.notifications.models import Notification
from app.orders.models import Order, OrderMonth
from app.orders.service import add_months, first_of_month
from app.timeline.models import EntryKind, TimelineEntry
from tests.support.people import add_person, add_portal_member

SECRET_NOTE = "社内メモ：単価は据え置きで交渉"
PUBLIC_NOTE = "初回ロットの納品方法を確認しました"


@dataclass
class Shop:
    this_month: date
    buyer_a: User
    buyer_b: User
    facility_x: User
    facility_y: User
    company_b: int
    order_b: int
    deal_b: int
    agreement_b: int
    facility_y_id: int
    quote_deal: int
    notice_y: int


@pytest.fixture
def shop(app, world, samples, arrange) -> Shop:
    this_month = first_of_month(today_jst())

    def build(s):
        coordinator_id = world.memberships["coordinator"].id
        agreement = s.get(Agreement, (world.alpha.id, 1))
        agreement.forecast_deadline_day = 28
        agreement.free_onsite_visits_per_year = 2
        agreement.response_time_hours = 24
        agreement.notes = SECRET_NOTE
        order = s.get(Order, (world.alpha.id, 1))
        order.starts_on = this_month
        order.ends_on = add_months(this_month, 5)
        order.notes = SECRET_NOTE
        # The sample month (July 2026) goes: this test world starts this month.
        for row in s.scalars(select(OrderMonth)):
            s.delete(row)
        for row in s.scalars(select(Assignment)):
            s.delete(row)
        s.flush()
        quote = Deal(
            buyer_id=1,
            title="ギフト箱の組立",
            stage=DealStage.QUOTE,
            amount=1_800_000,
            opened_on=this_month,
            owner_id=coordinator_id,
            next_action="見積回答の確認",
        )
        company_b = Buyer(name="株式会社ビー商事")
        facility_y = Facility(name="わかば作業所", kind=FacilityKind.TYPE_B)
        s.add_all([quote, company_b, facility_y])
        s.flush()
        agreement_b = Agreement(
            buyer_id=company_b.id, title="ビー商事との業務委託契約", kind=AgreementKind.OUTSOURCING
        )
        deal_b = Deal(
            buyer_id=company_b.id,
            title="ビー商事の検品作業",
            stage=DealStage.QUOTE,
            amount=990_000,
            opened_on=this_month,
        )
        s.add_all([agreement_b, deal_b])
        s.flush()
        order_b = Order(
            buyer_id=company_b.id,
            title="ビー商事の検品作業",
            confirmed_on=this_month,
            agreement_id=agreement_b.id,
        )
        s.add(order_b)
        s.flush()
        notice_y = Notification(facility_id=facility_y.id, kind="assignment", title="わかば宛")
        s.add_all(
            [
                notice_y,
                TimelineEntry(order_id=1, body=SECRET_NOTE, internal=True),
                TimelineEntry(order_id=1, body=PUBLIC_NOTE),
                TimelineEntry(deal_id=quote.id, body=SECRET_NOTE, internal=True),
                TimelineEntry(deal_id=quote.id, body="段階: 見積", kind=EntryKind.CHANGE),
                TimelineEntry(deal_id=quote.id, body=PUBLIC_NOTE),
                TimelineEntry(order_id=order_b.id, body="ビー商事向けの連絡"),
            ]
        )
        s.flush()
        return (
            quote.id,
            company_b.id,
            order_b.id,
            deal_b.id,
            agreement_b.id,
            facility_y.id,
            notice_y.id,
        )

    quote_id, company_b, order_b, deal_b, agreement_b, facility_y_id, notice_y = arrange(build)
    with app.app_context(), db.new_session() as s:
        people = {
            name: add_person(s, f"{name}@example.jp", name.title())
            for name in ("buyer_a", "buyer_b", "facility_x", "facility_y")
        }
        add_portal_member(s, world.alpha, people["buyer_a"], buyer_id=1)
        add_portal_member(s, world.alpha, people["buyer_b"], buyer_id=company_b)
        add_portal_member(s, world.alpha, people["facility_x"], facility_id=1)
        add_portal_member(s, world.alpha, people["facility_y"], facility_id=facility_y_id)
        s.commit()
    return Shop(
        this_month=this_month,
        company_b=company_b,
        order_b=order_b,
        deal_b=deal_b,
        agreement_b=agreement_b,
        facility_y_id=facility_y_id,
        quote_deal=quote_id,
        notice_y=notice_y,
        **people,
    )
