"""Quality KPIs and the quality score the matching engine uses. Pure: plain numbers in.

Counts come from the central inspections (the quality-check team's, not the facility's own):
every inspected unit ends in exactly one of three states, so

    inspected = passed + reworked + failed

- **defect rate** (不良率) = failed / inspected — units still nonconforming after inspection;
- **first-pass yield** (直行率) = passed / inspected — units right the first time, without
  rework (a reworked unit is good in the end, but it did not pass first time);
- **on-time delivery** (納期遵守率) = lots delivered on or before their *original* due date /
  lots due. A revised due date does not make a late lot on time. A lot counts once it is
  delivered or once its original due date has passed undelivered (then it is late); lots not
  yet due are left out.

Quality score, 0..1, for matching (``quality_score``)::

    fpy'    = (passed + M/2)            / (inspected + M)        M  = 20 units
    good'   = (inspected − failed + M/2) / (inspected + M)
    ontime' = (on_time + L/2)           / (due + L)              L  = 4 lots
    base    = 0.4 · fpy' + 0.3 · good' + 0.3 · ontime'
    penalty = Σ over nonconformances in the window: critical 0.20, major 0.05, minor 0.01,
              at most 0.5
    score   = clamp(base − penalty, 0, 1);   None when there is no inspection, no lot due
              and no nonconformance (no history)

The primes pull each figure towards 0.5 (the engine's neutral prior for "no history") by M
pseudo-units or L pseudo-lots: one good lot of five units is not proof of perfection, and a
facility's score moves from 0.5 to its real record as evidence accumulates. The window is the
last 365 days (inspection date, original due date, date found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

PRIOR_UNITS: Final = 20
PRIOR_LOTS: Final = 4
WEIGHT_FIRST_PASS: Final = 0.4
WEIGHT_GOOD: Final = 0.3
WEIGHT_ON_TIME: Final = 0.3
SEVERITY_PENALTY: Final = {"critical": 0.20, "major": 0.05, "minor": 0.01}
MAX_PENALTY: Final = 0.5
WINDOW_DAYS: Final = 365


@dataclass(frozen=True)
class QualityCounts:
    """What a facility's (or an order's) record adds up to over the window."""

    inspected: int = 0
    passed: int = 0
    reworked: int = 0
    failed: int = 0
    lots_due: int = 0
    lots_on_time: int = 0
    nonconformances: Mapping[str, int] | None = None  # severity → count

    def __post_init__(self) -> None:
        values = (self.inspected, self.passed, self.reworked, self.failed)
        if min(values) < 0 or min(self.lots_due, self.lots_on_time) < 0:
            raise ValueError("counts cannot be negative")
        if self.passed + self.reworked + self.failed > self.inspected:
            raise ValueError("passed + reworked + failed cannot exceed the units inspected")
        if self.lots_on_time > self.lots_due:
            raise ValueError("more lots on time than lots due")

    @property
    def has_history(self) -> bool:
        return bool(self.inspected or self.lots_due or sum((self.nonconformances or {}).values()))


def ratio(part: int, whole: int) -> float | None:
    return None if whole <= 0 else part / whole


def defect_rate(failed: int, inspected: int) -> float | None:
    return ratio(failed, inspected)


def first_pass_yield(passed: int, inspected: int) -> float | None:
    return ratio(passed, inspected)


def on_time_rate(on_time: int, due: int) -> float | None:
    return ratio(on_time, due)


def shrunk(part: float, whole: float, prior: int) -> float:
    """``part / whole`` pulled towards 0.5 by ``prior`` pseudo-observations."""
    return (part + prior / 2) / (whole + prior)


def penalty(nonconformances: Mapping[str, int] | None) -> float:
    total = sum(SEVERITY_PENALTY.get(s, 0.0) * n for s, n in (nonconformances or {}).items())
    return min(MAX_PENALTY, total)


def quality_score(counts: QualityCounts) -> float | None:
    """0..1 (1 = best), or None without history. See the module's docstring."""
    if not counts.has_history:
        return None
    fpy = shrunk(counts.passed, counts.inspected, PRIOR_UNITS)
    good = shrunk(counts.inspected - counts.failed, counts.inspected, PRIOR_UNITS)
    on_time = shrunk(counts.lots_on_time, counts.lots_due, PRIOR_LOTS)
    base = WEIGHT_FIRST_PASS * fpy + WEIGHT_GOOD * good + WEIGHT_ON_TIME * on_time
    return min(1.0, max(0.0, base - penalty(counts.nonconformances)))
