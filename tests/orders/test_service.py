"""The order arithmetic, with plain values: month ranges, gaps, accuracy, lateness, overdue lots,
the status flow and the monthly table."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.orders import service
from app.orders.models import DeliveryStatus, OrderStatus


def test_add_months_crosses_years_both_ways():
    assert service.add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert service.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert service.add_months(date(2026, 1, 1), -13) == date(2024, 12, 1)
    assert service.add_months(date(2026, 5, 1), 0) == date(2026, 5, 1)


def test_months_between_is_inclusive_and_ignores_the_day():
    assert service.months_between(date(2026, 11, 20), date(2027, 2, 3)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]
    assert service.months_between(date(2026, 5, 31), date(2026, 5, 1)) == [date(2026, 5, 1)]
    assert service.months_between(date(2026, 6, 1), date(2026, 5, 1)) == []


def test_fiscal_year_months_run_april_to_march():
    months = service.fiscal_year_first_days(2026)
    assert len(months) == 12
    assert months[0] == date(2026, 4, 1)
    assert months[-1] == date(2027, 3, 1)


def test_schedule_months():
    # Both dates: the schedule itself.
    assert service.schedule_months(date(2026, 6, 15), date(2026, 8, 1), 2000) == [
        date(2026, 6, 1),
        date(2026, 7, 1),
        date(2026, 8, 1),
    ]
    # Only a start: to the end of that fiscal year.
    only_start = service.schedule_months(date(2027, 1, 10), None, 2000)
    assert only_start == [date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)]
    # Only an end: from the start of that fiscal year.
    only_end = service.schedule_months(None, date(2026, 5, 31), 2000)
    assert only_end == [date(2026, 4, 1), date(2026, 5, 1)]
    # Neither: the fallback fiscal year.
    assert service.schedule_months(None, None, 2025)[0] == date(2025, 4, 1)
    assert len(service.schedule_months(None, None, 2025)) == 12
    # Reversed: nothing (the forms refuse it anyway).
    assert service.schedule_months(date(2026, 8, 1), date(2026, 6, 1), 2025) == []


def test_schedule_problem():
    assert service.schedule_problem(None, None) is None
    assert service.schedule_problem(date(2026, 4, 1), None) is None
    assert service.schedule_problem(date(2026, 4, 1), date(2026, 4, 1)) is None
    assert service.schedule_problem(date(2026, 4, 2), date(2026, 4, 1)) == "order"
    assert service.schedule_problem(date(2026, 4, 1), date(2036, 3, 31)) is None  # 120 months
    assert service.schedule_problem(date(2026, 4, 1), date(2036, 4, 1)) == "length"


def test_gap_is_actual_minus_forecast_and_unknown_when_either_is():
    assert service.gap(200_000, 180_000) == -20_000
    assert service.gap(100_000, 150_000) == 50_000
    assert service.gap(0, 0) == 0
    assert service.gap(None, 5) is None
    assert service.gap(5, None) is None


def test_forecast_accuracy():
    # |180−200| + |260−200| = 80 over 400 forecast → 1 − 0.2 = 0.8
    assert service.forecast_accuracy([(200, 180), (200, 260)]) == pytest.approx(0.8)
    # Unknown months do not count.
    assert service.forecast_accuracy([(200, 200), (None, 999), (500, None)]) == 1.0
    assert service.forecast_accuracy([]) is None
    assert service.forecast_accuracy([(None, 1)]) is None
    # Never below zero.
    assert service.forecast_accuracy([(100, 1_000)]) == 0.0
    # Nothing forecast: perfect if nothing came either, otherwise not measurable.
    assert service.forecast_accuracy([(0, 0)]) == 1.0
    assert service.forecast_accuracy([(0, 50)]) is None


def test_forecast_deadline_is_in_the_previous_month():
    assert service.forecast_deadline(date(2026, 7, 1), 20) == date(2026, 6, 20)
    assert service.forecast_deadline(date(2026, 1, 15), 25) == date(2025, 12, 25)
    assert service.forecast_deadline(date(2026, 3, 1), 28) == date(2026, 2, 28)


def test_forecast_lateness_is_judged_in_jst_and_the_whole_day_counts():
    july = date(2026, 7, 1)
    # 2026-06-20 23:30 JST = 14:30 UTC: on the deadline day, in time.
    assert not service.forecast_is_late(july, datetime(2026, 6, 20, 14, 30, tzinfo=UTC), 20)
    # 2026-06-21 00:30 JST = 2026-06-20 15:30 UTC: the next day in Japan, late.
    assert service.forecast_is_late(july, datetime(2026, 6, 20, 15, 30, tzinfo=UTC), 20)
    assert service.forecast_is_late(july, datetime(2026, 7, 2, tzinfo=UTC), 20)
    assert not service.forecast_is_late(july, datetime(2026, 5, 1, tzinfo=UTC), 20)
    # No deadline, or no forecast: never late.
    assert not service.forecast_is_late(july, datetime(2026, 7, 2, tzinfo=UTC), None)
    assert not service.forecast_is_late(july, None, 20)


def test_overdue_lots():
    today = date(2026, 7, 10)
    planned = DeliveryStatus.PLANNED
    assert service.is_overdue(date(2026, 7, 9), None, planned, today)
    assert not service.is_overdue(date(2026, 7, 10), None, planned, today)  # due today
    assert not service.is_overdue(
        date(2026, 7, 9), date(2026, 7, 8), DeliveryStatus.DELIVERED, today
    )
    # Sent back: not delivered after all.
    assert service.is_overdue(date(2026, 7, 9), date(2026, 7, 8), DeliveryStatus.REJECTED, today)


def test_status_flow():
    assert service.can_move(OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)
    assert service.can_move(OrderStatus.IN_PROGRESS, OrderStatus.DELIVERED)
    assert service.can_move(OrderStatus.DELIVERED, OrderStatus.CLOSED)
    assert service.can_move(OrderStatus.CONFIRMED, OrderStatus.CANCELLED)
    assert not service.can_move(OrderStatus.CONFIRMED, OrderStatus.CLOSED)
    assert not service.can_move(OrderStatus.CONFIRMED, OrderStatus.DELIVERED)
    assert service.next_statuses(OrderStatus.CLOSED) == ()
    assert not service.can_move(OrderStatus.CLOSED, OrderStatus.CANCELLED)


def test_month_table_totals_gaps_accuracy_and_lateness():
    months = [date(2026, 6, 1), date(2026, 7, 1), date(2026, 8, 1)]
    stored = {
        date(2026, 6, 1): (200_000, 180_000, datetime(2026, 5, 10, tzinfo=UTC)),
        date(2026, 7, 1): (200_000, 260_000, datetime(2026, 6, 25, tzinfo=UTC)),  # late
        # A month outside the schedule still shows, so nothing recorded is hidden.
        date(2026, 12, 1): (None, 50_000, None),
    }
    table = service.month_table(months, stored, deadline_day=20)
    assert [row.month for row in table.rows] == [*months, date(2026, 12, 1)]
    june, july, august, december = table.rows
    assert (june.gap, june.gap_text, june.late) == (-20_000, "-20,000円", False)
    assert (july.gap, july.gap_text, july.late) == (60_000, "+60,000円", True)
    assert july.deadline == date(2026, 6, 20)
    assert (august.forecast, august.actual, august.gap, august.gap_text) == (None, None, None, "")
    assert december.gap is None
    assert table.forecast_total == 400_000
    assert table.actual_total == 490_000
    assert table.gap_total == 40_000
    assert table.gap_total_text == "+40,000円"
    assert table.accuracy == pytest.approx(0.8)
    assert table.accuracy_text == "80%"
    assert table.late_count == 1
    assert july.key == "2026-07"


def test_month_table_without_figures():
    table = service.month_table([date(2026, 4, 1)], {}, deadline_day=None)
    assert table.gap_total is None
    assert table.gap_total_text == ""
    assert table.accuracy is None
    assert table.accuracy_text == "—"
    assert table.rows[0].deadline is None
    zero = service.month_table([date(2026, 4, 1)], {date(2026, 4, 1): (0, 0, None)}, None)
    assert zero.gap_total_text == "±0円"
