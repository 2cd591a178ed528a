"""The matching engine: which facilities take which work, solved exactly as a MILP.

Pure: frozen dataclasses in, a :class:`Plan` out; no Flask, no database, no randomness.
Work is quantity of a *package* (an order's work for one month, or a deal's trial), in hours
or pieces (``hours_per_unit`` converts pieces to the hours that capacity is counted in).

Candidates
----------
A pair (p, f) enters the model only when facility f passes every hard constraint of package p,
checked in the order of :data:`REASON_ORDER`; the first failing one is recorded as f's exclusion
reason for p.  Locked allocations (set by the coordinator) are constants, not variables: they
are honoured even where they break a hard constraint (the plan then carries a
:class:`LockWarning`) and they use up the facility's free capacity first.

Data
----
q_p   quantity of p left after its locks;  h_p hours per unit;  lot_p = min(min_lot_p, q_p)
C_fm  free hours of f in month m minus its locked hours there (never below 0)
U_pf  = min(q_p, C_fm(p) / h_p), the most f can take of p
L_fm  locked hours of f in m;  G_f its locked hours over all months
H     ``concentration_step_hours``;  K = :data:`CONCENTRATION_TIERS`
c_pf  cost per hour = w_distance · min(d_pf, D) / D          (unknown distance counts as D)
                    + w_quality  · (1 − quality_f)           (no history: the neutral prior)
                    + w_wage     · min(wage_f, W) / W        (low average wage = cheap)
B, δ  idle bonus, earned in full by a facility without work this period once it has δ hours
      (``idle_bonus_hours``, a working day), pro rata below
M     unmet penalty per hour (:attr:`Weights.unmet_penalty`, far above any other cost)

Model (minimise cost; every term is a cost, bonuses are negative)
------------------------------------------------------------------
variables  x_pf ≥ 0 quantity, y_pf ∈ {0,1} "f takes part of p", s_p ≥ 0 unmet quantity,
           e_fmk ≥ 0 hours of f in m above k·H, z_f ∈ [0,1] share of the idle bonus earned

    min   Σ h_p c_pf x_pf + w_conc Σ e_fmk − B Σ z_f + M Σ h_p s_p   (+ the locks' constants)
    s.t.  Σ_f x_pf + s_p = q_p                                 every package p
          lot_p · y_pf ≤ x_pf ≤ U_pf · y_pf                     every candidate pair
          Σ_{p in m} h_p x_pf ≤ C_fm                            every facility f, month m
          Σ_{p in m} h_p x_pf − e_fmk ≤ k·H − L_fm              k = 1..K
          δ · z_f − Σ_p h_p x_pf ≤ G_f                          every idle facility f

So a facility-month's concentration cost is w_conc · Σ_k max(0, load − k·H): the marginal
hour costs nothing below H and w_conc more for every further H (a linearised convex
penalty), and an idle facility earns B · min(1, hours / δ).

As built (the same optimum, easier for HiGHS): each facility-month's load is split into
pieces between the breakpoints {δ} ∪ {k·H}, whose slopes add the concentration and (for a
facility working in one month) the idle bonus, and whose bounds end at the capacity — one
row instead of capacity, tier and idle rows; y exists only where a minimum lot applies, with
the valid cut Σ_f y_pf ≤ ⌊q_p / lot_p⌋; and s_p is fixed at 0 when the LP relaxation covers
every package (the unmet slack makes HiGHS's heuristics settle for plans with unmet work),
falling back to the model with slack if that one has no solution.

Restriction: with ``SolveOptions.candidates_per_package`` = k, each package keeps the
facilities its LP relaxation (minimum lots dropped, all eligible facilities) uses plus the k
with the lowest reduced cost — reduced costs price the competition between packages for the
same facilities.  The relaxation's value is :attr:`Plan.lower_bound`, a bound valid for the
unrestricted model.  If the restricted plan falls shorter than the relaxation, it is solved
again with every eligible facility.

HiGHS is deterministic for a given model, and the model is built in a canonical order
(packages and facilities sorted by id), so the same input gives the same plan — unless a
time limit cuts the search.
"""

from __future__ import annotations

import enum
import math
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

# SciPy's solvers and sparse matrices are imported where a model is built or solved: at
# module level they cost every web worker about 40 MB and a second at start, for pages that
# never solve anything.

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

CONCENTRATION_TIERS = 4
"""Number of concentration steps (k = 1..K) above which each further hour costs more."""
EPS = 1e-6
"""Quantities below this are treated as zero; solver values are rounded to this precision."""


class Reason(enum.StrEnum):
    """Why a facility is not a candidate for a package (the first failing hard constraint)."""

    MISSING_CAPABILITY = "missing_capability"
    DIFFICULTY_TOO_HIGH = "difficulty_too_high"
    NO_PC_EXPERIENCE = "no_pc_experience"
    NO_FREE_CAPACITY = "no_free_capacity"
    TOO_FAR = "too_far"
    EXCLUDED_BY_BUYER = "excluded_by_buyer"
    EXCLUDED_BY_COORDINATOR = "excluded_by_coordinator"
    UNAVAILABLE = "unavailable"


REASON_ORDER: tuple[Reason, ...] = tuple(Reason)
"""The order in which hard constraints are checked (as listed in the issue)."""


class PlanStatus(enum.StrEnum):
    """``optimal``: proven within the gap; ``time_limit``: best found when time ran out;
    ``shortage``: the input is infeasible, the plan covers what it can and says what is short;
    ``heuristic``: a feasible plan with no claim of optimality (the greedy baseline)."""

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    SHORTAGE = "shortage"
    HEURISTIC = "heuristic"


class ShortageCause(enum.StrEnum):
    """``no_candidate``: no facility passes the hard constraints (see the reason counts);
    ``capacity``: eligible facilities exist but their free capacity (or minimum lots) binds."""

    NO_CANDIDATE = "no_candidate"
    CAPACITY = "capacity"


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Requirement:
    """A capability the work needs, with the minimum proficiency (1–3)."""

    capability_id: int
    name: str
    min_proficiency: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min_proficiency <= 3:
            raise ValueError(f"min_proficiency must be 1..3, got {self.min_proficiency}")


@dataclass(frozen=True)
class WorkPackage:
    """One month of an order's work (or a deal's trial) to split among facilities.

    ``distances_km`` overrides ``Facility.distance_km`` for this package's site (facility id →
    km).  ``locked`` fixes facility id → quantity (the coordinator's decision).
    ``rate_per_hour`` is the hourly piece rate paid to the facility (yen), used for the wage
    uplift report only."""

    id: str
    month: str  # "YYYY-MM"
    quantity: float
    requirements: tuple[Requirement, ...] = ()
    difficulty: int | None = None
    needs_pc: bool = False
    on_site: bool = False
    max_distance_km: float | None = None
    excluded_by_buyer: frozenset[int] = field(default_factory=frozenset)
    min_lot: float = 0.0
    locked: Mapping[int, float] = field(default_factory=dict)
    excluded_by_coordinator: frozenset[int] = field(default_factory=frozenset)
    unit: str = "h"
    hours_per_unit: float = 1.0
    rate_per_hour: float = 0.0
    distances_km: Mapping[int, float] | None = None

    def __post_init__(self) -> None:
        if self.quantity < 0 or self.min_lot < 0 or self.hours_per_unit <= 0:
            raise ValueError(f"package {self.id}: quantity, min_lot ≥ 0 and hours_per_unit > 0")
        if any(q < 0 for q in self.locked.values()):
            raise ValueError(f"package {self.id}: locked quantities must be ≥ 0")

    def distance_to(self, facility: Facility) -> float | None:
        """Distance from the facility to this package's work site, if known."""
        if self.distances_km is not None and facility.id in self.distances_km:
            return self.distances_km[facility.id]
        return facility.distance_km


@dataclass(frozen=True)
class Facility:
    """A facility as the engine sees it; the caller computes ``free_hours`` per month
    (capacity minus confirmed work and forecast volume).  A month that is not listed has no
    free capacity.  ``quality`` is 0..1 or None (no history: ``Weights.neutral_quality``)."""

    id: int
    name: str
    capabilities: Mapping[int, int] = field(default_factory=dict)
    max_difficulty: int | None = None
    pc_experience: bool = False
    free_hours: Mapping[str, float] = field(default_factory=dict)
    available: bool = True
    distance_km: float | None = None
    avg_monthly_wage: int = 0
    has_work: bool = False
    quality: float | None = None
    workers: int = 0

    def __post_init__(self) -> None:
        if self.quality is not None and not 0 <= self.quality <= 1:
            raise ValueError(f"facility {self.id}: quality must be within 0..1")


@dataclass(frozen=True)
class Weights:
    """Tunable weights of the objective.  Every term is a cost per hour of work in
    roughly 0..1, so the weights compare directly; defaults give equal say to distance,
    quality and wage uplift.

    - ``distance`` per hour at ``distance_scale_km`` (60 km) or farther, linear below.
    - ``quality`` per hour for quality 0 (× (1 − quality)); no history counts as
      ``neutral_quality`` (0.5).
    - ``wage_uplift`` per hour at ``wage_scale_yen`` (¥100,000 a month per worker) or above,
      linear below: facilities with the lowest average wage come first.
    - ``idle_bonus`` once per participating facility without work this period that gets at
      least ``idle_bonus_hours`` (8 h, a working day; pro rata below), in hour-cost units:
      5 ≈ five hours at full cost.
    - ``concentration`` extra per hour for each ``concentration_step_hours`` (80 h) the facility
      already carries in the month, up to CONCENTRATION_TIERS steps.
    """

    distance: float = 1.0
    quality: float = 1.0
    wage_uplift: float = 1.0
    idle_bonus: float = 5.0
    concentration: float = 0.25
    distance_scale_km: float = 60.0
    wage_scale_yen: float = 100_000.0
    concentration_step_hours: float = 80.0
    idle_bonus_hours: float = 8.0
    neutral_quality: float = 0.5

    def __post_init__(self) -> None:
        if min(self.distance, self.quality, self.wage_uplift, self.idle_bonus) < 0:
            raise ValueError("weights must be ≥ 0")
        if self.concentration < 0 or not 0 <= self.neutral_quality <= 1:
            raise ValueError("concentration must be ≥ 0 and neutral_quality within 0..1")
        scales = (self.distance_scale_km, self.wage_scale_yen, self.concentration_step_hours)
        if min(*scales, self.idle_bonus_hours) <= 0:
            raise ValueError("scales must be > 0")

    @property
    def unmet_penalty(self) -> float:
        """Cost per unmet hour: far above any cost or bonus an hour of work can carry."""
        top = self.distance + self.quality + self.wage_uplift
        return 1000.0 * (1.0 + top + CONCENTRATION_TIERS * self.concentration + self.idle_bonus)


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings.

    - ``time_limit_s``: budget for the whole solve (relaxation, MILP, fallbacks).
    - ``mip_rel_gap``: HiGHS stops once its plan is proven within this fraction of the
      optimum of the model it solves (0.1 %); ``optimal`` means that.
    - ``candidates_per_package``: None puts every eligible facility in the model; k keeps
      the relaxation's choices plus the k best by reduced cost (see the module docstring).
      On a 1,000-facility, 300-package month, k = 10 lands within 0.1 % of the unrestricted
      optimum in a few seconds, where the unrestricted model takes minutes.
    """

    time_limit_s: float = 30.0
    mip_rel_gap: float = 1e-3
    candidates_per_package: int | None = 10

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0 or self.mip_rel_gap < 0:
            raise ValueError("time_limit_s must be > 0 and mip_rel_gap ≥ 0")
        if self.candidates_per_package is not None and self.candidates_per_package < 1:
            raise ValueError("candidates_per_package must be ≥ 1 (or None for all)")


# -------------------------------------------------------------------------- output


@dataclass(frozen=True)
class Score:
    """The cost of one allocation split by objective term (lower is better; bonuses < 0)."""

    distance: float
    quality: float
    wage_uplift: float
    idle_bonus: float
    concentration: float

    @property
    def total(self) -> float:
        return (
            self.distance + self.quality + self.wage_uplift + self.idle_bonus + self.concentration
        )


@dataclass(frozen=True)
class Allocation:
    """Facility ``facility_id`` takes ``quantity`` (package units; ``hours`` in hours)."""

    package_id: str
    facility_id: int
    quantity: float
    hours: float
    score: Score
    locked: bool = False
    distance_km: float | None = None
    quality: float = 0.5  # as used (the neutral prior when there is no history)
    avg_monthly_wage: int = 0
    first_work: bool = False  # the facility had no work this period


@dataclass(frozen=True)
class Message:
    """An English message with %-placeholders (translate ``template``, then ``% params``)."""

    template: str
    params: Mapping[str, str | int | float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.template % dict(self.params)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Shortage:
    """Work that no assignment could cover: ``quantity`` hours of ``capability`` (the
    package's required capabilities joined by "・", "" for none) in ``month``."""

    capability: str
    month: str
    quantity: float
    cause: ShortageCause
    package_ids: tuple[str, ...]
    candidates: int  # eligible facilities for these packages
    candidate_free_hours: float  # their free hours in the month, before other packages
    reasons: tuple[tuple[Reason, int], ...]  # exclusion counts, in REASON_ORDER

    def messages(self) -> list[Message]:
        params: dict[str, str | int | float] = {
            "capability": self.capability,
            "quantity": _fmt(self.quantity),
            "month": self.month,
        }
        head = (
            "%(capability)s capacity short by %(quantity)s h in %(month)s"
            if self.capability
            else "Capacity short by %(quantity)s h in %(month)s"
        )
        out = [Message(head, params)]
        if self.cause is ShortageCause.NO_CANDIDATE:
            reasons = ", ".join(f"{reason} {count}" for reason, count in self.reasons)
            out.append(
                Message(
                    "No facility passes the hard constraints for %(packages)s; "
                    "facilities left out: %(reasons)s",
                    {"packages": ", ".join(self.package_ids), "reasons": reasons or "none"},
                )
            )
        else:
            out.append(
                Message(
                    "%(candidates)s eligible facilities have %(free)s h free in %(month)s "
                    "(capacity binds, shared with other packages or below the minimum lot)",
                    {
                        "candidates": self.candidates,
                        "free": _fmt(self.candidate_free_hours),
                        "month": self.month,
                    },
                )
            )
        return out


@dataclass(frozen=True)
class LockWarning:
    """A coordinator's lock that the engine honoured although it breaks a rule:
    a hard constraint (``reason``), the facility's free capacity (``over_hours`` > 0), or the
    package's quantity (``clamped`` quantity dropped)."""

    package_id: str
    facility_id: int
    reason: Reason | None = None
    over_hours: float = 0.0
    clamped: float = 0.0

    def message(self) -> Message:
        params: dict[str, str | int | float] = {
            "package": self.package_id,
            "facility": self.facility_id,
        }
        if self.reason is not None:
            return Message(
                "Locked allocation of facility %(facility)s on %(package)s ignores a hard "
                "constraint: %(reason)s",
                {**params, "reason": str(self.reason)},
            )
        if self.clamped > 0:
            return Message(
                "Locked quantities on %(package)s exceed the package; %(quantity)s dropped "
                "from facility %(facility)s",
                {**params, "quantity": _fmt(self.clamped)},
            )
        return Message(
            "Locked work exceeds the free capacity of facility %(facility)s by %(quantity)s h "
            "(%(package)s)",
            {**params, "quantity": _fmt(self.over_hours)},
        )


@dataclass(frozen=True)
class Plan:
    """The engine's answer.  ``objective`` is the model's cost (unmet penalty included);
    ``exclusions`` maps package id → facility id → first failing hard constraint;
    ``unmet`` maps package id → quantity left uncovered (package units); ``pruned`` counts
    eligible facilities left out of each package by the candidate restriction;
    ``lower_bound`` is a bound on the objective of any plan over every eligible facility
    (so ``bound_gap`` says how far from the best this plan can be, at most)."""

    status: PlanStatus
    objective: float
    mip_gap: float | None
    allocations: tuple[Allocation, ...]
    exclusions: Mapping[str, Mapping[int, Reason]]
    shortages: tuple[Shortage, ...]
    unmet: Mapping[str, float]
    lock_warnings: tuple[LockWarning, ...] = ()
    pruned: Mapping[str, int] = field(default_factory=dict)
    proven_optimal: bool = True
    method: str = "milp"
    notes: tuple[Message, ...] = ()
    lower_bound: float | None = None
    solve_seconds: float = field(default=0.0, compare=False)
    model_size: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def bound_gap(self) -> float | None:
        """How far the plan may be from the best plan over every eligible facility:
        (objective − lower_bound) / |objective|."""
        if self.lower_bound is None:
            return None
        return (self.objective - self.lower_bound) / max(abs(self.objective), EPS)

    @property
    def facilities_used(self) -> int:
        return len({a.facility_id for a in self.allocations})

    def exclusion_counts(self, package_id: str) -> dict[Reason, int]:
        """How many facilities each hard constraint left out of a package."""
        counts = Counter(self.exclusions.get(package_id, {}).values())
        return {reason: counts[reason] for reason in REASON_ORDER if counts[reason]}

    def allocations_of(self, package_id: str) -> list[Allocation]:
        return [a for a in self.allocations if a.package_id == package_id]

    def messages(self) -> list[Message]:
        """Everything the coordinator should read, as translatable messages."""
        out: list[Message] = []
        for shortage in self.shortages:
            out.extend(shortage.messages())
        out.extend(w.message() for w in self.lock_warnings)
        out.extend(self.notes)
        return out


# ------------------------------------------------------------------ cost and checks


def _fmt(value: float) -> str:
    """120 → "120", 12.5 → "12.5" (at most two decimals)."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quality_used(facility: Facility, weights: Weights) -> float:
    """The facility's quality record, or the neutral prior when it has no history."""
    return weights.neutral_quality if facility.quality is None else facility.quality


def hourly_terms(
    package: WorkPackage, facility: Facility, weights: Weights
) -> tuple[float, float, float]:
    """The (distance, quality, wage uplift) cost of one hour of ``package`` at ``facility``."""
    km = package.distance_to(facility)
    scale = weights.distance_scale_km
    distance = 1.0 if km is None else min(max(km, 0.0), scale) / scale
    quality = 1.0 - quality_used(facility, weights)
    wage = min(max(float(facility.avg_monthly_wage), 0.0), weights.wage_scale_yen)
    return (
        weights.distance * distance,
        weights.quality * quality,
        weights.wage_uplift * wage / weights.wage_scale_yen,
    )


def concentration_cost(load_hours: float, weights: Weights) -> float:
    """w_conc · Σ_{k=1..K} max(0, load − k·H)."""
    step = weights.concentration_step_hours
    excess = sum(max(0.0, load_hours - k * step) for k in range(1, CONCENTRATION_TIERS + 1))
    return weights.concentration * excess


def idle_bonus(hours: float, weights: Weights) -> float:
    """−B · min(1, hours / δ): the (negative) cost an idle facility's first work earns."""
    return -weights.idle_bonus * min(1.0, hours / weights.idle_bonus_hours)


def evaluate(
    packages: Sequence[WorkPackage],
    facilities: Sequence[Facility],
    quantities: Mapping[tuple[str, int], float],
    unmet: Mapping[str, float],
    weights: Weights,
    locked: Iterable[tuple[str, int]] = (),
) -> tuple[float, list[Allocation]]:
    """The objective of an assignment (package id, facility id) → quantity, and its
    allocations with their score breakdown.  The same yardstick for the solver and greedy."""
    by_package = {p.id: p for p in packages}
    by_facility = {f.id: f for f in facilities}
    locked_pairs = set(locked)
    keys = sorted(k for k, q in quantities.items() if q > EPS)
    loads: dict[tuple[int, str], float] = defaultdict(float)
    facility_hours: dict[int, float] = defaultdict(float)
    for pid, fid in keys:
        package = by_package[pid]
        hours = quantities[pid, fid] * package.hours_per_unit
        loads[fid, package.month] += hours
        facility_hours[fid] += hours
    allocations: list[Allocation] = []
    for pid, fid in keys:
        package, facility = by_package[pid], by_facility[fid]
        qty = quantities[pid, fid]
        hours = qty * package.hours_per_unit
        distance, quality, wage = hourly_terms(package, facility, weights)
        load = loads[fid, package.month]
        idle = not facility.has_work
        score = Score(
            distance=distance * hours,
            quality=quality * hours,
            wage_uplift=wage * hours,
            idle_bonus=idle_bonus(facility_hours[fid], weights) * hours / facility_hours[fid]
            if idle
            else 0.0,
            concentration=concentration_cost(load, weights) * hours / load,
        )
        allocations.append(
            Allocation(
                package_id=pid,
                facility_id=fid,
                quantity=qty,
                hours=hours,
                score=score,
                locked=(pid, fid) in locked_pairs,
                distance_km=package.distance_to(facility),
                quality=quality_used(facility, weights),
                avg_monthly_wage=facility.avg_monthly_wage,
                first_work=idle,
            )
        )
    unmet_hours = sum(q * by_package[pid].hours_per_unit for pid, q in unmet.items())
    objective = sum(a.score.total for a in allocations) + weights.unmet_penalty * unmet_hours
    return objective, allocations


def wage_uplift(
    plan: Plan, packages: Sequence[WorkPackage], facilities: Sequence[Facility]
) -> dict[int, float]:
    """Wage uplift per worker (yen a month) each facility gets from the plan:
    Σ assigned hours × the package's hourly piece rate / the facility's workers (at least 1).
    Facilities without work get 0."""
    rate = {p.id: p.rate_per_hour for p in packages}
    uplift = {f.id: 0.0 for f in facilities}
    workers = {f.id: max(f.workers, 1) for f in facilities}
    for a in plan.allocations:
        uplift[a.facility_id] += a.hours * rate[a.package_id] / workers[a.facility_id]
    return uplift


# -------------------------------------------------------------------- screening


@dataclass
class Screen:
    """Everything the model (or greedy) needs, prepared once: packages and facilities in
    canonical order, remaining quantities, capacities net of locks, and per package the
    eligible facility indices with their costs (the candidates: all eligible ones, or the
    subset :func:`restrict` keeps)."""

    packages: list[WorkPackage]
    facilities: list[Facility]
    months: list[str]
    remaining: list[float]
    lots: list[float]
    free: dict[str, FloatArray]  # month → free hours net of locks (≥ 0), per facility index
    locked_hours: dict[str, FloatArray]  # month → locked hours per facility index
    locks: dict[tuple[str, int], float]  # (package id, facility id) → locked quantity
    eligible: list[IntArray]  # facility indices passing every hard constraint, by id
    candidates: list[IntArray]  # the ones in the model, by id
    upper: list[FloatArray]  # U_pf of the candidates
    cost: list[FloatArray]  # c_pf (per hour) of the candidates
    exclusions: dict[str, dict[int, Reason]]
    lock_warnings: list[LockWarning]
    pruned: dict[str, int]


def screen(
    packages: Sequence[WorkPackage], facilities: Sequence[Facility], weights: Weights
) -> Screen:
    """Apply locks and check the hard constraints (vectorised over facilities); every
    eligible facility is a candidate (see :func:`restrict`)."""
    pkgs = sorted(packages, key=lambda p: p.id)
    facs = sorted(facilities, key=lambda f: f.id)
    if len({p.id for p in pkgs}) != len(pkgs) or len({f.id for f in facs}) != len(facs):
        raise ValueError("package and facility ids must be unique")
    arrays = _FacilityArrays(facs, weights)
    months = sorted({p.month for p in pkgs})
    locks, remaining, locked_hours, lock_warnings = _apply_locks(pkgs, arrays.index, months)
    free: dict[str, FloatArray] = {}
    for m in months:
        raw = np.array([max(float(f.free_hours.get(m, 0.0)), 0.0) for f in facs])
        free[m] = np.maximum(raw - locked_hours[m], 0.0)
        for i in np.flatnonzero(locked_hours[m] > raw + EPS):
            fid = int(arrays.ids[i])
            pid = next(p.id for p in pkgs if p.month == m and (p.id, fid) in locks)
            lock_warnings.append(
                LockWarning(pid, fid, over_hours=float(locked_hours[m][i] - raw[i]))
            )

    scr = Screen(
        packages=pkgs,
        facilities=facs,
        months=months,
        remaining=remaining,
        lots=[min(p.min_lot, q) for p, q in zip(pkgs, remaining, strict=True)],
        free=free,
        locked_hours=locked_hours,
        locks=locks,
        eligible=[],
        candidates=[],
        upper=[],
        cost=[],
        exclusions={},
        lock_warnings=lock_warnings,
        pruned={},
    )
    for p, q, lot in zip(pkgs, remaining, scr.lots, strict=True):
        km = arrays.distances(p)
        upper = np.minimum(q, free[p.month] / p.hours_per_unit)
        reason = arrays.first_failure(p, None if q <= EPS else upper >= max(lot, EPS), km)
        is_locked = np.zeros(len(facs), dtype=np.bool_)
        for pid, fid in locks:
            if pid == p.id:
                at = arrays.index[fid]
                is_locked[at] = True
                if reason[at] >= 0 and REASON_ORDER[reason[at]] is not Reason.NO_FREE_CAPACITY:
                    lock_warnings.append(LockWarning(p.id, fid, reason=REASON_ORDER[reason[at]]))
        out = np.flatnonzero((reason >= 0) & ~is_locked)
        scr.exclusions[p.id] = {
            fid: REASON_ORDER[code]
            for fid, code in zip(arrays.ids[out].tolist(), reason[out].tolist(), strict=True)
        }
        ok = np.flatnonzero((reason < 0) & ~is_locked) if q > EPS else np.empty(0, np.int64)
        scr.eligible.append(ok)
        scr.candidates.append(ok)
        scr.upper.append(upper[ok])
        scr.cost.append(arrays.hourly_cost(km)[ok])
    return scr


def _apply_locks(
    pkgs: list[WorkPackage], index: Mapping[int, int], months: list[str]
) -> tuple[dict[tuple[str, int], float], list[float], dict[str, FloatArray], list[LockWarning]]:
    """Locked quantities (clamped to the package in facility-id order), the quantity left
    per package, and the locked hours per month and facility index."""
    warnings_: list[LockWarning] = []
    locks: dict[tuple[str, int], float] = {}
    remaining: list[float] = []
    locked_hours = {m: np.zeros(len(index)) for m in months}
    for p in pkgs:
        left = p.quantity
        for fid in sorted(p.locked):
            qty = float(p.locked[fid])
            if fid not in index or qty <= EPS:
                continue
            take = min(qty, left)
            if qty - take > EPS:
                warnings_.append(LockWarning(p.id, fid, clamped=qty - take))
            if take > EPS:
                locks[p.id, fid] = take
                locked_hours[p.month][index[fid]] += take * p.hours_per_unit
                left -= take
        remaining.append(left if left > EPS else 0.0)
    return locks, remaining, locked_hours, warnings_


class _FacilityArrays:
    """The facilities' attributes as arrays (facility index = position in id order)."""

    def __init__(self, facs: list[Facility], weights: Weights) -> None:
        self.facs = facs
        self.weights = weights
        self.ids = np.array([f.id for f in facs], dtype=np.int64)
        self.index = {f.id: i for i, f in enumerate(facs)}
        self.available = np.array([f.available for f in facs], dtype=np.bool_)
        self.pc = np.array([f.pc_experience for f in facs], dtype=np.bool_)
        self.assessed = np.array([f.max_difficulty is not None for f in facs], dtype=np.bool_)
        self.max_difficulty = np.array([f.max_difficulty or 0 for f in facs], dtype=np.int64)
        self.km = np.array([np.nan if f.distance_km is None else f.distance_km for f in facs])
        quality = np.array([1.0 - quality_used(f, weights) for f in facs])
        wages = np.array([float(f.avg_monthly_wage) for f in facs])
        wages = np.clip(wages, 0.0, weights.wage_scale_yen) / weights.wage_scale_yen
        self.fixed_cost = weights.quality * quality + weights.wage_uplift * wages
        self._proficiency: dict[int, IntArray] = {}

    def proficiency(self, capability_id: int) -> IntArray:
        if capability_id not in self._proficiency:
            self._proficiency[capability_id] = np.array(
                [f.capabilities.get(capability_id, 0) for f in self.facs], dtype=np.int64
            )
        return self._proficiency[capability_id]

    def distances(self, p: WorkPackage) -> FloatArray:
        """Km from each facility to the package's site (NaN: unknown)."""
        if p.distances_km is None:
            return self.km
        km = self.km.copy()
        for fid, d in p.distances_km.items():
            if fid in self.index:
                km[self.index[fid]] = d
        return km

    def hourly_cost(self, km: FloatArray) -> FloatArray:
        """c_pf for every facility (unknown distance counts as the full scale)."""
        scale = self.weights.distance_scale_km
        distance = np.clip(np.nan_to_num(km, nan=scale), 0.0, scale) / scale
        return self.weights.distance * distance + self.fixed_cost

    def first_failure(self, p: WorkPackage, capacity: BoolArray | None, km: FloatArray) -> IntArray:
        """Per facility, the index in REASON_ORDER of the first failing check (−1: none)."""
        checks: list[BoolArray | None] = [
            _all([self.proficiency(r.capability_id) >= r.min_proficiency for r in p.requirements]),
            None if p.difficulty is None else self.assessed & (self.max_difficulty >= p.difficulty),
            self.pc if p.needs_pc else None,
            capacity,
            None
            if not (p.on_site and p.max_distance_km is not None)
            else ~np.isnan(km) & (np.nan_to_num(km, nan=0.0) <= p.max_distance_km),
            _not_in(self.ids, p.excluded_by_buyer),
            _not_in(self.ids, p.excluded_by_coordinator),
            self.available,
        ]
        reason = np.full(len(self.facs), -1, dtype=np.int64)
        for code, ok in enumerate(checks):
            if ok is not None:
                reason[(reason < 0) & ~ok] = code
        return reason


def _all(masks: list[BoolArray]) -> BoolArray | None:
    if not masks:
        return None
    out = masks[0].copy()
    for mask in masks[1:]:
        out &= mask
    return out


def _not_in(ids: IntArray, excluded: frozenset[int]) -> BoolArray | None:
    if not excluded:
        return None
    return ~np.isin(ids, np.array(sorted(excluded), dtype=np.int64))


# ------------------------------------------------------------------------ plans


def build_plan(
    scr: Screen,
    quantities: dict[tuple[str, int], float],
    weights: Weights,
    *,
    status: PlanStatus,
    mip_gap: float | None,
    method: str,
    notes: Sequence[Message] = (),
    started: float,
    model_size: Mapping[str, int] | None = None,
    lower_bound: float | None = None,
) -> Plan:
    """Turn an assignment of the free quantities (locks are added here) into a Plan."""
    all_q = dict(scr.locks)
    for key, qty in quantities.items():
        if qty > EPS:
            all_q[key] = all_q.get(key, 0.0) + qty
    placed: dict[str, float] = defaultdict(float)
    for (pid, _), qty in quantities.items():
        placed[pid] += qty
    unmet: dict[str, float] = {}
    for p, q in zip(scr.packages, scr.remaining, strict=True):
        left = _clean(q - placed[p.id])
        if left > EPS:
            unmet[p.id] = left
    objective, allocations = evaluate(
        scr.packages, scr.facilities, all_q, unmet, weights, locked=scr.locks
    )
    shortages = _shortages(scr, unmet)
    proven = method == "milp" and status is PlanStatus.OPTIMAL
    if shortages:
        status = PlanStatus.SHORTAGE
    return Plan(
        status=status,
        objective=objective,
        mip_gap=mip_gap,
        allocations=tuple(allocations),
        exclusions=scr.exclusions,
        shortages=shortages,
        unmet=unmet,
        lock_warnings=tuple(scr.lock_warnings),
        pruned=scr.pruned,
        proven_optimal=proven,
        method=method,
        notes=tuple(notes),
        solve_seconds=time.perf_counter() - started,
        model_size=dict(model_size or {}),
        lower_bound=None if lower_bound is None else min(lower_bound, objective),
    )


def _clean(value: float) -> float:
    """Round solver noise: 6 decimals, snapping to whole numbers within EPS."""
    value = round(value, 6)
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < EPS else value


def _shortages(scr: Screen, unmet: Mapping[str, float]) -> tuple[Shortage, ...]:
    """Group the unmet work by (capabilities, month, cause)."""
    groups: dict[tuple[str, str, ShortageCause], list[int]] = defaultdict(list)
    for i, p in enumerate(scr.packages):
        if p.id in unmet:
            label = "・".join(r.name for r in p.requirements)
            cause = ShortageCause.CAPACITY if len(scr.eligible[i]) else ShortageCause.NO_CANDIDATE
            groups[label, p.month, cause].append(i)
    out: list[Shortage] = []
    for (label, month, cause), members in sorted(groups.items()):
        eligible = np.unique(np.concatenate([scr.eligible[i] for i in members]))
        reasons: Counter[Reason] = Counter()
        for i in members:
            reasons.update(scr.exclusions[scr.packages[i].id].values())
        hours = sum(unmet[scr.packages[i].id] * scr.packages[i].hours_per_unit for i in members)
        out.append(
            Shortage(
                capability=label,
                month=month,
                quantity=_clean(hours),
                cause=cause,
                package_ids=tuple(scr.packages[i].id for i in members),
                candidates=len(eligible),
                candidate_free_hours=_clean(float(scr.free[month][eligible].sum())),
                reasons=tuple((r, reasons[r]) for r in REASON_ORDER if reasons[r]),
            )
        )
    return tuple(out)


# ----------------------------------------------------------------------- solver


def solve(
    packages: Sequence[WorkPackage],
    facilities: Sequence[Facility],
    weights: Weights | None = None,
    options: SolveOptions | None = None,
) -> Plan:
    """Assign the packages' work to facilities, optimally under the model above.

    Steps: screen the pairs; solve the LP relaxation of the full model (its value is the
    plan's ``lower_bound``; its reduced costs pick the candidates when the model is
    restricted); solve the MILP — without unmet slack when the relaxation covers everything
    (HiGHS finds plans much faster so), with it otherwise or if that fails; and when a
    restricted model falls shorter than the relaxation, solve again with every eligible
    facility.  ``time_limit_s`` is the budget of all steps together (each fallback gets at
    least a second).  Never raises for infeasible work: it comes back as shortages."""
    weights = weights or Weights()
    options = options or SolveOptions()
    started = time.perf_counter()

    def left() -> float:
        return max(options.time_limit_s - (time.perf_counter() - started), 1.0)

    full = screen(packages, facilities, weights)
    if not any(len(c) for c in full.candidates):
        trivial = _solve_screen(full, weights, options, started, 1.0, restricted=False)
        assert trivial is not None
        return trivial
    lp = relax(full, weights, left())
    k = options.candidates_per_package
    work = full
    if k is not None and any(len(c) > k for c in full.candidates):
        work = restrict(full, k, lp)
    bound = None if lp is None else lp.bound
    plan = None
    if lp is not None and lp.unmet_hours <= EPS:
        plan = _solve_screen(
            work, weights, options, started, left(), lower_bound=bound, allow_unmet=False
        )
    if plan is None:
        plan = _solve_screen(
            work, weights, options, started, left(), lower_bound=bound, restricted=work is not full
        )
        assert plan is not None  # with unmet slack there is always a plan
    unmet_hours = sum(q * p.hours_per_unit for p in full.packages if (q := plan.unmet.get(p.id)))
    if work is not full and unmet_hours > (0.0 if lp is None else lp.unmet_hours) + EPS:
        # Perhaps an artefact of the cut (the relaxation placed more): try everyone eligible.
        note = Message("Solved again with every eligible facility because of a shortage")
        again = _solve_screen(
            full, weights, options, started, left(), notes=(note,), restricted=False
        )
        if again is not None and again.objective < plan.objective:
            plan = again
    return plan


@dataclass(frozen=True)
class Relaxation:
    """The LP relaxation of the full model (minimum lots dropped): the quantity and reduced
    cost of every candidate pair, its value (a lower bound on any plan) and the hours it
    leaves unmet (a lower bound on any shortage)."""

    pair_x: FloatArray
    reduced: FloatArray
    bound: float
    unmet_hours: float


def relax(scr: Screen, weights: Weights, time_limit_s: float) -> Relaxation | None:
    """Solve the LP relaxation of a screen's model with HiGHS (None if it fails)."""
    model = _Model(scr, weights, relax_lots=True)
    equal = model.row_lb == model.row_ub
    upper = np.isfinite(model.row_ub) & ~equal
    lower = np.isfinite(model.row_lb) & ~equal
    from scipy.optimize import linprog
    from scipy.sparse import vstack

    a_ub = vstack([model.a[upper], -model.a[lower]]).tocsr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # HiGHS remarks on odd models; the status says enough
        result = linprog(
            model.c,
            A_ub=a_ub if a_ub.shape[0] else None,
            b_ub=np.concatenate([model.row_ub[upper], -model.row_lb[lower]])
            if a_ub.shape[0]
            else None,
            A_eq=model.a[equal] if equal.any() else None,
            b_eq=model.row_lb[equal] if equal.any() else None,
            bounds=np.column_stack([model.lb, model.ub]),
            method="highs",
            options={"time_limit": time_limit_s, "presolve": True},
        )
    if result.status != 0 or result.x is None:
        return None
    x = np.asarray(result.x, dtype=np.float64)
    reduced = np.asarray(result.lower.marginals) + np.asarray(result.upper.marginals)
    hours = np.array([p.hours_per_unit for p in scr.packages])
    return Relaxation(
        pair_x=x[model.x],
        reduced=np.asarray(reduced, dtype=np.float64)[model.x],
        bound=float(result.fun) + model.offset,
        unmet_hours=float(np.sum(x[model.slack] * hours)),
    )


def restrict(scr: Screen, k: int, lp: Relaxation | None) -> Screen:
    """Keep, per package, the facilities the relaxation uses plus the k with the lowest
    reduced cost (ties by facility id).  Reduced costs price the competition between
    packages (a facility everyone wants costs more), which ranking by cost alone misses;
    keeping the relaxation's support keeps its value reachable.  Without a relaxation:
    the k cheapest."""
    keep: list[IntArray] = []
    start = 0
    for cost, cand in zip(scr.cost, scr.candidates, strict=True):
        n = len(cand)
        ids = np.array([scr.facilities[i].id for i in cand], dtype=np.int64)
        if lp is None:
            keep.append(np.sort(np.lexsort((ids, cost))[:k]))
        else:
            chosen = np.lexsort((ids, lp.reduced[start : start + n]))[:k]
            used = np.flatnonzero(lp.pair_x[start : start + n] > EPS)
            keep.append(np.union1d(chosen, used).astype(np.int64))
        start += n
    pruned = {
        p.id: len(c) - len(kept)
        for p, c, kept in zip(scr.packages, scr.candidates, keep, strict=True)
        if len(kept) < len(c)
    }
    return replace(
        scr,
        candidates=[c[kept] for c, kept in zip(scr.candidates, keep, strict=True)],
        upper=[u[kept] for u, kept in zip(scr.upper, keep, strict=True)],
        cost=[c[kept] for c, kept in zip(scr.cost, keep, strict=True)],
        pruned=pruned,
    )


def propose_single(
    package: WorkPackage,
    facilities: Sequence[Facility],
    weights: Weights | None = None,
    options: SolveOptions | None = None,
) -> Plan:
    """A proposal for one package (one order's month or a deal's trial): the same model."""
    return solve([package], facilities, weights, options)


def _solve_screen(
    scr: Screen,
    weights: Weights,
    options: SolveOptions,
    started: float,
    time_limit_s: float,
    notes: Sequence[Message] = (),
    *,
    restricted: bool = True,
    lower_bound: float | None = None,
    allow_unmet: bool = True,
) -> Plan | None:
    """Solve the MILP of a screen.  ``lower_bound`` is a bound known for the full model;
    the solver's own bound replaces it when the model is the full one.  Without unmet
    slack, None when the solver finds no plan; with it, always a plan (the greedy one if the
    solver finds none, or if greedy beats what it found before the time limit)."""
    notes = list(notes)
    if not any(len(c) for c in scr.candidates):
        plan = build_plan(
            scr,
            {},
            weights,
            status=PlanStatus.OPTIMAL,
            mip_gap=0.0,
            method="milp",
            notes=notes,
            started=started,
        )
        return replace(plan, lower_bound=plan.objective)
    from scipy.optimize import Bounds, LinearConstraint, milp

    model = _Model(scr, weights, allow_unmet=allow_unmet)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # HiGHS remarks on odd models
        result = milp(
            model.c,
            integrality=model.integrality,
            bounds=Bounds(model.lb, model.ub),
            constraints=[LinearConstraint(model.a, model.row_lb, model.row_ub)],
            options={
                "time_limit": time_limit_s,
                "mip_rel_gap": options.mip_rel_gap,
                "presolve": True,
            },
        )
    size = {
        "variables": len(model.c),
        "integers": int(model.integrality.sum()),
        "constraints": len(model.row_lb),
        "pairs": len(model.x),
    }
    if result.x is None and not allow_unmet:
        return None
    if not restricted and allow_unmet:
        dual = result.get("mip_dual_bound")
        if dual is None and result.status == 0:
            dual = result.fun  # a pure LP
        if dual is not None and math.isfinite(dual):
            lower_bound = float(dual) + model.offset
    common = {"notes": notes, "started": started, "model_size": size, "lower_bound": lower_bound}
    from app.matching.greedy import greedy_quantities

    if result.x is None:
        notes.append(
            Message(
                "The solver returned no plan (%(reason)s); the greedy plan is shown",
                {"reason": str(result.message)},
            )
        )
        return build_plan(
            scr,
            greedy_quantities(scr),
            weights,
            status=PlanStatus.TIME_LIMIT,
            mip_gap=None,
            method="greedy",
            **common,  # type: ignore[arg-type]
        )
    status = PlanStatus.OPTIMAL if result.status == 0 else PlanStatus.TIME_LIMIT
    gap = result.get("mip_gap")
    gap = float(gap) if gap is not None and math.isfinite(gap) else None
    if status is PlanStatus.TIME_LIMIT:
        notes.append(
            Message(
                "Time limit reached: the plan is within %(gap)s%% of the optimum",
                {"gap": _fmt(100 * gap) if gap is not None else "?"},
            )
        )
    plan = build_plan(
        scr,
        model.quantities(np.asarray(result.x, dtype=np.float64)),
        weights,
        status=status,
        mip_gap=gap,
        method="milp",
        **common,  # type: ignore[arg-type]
    )
    if status is PlanStatus.TIME_LIMIT:
        greedy = build_plan(
            scr,
            greedy_quantities(scr),
            weights,
            status=status,
            mip_gap=None,
            method="greedy",
            **common,  # type: ignore[arg-type]
        )
        if greedy.objective < plan.objective:
            note = Message("The greedy plan beat the solver's best within the time limit")
            return replace(greedy, notes=(*greedy.notes, note))
    return plan


class _Builder:
    """Columns (variables) and sparse rows (constraints) of a MILP, added block by block."""

    def __init__(self) -> None:
        self.cost: list[FloatArray] = []
        self.lb: list[FloatArray] = []
        self.ub: list[FloatArray] = []
        self.integer: list[FloatArray] = []
        self.n_cols = 0
        self.entries: list[tuple[IntArray, IntArray, FloatArray]] = []
        self.row_lb: list[FloatArray] = []
        self.row_ub: list[FloatArray] = []
        self.n_rows = 0

    def columns(self, cost: FloatArray, ub: FloatArray, *, integer: bool = False) -> IntArray:
        """Add variables ≥ 0 with these costs and upper bounds; returns their indices."""
        n = len(cost)
        self.cost.append(np.asarray(cost, dtype=np.float64))
        self.lb.append(np.zeros(n))
        self.ub.append(np.asarray(ub, dtype=np.float64))
        self.integer.append(np.full(n, 1.0 if integer else 0.0))
        self.n_cols += n
        return np.arange(self.n_cols - n, self.n_cols, dtype=np.int64)

    def rows(
        self, row: IntArray, col: IntArray, value: FloatArray, lo: FloatArray, hi: FloatArray
    ) -> None:
        """Add len(lo) rows lo ≤ Σ value·x[col] ≤ hi; ``row`` numbers them from 0."""
        self.entries.append((row + self.n_rows, col, value))
        self.row_lb.append(np.asarray(lo, dtype=np.float64))
        self.row_ub.append(np.asarray(hi, dtype=np.float64))
        self.n_rows += len(lo)


class _Model:
    """The MILP of the module docstring as arrays for ``scipy.optimize.milp``."""

    def __init__(
        self,
        scr: Screen,
        weights: Weights,
        *,
        relax_lots: bool = False,
        allow_unmet: bool = True,
    ) -> None:
        self.scr = scr
        self.relax_lots = relax_lots
        self.allow_unmet = allow_unmet
        self.z_facilities: set[int] = set()
        self.pair_package = np.concatenate(
            [np.full(len(c), i, dtype=np.int64) for i, c in enumerate(scr.candidates)]
        )
        self.pair_facility = np.concatenate(scr.candidates).astype(np.int64)
        self.upper = np.concatenate(scr.upper)
        self.hours = np.array([p.hours_per_unit for p in scr.packages])[self.pair_package]
        b = _Builder()
        self.x = b.columns(self.hours * np.concatenate(scr.cost), self.upper)
        self._demand_and_lots(b, weights)
        self._facility_months(b, weights)
        self._idle(b, weights)
        self.c = np.concatenate(b.cost)
        self.lb = np.concatenate(b.lb)
        self.ub = np.concatenate(b.ub)
        self.integrality = np.concatenate(b.integer)
        rows, cols, vals = (np.concatenate(part) for part in zip(*b.entries, strict=True))
        from scipy.sparse import coo_array

        self.a = coo_array((vals, (rows, cols)), shape=(b.n_rows, b.n_cols)).tocsr()
        self.row_lb = np.concatenate(b.row_lb)
        self.row_ub = np.concatenate(b.row_ub)
        self.offset = self._offset(weights)

    def _offset(self, weights: Weights) -> float:
        """The objective's constant part, which the variables do not carry: the locks' own
        costs, the concentration of locked hours, and the idle bonus they already earn."""
        scr = self.scr
        packages = {p.id: p for p in scr.packages}
        facilities = {f.id: f for f in scr.facilities}
        total = 0.0
        for (pid, fid), qty in scr.locks.items():
            p = packages[pid]
            total += qty * p.hours_per_unit * sum(hourly_terms(p, facilities[fid], weights))
        locked_total = np.zeros(len(scr.facilities))
        for hours in scr.locked_hours.values():
            locked_total += hours
            total += sum(concentration_cost(h, weights) for h in hours[hours > 0].tolist())
        for i in np.flatnonzero(locked_total > 0).tolist():
            if not scr.facilities[i].has_work and i not in self.z_facilities:
                total += idle_bonus(float(locked_total[i]), weights)
        return total

    def _demand_and_lots(self, b: _Builder, weights: Weights) -> None:
        """Σ_f x_pf + s_p = q_p, and lot·y ≤ x ≤ U·y where a minimum lot applies."""
        scr, x = self.scr, self.x
        lot = np.array(scr.lots)[self.pair_package]
        with_lot = np.flatnonzero(lot > EPS) if not self.relax_lots else np.empty(0, np.int64)
        y = b.columns(np.zeros(len(with_lot)), np.ones(len(with_lot)), integer=True)
        n_p = len(scr.packages)
        remaining = np.array(scr.remaining)
        s = b.columns(
            weights.unmet_penalty * np.array([p.hours_per_unit for p in scr.packages]),
            remaining if self.allow_unmet else np.zeros(n_p),
        )
        self.slack = s
        b.rows(
            np.concatenate([self.pair_package, np.arange(n_p)]),
            np.concatenate([x, s]),
            np.ones(len(x) + n_p),
            remaining,
            remaining,
        )
        k = np.arange(len(with_lot))
        both = np.concatenate([k, k])
        b.rows(
            both,
            np.concatenate([x[with_lot], y]),
            np.concatenate([np.ones(len(k)), -self.upper[with_lot]]),
            np.full(len(k), -np.inf),
            np.zeros(len(k)),
        )
        b.rows(
            both,
            np.concatenate([x[with_lot], y]),
            np.concatenate([np.ones(len(k)), -lot[with_lot]]),
            np.zeros(len(k)),
            np.full(len(k), np.inf),
        )
        # Σ_f y_pf ≤ ⌊q_p / lot_p⌋: a valid cut that keeps the relaxation from shredding
        owners, parts = np.unique(self.pair_package[with_lot], return_inverse=True)
        most = np.floor(remaining[owners] / np.array(scr.lots)[owners] + EPS)
        tight = np.flatnonzero(most < np.bincount(parts, minlength=len(owners)))
        if len(tight):
            row_of = np.full(len(owners), -1, dtype=np.int64)
            row_of[tight] = np.arange(len(tight))
            sel = np.flatnonzero(row_of[parts] >= 0)
            b.rows(
                row_of[parts[sel]],
                y[sel],
                np.ones(len(sel)),
                np.full(len(tight), -np.inf),
                most[tight],
            )

    def _facility_months(self, b: _Builder, weights: Weights) -> None:
        """Per facility-month: capacity, concentration and (when the facility works in one
        month only) the idle bonus, as one convex piecewise-linear cost of the load.

        The load ℓ = L_fm + Σ h_p x_pf is split into pieces v_j over the breakpoints
        {δ} ∪ {k·H}; piece j costs its slope (w_conc per tier passed, −B/δ below δ) per
        hour.  Slopes never decrease, so the cheapest pieces fill first and Σ_j v_j equals
        w_conc Σ_k max(0, ℓ − k·H) − B·min(1, ℓ/δ) exactly; the pieces' bounds stop at
        L_fm + C_fm, which is the capacity constraint."""
        scr = self.scr
        n_m = len(scr.months)
        month_index = {m: k for k, m in enumerate(scr.months)}
        month = np.array([month_index[p.month] for p in scr.packages], dtype=np.int64)
        keys, group = np.unique(
            self.pair_facility * n_m + month[self.pair_package], return_inverse=True
        )
        self.group = group
        facility, month_of = keys // n_m, keys % n_m
        reach = np.bincount(group, weights=self.hours * self.upper, minlength=len(keys))
        months_worked = np.bincount(facility, minlength=len(scr.facilities))
        locked_total = np.sum([scr.locked_hours[m] for m in scr.months], axis=0)
        self.folded: set[int] = set()
        steps = [k * weights.concentration_step_hours for k in range(1, CONCENTRATION_TIERS + 1)]
        rows: list[int] = []
        cols: list[int] = []
        piece_cost: list[float] = []
        piece_ub: list[float] = []
        groups: list[int] = []
        for g, (f, m) in enumerate(zip(facility.tolist(), month_of.tolist(), strict=True)):
            locked = float(scr.locked_hours[scr.months[m]][f])
            cap = float(scr.free[scr.months[m]][f])
            most = min(float(reach[g]), cap)
            fold = (
                weights.idle_bonus > 0
                and not scr.facilities[f].has_work
                and months_worked[f] == 1
                and locked_total[f] <= locked + EPS
            )
            if fold:
                self.folded.add(f)
            tiers = weights.concentration > 0 and locked + most > steps[0] + EPS
            if not (fold or tiers or reach[g] > cap + EPS):
                continue
            points = sorted({0.0, *steps, *([weights.idle_bonus_hours] if fold else [])})
            ends = [*points[1:], math.inf]
            for start, end in zip(points, ends, strict=True):
                lo, hi = max(start, locked), min(end, locked + most)
                if hi - lo <= EPS:
                    continue
                slope = weights.concentration * sum(start >= s - EPS for s in steps)
                if fold and start < weights.idle_bonus_hours - EPS:
                    slope -= weights.idle_bonus / weights.idle_bonus_hours
                rows.append(len(groups))
                cols.append(len(piece_cost))
                piece_cost.append(slope)
                piece_ub.append(hi - lo)
            groups.append(g)
        if not groups:
            return
        v = b.columns(np.array(piece_cost), np.array(piece_ub))
        row_of = np.full(len(keys), -1, dtype=np.int64)
        row_of[groups] = np.arange(len(groups))
        mask = row_of[group] >= 0
        b.rows(
            np.concatenate([row_of[group[mask]], np.array(rows, dtype=np.int64)]),
            np.concatenate([self.x[mask], v[np.array(cols, dtype=np.int64)]]),
            np.concatenate([self.hours[mask], -np.ones(len(cols))]),
            np.zeros(len(groups)),
            np.zeros(len(groups)),
        )

    def _idle(self, b: _Builder, weights: Weights) -> None:
        """δ·z_f − Σ_p h_p x_pf ≤ G_f for facilities without work this period that work in
        several months (the others have the bonus in their piecewise-linear load cost)."""
        scr = self.scr
        idle = np.array(
            [not f.has_work and i not in self.folded for i, f in enumerate(scr.facilities)],
            dtype=np.bool_,
        )
        pairs = np.flatnonzero(idle[self.pair_facility])
        if weights.idle_bonus <= 0 or not len(pairs):
            return
        facilities = np.unique(self.pair_facility[pairs])
        self.z_facilities = set(facilities.tolist())
        n = len(facilities)
        z = b.columns(np.full(n, -weights.idle_bonus), np.ones(n))
        locked = np.sum([scr.locked_hours[m] for m in scr.months], axis=0)[facilities]
        b.rows(
            np.concatenate([np.arange(n), np.searchsorted(facilities, self.pair_facility[pairs])]),
            np.concatenate([z, self.x[pairs]]),
            np.concatenate([np.full(n, weights.idle_bonus_hours), -self.hours[pairs]]),
            np.full(n, -np.inf),
            locked,
        )

    def quantities(self, solution: FloatArray) -> dict[tuple[str, int], float]:
        """The solved x as (package id, facility id) → quantity, noise rounded away."""
        out: dict[tuple[str, int], float] = {}
        values = solution[self.x]
        for j in np.flatnonzero(values > EPS / 10):
            qty = _clean(float(values[j]))
            if qty > EPS:
                pid = self.scr.packages[int(self.pair_package[j])].id
                out[pid, self.scr.facilities[int(self.pair_facility[j])].id] = qty
        return out
