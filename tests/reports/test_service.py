"""What the report service sums in SQL equals the pure definitions of ``app.reports.kpi``."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from app.buyers.models import Buyer
from app.db import utcnow
from app.deals.models import Deal, DealStage
from app.orders.models import Order, OrderMonth
from app.reports import kpi, service
from app.reports.kpi import DealRow

TODAY = date(2025, 11, 20)  # FY2025 in progress
STAGES = list(DealStage)


def add_deals(s, rng: random.Random, buyers: int, count: int) -> None:
    ids = []
    for n in range(buyers):
        buyer = Buyer(name=f"取引先{n}")
        s.add(buyer)
        s.flush()
        ids.append(buyer.id)
    for n in range(count):
        stage = rng.choice(STAGES)
        opened = date(2021, 4, 1) + timedelta(days=rng.randint(0, 365 * 5))
        decided = stage in (DealStage.WON, DealStage.LOST)
        s.add(
            Deal(
                buyer_id=rng.choice(ids),
                title=f"案件{n}",
                stage=stage,
                amount=rng.randint(1, 50) * 10_000,
                opened_on=opened,
                # Some decided deals never got a closing day: they close on opening. A few
                # were recorded as closed before they were opened (imports allow it).
                closed_on=opened + timedelta(days=rng.randint(-60, 400))
                if decided and rng.random() < 0.8
                else None,
                furthest_stage=rng.choice([None, *STAGES[:4]]),
                archived_at=utcnow() if rng.random() < 0.05 else None,
            )
        )


def every_live_deal(s) -> list[DealRow]:
    rows = s.execute(
        select(
            Deal.id,
            Deal.buyer_id,
            Deal.amount,
            Deal.stage,
            Deal.opened_on,
            Deal.closed_on,
            Deal.lost_reason_id,
            Deal.furthest_stage,
        ).where(Deal.archived_at.is_(None))
    )
    return [
        DealRow(i, b, a, str(st), o, c, r, str(f) if f is not None else None)
        for i, b, a, st, o, c, r, f in rows
    ]


def test_deal_figures_in_sql_are_the_kpi_definitions(world, arrange, read):
    arrange(lambda s: add_deals(s, random.Random(5), buyers=12, count=300))
    # Another workspace's deals must not count in alpha's figures.
    arrange(lambda s: add_deals(s, random.Random(6), buyers=3, count=40), tenant_id=world.beta.id)
    years = [kpi.period(year, TODAY) for year in range(2021, 2027)]
    in_sql = read(lambda s: service.load_deal_figures(s, years))
    deals = read(every_live_deal)
    for q in years:
        assert in_sql[q.fiscal_year] == kpi.deal_figures(deals, q), q.fiscal_year
    assert in_sql[2023]["deal_amount"] > 0


def test_the_years_deals_are_all_its_pipeline_kpis_need(world, arrange, read):
    def add(s):
        add_deals(s, random.Random(7), buyers=8, count=200)
        # Lost in FY2024 by its record, though opened after it ended.
        buyer_id = s.scalars(select(Buyer.id)).first()
        s.add(
            Deal(
                buyer_id=buyer_id,
                title="開始日より前に失注",
                stage=DealStage.LOST,
                amount=70_000,
                opened_on=date(2025, 4, 10),
                closed_on=date(2025, 3, 20),
            )
        )

    arrange(add)
    p = kpi.period(2024, TODAY)
    loaded = read(lambda s: service.load_deals(s, p))
    deals = read(every_live_deal)
    assert len(loaded) < len(deals)
    for figure in (kpi.conversion, kpi.funnel, kpi.win_rate_by_stage, kpi.lost_by_reason):
        assert figure(loaded, p) == figure(deals, p), figure.__name__
    assert kpi.up_sell(loaded, [], {1, 2}, p) == kpi.up_sell(deals, [], {1, 2}, p)


def test_order_figures_from_yearly_rows_keep_an_april_arr_month_apart(world, arrange, read):
    """In May the year in progress has April as its ARR month: April's amounts must stay
    apart from the rest of the year's, which are summed into one row per buyer."""

    def add(s):
        buyer = Buyer(name="四月の取引先")
        s.add(buyer)
        s.flush()
        order = Order(buyer_id=buyer.id, title="四月から", confirmed_on=date(2026, 3, 20))
        s.add(order)
        s.flush()
        for month, actual in ((4, 100_000), (5, 50_000)):
            s.add(OrderMonth(order_id=order.id, month=date(2026, month, 1), actual_amount=actual))

    arrange(add)
    p = kpi.period(2026, date(2026, 5, 15))
    rows = read(lambda s: service.load_rows(s, p, p))
    headline = service.headline(rows, p)
    assert headline.order_total == 150_000
    assert headline.arr_month_total == 100_000 and headline.arr == 1_200_000
    assert headline.ordering_customers == 1
