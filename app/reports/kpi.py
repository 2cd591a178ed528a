"""The KPI arithmetic of the fiscal-year report. Pure: plain rows in, figures out.

No Flask, no session, no translations: ``service.py`` loads the rows (aggregated in SQL where
the tables are large), the views and exports label and format the figures.

Definitions (the seed report's KPI table, see ``../shared/DOMAIN.md``). A fiscal year runs
from April 1 to March 31. Archived records never count.

* **Pipeline of the year** — the deals that were open at some time in the year: opened on or
  before March 31 and not closed before April 1. A deal's closing day is its ``closed_on``
  when it is won or lost (its opening day if that was never recorded); open deals have none.
* **リード顧客数 (lead customers)** — distinct buyers with a deal in the year's pipeline.
* **商談総額 (deal amount)** — the sum of the amounts of the year's pipeline. Each of those
  deals ends the year in one of three states: **won** (closed as won in the year), **lost**
  (closed as lost in the year) or **still open** (not closed by March 31), so that
  deal amount = won + lost + still open, always.
* **失注総額 (lost amount)** — the amount of the deals lost in the year, from the records. The
  seed defines it as "deal amount − order total"; both are shown, and the report checks
  deal amount = order total + lost + still open (it holds when what was won in the year is
  what was placed with facilities in the year) and says by how much it does not.
* **発注総額 (order total)** — the actual amounts placed with facilities in the months of the
  year (order months' ``actual_amount``), recurring orders included month by month.
* **発注顧客数 (ordering customers)** — distinct buyers with an actual amount above zero in a
  month of the year.
* **ARR** — the order total of the year's last month (March) × 12. For the year in progress:
  the latest complete month × 12, labelled with that month; none before a month is complete.
* **平均工賃増加額 (average wage increase per worker)** — over the year's participating
  facilities that recorded their average monthly wage for this year and the year before:
  (this year's − last year's) × 12 (a year's increase per worker), averaged over workers
  (this year's worker count, else the facility's), rounded to the yen.
* **参加事業所数 (participating facilities)** — facilities enrolled on or before March 31
  (``participating_since``, else the day the record was created) and not marked as having
  left the program (the record keeps no leaving day, so a facility that left counts in no year).
* **稼働事業所数 (active facilities)** — participating facilities with at least one
  assignment (order work or a deal's trial) in a month of the year: "received work".
"""

from __future__ import annotations

import enum
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Final, NamedTuple

from app.jp import fiscal_year_of, fiscal_year_range, format_man_yen

# --- stages (the values of app.deals.models.DealStage, as plain strings) ---------------------

LEAD, HEARING, TRIAL, QUOTE, WON, LOST = "lead", "hearing", "trial", "quote", "won", "lost"
OPEN_STAGES: Final = (LEAD, HEARING, TRIAL, QUOTE)
FUNNEL_STAGES: Final = (LEAD, HEARING, TRIAL, QUOTE, WON)
# 案件化: a concrete job was defined and negotiation began — the site visit / trial or later.
CONVERTED_FROM: Final = TRIAL

# Facility kinds (app.facilities.models.FacilityKind values) that are welfare workplaces under
# the priority procurement act (障害者優先調達推進法); "other" is reported apart.
WELFARE_KINDS: Final = ("type_a", "type_b", "life_care")
MANUFACTURER, OTHER_KIND = "manufacturer", "other"
LEFT_STATUS: Final = "left"

MONTHS_PER_YEAR: Final = 12


# --- small arithmetic -------------------------------------------------------------------------


def divide_rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers (no float error)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator; None when either is unknown or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_from(first: date, last: date) -> list[date]:
    """First days of the months from ``first``'s to ``last``'s, inclusive."""
    months, month = [], first_of_month(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def signed_man_yen(amount: int) -> str:
    """A difference the way the seed writes it: "+1,141万円", "-1,238万円", "±0円"."""
    if amount == 0:
        return "±0円"
    text = format_man_yen(amount)
    return text if amount < 0 else "+" + text


# --- the fiscal year as the report sees it on a given day -----------------------------------


@dataclass(frozen=True)
class Period:
    fiscal_year: int
    start: date
    end: date
    today: date

    @property
    def complete(self) -> bool:
        return self.today > self.end

    @property
    def in_progress(self) -> bool:
        return self.start <= self.today <= self.end

    @property
    def months(self) -> list[date]:
        return months_from(self.start, self.end)

    @property
    def arr_month(self) -> date | None:
        """March for a finished year; the latest complete month of the year in progress."""
        if self.complete:
            return date(self.fiscal_year + 1, 3, 1)
        if not self.in_progress:
            return None
        latest = add_months(first_of_month(self.today), -1)
        return latest if latest >= self.start else None

    @property
    def arr_is_provisional(self) -> bool:
        return self.arr_month is not None and not self.complete

    @property
    def as_of_month(self) -> date | None:
        """The last month counted for capacity: March, or the current month of the year in
        progress; None for a year that has not begun."""
        if self.complete:
            return date(self.fiscal_year + 1, 3, 1)
        if self.in_progress:
            return first_of_month(self.today)
        return None

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        return period(self.fiscal_year - 1, self.today)


def period(fiscal_year: int, today: date) -> Period:
    start, end = fiscal_year_range(fiscal_year)
    return Period(fiscal_year, start, end, today)


def current_fiscal_year(today: date) -> int:
    return fiscal_year_of(today)


# --- input rows ---------------------------------------------------------------------------------


class DealRow(NamedTuple):
    id: int
    buyer_id: int
    amount: int
    stage: str
    opened_on: date
    closed_on: date | None = None
    lost_reason_id: int | None = None
    furthest_stage: str | None = None

    @property
    def closed(self) -> date | None:
        """The day the deal was won or lost (the opening day if never recorded); None if open."""
        if self.stage in (WON, LOST):
            return self.closed_on or self.opened_on
        return None


class BuyerMonth(NamedTuple):
    """The actual amount placed with facilities for one buyer in one month (all its orders),
    or in a span of months dated its last day (``service.load_buyer_months``)."""

    buyer_id: int
    month: date
    actual: int


class FacilityRow(NamedTuple):
    id: int
    kind: str
    status: str
    enrolled_on: date  # participating_since, else the JST day the record was created
    workers: int = 0
    hours_per_month: int = 0
    name: str = ""


class FacilityMonth(NamedTuple):
    """Assigned work of one facility in one month (all its assignments)."""

    facility_id: int
    month: date
    hours: float


class WageRow(NamedTuple):
    facility_id: int
    fiscal_year: int
    avg_monthly_wage: int
    workers: int | None = None


# --- deals in a year ---------------------------------------------------------------------------


class DealState(enum.StrEnum):
    WON = "won"
    LOST = "lost"
    OPEN = "open"


def in_pipeline(deal: DealRow, p: Period) -> bool:
    closed = deal.closed
    return deal.opened_on <= p.end and (closed is None or closed >= p.start)


def state_at_end(deal: DealRow, p: Period) -> DealState:
    """Where a deal of the year's pipeline stood on March 31 (or today, in the year in
    progress: a deal closes on a recorded day, never in the future)."""
    closed = deal.closed
    if closed is None or closed > p.end:
        return DealState.OPEN
    return DealState.WON if deal.stage == WON else DealState.LOST


def pipeline(deals: Iterable[DealRow], p: Period) -> list[DealRow]:
    return [deal for deal in deals if in_pipeline(deal, p)]


def won_in(deals: Iterable[DealRow], p: Period) -> list[DealRow]:
    return [d for d in deals if d.stage == WON and d.closed is not None and p.contains(d.closed)]


def lost_in(deals: Iterable[DealRow], p: Period) -> list[DealRow]:
    return [d for d in deals if d.stage == LOST and d.closed is not None and p.contains(d.closed)]


def opened_in(deals: Iterable[DealRow], p: Period) -> list[DealRow]:
    return [deal for deal in deals if p.contains(deal.opened_on)]


# --- the headline figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The seed table's figures for one year, as additive parts (so that workspaces can be
    summed); the derived figures are properties."""

    fiscal_year: int
    lead_customers: int = 0
    deal_amount: int = 0
    won_amount: int = 0
    lost_amount: int = 0
    open_amount: int = 0
    ordering_customers: int = 0
    order_total: int = 0
    arr_month_total: int | None = None
    participating: int = 0
    active: int = 0
    wage_uplift_sum: int = 0  # Σ (this year's − last year's monthly wage) × 12 × workers
    wage_workers: int = 0

    @property
    def arr(self) -> int | None:
        if self.arr_month_total is None:
            return None
        return self.arr_month_total * MONTHS_PER_YEAR

    @property
    def wage_increase(self) -> int | None:
        if self.wage_workers <= 0:
            return None
        return divide_rounded(self.wage_uplift_sum, self.wage_workers)

    @property
    def inactive(self) -> int:
        return self.participating - self.active

    @property
    def seed_lost_amount(self) -> int:
        """The seed's own definition: deal amount − order total."""
        return self.deal_amount - self.order_total

    @property
    def reconciliation_gap(self) -> int:
        """deal amount − (order total + lost + still open); 0 when the inputs reconcile."""
        return self.deal_amount - (self.order_total + self.lost_amount + self.open_amount)

    @property
    def reconciles(self) -> bool:
        return self.reconciliation_gap == 0

    @property
    def won_vs_placed(self) -> int:
        """Won in the year − placed with facilities in the year: the reconciliation gap."""
        return self.won_amount - self.order_total


ADDITIVE_FIELDS: Final = tuple(f.name for f in fields(Headline) if f.name != "fiscal_year")


def deal_figures(deals: Iterable[DealRow], p: Period) -> dict[str, int]:
    in_year = pipeline(deals, p)
    totals = {DealState.WON: 0, DealState.LOST: 0, DealState.OPEN: 0}
    for deal in in_year:
        totals[state_at_end(deal, p)] += deal.amount
    return {
        "lead_customers": len({deal.buyer_id for deal in in_year}),
        "deal_amount": sum(deal.amount for deal in in_year),
        "won_amount": totals[DealState.WON],
        "lost_amount": totals[DealState.LOST],
        "open_amount": totals[DealState.OPEN],
    }


def order_figures(months: Iterable[BuyerMonth], p: Period) -> dict[str, int | None]:
    total, buyers, arr_total = 0, set(), 0
    arr_month = p.arr_month
    for row in months:
        if not p.contains(row.month):
            continue
        total += row.actual
        if row.actual > 0:
            buyers.add(row.buyer_id)
        if row.month == arr_month:
            arr_total += row.actual
    return {
        "ordering_customers": len(buyers),
        "order_total": total,
        "arr_month_total": arr_total if arr_month is not None else None,
    }


def participating(facilities: Iterable[FacilityRow], p: Period) -> list[FacilityRow]:
    return [f for f in facilities if f.status != LEFT_STATUS and f.enrolled_on <= p.end]


def active_ids(facility_months: Iterable[FacilityMonth], p: Period) -> set[int]:
    return {row.facility_id for row in facility_months if p.contains(row.month)}


@dataclass(frozen=True)
class WageChange:
    facility_id: int
    previous: int
    current: int
    workers: int

    @property
    def monthly_increase(self) -> int:
        return self.current - self.previous


def wage_changes(
    facilities: Iterable[FacilityRow], wages: Iterable[WageRow], p: Period
) -> list[WageChange]:
    """Participating facilities with a wage for this year and the year before."""
    by_key = {(w.facility_id, w.fiscal_year): w for w in wages}
    changes = []
    for facility in participating(facilities, p):
        current = by_key.get((facility.id, p.fiscal_year))
        previous = by_key.get((facility.id, p.fiscal_year - 1))
        if current is None or previous is None:
            continue
        workers = current.workers if current.workers is not None else facility.workers
        changes.append(
            WageChange(facility.id, previous.avg_monthly_wage, current.avg_monthly_wage, workers)
        )
    return changes


def headline(
    p: Period,
    deals: Sequence[DealRow],
    buyer_months: Sequence[BuyerMonth],
    facilities: Sequence[FacilityRow],
    facility_months: Sequence[FacilityMonth],
    wages: Sequence[WageRow],
) -> Headline:
    return headline_of(p, deal_figures(deals, p), buyer_months, facilities, facility_months, wages)


def headline_of(
    p: Period,
    deal_figures_of_year: dict[str, int],
    buyer_months: Sequence[BuyerMonth],
    facilities: Sequence[FacilityRow],
    facility_months: Sequence[FacilityMonth],
    wages: Sequence[WageRow],
) -> Headline:
    """``headline`` from the year's deal figures (``deal_figures``, or their SQL twin)."""
    taking_part = participating(facilities, p)
    worked = active_ids(facility_months, p)
    weighted = [c for c in wage_changes(facilities, wages, p) if c.workers > 0]
    return Headline(
        fiscal_year=p.fiscal_year,
        **deal_figures_of_year,
        **order_figures(buyer_months, p),  # type: ignore[arg-type]
        participating=len(taking_part),
        active=sum(1 for f in taking_part if f.id in worked),
        wage_uplift_sum=sum(c.monthly_increase * MONTHS_PER_YEAR * c.workers for c in weighted),
        wage_workers=sum(c.workers for c in weighted),
    )


def combine(fiscal_year: int, parts: Iterable[Headline]) -> Headline:
    """Several workspaces' figures as one (the regional roll-up): the additive parts are
    summed, the derived figures recomputed from them. Counts of companies add up per
    workspace (a company in two workspaces counts twice)."""
    totals: dict[str, int] = dict.fromkeys(ADDITIVE_FIELDS, 0)
    arr_known = False
    for part in parts:
        if part.fiscal_year != fiscal_year:
            raise ValueError("cannot combine figures of different fiscal years")
        for name in ADDITIVE_FIELDS:
            value = getattr(part, name)
            if value is None:
                continue
            if name == "arr_month_total":
                arr_known = True
            totals[name] += value
    result = Headline(fiscal_year=fiscal_year, **totals)
    return result if arr_known else replace(result, arr_month_total=None)


# --- year over year ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    current: int | None
    previous: int | None

    @property
    def difference(self) -> int | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def ratio(self) -> float | None:
        return ratio(self.current, self.previous)


# The lines of the seed's 対前年度推移 table, in its order (plus still-open deals and active
# facilities, which the reconciliation and the 1-1 summary need). Lost amounts are shown
# negative, as the seed writes them.
KPI_KEYS: Final = (
    "lead_customers",
    "deal_amount",
    "lost_amount",
    "open_amount",
    "ordering_customers",
    "order_total",
    "arr",
    "wage_increase",
    "participating",
    "active",
)
AMOUNT_KEYS: Final = frozenset({"deal_amount", "lost_amount", "open_amount", "order_total", "arr"})


def kpi_value(figures: Headline, key: str) -> int | None:
    if key == "lost_amount":
        return -figures.lost_amount
    value: int | None = getattr(figures, key)
    return value


def changes(current: Headline, previous: Headline) -> dict[str, Change]:
    return {key: Change(kpi_value(current, key), kpi_value(previous, key)) for key in KPI_KEYS}


# --- pipeline and sales ------------------------------------------------------------------------


def reached_index(deal: DealRow) -> int | None:
    """How far along LEAD → QUOTE → WON a deal got: won deals went all the way; otherwise the
    recorded furthest stage, or the open stage it is at; None for a closed deal whose furthest
    stage is not known."""
    if deal.stage == WON:
        return FUNNEL_STAGES.index(WON)
    known = [FUNNEL_STAGES.index(s) for s in (deal.furthest_stage, deal.stage) if s in OPEN_STAGES]
    return max(known) if known else None


@dataclass(frozen=True)
class Conversion:
    """案件化率 of the deals opened in the year."""

    opened: int
    converted: int
    unknown: int  # closed deals whose furthest stage was not recorded (left out)

    @property
    def rate(self) -> float | None:
        return ratio(self.converted, self.opened - self.unknown)


def conversion(deals: Iterable[DealRow], p: Period) -> Conversion:
    threshold = FUNNEL_STAGES.index(CONVERTED_FROM)
    opened = opened_in(deals, p)
    reached = [reached_index(deal) for deal in opened]
    return Conversion(
        opened=len(opened),
        converted=sum(1 for r in reached if r is not None and r >= threshold),
        unknown=sum(1 for r in reached if r is None),
    )


def funnel(deals: Iterable[DealRow], p: Period) -> dict[str, int]:
    """Deals opened in the year that reached each stage (a deal of unknown path counts as a
    lead only)."""
    opened = opened_in(deals, p)
    counts = dict.fromkeys(FUNNEL_STAGES, 0)
    for deal in opened:
        reached = reached_index(deal) or 0
        for index, stage in enumerate(FUNNEL_STAGES):
            if index <= reached:
                counts[stage] += 1
    return counts


@dataclass(frozen=True)
class StageWinRate:
    stage: str
    reached: int
    won: int

    @property
    def rate(self) -> float | None:
        return ratio(self.won, self.reached)


def win_rate_by_stage(deals: Iterable[DealRow], p: Period) -> list[StageWinRate]:
    """Of the deals closed in the year that had reached a stage, the share that were won.
    A lost deal whose furthest stage is unknown counts at the lead stage only."""
    closed = won_in(deals, p) + lost_in(deals, p)
    rates = []
    for index, stage in enumerate(OPEN_STAGES):
        reached = [d for d in closed if (reached_index(d) or 0) >= index]
        rates.append(StageWinRate(stage, len(reached), sum(1 for d in reached if d.stage == WON)))
    return rates


@dataclass(frozen=True)
class LostReasonLine:
    reason_id: int | None
    deals: int
    amount: int


def lost_by_reason(deals: Iterable[DealRow], p: Period) -> list[LostReasonLine]:
    """Deals lost in the year by reason, largest amount first."""
    grouped: dict[int | None, list[int]] = defaultdict(list)
    for deal in lost_in(deals, p):
        grouped[deal.lost_reason_id].append(deal.amount)
    lines = [
        LostReasonLine(reason, len(amounts), sum(amounts)) for reason, amounts in grouped.items()
    ]
    return sorted(
        lines, key=lambda line: (-line.amount, line.reason_id is None, line.reason_id or 0)
    )


@dataclass(frozen=True)
class CustomerSplit:
    deals: int = 0
    deal_amount: int = 0
    won_amount: int = 0
    order_total: int = 0


@dataclass(frozen=True)
class UpSell:
    """Sales to customers who had ordered before the year began, against new customers."""

    existing: CustomerSplit
    new: CustomerSplit

    @property
    def existing_share_of_orders(self) -> float | None:
        return ratio(self.existing.order_total, self.existing.order_total + self.new.order_total)


def up_sell(
    deals: Iterable[DealRow],
    buyer_months: Iterable[BuyerMonth],
    existing_customers: AbstractSet[int],
    p: Period,
) -> UpSell:
    """``existing_customers``: the buyers with an order confirmed before April 1 of the year."""

    def existing(buyer_id: int) -> bool:
        return buyer_id in existing_customers

    parts: dict[bool, dict[str, int]] = {
        True: dict.fromkeys(("deals", "deal_amount", "won_amount", "order_total"), 0),
        False: dict.fromkeys(("deals", "deal_amount", "won_amount", "order_total"), 0),
    }
    for deal in opened_in(deals, p):
        part = parts[existing(deal.buyer_id)]
        part["deals"] += 1
        part["deal_amount"] += deal.amount
        if state_at_end(deal, p) == DealState.WON:
            part["won_amount"] += deal.amount
    for row in buyer_months:
        if p.contains(row.month):
            parts[existing(row.buyer_id)]["order_total"] += row.actual
    return UpSell(existing=CustomerSplit(**parts[True]), new=CustomerSplit(**parts[False]))


# --- delivery and facilities -------------------------------------------------------------------


class BuyerForecast(NamedTuple):
    """Months of the year where a buyer's forecast and actual are both known (summed in SQL
    over order months: Σ forecast and Σ |actual − forecast|)."""

    buyer_id: int
    months: int
    forecast_total: int
    error_total: int
    actual_total: int = 0


def forecast_accuracy(forecast_total: int, error_total: int) -> float | None:
    """1 − Σ|actual − forecast| / Σ forecast, never below 0 (the orders page's measure)."""
    if forecast_total == 0:
        return 1.0 if error_total == 0 else None
    return max(0.0, 1 - error_total / forecast_total)


@dataclass(frozen=True)
class ForecastLine:
    buyer_id: int
    months: int
    forecast_total: int
    actual_total: int
    error_total: int

    @property
    def accuracy(self) -> float | None:
        return forecast_accuracy(self.forecast_total, self.error_total)

    @property
    def gap(self) -> int:
        return self.actual_total - self.forecast_total


def forecast_lines(rows: Iterable[BuyerForecast]) -> tuple[list[ForecastLine], ForecastLine]:
    """Per buyer, worst accuracy first, and the workspace's total (buyer_id 0)."""
    lines = [
        ForecastLine(r.buyer_id, r.months, r.forecast_total, r.actual_total, r.error_total)
        for r in rows
    ]
    lines.sort(key=lambda line: (line.accuracy if line.accuracy is not None else -1, line.buyer_id))
    total = ForecastLine(
        0,
        sum(line.months for line in lines),
        sum(line.forecast_total for line in lines),
        sum(line.actual_total for line in lines),
        sum(line.error_total for line in lines),
    )
    return lines, total


LEAD_TIME_BUCKETS: Final = ((None, 0), (1, 7), (8, 14), (15, 30), (31, 60), (61, None))


@dataclass(frozen=True)
class LeadTime:
    """Days from order confirmation to the first assignment, orders confirmed in the year."""

    days: tuple[int, ...]
    unassigned: int

    @property
    def assigned(self) -> int:
        return len(self.days)

    @property
    def median(self) -> float | None:
        return statistics.median(self.days) if self.days else None

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.days) if self.days else None

    @property
    def p90(self) -> int | None:
        if not self.days:
            return None
        ordered = sorted(self.days)
        # Nearest rank: the smallest value with at least 90% of the orders at or below it.
        rank = -(-9 * len(ordered) // 10)
        return ordered[rank - 1]

    def buckets(self) -> list[tuple[int | None, int | None, int]]:
        """(low, high, orders) per bucket; low None means "at or before confirmation"."""
        result = []
        for low, high in LEAD_TIME_BUCKETS:
            count = sum(
                1 for d in self.days if (low is None or d >= low) and (high is None or d <= high)
            )
            result.append((low, high, count))
        return result


def lead_time(orders: Iterable[tuple[date, date | None]], p: Period) -> LeadTime:
    """``orders``: (confirmed_on, assigned_on) of orders; those confirmed in the year count."""
    days, unassigned = [], 0
    for confirmed_on, assigned_on in orders:
        if not p.contains(confirmed_on):
            continue
        if assigned_on is None:
            unassigned += 1
        else:
            days.append((assigned_on - confirmed_on).days)
    return LeadTime(tuple(days), unassigned)


UTILISATION_BUCKETS: Final = ((0.0, 0.0), (0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))


@dataclass(frozen=True)
class FacilityUse:
    facility_id: int
    hours: float
    capacity: float  # hours_per_month × participating months counted

    @property
    def utilisation(self) -> float | None:
        return ratio(self.hours, self.capacity)


@dataclass(frozen=True)
class Utilisation:
    facilities: list[FacilityUse]
    no_capacity: int  # participating facilities without a recorded monthly capacity

    @property
    def hours(self) -> float:
        return sum(use.hours for use in self.facilities)

    @property
    def capacity(self) -> float:
        return sum(use.capacity for use in self.facilities)

    @property
    def overall(self) -> float | None:
        return ratio(self.hours, self.capacity)

    def buckets(self) -> list[tuple[float, float | None, int]]:
        """(low, high, facilities): exactly 0%, then (low, high], and over 100%."""
        values = [u.utilisation for u in self.facilities if u.utilisation is not None]
        result: list[tuple[float, float | None, int]] = [
            (0.0, 0.0, sum(1 for v in values if v == 0))
        ]
        for low, high in UTILISATION_BUCKETS[1:]:
            result.append((low, high, sum(1 for v in values if low < v <= high)))
        result.append((1.0, None, sum(1 for v in values if v > 1.0)))
        return result


def utilisation(
    facilities: Iterable[FacilityRow], facility_months: Iterable[FacilityMonth], p: Period
) -> Utilisation:
    """Assigned hours / (monthly capacity × months) for each participating facility, over the
    months of the year it took part in, up to March (or the current month of the year in
    progress)."""
    last = p.as_of_month
    hours: dict[int, float] = defaultdict(float)
    enrolled: dict[int, date] = {}
    uses, no_capacity = [], 0
    taking_part = participating(facilities, p)
    for facility in taking_part:
        enrolled[facility.id] = max(p.start, first_of_month(facility.enrolled_on))
    for row in facility_months:
        first = enrolled.get(row.facility_id)
        if first is not None and last is not None and first <= row.month <= last:
            hours[row.facility_id] += row.hours
    for facility in taking_part:
        if facility.hours_per_month <= 0:
            no_capacity += 1
            continue
        months = len(months_from(enrolled[facility.id], last)) if last is not None else 0
        uses.append(FacilityUse(facility.id, hours[facility.id], facility.hours_per_month * months))
    return Utilisation(uses, no_capacity)


def hours_by_kind(
    facilities: Iterable[FacilityRow], facility_months: Iterable[FacilityMonth], p: Period
) -> dict[str, float]:
    """Assigned hours in the year by facility kind: how the work spreads."""
    kinds = {f.id: f.kind for f in facilities}
    totals: dict[str, float] = defaultdict(float)
    for row in facility_months:
        if p.contains(row.month) and row.facility_id in kinds:
            totals[kinds[row.facility_id]] += row.hours
    return dict(totals)


WAGE_BUCKETS: Final = ((None, -1), (0, 0), (1, 999), (1000, 2999), (3000, 4999), (5000, None))


@dataclass(frozen=True)
class WageDistribution:
    changes: list[WageChange]

    @property
    def median(self) -> float | None:
        values = [c.monthly_increase for c in self.changes]
        return statistics.median(values) if values else None

    def buckets(self) -> list[tuple[int | None, int | None, int]]:
        """(low, high, facilities) of the monthly wage change."""
        result = []
        for low, high in WAGE_BUCKETS:
            count = sum(
                1
                for c in self.changes
                if (low is None or c.monthly_increase >= low)
                and (high is None or c.monthly_increase <= high)
            )
            result.append((low, high, count))
        return result


def wage_distribution(
    facilities: Iterable[FacilityRow], wages: Iterable[WageRow], p: Period
) -> WageDistribution:
    return WageDistribution(wage_changes(facilities, wages, p))


# --- quality -----------------------------------------------------------------------------------


class DeliveryDay(NamedTuple):
    """Delivery lots of one original due day, classified in SQL against that original day:
    delivered on or before it (and not rejected), delivered after it, not delivered (or sent
    back) and past it, not delivered and not yet due. ``moved``: lots whose date was revised."""

    due_on: date
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0
    moved: int = 0


@dataclass(frozen=True)
class OnTime:
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0
    moved: int = 0

    @property
    def due(self) -> int:
        """Lots whose original due day has passed (or that were delivered)."""
        return self.on_time + self.late + self.overdue

    @property
    def rate(self) -> float | None:
        return ratio(self.on_time, self.due)


def on_time(days: Iterable[DeliveryDay], p: Period) -> OnTime:
    totals = dict.fromkeys(("on_time", "late", "overdue", "pending", "moved"), 0)
    for day in days:
        if p.contains(day.due_on):
            for name in totals:
                totals[name] += getattr(day, name)
    return OnTime(**totals)


@dataclass(frozen=True)
class QualityExtension:
    """Inspection and nonconformance figures: filled in when the quality records exist (see
    ``service.quality_extension``); empty until then."""

    inspected: int | None = None
    defective: int | None = None
    nonconformances_by_severity: dict[str, int] = field(default_factory=dict)
    nonconformances_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.inspected is not None or bool(self.nonconformances_by_severity)

    @property
    def defect_rate(self) -> float | None:
        return ratio(self.defective, self.inspected)


# --- 優先調達 (priority procurement) -------------------------------------------------------------


class ProcurementRow(NamedTuple):
    """Actual amounts of the year's order months, by buyer type (the municipality itself or
    a partner company) and by the kind of facility the work went to. The amount of an order's
    month is shared among that month's assignments by hours (by quantity when no hours were
    recorded); ``kind`` None: no assignment that month."""

    municipality: bool
    kind: str | None
    amount: float


@dataclass(frozen=True)
class ProcurementSplit:
    total: int = 0
    welfare: int = 0
    manufacturer: int = 0
    other: int = 0
    unallocated: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def welfare_share(self) -> float | None:
        return ratio(self.welfare, self.total)


@dataclass(frozen=True)
class Procurement:
    municipality: ProcurementSplit
    companies: ProcurementSplit

    @property
    def total(self) -> ProcurementSplit:
        a, b = self.municipality, self.companies
        kinds = set(a.by_kind) | set(b.by_kind)
        return ProcurementSplit(
            total=a.total + b.total,
            welfare=a.welfare + b.welfare,
            manufacturer=a.manufacturer + b.manufacturer,
            other=a.other + b.other,
            unallocated=a.unallocated + b.unallocated,
            by_kind={k: a.by_kind.get(k, 0) + b.by_kind.get(k, 0) for k in sorted(kinds)},
        )


def procurement(rows: Iterable[ProcurementRow]) -> Procurement:
    """Shares are rounded per kind; the total is the sum of what is shown."""
    sums: dict[bool, dict[str | None, float]] = {
        True: defaultdict(float),
        False: defaultdict(float),
    }
    for row in rows:
        sums[row.municipality][row.kind] += row.amount

    def split(parts: dict[str | None, float]) -> ProcurementSplit:
        by_kind = {kind: round(amount) for kind, amount in parts.items() if kind is not None}
        welfare = sum(by_kind.get(kind, 0) for kind in WELFARE_KINDS)
        manufacturer = by_kind.get(MANUFACTURER, 0)
        other = sum(v for k, v in by_kind.items() if k not in WELFARE_KINDS and k != MANUFACTURER)
        unallocated = round(parts.get(None, 0.0))
        return ProcurementSplit(
            total=welfare + manufacturer + other + unallocated,
            welfare=welfare,
            manufacturer=manufacturer,
            other=other,
            unallocated=unallocated,
            by_kind=dict(sorted(by_kind.items())),
        )

    return Procurement(municipality=split(sums[True]), companies=split(sums[False]))


# --- monthly trend ------------------------------------------------------------------------------


class MonthTotal(NamedTuple):
    """The actual amount placed with facilities in one month (all buyers)."""

    month: date
    actual: int


def monthly_totals(months: Iterable[BuyerMonth | MonthTotal], p: Period) -> list[int]:
    """The order total of each month of the year, April to March."""
    totals = dict.fromkeys(p.months, 0)
    for row in months:
        if row.month in totals:
            totals[row.month] += row.actual
    return [totals[month] for month in p.months]
