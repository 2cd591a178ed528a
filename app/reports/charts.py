"""Charts drawn on the server as SVG (pygal): monthly order totals, the five-year trend, the
facilities taking part, the stage funnel. Readable on screen, in print and in the PDF.

The page embeds each chart as an ``<img>`` with a ``data:`` URI: the strict CSP allows
``img-src data:``, an SVG image runs no script, and its own style sheet (pygal writes one into
the SVG) applies inside the image only. pygal's inline configuration script is removed all
the same.
"""

from __future__ import annotations

import base64
import re
import sys
from dataclasses import dataclass
from typing import Any, Final

import pygal
from flask_babel import gettext as _
from pygal.style import Style

from app.reports import kpi
from app.reports.presentation import LABELS, short_year, stage_text
from app.reports.service import Report

# pygal appends a legacy import hook to sys.meta_path (for its map plugins, unused here) that
# makes every later failed import emit an ImportWarning: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

FONT: Final = (
    "'Noto Sans CJK JP', 'Noto Sans JP', 'Hiragino Sans', 'Yu Gothic', 'Meiryo', sans-serif"
)
STYLE: Final = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#52606d",
    colors=("#9fb3c8", "#1d4f91", "#e07a1f", "#2e7d4f", "#7b4fa0"),
    font_family=FONT,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=16,
    value_font_size=12,
    tooltip_font_size=12,
)
WIDTH, HEIGHT = 760, 340
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: str
    description: str  # the alternative text: the figures in words

    @property
    def data_uri(self) -> str:
        encoded = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        return f"data:image/svg+xml;base64,{encoded}"


def _config(**options: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "style": STYLE,
        "width": WIDTH,
        "height": HEIGHT,
        "js": [],
        "disable_xml_declaration": True,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "margin": 16,
        "margin_bottom": 28,
        "truncate_label": -1,
        "truncate_legend": -1,
        "explicit_size": True,
        "print_zeroes": False,
    }
    base.update(options)
    return base


def _render(chart: Any) -> str:
    svg: str = chart.render(is_unicode=True)
    return _SCRIPT.sub("", svg)


def man(amount: int | None) -> float | None:
    """Yen → 万円 for the axes (one decimal)."""
    return None if amount is None else round(amount / 10_000, 1)


def _man_formatter(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def monthly_chart(report: Report) -> Chart:
    p = report.period
    title = _("Order total by month (10,000 yen)")
    chart = pygal.Bar(**_config(title=title, value_formatter=_man_formatter))
    chart.x_labels = [_("Month %(month)d", month=m.month) for m in p.months]
    chart.add(short_year(p.fiscal_year - 1), [man(v) for v in report.monthly_previous])
    chart.add(short_year(p.fiscal_year), [man(v) for v in report.monthly])
    description = _(
        "%(year)s order total by month, April to March: %(values)s (10,000 yen).",
        year=short_year(p.fiscal_year),
        values=", ".join(_man_formatter(man(v)) for v in report.monthly),
    )
    return Chart("monthly", title, _render(chart), description)


def trend_chart(report: Report) -> Chart:
    title = _("Order total, ARR and deal amount by year (10,000 yen)")
    chart = pygal.Bar(**_config(title=title, value_formatter=_man_formatter, print_values=True))
    chart.x_labels = [short_year(q.fiscal_year) for q in report.periods]
    headlines = [report.headlines[q.fiscal_year] for q in report.periods]
    for key in ("deal_amount", "order_total", "arr"):
        chart.add(str(LABELS[key]), [man(kpi.kpi_value(h, key)) for h in headlines])
    description = "; ".join(
        f"{short_year(h.fiscal_year)}: {LABELS['order_total']} {_man_formatter(man(h.order_total))}"
        for h in headlines
    )
    return Chart("trend", title, _render(chart), description)


def facilities_chart(report: Report) -> Chart:
    title = _("Participating and active facilities by year")
    chart = pygal.Bar(**_config(title=title, print_values=True))
    chart.x_labels = [short_year(q.fiscal_year) for q in report.periods]
    headlines = [report.headlines[q.fiscal_year] for q in report.periods]
    chart.add(str(LABELS["participating"]), [h.participating for h in headlines])
    chart.add(str(LABELS["active"]), [h.active for h in headlines])
    description = "; ".join(
        f"{short_year(h.fiscal_year)}: {h.participating} / {h.active}" for h in headlines
    )
    return Chart("facilities", title, _render(chart), description)


def funnel_chart(report: Report) -> Chart:
    title = _("Deals opened in the year by stage reached")
    # pygal measures labels as if every character were narrow: leave room for Japanese ones.
    chart = pygal.HorizontalBar(
        **_config(title=title, print_values=True, show_legend=False, margin_left=70)
    )
    stages = list(report.funnel)
    # pygal draws the first label at the bottom: reverse, so the funnel reads top-down.
    chart.x_labels = [stage_text(stage) for stage in reversed(stages)]
    chart.add(_("Deals"), [report.funnel[stage] for stage in reversed(stages)])
    description = ", ".join(f"{stage_text(s)} {report.funnel[s]}" for s in stages)
    return Chart("funnel", title, _render(chart), description)


def charts(report: Report) -> list[Chart]:
    return [
        monthly_chart(report),
        trend_chart(report),
        facilities_chart(report),
        funnel_chart(report),
    ]
