"""The home page's "needs attention today": renewals, overdue lots, due next actions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.agreements.models import Agreement
from app.deals.models import Deal, DealStage
from app.extensions import db
from app.jp import today_jst
from app.orders.models import Delivery, DeliveryStatus
from tenants.isolation import tenant_scope
from tests.support.samples import add_sample_records


def arrange(app, world, tenant, member, mark: str) -> None:
    today = today_jst()
    with app.app_context(), db.new_session() as s:
        add_sample_records(s, member)
        with tenant_scope(s, tenant.id):
            agreement = s.scalars(select(Agreement)).one()
            agreement.title = f"協定{mark}"
            agreement.renewal_on = today + timedelta(days=20)
            agreement.remind_days_before_renewal = 30
            delivery = s.scalars(select(Delivery)).one()
            delivery.original_due_on = today - timedelta(days=3)
            delivery.lot_no = f"LOT-{mark}"
            s.add(
                Deal(
                    buyer_id=1,
                    title=f"次の対応{mark}",
                    stage=DealStage.HEARING,
                    opened_on=today - timedelta(days=30),
                    next_action="見積書の送付",
                    next_action_on=today,
                )
            )
            s.commit()


def test_home_shows_what_is_due_in_this_workspace_only(app, client, world, query_counter):
    arrange(app, world, world.alpha, world.memberships["admin"], "A")
    arrange(app, world, world.beta, world.memberships["outsider"], "B")
    client.login_as(world.viewer)
    query_counter.clear()
    page = client.get("/t/alpha/").text
    assert "協定A" in page and "LOT-A" in page and "次の対応A" in page
    assert "協定B" not in page and "LOT-B" not in page and "次の対応B" not in page
    few = len(query_counter)

    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        for n in range(20):
            s.add(
                Deal(
                    buyer_id=1,
                    title=f"追加{n}",
                    stage=DealStage.QUOTE,
                    opened_on=today_jst(),
                    next_action_on=today_jst() - timedelta(days=1),
                )
            )
        s.commit()
    query_counter.clear()
    client.get("/t/alpha/")
    assert len(query_counter) == few  # capped lists: the cost does not grow


def test_delivered_lots_archived_agreements_and_closed_deals_are_not_due(app, client, world):
    arrange(app, world, world.alpha, world.memberships["admin"], "A")
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        s.scalars(select(Agreement)).one().archived_at = s.scalars(select(Deal)).first().created_at
        s.scalars(select(Delivery)).one().status = DeliveryStatus.DELIVERED
        for deal in s.scalars(select(Deal)):
            deal.stage = DealStage.LOST
        s.commit()
    client.login_as(world.admin)
    page = client.get("/t/alpha/").text
    assert "協定A" not in page and "LOT-A" not in page and "次の対応A" not in page
