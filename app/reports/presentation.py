"""The report's words and tables: labels, definitions, formatted figures, and every table as
typed cells that the page, the PDF, the workbook and the CSV files all share.

Amounts stay integer yen in the tables (exports write them as such); the page and the PDF
show them in 万円 / 億円 as the seed report writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.deals.models import DealStage
from app.deals.service import STAGE_LABELS
from app.facilities.forms import KIND_LABELS
from app.facilities.models import FacilityKind
from app.jp import (
    fiscal_year_label,
    format_man_yen,
    format_percent,
    format_signed_yen,
    format_yen,
)
from app.quality.forms import NC_STATUS_LABELS, SEVERITY_LABELS
from app.reports import kpi
from app.reports.service import Report

# A drill-down link: (list endpoint, query parameters) → URL. None in exports.
LinkFor = Callable[[str, dict[str, Any]], str]

LABELS: Final = {
    "lead_customers": _l("Lead customers"),
    "deal_amount": _l("Deal amount"),
    "lost_amount": _l("Lost amount"),
    "open_amount": _l("Deals still open"),
    "ordering_customers": _l("Ordering customers"),
    "order_total": _l("Order total"),
    "arr": _l("ARR (annual recurring revenue)"),
    "wage_increase": _l("Average wage increase"),
    "participating": _l("Participating facilities"),
    "active": _l("Active facilities"),
}
DEFINITIONS: Final = {
    "lead_customers": _l(
        "Companies with a deal in the pipeline of the year: opened by March 31 and not won or "
        "lost before April 1."
    ),
    "deal_amount": _l(
        "The amounts of the deals in the year's pipeline (the leads' demand). Each of them "
        "ends the year won, lost or still open."
    ),
    "lost_amount": _l(
        "The amounts of the deals lost in the year, from the deal records (shown negative, as "
        "the seed report writes it)."
    ),
    "open_amount": _l("The amounts of the year's deals that were not won or lost by March 31."),
    "ordering_customers": _l(
        "Companies with an amount placed with facilities in a month of the year."
    ),
    "order_total": _l(
        "The actual amounts placed with facilities in the months of the year (April to "
        "March); recurring orders count month by month."
    ),
    "arr": _l(
        "March's order total × 12: the order total the coming year can expect from the "
        "recurring work."
    ),
    "wage_increase": _l(
        "(This year's average monthly wage − last year's) × 12: a year's increase per worker, "
        "over participating facilities that recorded both years, weighted by their workers."
    ),
    "participating": _l(
        "Facilities enrolled by March 31 (participation date, else the day they were recorded) "
        "that have not left the program."
    ),
    "active": _l(
        "Participating facilities with at least one assignment (order work or a trial) in a "
        "month of the year: they received work."
    ),
}
UNITS: Final = {
    "lead_customers": "companies",
    "ordering_customers": "companies",
    "participating": "facilities",
    "active": "facilities",
    "wage_increase": "yen",
}
UNIT_LABELS: Final = {"companies": "社", "facilities": "事業所", "yen": "円"}


def short_year(fiscal_year: int) -> str:
    """R.4 (the seed's column heading)."""
    return fiscal_year_label(fiscal_year, "short").removesuffix("年度")


def count_text(value: int | None, unit: str, signed: bool = False) -> str:
    if value is None:
        return "—"
    number = ("±0" if value == 0 else f"{value:+,}") if signed else f"{value:,}"
    if unit == "companies":
        return _("%(count)s companies", count=number)
    return _("%(count)s facilities", count=number)


def value_text(key: str, value: int | None) -> str:
    if value is None:
        return "—"
    unit = UNITS.get(key)
    if unit == "yen":
        return format_signed_yen(value)
    if unit is not None:
        return count_text(value, unit)
    return format_man_yen(value)


def difference_text(key: str, value: int | None) -> str:
    if value is None:
        return "—"
    unit = UNITS.get(key)
    if unit == "yen":
        return format_signed_yen(value)
    if unit is not None:
        return count_text(value, unit, signed=True)
    return kpi.signed_man_yen(value)


def percent(value: float | None, digits: int = 0) -> str:
    return format_percent(value, digits)


@dataclass(frozen=True)
class KpiLine:
    key: str
    label: str
    definition: str
    previous: str
    current: str
    difference: str
    ratio: str
    link: str | None = None
    note: str = ""


DRILL: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "lead_customers": ("buyers.index", {"lead": "{fy}", "show": "all"}),
    "deal_amount": ("deals.index", {"pipeline": "{fy}"}),
    "lost_amount": ("deals.index", {"closed": "{fy}", "stage": DealStage.LOST.value}),
    "open_amount": ("deals.index", {"open_at": "{fy}"}),
    "ordering_customers": ("buyers.index", {"ordering": "{fy}", "show": "all"}),
    "order_total": ("orders.index", {"placed": "{fy}"}),
    "arr": ("orders.index", {"month": "{arr_month}"}),
    "wage_increase": ("facilities.index", {"wages": "{fy}"}),
    "participating": ("facilities.index", {"participating": "{fy}"}),
    "active": ("facilities.index", {"active": "{fy}"}),
}


def drill_link(link_for: LinkFor | None, key: str, p: kpi.Period) -> str | None:
    if link_for is None or key not in DRILL:
        return None
    endpoint, template = DRILL[key]
    if key == "arr" and p.arr_month is None:
        return None
    arr_month = p.arr_month.strftime("%Y-%m") if p.arr_month else ""
    values = {name: v.format(fy=p.fiscal_year, arr_month=arr_month) for name, v in template.items()}
    return link_for(endpoint, values)


def arr_note(p: kpi.Period) -> str:
    if p.arr_month is None:
        return _("No month of this year is complete yet.") if p.in_progress else ""
    if p.arr_is_provisional:
        return _(
            "Year in progress: %(year)d/%(month)d × 12, the latest complete month.",
            year=p.arr_month.year,
            month=p.arr_month.month,
        )
    return ""


def kpi_lines(report: Report, link_for: LinkFor | None = None) -> list[KpiLine]:
    changes = report.changes
    lines = []
    for key in kpi.KPI_KEYS:
        change = changes[key]
        lines.append(
            KpiLine(
                key=key,
                label=str(LABELS[key]),
                definition=str(DEFINITIONS[key]),
                previous=value_text(key, change.previous),
                current=value_text(key, change.current),
                difference=difference_text(key, change.difference),
                ratio=percent(change.ratio),
                link=drill_link(link_for, key, report.period),
                note=arr_note(report.period) if key == "arr" else "",
            )
        )
    return lines


# --- tables (page, PDF, XLSX, CSV) ------------------------------------------------------------

# Column kinds: how a cell is shown on the page (exports write the raw value).
TEXT, YEN, MAN_YEN, SIGNED_YEN, COUNT, PERCENT, NUMBER = (
    "text",
    "yen",
    "man_yen",
    "signed_yen",
    "count",
    "percent",
    "number",
)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT


@dataclass
class Table:
    key: str  # also the file name of its CSV export
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # per row: the label's drill-down
    note: str = ""
    # Rows shown on the page and in the PDF (None: all; the last row is a total to keep).
    screen_rows: int | None = None
    keeps_total: bool = False

    def add(self, *cells: Any, link: str | None = None) -> None:
        self.rows.append(list(cells))
        self.links.append(link)

    @property
    def shown(self) -> list[tuple[list[Any], str | None]]:
        pairs = list(zip(self.rows, self.links, strict=True))
        if self.screen_rows is None or len(pairs) <= self.screen_rows + self.keeps_total:
            return pairs
        head = pairs[: self.screen_rows]
        return head + pairs[-1:] if self.keeps_total else head

    @property
    def truncated(self) -> bool:
        return len(self.shown) < len(self.rows)


SHOWN: Final[dict[str, Callable[[Any], str]]] = {
    YEN: lambda v: format_yen(int(v)),
    MAN_YEN: lambda v: format_man_yen(int(v)),
    SIGNED_YEN: lambda v: format_signed_yen(int(v)),
    PERCENT: lambda v: f"{v:.1f}%",
    COUNT: lambda v: f"{int(v):,}",
    NUMBER: lambda v: f"{v:,.1f}",
}


def show(value: Any, kind: str) -> str:
    """A cell as the page and the PDF show it."""
    if value is None or value == "":
        return "—" if kind != TEXT else ""
    return SHOWN.get(kind, str)(value)


def export_value(value: Any, kind: str) -> Any:
    """A cell as the workbook and CSV files hold it: numbers stay numbers."""
    if value is None:
        return None
    if kind == PERCENT:
        return round(float(value), 1)
    if kind == NUMBER:
        return round(float(value), 1)
    return value


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def kpi_table(report: Report, link_for: LinkFor | None = None) -> Table:
    p = report.period
    table = Table(
        "kpi",
        _("Year-over-year KPIs"),
        [
            Column(_("Indicator")),
            Column(_("Unit")),
            Column(_("%(year)s actual", year=short_year(p.fiscal_year - 1)), COUNT),
            Column(_("%(year)s actual", year=short_year(p.fiscal_year)), COUNT),
            Column(_("Difference"), COUNT),
            Column(_("Ratio (%)"), PERCENT),
            Column(_("Definition")),
        ],
        note=arr_note(p),
    )
    for key, change in report.changes.items():
        unit = UNIT_LABELS.get(UNITS.get(key, "yen"), "円")
        table.add(
            str(LABELS[key]),
            unit,
            change.previous,
            change.current,
            change.difference,
            _pct(change.ratio),
            str(DEFINITIONS[key]),
            link=drill_link(link_for, key, p),
        )
    return table


def reconciliation_table(report: Report) -> Table:
    table = Table(
        "reconciliation",
        _("Reconciliation: deal amount = order total + lost + still open"),
        [Column(_("Figure")) for _i in range(1)]
        + [Column(short_year(q.fiscal_year), YEN) for q in report.periods[-2:]],
    )
    years = [report.headlines[q.fiscal_year] for q in report.periods[-2:]]
    table.add(_("Deal amount"), *(h.deal_amount for h in years))
    table.add(_("Won in the year"), *(h.won_amount for h in years))
    table.add(_("Order total (placed with facilities)"), *(h.order_total for h in years))
    table.add(_("Lost amount (records)"), *(h.lost_amount for h in years))
    table.add(_("Still open on March 31"), *(h.open_amount for h in years))
    table.add(
        _("Deal amount − order total (the seed's lost amount)"),
        *(h.seed_lost_amount for h in years),
    )
    table.add(
        _("Not reconciled (deal − order total − lost − open)"),
        *(h.reconciliation_gap for h in years),
    )
    return table


def trend_table(report: Report) -> Table:
    table = Table(
        "trend",
        _("Three-year trend"),
        [Column(_("Fiscal year"))]
        + [Column(str(LABELS[key]), COUNT if key in UNITS else YEN) for key in kpi.KPI_KEYS],
    )
    for q in report.periods:
        h = report.headlines[q.fiscal_year]
        table.add(
            fiscal_year_label(q.fiscal_year), *(kpi.kpi_value(h, key) for key in kpi.KPI_KEYS)
        )
    return table


def monthly_table(report: Report) -> Table:
    p = report.period
    table = Table(
        "monthly",
        _("Order total by month"),
        [
            Column(_("Month")),
            Column(fiscal_year_label(p.fiscal_year), YEN),
            Column(fiscal_year_label(p.fiscal_year - 1), YEN),
        ],
    )
    for month, this_year, last_year in zip(
        p.months, report.monthly, report.monthly_previous, strict=True
    ):
        table.add(_("Month %(month)d", month=month.month), this_year, last_year)
    return table


def stage_text(stage: str) -> str:
    return str(STAGE_LABELS[DealStage(stage)])


def funnel_table(report: Report, link_for: LinkFor | None = None) -> Table:
    p = report.period
    conversion = report.conversion
    table = Table(
        "funnel",
        _("Deals opened in the year, by the furthest stage reached"),
        [Column(_("Stage")), Column(_("Deals"), COUNT), Column(_("Share of leads (%)"), PERCENT)],
        note=_(
            "Conversion rate (案件化率): %(rate)s of the %(known)d deals opened in the year "
            "whose path is known reached a site visit / trial or later.",
            rate=percent(conversion.rate, 1),
            known=conversion.opened - conversion.unknown,
        )
        + (
            " "
            + _(
                "%(count)d deals recorded as already lost have no known path and count as "
                "leads only.",
                count=conversion.unknown,
            )
            if conversion.unknown
            else ""
        ),
    )
    leads = report.funnel.get(kpi.LEAD, 0)
    link = link_for("deals.index", {"fy": str(p.fiscal_year)}) if link_for else None
    for stage, count in report.funnel.items():
        table.add(stage_text(stage), count, _pct(kpi.ratio(count, leads)), link=link)
    return table


def win_rate_table(report: Report) -> Table:
    table = Table(
        "win_rate",
        _("Win rate by stage (deals won or lost in the year)"),
        [
            Column(_("Reached stage")),
            Column(_("Closed deals"), COUNT),
            Column(_("Won"), COUNT),
            Column(_("Win rate (%)"), PERCENT),
        ],
    )
    for rate in report.win_rates:
        table.add(stage_text(rate.stage), rate.reached, rate.won, _pct(rate.rate))
    return table


def lost_reason_table(report: Report, link_for: LinkFor | None = None) -> Table:
    fy = str(report.period.fiscal_year)
    table = Table(
        "lost_reasons",
        _("Lost amount by reason"),
        [Column(_("Reason")), Column(_("Deals"), COUNT), Column(_("Amount"), MAN_YEN)],
    )
    for line in report.lost_reasons:
        label = (
            report.reason_labels.get(line.reason_id, "")
            if line.reason_id is not None
            else _("Not recorded")
        )
        params = {"closed": fy, "stage": DealStage.LOST.value}
        if line.reason_id is not None:
            params["reason"] = str(line.reason_id)
        table.add(
            label,
            line.deals,
            line.amount,
            link=link_for("deals.index", params) if link_for else None,
        )
    return table


def up_sell_table(report: Report) -> Table:
    up = report.up_sell
    table = Table(
        "up_sell",
        _("Existing and new customers"),
        [
            Column(_("Customers")),
            Column(_("Deals opened"), COUNT),
            Column(_("Their amount"), MAN_YEN),
            Column(_("Won by March 31"), MAN_YEN),
            Column(_("Order total"), MAN_YEN),
        ],
        note=_(
            "Existing customers had an order confirmed before the year began; they brought "
            "%(share)s of the year's order total.",
            share=percent(up.existing_share_of_orders),
        ),
    )
    for label, part in (
        (_("Existing customers (up-sell)"), up.existing),
        (_("New customers"), up.new),
    ):
        table.add(label, part.deals, part.deal_amount, part.won_amount, part.order_total)
    return table


FORECAST_ROWS_SHOWN: Final = 20


def forecast_table(report: Report) -> Table:
    lines = report.forecasts
    table = Table(
        "forecast",
        _("Forecast accuracy by buyer (worst first)"),
        [
            Column(_("Buyer company")),
            Column(_("Months"), COUNT),
            Column(_("Forecast"), YEN),
            Column(_("Actual"), YEN),
            Column(_("Gap"), SIGNED_YEN),
            Column(_("Accuracy (%)"), PERCENT),
        ],
        note=_(
            "Accuracy = 1 − Σ|actual − forecast| / Σ forecast over the months where both are "
            "known (the order page's measure)."
        ),
        screen_rows=FORECAST_ROWS_SHOWN,
        keeps_total=True,
    )
    for line in lines:
        table.add(
            report.buyer_names.get(line.buyer_id, ""),
            line.months,
            line.forecast_total,
            line.actual_total,
            line.gap,
            _pct(line.accuracy),
        )
    total = report.forecast_total
    table.add(
        _("All buyers"),
        total.months,
        total.forecast_total,
        total.actual_total,
        total.gap,
        _pct(total.accuracy),
    )
    return table


def _range(low: Any, high: Any, unit: str) -> str:
    if low is None:
        return _("%(high)s %(unit)s or less", high=high, unit=unit)
    if high is None:
        return _("%(low)s %(unit)s or more", low=low, unit=unit)
    if low == high:
        return f"{low} {unit}"
    return f"{low}–{high} {unit}"


def lead_time_table(report: Report, link_for: LinkFor | None = None) -> Table:
    lead = report.lead_time
    table = Table(
        "lead_time",
        _("Assignment lead time (orders confirmed in the year)"),
        [Column(_("Days from confirmation to first assignment")), Column(_("Orders"), COUNT)],
        note=_(
            "Median %(median)s days, mean %(mean)s days, 90%% within %(p90)s days; "
            "%(unassigned)d orders not assigned yet.",
            median=_number(lead.median),
            mean=_number(lead.mean),
            p90=_number(lead.p90),
            unassigned=lead.unassigned,
        ),
    )
    link = link_for("orders.index", {"fy": str(report.period.fiscal_year)}) if link_for else None
    day = _("days")
    for low, high, count in lead.buckets():
        label = _("At or before confirmation") if low is None else _range(low, high, day)
        table.add(label, count, link=link)
    table.add(_("Not assigned yet"), lead.unassigned, link=link)
    return table


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def utilisation_table(report: Report) -> Table:
    use = report.utilisation
    table = Table(
        "utilisation",
        _("Facility utilisation (assigned hours / monthly capacity × months)"),
        [Column(_("Utilisation")), Column(_("Facilities"), COUNT)],
        note=_(
            "Overall %(overall)s: %(hours)s h assigned of %(capacity)s h capacity; "
            "%(missing)d participating facilities have no capacity recorded.",
            overall=percent(use.overall, 1),
            hours=f"{use.hours:,.0f}",
            capacity=f"{use.capacity:,.0f}",
            missing=use.no_capacity,
        ),
    )
    for low, high, count in use.buckets():
        if high is None:
            label = _("Over 100%")
        elif low == high:
            label = _("No work (0%)")
        else:
            label = f"{low * 100:.0f}–{high * 100:.0f}%"
        table.add(label, count)
    return table


def facility_use_table(report: Report) -> Table:
    """Every participating facility with capacity: the export's detail of utilisation."""
    table = Table(
        "facility_utilisation",
        _("Utilisation by facility"),
        [
            Column(_("Facility")),
            Column(_("Assigned hours"), NUMBER),
            Column(_("Capacity (hours)"), NUMBER),
            Column(_("Utilisation (%)"), PERCENT),
        ],
        screen_rows=0,  # one row per facility: in the files only
    )
    uses = sorted(report.utilisation.facilities, key=lambda u: (u.utilisation or 0, u.facility_id))
    for use in uses:
        table.add(
            report.facility_names.get(use.facility_id, ""),
            use.hours,
            use.capacity,
            _pct(use.utilisation),
        )
    return table


def facilities_table(report: Report, link_for: LinkFor | None = None) -> Table:
    h = report.current
    fy = str(report.period.fiscal_year)
    table = Table(
        "facilities",
        _("Active and participating facilities"),
        [Column(_("Facilities")), Column(_("Count"), COUNT), Column(_("Share (%)"), PERCENT)],
    )

    def link(name: str) -> str | None:
        return link_for("facilities.index", {name: fy}) if link_for else None

    table.add(
        _("Participating"),
        h.participating,
        100.0 if h.participating else None,
        link=link("participating"),
    )
    table.add(
        _("Active (received work)"),
        h.active,
        _pct(kpi.ratio(h.active, h.participating)),
        link=link("active"),
    )
    table.add(
        _("Without work"),
        h.inactive,
        _pct(kpi.ratio(h.inactive, h.participating)),
        link=link("inactive"),
    )
    return table


def hours_by_kind_table(report: Report) -> Table:
    table = Table(
        "hours_by_kind",
        _("Assigned hours by kind of facility"),
        [Column(_("Kind")), Column(_("Hours"), NUMBER), Column(_("Share (%)"), PERCENT)],
    )
    total = sum(report.hours_by_kind.values())
    for kind in FacilityKind:
        hours = report.hours_by_kind.get(kind.value, 0.0)
        table.add(str(KIND_LABELS[kind]), hours, _pct(kpi.ratio(hours, total)))
    return table


def wage_table(report: Report) -> Table:
    spread = report.wages
    table = Table(
        "wages",
        _("Change of the average monthly wage since last year"),
        [Column(_("Monthly change")), Column(_("Facilities"), COUNT)],
        note=_(
            "%(count)d facilities recorded both years; median change %(median)s yen a month.",
            count=len(spread.changes),
            median=_number(spread.median),
        ),
    )
    yen = _("yen")
    for low, high, count in spread.buckets():
        if low is None:
            label = _("Decrease")
        elif high is not None and low == high == 0:
            label = _("No change")
        else:
            label = _range(f"{low:,}", f"{high:,}" if high is not None else None, yen)
        table.add(label, count)
    return table


def on_time_table(report: Report) -> Table:
    t = report.on_time
    table = Table(
        "on_time",
        _("Delivery against the original due date (lots due in the year)"),
        [Column(_("Lots")), Column(_("Count"), COUNT)],
        note=_(
            "On-time rate %(rate)s: delivered on or before the original due date, out of "
            "the lots delivered or past that date. %(moved)d lots had their date moved.",
            rate=percent(t.rate, 1),
            moved=t.moved,
        ),
    )
    table.add(_("On time"), t.on_time)
    table.add(_("Late"), t.late)
    table.add(_("Overdue, not delivered (or sent back)"), t.overdue)
    table.add(_("Not yet due"), t.pending)
    return table


def quality_table(report: Report) -> Table:
    q = report.quality
    table = Table(
        "quality",
        _("Inspections and nonconformances"),
        [Column(_("Figure")), Column(_("Value"), TEXT)],
        note=""
        if q.available
        else _("Defect rate and nonconformances appear here once quality records are kept."),
    )
    if q.available:
        table.add(_("Inspected"), q.inspected)
        table.add(_("Defective"), q.defective)
        table.add(_("Defect rate"), percent(q.defect_rate, 2))
        severity_labels = {str(k): str(v) for k, v in SEVERITY_LABELS.items()}
        status_labels = {str(k): str(v) for k, v in NC_STATUS_LABELS.items()}
        for severity, count in q.nonconformances_by_severity.items():
            name = severity_labels.get(severity, severity)
            table.add(_("Nonconformances: %(severity)s", severity=name), count)
        for status, count in q.nonconformances_by_status.items():
            name = status_labels.get(status, status)
            table.add(_("Nonconformances: %(status)s", status=name), count)
    return table


def procurement_table(report: Report) -> Table:
    proc = report.procurement
    table = Table(
        "priority_procurement",
        _("Purchases from welfare facilities (優先調達)"),
        [
            Column(_("Buyer")),
            Column(_("Order total"), YEN),
            Column(_("From welfare facilities"), YEN),
            Column(_("Share (%)"), PERCENT),
            Column(_("From partner companies"), YEN),
            Column(_("Other facilities"), YEN),
            Column(_("Not assigned"), YEN),
        ]
        + [Column(str(KIND_LABELS[FacilityKind(k)]), YEN) for k in kpi.WELFARE_KINDS],
        note=_(
            "Each month's amount of an order is shared among the facilities assigned that "
            "month, by hours. Welfare facilities: employment support A and B, daily-life care. "
            "Buyers marked as the municipality itself count as the municipality."
        ),
    )
    for label, split in (
        (_("The municipality"), proc.municipality),
        (_("Partner companies"), proc.companies),
        (_("Total"), proc.total),
    ):
        table.add(
            label,
            split.total,
            split.welfare,
            _pct(split.welfare_share),
            split.manufacturer,
            split.other,
            split.unallocated,
            *(split.by_kind.get(kind, 0) for kind in kpi.WELFARE_KINDS),
        )
    return table


def sections(report: Report, link_for: LinkFor | None = None) -> dict[str, list[Table]]:
    """The report's tables by section, in the page's order."""
    return {
        "kpi": [kpi_table(report, link_for), reconciliation_table(report), trend_table(report)],
        "sales": [
            funnel_table(report, link_for),
            win_rate_table(report),
            lost_reason_table(report, link_for),
            up_sell_table(report),
        ],
        "delivery": [
            monthly_table(report),
            forecast_table(report),
            lead_time_table(report, link_for),
            utilisation_table(report),
            facility_use_table(report),
            facilities_table(report, link_for),
            hours_by_kind_table(report),
            wage_table(report),
        ],
        "quality": [on_time_table(report), quality_table(report)],
        "procurement": [procurement_table(report)],
    }


def all_tables(report: Report) -> list[Table]:
    return [table for tables in sections(report).values() for table in tables]


def table_keys() -> Sequence[str]:
    """Every table's key, in order (the CSV export's names)."""
    return TABLE_KEYS


TABLE_KEYS: Final = (
    "kpi",
    "reconciliation",
    "trend",
    "funnel",
    "win_rate",
    "lost_reasons",
    "up_sell",
    "monthly",
    "forecast",
    "lead_time",
    "utilisation",
    "facility_utilisation",
    "facilities",
    "hours_by_kind",
    "wages",
    "on_time",
    "quality",
    "priority_procurement",
)
