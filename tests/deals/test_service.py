"""The deal rules with plain values and through the session: amounts, the report's guidance,
stages and closing dates, the timeline entries they write, filters."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.deals import service
from app.deals.models import Deal, DealCapability, DealStage
from app.timeline.models import EntryKind, TimelineEntry
from tests.deals.conftest import count, get_deal, new_deal

TODAY = date(2026, 11, 20)


# --- pure rules --------------------------------------------------------------------------------


def test_amount_is_monthly_times_months_for_recurring_deals():
    assert service.compute_amount(True, 999, 150_000, 12) == 1_800_000
    assert service.compute_amount(False, 2_500_000, 150_000, 12) == 2_500_000
    assert service.compute_amount(False, None, None, None) == 0


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"amount": 2_000_000}, []),
        ({"amount": 1_999_999}, ["below_minimum"]),
        # Recurring: the annual volume is monthly × 12, whatever the expected months.
        ({"recurring": True, "monthly_amount": 170_000, "expected_months": 24}, []),
        (
            {"recurring": True, "monthly_amount": 100_000, "expected_months": 12},
            ["below_minimum"],
        ),
        (
            {"recurring": True, "monthly_amount": 400_000, "expected_months": 5},
            ["short_continuation"],
        ),
        ({"recurring": True, "monthly_amount": 400_000, "expected_months": 6}, []),
        (
            {"recurring": True, "monthly_amount": 100_000, "expected_months": 3},
            ["below_minimum", "short_continuation"],
        ),
    ],
)
def test_guidance_warnings(values, expected):
    if values.get("recurring"):
        values["amount"] = values["monthly_amount"] * values["expected_months"]
    assert service.deal_warnings(new_deal(**values)) == expected


def test_annual_volume():
    assert service.annual_volume(new_deal(amount=500_000)) == 500_000
    deal = new_deal(recurring=True, monthly_amount=100_000, expected_months=3, amount=300_000)
    assert service.annual_volume(deal) == 1_200_000


def test_previous_and_next_stage():
    assert service.previous_stage(DealStage.LEAD) is None
    assert service.next_stage(DealStage.LEAD) == DealStage.HEARING
    assert service.next_stage(DealStage.QUOTE) == DealStage.WON
    assert service.previous_stage(DealStage.TRIAL) == DealStage.HEARING
    assert service.previous_stage(DealStage.WON) == DealStage.QUOTE
    assert service.previous_stage(DealStage.LOST) == DealStage.QUOTE
    assert service.next_stage(DealStage.WON) is None
    assert service.next_stage(DealStage.LOST) is None


def test_filters_ignore_bad_values():
    parsed = service.DealFilters.parse(
        "部品",
        {
            "stage": "nonsense",
            "buyer": "x",
            "owner": "2",
            "recurring": "maybe",
            "status": "open",
            "fy": "12",
            "archived": "everything",
        },
    )
    assert parsed == service.DealFilters(q="部品", owner_id=2, status="open")
    parsed = service.DealFilters.parse(
        "", {"stage": "won", "recurring": "no", "fy": "2025", "archived": "only"}
    )
    assert parsed.stage == DealStage.WON
    assert parsed.recurring is False
    assert parsed.fiscal_year == 2025
    assert parsed.archived == "only"


# --- writing through the session ---------------------------------------------------------------


def data(**values) -> service.DealData:
    defaults = {"buyer_id": 1, "title": "封入作業", "opened_on": date(2026, 5, 1)}
    return service.DealData(**{**defaults, **values})


def entries(s, deal_id: int) -> list[TimelineEntry]:
    return list(
        s.scalars(
            select(TimelineEntry).where(TimelineEntry.deal_id == deal_id).order_by(TimelineEntry.id)
        )
    )


def test_create_recurring_deal_computes_amount_and_writes_the_timeline(samples, arrange, read):
    deal_id = arrange(
        lambda s: (
            service.create_deal(
                s,
                data(
                    recurring=True,
                    amount=1,
                    monthly_amount=150_000,
                    expected_months=12,
                    capability_ids=[1],
                ),
                today=TODAY,
            ).id
        )
    )
    deal = read(get_deal(deal_id))
    assert (deal.amount, deal.monthly_amount, deal.expected_months) == (1_800_000, 150_000, 12)
    assert deal.stage == DealStage.LEAD and deal.closed_on is None
    assert read(count(DealCapability, DealCapability.deal_id == deal_id)) == 1
    [entry] = read(lambda s: entries(s, deal_id))
    assert entry.kind == EntryKind.CHANGE and entry.internal


def test_one_off_deal_forgets_monthly_terms(samples, arrange, read):
    deal_id = arrange(
        lambda s: (
            service.create_deal(
                s, data(amount=2_500_000, monthly_amount=1, expected_months=3), today=TODAY
            ).id
        )
    )
    deal = read(get_deal(deal_id))
    assert (deal.amount, deal.monthly_amount, deal.expected_months) == (2_500_000, None, None)


def test_rules_refuse_negative_and_incomplete_amounts(samples, arrange, read):
    for bad in (
        data(amount=-1),
        data(recurring=True, monthly_amount=100_000),
        data(recurring=True, monthly_amount=service.MAX_YEN, expected_months=2),
    ):
        with pytest.raises(service.RuleBroken):
            arrange(lambda s, bad=bad: service.create_deal(s, bad, today=TODAY))
    assert read(count(Deal)) == 1  # the sample deal only


def test_won_and_lost_set_the_closing_date_and_reopening_clears_it(samples, arrange, read):
    [deal_id] = arrange(lambda s: [service.create_deal(s, data(amount=3_000_000), today=TODAY).id])

    def move(stage, **kwargs):
        def run(s):
            service.move_stage(s, get_deal(deal_id)(s), stage, today=TODAY, **kwargs)

        arrange(run)
        return read(get_deal(deal_id))

    assert move(DealStage.WON).closed_on == TODAY
    with pytest.raises(service.RuleBroken):
        move(DealStage.LOST)  # a lost deal needs its reason
    lost = move(DealStage.LOST, lost_reason_id=1, lost_comment="予算凍結")
    assert (lost.stage, lost.closed_on, lost.lost_reason_id) == (DealStage.LOST, TODAY, 1)
    reopened = move(DealStage.QUOTE)
    assert (reopened.closed_on, reopened.lost_reason_id, reopened.lost_comment) == (None, None, "")
    bodies = [e.body for e in read(lambda s: entries(s, deal_id))]
    assert len(bodies) == 4  # created, won, lost, quote
    assert "顧客都合で白紙" in bodies[2] and "予算凍結" in bodies[2]


def test_update_writes_stage_and_amount_changes(samples, arrange, read):
    [deal_id] = arrange(lambda s: [service.create_deal(s, data(amount=3_000_000), today=TODAY).id])

    def update(values):
        arrange(lambda s: service.update_deal(s, get_deal(deal_id)(s), values, today=TODAY))

    update(data(amount=3_000_000, title="名前だけ変更"))
    assert len(read(lambda s: entries(s, deal_id))) == 1  # nothing worth a timeline entry
    update(data(amount=3_500_000, stage=DealStage.QUOTE, capability_ids=[1]))
    kinds = [e.kind for e in read(lambda s: entries(s, deal_id))]
    assert kinds == [EntryKind.CHANGE] * 3
    update(data(recurring=True, monthly_amount=100_000, expected_months=35, stage=DealStage.QUOTE))
    assert read(get_deal(deal_id)).amount == 3_500_000
    # Same amount, different terms (now monthly × months): still written.
    assert len(read(lambda s: entries(s, deal_id))) == 4
    assert read(count(DealCapability, DealCapability.deal_id == deal_id)) == 0


def test_archived_deal_cannot_be_changed_until_restored(samples, arrange, read):
    def archive(s):
        service.archive_deal(get_deal(1)(s), utcnow())

    arrange(archive)
    with pytest.raises(service.RuleBroken):
        arrange(lambda s: service.move_stage(s, get_deal(1)(s), DealStage.QUOTE, today=TODAY))
    with pytest.raises(service.RuleBroken):
        arrange(lambda s: service.update_deal(s, get_deal(1)(s), data(amount=1), today=TODAY))
    arrange(lambda s: service.restore_deal(get_deal(1)(s)))
    arrange(lambda s: service.move_stage(s, get_deal(1)(s), DealStage.QUOTE, today=TODAY))
    assert read(get_deal(1)).stage == DealStage.QUOTE
