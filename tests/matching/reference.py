"""An independent reference for the matching engine, in plain Python.

It re-implements the hard constraints and the objective from the engine's documentation
(without calling the engine), and finds the optimum of small instances by enumeration."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from app.matching import Facility, Weights, WorkPackage

TIERS = 4  # concentration steps, as documented
CHECKS = (
    "missing_capability",
    "difficulty_too_high",
    "no_pc_experience",
    "no_free_capacity",
    "too_far",
    "excluded_by_buyer",
    "excluded_by_coordinator",
    "unavailable",
)


def distance(p: WorkPackage, f: Facility) -> float | None:
    if p.distances_km is not None and f.id in p.distances_km:
        return p.distances_km[f.id]
    return f.distance_km


def locks(packages: Sequence[WorkPackage]) -> dict[tuple[str, int], float]:
    """Locked quantities, clamped to the package in facility-id order."""
    out: dict[tuple[str, int], float] = {}
    for p in packages:
        left = p.quantity
        for fid in sorted(p.locked):
            take = min(p.locked[fid], left)
            if take > 1e-9:
                out[p.id, fid] = take
                left -= take
    return out


def remaining(p: WorkPackage, locked: Mapping[tuple[str, int], float]) -> float:
    return p.quantity - sum(q for (pid, _), q in locked.items() if pid == p.id)


def free_after_locks(
    f: Facility,
    month: str,
    packages: Sequence[WorkPackage],
    locked: Mapping[tuple[str, int], float],
) -> float:
    hours = sum(
        q * p.hours_per_unit
        for p in packages
        for (pid, fid), q in locked.items()
        if pid == p.id and fid == f.id and p.month == month
    )
    return max(0.0, f.free_hours.get(month, 0.0) - hours)


def first_failure(p: WorkPackage, f: Facility, free: float, rest: float) -> str | None:
    """The first hard constraint f fails for p (None: eligible)."""
    lot = min(p.min_lot, rest)
    ok = {
        "missing_capability": all(
            f.capabilities.get(r.capability_id, 0) >= r.min_proficiency for r in p.requirements
        ),
        "difficulty_too_high": p.difficulty is None
        or (f.max_difficulty is not None and f.max_difficulty >= p.difficulty),
        "no_pc_experience": f.pc_experience or not p.needs_pc,
        "no_free_capacity": rest <= 1e-6 or min(rest, free / p.hours_per_unit) >= max(lot, 1e-6),
        "too_far": not p.on_site
        or p.max_distance_km is None
        or (distance(p, f) is not None and distance(p, f) <= p.max_distance_km),  # type: ignore[operator]
        "excluded_by_buyer": f.id not in p.excluded_by_buyer,
        "excluded_by_coordinator": f.id not in p.excluded_by_coordinator,
        "unavailable": f.available,
    }
    return next((name for name in CHECKS if not ok[name]), None)


def hourly_cost(p: WorkPackage, f: Facility, w: Weights) -> float:
    d = distance(p, f)
    d_term = 1.0 if d is None else min(d, w.distance_scale_km) / w.distance_scale_km
    q = w.neutral_quality if f.quality is None else f.quality
    wage = min(f.avg_monthly_wage, w.wage_scale_yen) / w.wage_scale_yen
    return w.distance * d_term + w.quality * (1 - q) + w.wage_uplift * wage


def objective(
    packages: Sequence[WorkPackage],
    facilities: Sequence[Facility],
    quantities: Mapping[tuple[str, int], float],
    w: Weights,
) -> float:
    """The documented objective of a full assignment (locks included)."""
    pk = {p.id: p for p in packages}
    fa = {f.id: f for f in facilities}
    total = 0.0
    load: dict[tuple[int, str], float] = defaultdict(float)
    per_facility: dict[int, float] = defaultdict(float)
    placed: dict[str, float] = defaultdict(float)
    for (pid, fid), q in quantities.items():
        p, f = pk[pid], fa[fid]
        hours = q * p.hours_per_unit
        total += hours * hourly_cost(p, f, w)
        load[fid, p.month] += hours
        per_facility[fid] += hours
        placed[pid] += q
    for hours in load.values():
        step = w.concentration_step_hours
        total += w.concentration * sum(max(0.0, hours - k * step) for k in range(1, TIERS + 1))
    for fid, hours in per_facility.items():
        if not fa[fid].has_work and hours > 1e-9:
            total -= w.idle_bonus * min(1.0, hours / w.idle_bonus_hours)
    for p in packages:
        total += w.unmet_penalty * (p.quantity - placed[p.id]) * p.hours_per_unit
    return total


def _splits(total: int, n: int, lot: int) -> Iterator[tuple[int, ...]]:
    """Every way to give n facilities 0 or ≥ lot units, summing to at most total."""
    if n == 0:
        yield ()
        return
    for first in range(total + 1):
        if 0 < first < lot:
            continue
        for rest in _splits(total - first, n - 1, lot):
            yield (first, *rest)


def options_count(packages: Sequence[WorkPackage], facilities: Sequence[Facility]) -> int:
    locked = locks(packages)
    count = 1
    for p in packages:
        count *= sum(1 for _ in _package_options(p, facilities, packages, locked))
    return count


def _package_options(
    p: WorkPackage,
    facilities: Sequence[Facility],
    packages: Sequence[WorkPackage],
    locked: Mapping[tuple[str, int], float],
) -> Iterator[dict[int, int]]:
    rest = remaining(p, locked)
    eligible = [
        f
        for f in facilities
        if (p.id, f.id) not in locked
        and first_failure(p, f, free_after_locks(f, p.month, packages, locked), rest) is None
    ]
    lot = math.ceil(min(p.min_lot, rest))
    if rest <= 0:
        yield {}
        return
    for split in _splits(int(rest), len(eligible), lot):
        yield {f.id: q for f, q in zip(eligible, split, strict=True) if q}


def brute_force(
    packages: Sequence[WorkPackage], facilities: Sequence[Facility], w: Weights
) -> float:
    """The optimum over integer assignments (quantities, lots, capacities are integers)."""
    locked = locks(packages)
    per_package = [list(_package_options(p, facilities, packages, locked)) for p in packages]
    cap = {
        (f.id, p.month): free_after_locks(f, p.month, packages, locked)
        for f in facilities
        for p in packages
    }
    best = math.inf
    for combo in itertools.product(*per_package):
        used: dict[tuple[int, str], float] = defaultdict(float)
        quantities: dict[tuple[str, int], float] = dict(locked)
        for p, option in zip(packages, combo, strict=True):
            for fid, q in option.items():
                used[fid, p.month] += q * p.hours_per_unit
                quantities[p.id, fid] = q
        if all(used[key] <= cap[key] + 1e-9 for key in used):
            best = min(best, objective(packages, facilities, quantities, w))
    return best
