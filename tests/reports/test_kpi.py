"""The KPI arithmetic, with plain values: fiscal-year edges, ARR, leap years, deals that span
years, recurring orders, the seed's own figures and where they do not add up."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.reports import kpi
from app.reports.kpi import (
    BuyerMonth,
    DealRow,
    DeliveryDay,
    FacilityMonth,
    FacilityRow,
    Headline,
    ProcurementRow,
    WageRow,
)

AFTER_R4 = date(2023, 6, 1)  # R.3 and R.4 are both complete
R3, R4 = kpi.period(2021, AFTER_R4), kpi.period(2022, AFTER_R4)


def known(value):
    assert value is not None
    return value


def pct(ratio):
    return known(ratio) * 100


def deal(n, amount, stage, opened, closed=None, buyer=None, reason=None, furthest=None):
    return DealRow(n, buyer or n, amount, stage, opened, closed, reason, furthest)


# --- periods -------------------------------------------------------------------------------


def test_fiscal_year_is_april_to_march():
    p = kpi.period(2022, AFTER_R4)
    assert (p.start, p.end) == (date(2022, 4, 1), date(2023, 3, 31))
    assert p.contains(date(2023, 3, 31)) and not p.contains(date(2023, 4, 1))
    assert not p.contains(date(2022, 3, 31))
    assert p.months[0] == date(2022, 4, 1) and p.months[-1] == date(2023, 3, 1)
    assert len(p.months) == 12


def test_arr_month_of_a_finished_year_is_march():
    assert R4.complete and R4.arr_month == date(2023, 3, 1)
    assert not R4.arr_is_provisional


def test_arr_month_of_the_year_in_progress_is_the_latest_complete_month():
    p = kpi.period(2022, date(2022, 11, 15))
    assert p.in_progress and p.arr_month == date(2022, 10, 1) and p.arr_is_provisional
    # On April 1 no month of the year is complete yet, and on March 31 February is the latest.
    assert kpi.period(2022, date(2022, 4, 1)).arr_month is None
    assert kpi.period(2022, date(2023, 3, 31)).arr_month == date(2023, 2, 1)
    # The day after the year, March counts.
    assert kpi.period(2022, date(2023, 4, 1)).arr_month == date(2023, 3, 1)
    # A year that has not begun has no ARR and no months of capacity.
    future = kpi.period(2030, date(2022, 5, 1))
    assert future.arr_month is None and future.as_of_month is None


def test_leap_year_february_belongs_to_the_fiscal_year_before():
    p = kpi.period(2023, date(2024, 6, 1))  # 令和5年度 ends 2024-03-31, after 2024-02-29
    assert p.contains(date(2024, 2, 29))
    leap = deal(1, 500_000, kpi.WON, date(2023, 12, 1), date(2024, 2, 29))
    assert kpi.won_in([leap], p) == [leap]
    assert kpi.won_in([leap], kpi.period(2024, date(2025, 6, 1))) == []
    months = [BuyerMonth(1, date(2024, 2, 1), 290_000), BuyerMonth(1, date(2024, 3, 1), 310_000)]
    figures = kpi.order_figures(months, p)
    assert figures == {"ordering_customers": 1, "order_total": 600_000, "arr_month_total": 310_000}


# --- deals ---------------------------------------------------------------------------------


def test_a_deal_spanning_two_years_is_open_in_the_first_and_won_in_the_second():
    spanning = deal(1, 1_000_000, kpi.WON, date(2022, 1, 10), date(2022, 5, 20))
    assert kpi.in_pipeline(spanning, R3) and kpi.in_pipeline(spanning, R4)
    assert kpi.state_at_end(spanning, R3) == kpi.DealState.OPEN
    assert kpi.state_at_end(spanning, R4) == kpi.DealState.WON
    assert not kpi.in_pipeline(spanning, kpi.period(2023, AFTER_R4))
    r3 = kpi.deal_figures([spanning], R3)
    assert r3["open_amount"] == 1_000_000 and r3["won_amount"] == 0


def test_pipeline_edges_april_first_and_march_31():
    closed_march_31 = deal(1, 100, kpi.LOST, date(2021, 5, 1), date(2022, 3, 31))
    opened_april_1 = deal(2, 200, kpi.LEAD, date(2022, 4, 1))
    closed_april_1 = deal(3, 300, kpi.WON, date(2022, 3, 1), date(2022, 4, 1))
    assert kpi.in_pipeline(closed_march_31, R3) and not kpi.in_pipeline(closed_march_31, R4)
    assert not kpi.in_pipeline(opened_april_1, R3) and kpi.in_pipeline(opened_april_1, R4)
    assert kpi.in_pipeline(closed_april_1, R3) and kpi.in_pipeline(closed_april_1, R4)
    assert kpi.state_at_end(closed_april_1, R3) == kpi.DealState.OPEN


def test_a_long_open_deal_is_in_every_years_pipeline():
    old = deal(1, 900_000, kpi.HEARING, date(2019, 6, 1))
    for fy in range(2019, 2023):
        p = kpi.period(fy, AFTER_R4)
        assert kpi.in_pipeline(old, p) and kpi.state_at_end(old, p) == kpi.DealState.OPEN
    assert not kpi.in_pipeline(old, kpi.period(2018, AFTER_R4))


def test_a_closed_deal_without_a_closing_day_closes_on_its_opening_day():
    undated = DealRow(1, 1, 400, kpi.LOST, date(2021, 6, 1), None)
    assert undated.closed == date(2021, 6, 1)
    assert kpi.lost_in([undated], R3) == [undated] and not kpi.in_pipeline(undated, R4)


def test_deal_amount_is_always_won_plus_lost_plus_open():
    deals = [
        deal(1, 1_000, kpi.WON, date(2021, 4, 1), date(2021, 9, 1), buyer=7),
        deal(2, 2_000, kpi.LOST, date(2020, 4, 1), date(2021, 4, 1), buyer=7),
        deal(3, 4_000, kpi.QUOTE, date(2022, 3, 31), buyer=8),
        deal(4, 8_000, kpi.WON, date(2022, 3, 1), date(2022, 4, 2), buyer=9),
        deal(5, 16_000, kpi.LOST, date(2019, 1, 1), date(2021, 3, 31), buyer=10),  # before
    ]
    figures = kpi.deal_figures(deals, R3)
    assert figures == {
        "lead_customers": 3,
        "deal_amount": 15_000,
        "won_amount": 1_000,
        "lost_amount": 2_000,
        "open_amount": 12_000,
    }


# --- orders: recurring work month by month ------------------------------------------------


def test_a_recurring_order_counts_month_by_month_in_each_year():
    # 120,000 yen a month from January 2022 to June 2022: 3 months in R.3, 3 in R.4.
    months = [BuyerMonth(5, date(2022, m, 1), 120_000) for m in range(1, 7)]
    assert kpi.order_figures(months, R3) == {
        "ordering_customers": 1,
        "order_total": 360_000,
        "arr_month_total": 120_000,
    }
    assert kpi.order_figures(months, R4)["order_total"] == 360_000
    assert kpi.order_figures(months, R4)["arr_month_total"] == 0  # nothing in March 2023


def test_a_buyer_with_only_zero_months_is_not_an_ordering_customer():
    months = [BuyerMonth(1, date(2022, 5, 1), 0), BuyerMonth(2, date(2022, 5, 1), 10)]
    assert kpi.order_figures(months, R4)["ordering_customers"] == 1


# --- facilities and wages ------------------------------------------------------------------


def facility(n, enrolled, status="participating", workers=10, hours=100, kind="type_b"):
    return FacilityRow(n, kind, status, enrolled, workers, hours)


def test_participating_and_active_facilities():
    facilities = [
        facility(1, date(2020, 4, 1)),
        facility(2, date(2023, 3, 31)),  # enrolled on the last day of R.4
        facility(3, date(2023, 4, 1)),  # enrolled after R.4
        facility(4, date(2019, 1, 1), status="left"),
        facility(5, date(2019, 1, 1), status="paused"),
    ]
    work = [FacilityMonth(1, date(2023, 3, 1), 5.0), FacilityMonth(5, date(2023, 4, 1), 5.0)]
    figures = kpi.headline(R4, [], [], facilities, work, [])
    assert (figures.participating, figures.active, figures.inactive) == (3, 1, 2)


def test_wage_increase_is_a_yearly_amount_per_worker_weighted_by_workers():
    facilities = [facility(1, date(2020, 4, 1), workers=99), facility(2, date(2020, 4, 1))]
    wages = [
        WageRow(1, 2021, 15_000, 10),
        WageRow(1, 2022, 16_000, 10),  # +1,000 a month for 10 workers
        WageRow(2, 2021, 20_000, 30),
        WageRow(2, 2022, 22_000, None),  # +2,000 a month; workers from the facility (10)
        WageRow(3, 2022, 50_000, 5),  # not a facility of the workspace
    ]
    figures = kpi.headline(R4, [], [], facilities, [], wages)
    assert figures.wage_workers == 20
    assert figures.wage_uplift_sum == 1_000 * 12 * 10 + 2_000 * 12 * 10
    assert figures.wage_increase == 18_000


def test_wage_increase_rounds_half_away_from_zero_and_can_fall():
    assert kpi.divide_rounded(5, 2) == 3 and kpi.divide_rounded(-5, 2) == -3
    assert kpi.divide_rounded(7, 3) == 2 and kpi.divide_rounded(-7, 3) == -2
    assert Headline(2022, wage_uplift_sum=-36_000, wage_workers=3).wage_increase == -12_000
    assert Headline(2022).wage_increase is None
    with pytest.raises(ValueError):
        kpi.divide_rounded(1, 0)


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_divide_rounded_is_the_nearest_integer(numerator, denominator):
    result = kpi.divide_rounded(numerator, denominator)
    assert abs(result * denominator - numerator) * 2 <= denominator


# --- the seed's table ----------------------------------------------------------------------

SEED_R3 = Headline(
    2021,
    lead_customers=102,
    deal_amount=100_280_000,
    won_amount=10_080_000,
    lost_amount=88_540_000,
    open_amount=1_660_000,
    ordering_customers=27,
    order_total=10_080_000,
    arr_month_total=1_441_700,
    participating=65,
    active=40,
    wage_uplift_sum=18_919 * 12,
    wage_workers=12,
)
SEED_R4 = Headline(
    2022,
    lead_customers=95,
    deal_amount=87_900_000,
    won_amount=21_490_000,
    lost_amount=66_410_000,
    open_amount=0,
    ordering_customers=32,
    order_total=21_490_000,
    arr_month_total=2_393_300,
    participating=96,
    active=61,
    wage_uplift_sum=19_878 * 10,
    wage_workers=10,
)


def test_the_seeds_year_over_year_column():
    change = kpi.changes(SEED_R4, SEED_R3)
    assert change["lead_customers"].difference == -7
    assert change["deal_amount"].difference == -12_380_000  # -1,238万円
    assert change["lost_amount"].difference == 22_130_000  # +2,213万円 (shown negative)
    assert (change["lost_amount"].current, change["lost_amount"].previous) == (
        -66_410_000,
        -88_540_000,
    )
    assert change["ordering_customers"].difference == 5
    assert change["order_total"].difference == 11_410_000
    assert round(pct(change["order_total"].ratio)) == 213
    assert change["wage_increase"].difference == 959
    assert change["participating"].difference == 31


def test_arr_and_its_ratio_are_recomputed_not_copied():
    assert kpi.format_man_yen(known(SEED_R3.arr)) == "1,730万円"
    assert kpi.format_man_yen(known(SEED_R4.arr)) == "2,872万円"
    change = kpi.changes(SEED_R4, SEED_R3)["arr"]
    assert kpi.signed_man_yen(known(change.difference)) == "+1,142万円"
    # The seed prints 160%; 2,872 / 1,730 is 166%.
    assert round(pct(change.ratio)) == 166


def test_r3_lost_amount_reconciles_only_with_the_open_deals():
    # The seed's definition (deal − orders) gives 9,020万円 for R.3, yet it prints 8,854万円:
    # the 166万円 between them are the deals still open on March 31.
    assert kpi.format_man_yen(SEED_R3.seed_lost_amount) == "9,020万円"
    assert kpi.format_man_yen(SEED_R3.lost_amount) == "8,854万円"
    assert SEED_R3.seed_lost_amount - SEED_R3.lost_amount == SEED_R3.open_amount
    assert SEED_R3.reconciles and SEED_R4.reconciles
    assert SEED_R4.seed_lost_amount == SEED_R4.lost_amount


def test_when_won_differs_from_placed_the_gap_is_reported():
    figures = Headline(2022, deal_amount=1_000, won_amount=600, lost_amount=300, open_amount=100)
    assert figures.won_amount + figures.lost_amount + figures.open_amount == figures.deal_amount
    # Nothing was placed with facilities in the year (the order starts next year).
    assert not figures.reconciles
    assert figures.reconciliation_gap == 600 == figures.won_vs_placed


def test_signed_man_yen_writes_the_seeds_differences():
    assert kpi.signed_man_yen(11_410_000) == "+1,141万円"
    assert kpi.signed_man_yen(-12_380_000) == "-1,238万円"
    assert kpi.signed_man_yen(0) == "±0円"
    assert kpi.signed_man_yen(-100_280_000) == "-1億28万円"


def test_ratio_needs_a_previous_value():
    assert kpi.Change(10, 0).ratio is None and kpi.Change(None, 5).difference is None
    assert kpi.Change(3, 2).ratio == 1.5


def test_combining_workspaces_sums_the_parts_and_recomputes():
    total = kpi.combine(2022, [SEED_R4, SEED_R4])
    assert total.deal_amount == 2 * SEED_R4.deal_amount
    assert total.arr == 2 * known(SEED_R4.arr)
    assert total.wage_increase == SEED_R4.wage_increase  # a weighted mean stays the mean
    mixed = kpi.combine(
        2022, [Headline(2022, wage_uplift_sum=12_000, wage_workers=1), Headline(2022)]
    )
    assert mixed.wage_increase == 12_000 and mixed.arr is None
    with pytest.raises(ValueError):
        kpi.combine(2022, [SEED_R3])
    assert kpi.combine(2022, []) == Headline(2022)


# --- pipeline and sales --------------------------------------------------------------------


def test_conversion_funnel_and_win_rate_by_stage():
    deals = [
        deal(1, 100, kpi.LEAD, date(2022, 5, 1)),
        deal(2, 100, kpi.HEARING, date(2022, 5, 1), furthest=kpi.HEARING),
        deal(3, 100, kpi.LOST, date(2022, 5, 1), date(2022, 8, 1), furthest=kpi.TRIAL),
        deal(4, 100, kpi.WON, date(2022, 5, 1), date(2022, 9, 1), furthest=kpi.QUOTE),
        deal(5, 100, kpi.LOST, date(2022, 6, 1), date(2022, 7, 1)),  # path unknown
        deal(6, 100, kpi.QUOTE, date(2021, 5, 1), furthest=kpi.QUOTE),  # opened in R.3
        deal(7, 100, kpi.LOST, date(2021, 5, 1), date(2022, 6, 1), furthest=kpi.QUOTE),
    ]
    conversion = kpi.conversion(deals, R4)
    assert (conversion.opened, conversion.converted, conversion.unknown) == (5, 2, 1)
    assert conversion.rate == 0.5
    assert kpi.funnel(deals, R4) == {
        kpi.LEAD: 5,
        kpi.HEARING: 3,
        kpi.TRIAL: 2,
        kpi.QUOTE: 1,
        kpi.WON: 1,
    }
    rates = {r.stage: (r.reached, r.won) for r in kpi.win_rate_by_stage(deals, R4)}
    # Closed in R.4: 3 (lost at trial), 4 (won), 5 (lost, unknown), 7 (lost at quote).
    assert rates == {
        kpi.LEAD: (4, 1),
        kpi.HEARING: (3, 1),
        kpi.TRIAL: (3, 1),
        kpi.QUOTE: (2, 1),
    }


def test_lost_amount_by_reason_largest_first():
    deals = [
        deal(1, 300, kpi.LOST, date(2022, 5, 1), date(2022, 6, 1), reason=2),
        deal(2, 500, kpi.LOST, date(2022, 5, 1), date(2022, 6, 1), reason=1),
        deal(3, 400, kpi.LOST, date(2022, 5, 1), date(2022, 6, 1), reason=2),
        deal(4, 50, kpi.LOST, date(2022, 5, 1), date(2022, 6, 1)),
        deal(5, 999, kpi.LOST, date(2021, 5, 1), date(2021, 6, 1), reason=1),  # R.3
    ]
    lines = kpi.lost_by_reason(deals, R4)
    assert [(line.reason_id, line.deals, line.amount) for line in lines] == [
        (2, 2, 700),
        (1, 1, 500),
        (None, 1, 50),
    ]


def test_up_sell_separates_customers_that_ordered_before_the_year():
    existing = {1}  # buyer 1 ordered on 2022-03-31; buyer 2 first on 2022-04-01
    deals = [
        deal(1, 1_000, kpi.WON, date(2022, 5, 1), date(2022, 6, 1), buyer=1),
        deal(2, 2_000, kpi.QUOTE, date(2022, 5, 1), buyer=2),
        deal(3, 4_000, kpi.LEAD, date(2022, 5, 1), buyer=3),
    ]
    months = [BuyerMonth(1, date(2022, 7, 1), 500), BuyerMonth(2, date(2022, 7, 1), 300)]
    result = kpi.up_sell(deals, months, existing, R4)
    assert result.existing == kpi.CustomerSplit(1, 1_000, 1_000, 500)
    assert result.new == kpi.CustomerSplit(2, 6_000, 0, 300)
    assert result.existing_share_of_orders == 500 / 800


# --- delivery and facilities ---------------------------------------------------------------


def test_forecast_accuracy_per_buyer_matches_the_order_pages_measure():
    from app.orders.service import forecast_accuracy as order_page_accuracy

    pairs = [(100_000, 80_000), (100_000, 130_000), (50_000, 50_000)]
    error = sum(abs(a - f) for f, a in pairs)
    forecast = sum(f for f, _a in pairs)
    assert kpi.forecast_accuracy(forecast, error) == order_page_accuracy(pairs)
    lines, total = kpi.forecast_lines(
        [
            kpi.BuyerForecast(1, 3, forecast, error, 260_000),
            kpi.BuyerForecast(2, 1, 100, 300, 400),  # accuracy floors at 0
            kpi.BuyerForecast(3, 1, 0, 0, 0),
        ]
    )
    assert [line.buyer_id for line in lines] == [2, 1, 3]
    assert lines[0].accuracy == 0.0 and lines[2].accuracy == 1.0
    assert total.forecast_total == forecast + 100 and total.gap == 260_400 - forecast - 100
    assert kpi.forecast_accuracy(0, 5) is None


def test_assignment_lead_time():
    orders = [
        (date(2022, 4, 1), date(2022, 4, 1)),
        (date(2022, 5, 1), date(2022, 5, 11)),
        (date(2022, 6, 1), date(2022, 5, 25)),  # facilities chosen before confirmation
        (date(2022, 7, 1), date(2022, 9, 9)),
        (date(2022, 8, 1), None),
        (date(2021, 8, 1), date(2021, 8, 2)),  # other year
    ]
    lead = kpi.lead_time(orders, R4)
    assert lead.days == (0, 10, -7, 70) and lead.unassigned == 1
    assert lead.median == 5 and lead.mean == 18.25 and lead.p90 == 70
    assert [count for _low, _high, count in lead.buckets()] == [2, 0, 1, 0, 0, 1]
    assert kpi.lead_time([], R4).median is None and kpi.lead_time([], R4).p90 is None


def test_utilisation_counts_the_months_a_facility_took_part():
    facilities = [
        facility(1, date(2020, 1, 1), hours=100),
        facility(2, date(2023, 1, 15), hours=50),  # joined in January: 3 months of R.4
        facility(3, date(2020, 1, 1), hours=0),
    ]
    work = [
        FacilityMonth(1, date(2022, 4, 1), 600.0),
        FacilityMonth(1, date(2023, 4, 1), 999.0),  # next year
        FacilityMonth(2, date(2023, 2, 1), 150.0),
        FacilityMonth(2, date(2022, 12, 1), 10.0),  # before it joined: not counted
    ]
    use = kpi.utilisation(facilities, work, R4)
    by_id = {u.facility_id: u for u in use.facilities}
    assert by_id[1].capacity == 1_200 and by_id[1].utilisation == 0.5
    assert by_id[2].capacity == 150 and by_id[2].utilisation == 1.0
    assert use.no_capacity == 1 and use.overall == 750 / 1_350
    assert [c for _l, _h, c in use.buckets()] == [0, 0, 1, 0, 1, 0]
    # In the year in progress only the months so far count.
    in_progress = kpi.period(2022, date(2022, 6, 10))
    assert kpi.utilisation(facilities[:1], work, in_progress).facilities[0].capacity == 300
    assert kpi.hours_by_kind(facilities, work, R4) == {"type_b": 760.0}


def test_wage_distribution():
    facilities = [facility(n, date(2020, 1, 1)) for n in range(1, 5)]
    wages = [
        WageRow(1, 2021, 10_000),
        WageRow(1, 2022, 9_000),
        WageRow(2, 2021, 10_000),
        WageRow(2, 2022, 10_000),
        WageRow(3, 2021, 10_000),
        WageRow(3, 2022, 16_000),
        WageRow(4, 2022, 16_000),  # no previous year
    ]
    spread = kpi.wage_distribution(facilities, wages, R4)
    assert [c for _l, _h, c in spread.buckets()] == [1, 1, 0, 0, 0, 1]
    assert spread.median == 0


# --- quality and priority procurement ------------------------------------------------------


def test_on_time_delivery_against_the_original_due_day():
    days = [
        DeliveryDay(date(2022, 5, 1), on_time=3, late=1, moved=1),
        DeliveryDay(date(2023, 3, 31), overdue=1, pending=0),
        DeliveryDay(date(2023, 4, 1), on_time=50),
    ]
    result = kpi.on_time(days, R4)
    assert (result.on_time, result.late, result.overdue, result.due) == (3, 1, 1, 5)
    assert result.rate == 0.6 and result.moved == 1
    assert kpi.on_time([], R4).rate is None


def test_quality_extension_is_empty_until_quality_records_exist():
    empty = kpi.QualityExtension()
    assert not empty.available and empty.defect_rate is None
    assert kpi.QualityExtension(inspected=200, defective=3).defect_rate == 0.015


def test_priority_procurement_by_buyer_type_and_facility_kind():
    rows = [
        ProcurementRow(True, "type_b", 100_000.4),
        ProcurementRow(True, "manufacturer", 50_000.0),
        ProcurementRow(True, None, 10_000.0),
        ProcurementRow(False, "type_a", 300_000.0),
        ProcurementRow(False, "life_care", 20_000.0),
        ProcurementRow(False, "other", 5_000.0),
        ProcurementRow(False, "type_b", 0.6),
        ProcurementRow(False, "type_b", 0.6),
    ]
    result = kpi.procurement(rows)
    assert result.municipality == kpi.ProcurementSplit(
        total=160_000,
        welfare=100_000,
        manufacturer=50_000,
        unallocated=10_000,
        by_kind={"manufacturer": 50_000, "type_b": 100_000},
    )
    assert result.companies.welfare == 300_000 + 20_000 + 1
    assert result.companies.other == 5_000
    assert result.total.welfare == 420_001
    assert result.municipality.welfare_share == 100_000 / 160_000


def test_monthly_totals_april_to_march():
    months = [BuyerMonth(1, date(2022, 4, 1), 10), BuyerMonth(2, date(2023, 3, 1), 20)]
    totals = kpi.monthly_totals([*months, BuyerMonth(1, date(2022, 4, 1), 5)], R4)
    assert totals[0] == 15 and totals[-1] == 20 and sum(totals) == 35
