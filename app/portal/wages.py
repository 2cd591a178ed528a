"""Wage-relevant totals of a facility: hours and amounts assigned per month (pure, no Flask).

The amount of an assignment is the facility's share of its order's amount for that month:

    amount = order month amount × facility quantity ÷ quantity assigned to all facilities

where the order month amount is the actual amount placed when it is known, else the buyer's
forecast (the total is then marked as an estimate). Trials of deals have no amount. Amounts are
yen before any fee of the program, rounded to whole yen per assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

Key = tuple[int, date]  # (order id, first day of the month)


@dataclass(frozen=True)
class Work:
    """One assignment of the facility, as plain values."""

    order_id: int | None  # None: a deal's trial
    month: date
    quantity: float
    hours: float


@dataclass(frozen=True)
class MonthAmount:
    """An order's amount in a month: the actual when known, else the forecast."""

    actual: int | None
    forecast: int | None

    @property
    def value(self) -> int | None:
        return self.actual if self.actual is not None else self.forecast

    @property
    def estimated(self) -> bool:
        return self.actual is None and self.forecast is not None


@dataclass(frozen=True)
class MonthTotal:
    month: date
    hours: float
    amount: int
    estimated: bool  # some of the amount comes from a forecast
    unpriced: int  # assignments with no amount known (trials, months without figures)


def share(amount: int, quantity: float, total_quantity: float) -> int:
    """The part of ``amount`` that ``quantity`` of ``total_quantity`` stands for (whole yen)."""
    if total_quantity <= 0 or quantity <= 0:
        return 0
    return round(amount * min(quantity, total_quantity) / total_quantity)


def month_totals(
    works: Iterable[Work],
    assigned_totals: Mapping[Key, float],
    amounts: Mapping[Key, MonthAmount],
    months: Iterable[date],
) -> list[MonthTotal]:
    """One row per month of ``months`` (in order), plus any month the works fall in."""
    hours: dict[date, float] = {m: 0.0 for m in months}
    yen: dict[date, int] = dict.fromkeys(hours, 0)
    estimated: dict[date, bool] = dict.fromkeys(hours, False)
    unpriced: dict[date, int] = dict.fromkeys(hours, 0)
    for work in works:
        month = work.month
        hours.setdefault(month, 0.0)
        yen.setdefault(month, 0)
        estimated.setdefault(month, False)
        unpriced.setdefault(month, 0)
        hours[month] += work.hours
        if work.order_id is None:
            unpriced[month] += 1
            continue
        key = (work.order_id, month)
        figure = amounts.get(key)
        value = figure.value if figure is not None else None
        if value is None:
            unpriced[month] += 1
            continue
        yen[month] += share(value, work.quantity, assigned_totals.get(key, work.quantity))
        estimated[month] = estimated[month] or bool(figure and figure.estimated)
    return [
        MonthTotal(
            month=month,
            hours=round(hours[month], 3),
            amount=yen[month],
            estimated=estimated[month],
            unpriced=unpriced[month],
        )
        for month in sorted(hours)
    ]
