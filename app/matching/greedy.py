"""Greedy baseline for the benchmark: the way assignment is often done by hand.

For each package (by month, then id), take the eligible facilities (same hard constraints as
the engine) nearest first (unknown distance last, ties by id) and fill each one's free capacity
before moving to the next.  A facility only takes at least the minimum lot; when the rest would
fall below the lot, the facility leaves exactly one lot for the next.  Same inputs, same
:class:`~app.matching.engine.Plan` (scored by the same objective), no optimality claim.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from app.matching.engine import (
    EPS,
    Facility,
    Plan,
    PlanStatus,
    Screen,
    Weights,
    WorkPackage,
    build_plan,
    screen,
)


def solve_greedy(
    packages: Sequence[WorkPackage],
    facilities: Sequence[Facility],
    weights: Weights | None = None,
) -> Plan:
    """Nearest capable facility first, fill up its capacity, then the next."""
    weights = weights or Weights()
    started = time.perf_counter()
    scr = screen(packages, facilities, weights)
    return build_plan(
        scr,
        greedy_quantities(scr),
        weights,
        status=PlanStatus.HEURISTIC,
        mip_gap=None,
        method="greedy",
        started=started,
    )


def greedy_quantities(scr: Screen) -> dict[tuple[str, int], float]:
    """The greedy assignment of the screened packages' free quantities (locks excluded)."""
    free = {month: hours.copy() for month, hours in scr.free.items()}
    out: dict[tuple[str, int], float] = {}
    order = sorted(range(len(scr.packages)), key=lambda i: (scr.packages[i].month, i))
    for i in order:
        package = scr.packages[i]
        rest, lot = scr.remaining[i], scr.lots[i]
        cap = free[package.month]
        if rest <= EPS:
            continue

        def nearest(index: int, package: WorkPackage = package) -> tuple[float, int]:
            km = package.distance_to(scr.facilities[index])
            return (math.inf if km is None else km, scr.facilities[index].id)

        for index in sorted((int(j) for j in scr.eligible[i]), key=nearest):
            can = min(rest, float(cap[index]) / package.hours_per_unit)
            if can < max(lot, EPS):
                continue
            take = can
            if EPS < rest - take < lot - EPS and rest - lot >= lot - EPS:
                take = rest - lot
            out[package.id, scr.facilities[index].id] = take
            cap[index] -= take * package.hours_per_unit
            rest -= take
            if rest <= EPS:
                break
    return out
