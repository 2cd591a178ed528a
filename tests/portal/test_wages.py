"""The facility's wage-relevant totals, as plain values (no Flask, no database)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from app.portal.wages import MonthAmount, Work, month_totals, share

MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)


def test_share_is_proportional_and_rounded_to_whole_yen():
    assert share(300_000, 40, 120) == 100_000
    assert share(100_000, 1, 3) == 33_333
    assert share(100_000, 2, 3) == 66_667
    assert share(100_000, 0, 3) == 0
    assert share(100_000, 5, 0) == 0
    assert share(100_000, 9, 3) == 100_000  # never more than the whole


def test_month_totals_use_actuals_else_forecasts_and_say_so():
    works = [
        Work(order_id=1, month=MAY, quantity=40, hours=40),
        Work(order_id=2, month=MAY, quantity=10, hours=5),
        Work(order_id=1, month=JUNE, quantity=60, hours=60),
        Work(order_id=None, month=JUNE, quantity=8, hours=8),  # a trial
    ]
    totals = {(1, MAY): 120.0, (2, MAY): 10.0, (1, JUNE): 120.0}
    amounts = {
        (1, MAY): MonthAmount(actual=300_000, forecast=330_000),
        (2, MAY): MonthAmount(actual=None, forecast=50_000),
        (1, JUNE): MonthAmount(actual=None, forecast=None),
    }
    rows = month_totals(works, totals, amounts, [MAY, JUNE])
    assert [(r.month, r.hours, r.amount, r.estimated, r.unpriced) for r in rows] == [
        (MAY, 45.0, 150_000, True, 0),
        (JUNE, 68.0, 0, False, 2),
    ]


def test_months_without_work_are_listed_with_zeros_and_order_is_kept():
    rows = month_totals([Work(1, JUNE, 1, 1)], {}, {}, [JUNE, MAY])
    assert [r.month for r in rows] == [MAY, JUNE]
    assert rows[0].hours == 0 and rows[0].amount == 0 and rows[1].unpriced == 1


@given(
    amount=st.integers(min_value=0, max_value=10_000_000),
    quantities=st.lists(st.integers(min_value=1, max_value=500), min_size=1, max_size=8),
)
def test_shares_of_all_facilities_add_up_to_the_amount_within_rounding(amount, quantities):
    total = float(sum(quantities))
    shares = [share(amount, q, total) for q in quantities]
    assert abs(sum(shares) - amount) <= len(quantities)
