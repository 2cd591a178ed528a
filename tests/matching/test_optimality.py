"""The solver's objective equals an independent brute force on small instances."""

from __future__ import annotations

import random

import pytest

from app.matching import (
    Facility,
    PlanStatus,
    Requirement,
    SolveOptions,
    Weights,
    WorkPackage,
    solve,
    solve_greedy,
)
from tests.matching import reference

EXACT = SolveOptions(mip_rel_gap=0.0, candidates_per_package=None)
MONTHS = ("2026-05", "2026-06")
WEIGHTS = (
    Weights(),
    Weights(concentration=1.0, concentration_step_hours=2, idle_bonus_hours=2),
    Weights(distance=0.2, wage_uplift=3.0, idle_bonus=2.0, idle_bonus_hours=3),
    Weights(quality=2.0, concentration=0.5, concentration_step_hours=1, idle_bonus=0.0),
)


def instance(rng: random.Random) -> tuple[list[WorkPackage], list[Facility], Weights]:
    """≤3 packages × ≤4 facilities with integer quantities, lots and capacities."""
    facilities = [
        Facility(
            id=fid,
            name=f"F{fid}",
            capabilities={c: rng.randint(1, 3) for c in (1, 2) if rng.random() < 0.9},
            max_difficulty=rng.choice([None, 1, 2, 3, 3, 3]),
            pc_experience=rng.random() < 0.8,
            free_hours={m: rng.randint(0, 8) for m in MONTHS if rng.random() < 0.9},
            available=rng.random() < 0.9,
            distance_km=rng.choice([None, *range(0, 80, 7)]),
            avg_monthly_wage=rng.choice([15_000, 18_000, 25_000, 80_000, 120_000]),
            has_work=rng.random() < 0.5,
            quality=rng.choice([None, 0.2, 0.5, 0.9, 1.0]),
        )
        for fid in rng.sample(range(1, 20), rng.randint(3, 4))
    ]
    packages = []
    for n in range(rng.randint(1, 3)):
        quantity = rng.randint(2, 6)
        locked = {}
        if rng.random() < 0.2:
            locked[rng.choice(facilities).id] = rng.randint(1, quantity)
        packages.append(
            WorkPackage(
                id=f"p{n}",
                month=rng.choice(MONTHS),
                quantity=quantity,
                requirements=tuple(
                    Requirement(c, f"工程{c}", rng.choice([1, 1, 2, 3]))
                    for c in (1, 2)
                    if rng.random() < 0.5
                ),
                difficulty=rng.choice([None, None, 1, 2]),
                needs_pc=rng.random() < 0.2,
                on_site=rng.random() < 0.25,
                max_distance_km=rng.choice([None, 30.0, 60.0]),
                excluded_by_buyer=frozenset(f.id for f in facilities if rng.random() < 0.1),
                excluded_by_coordinator=frozenset(f.id for f in facilities if rng.random() < 0.1),
                min_lot=rng.choice([0, 0, 1, 2, 3]),
                locked=locked,
                distances_km={facilities[0].id: 5.0} if rng.random() < 0.2 else None,
            )
        )
    return packages, facilities, rng.choice(WEIGHTS)


def small_instances(count: int, limit: int = 20_000) -> list[tuple[int, tuple]]:
    """Mostly instances with real choices (≥ 20 assignments to compare), a few trivial ones."""
    rng = random.Random(20261121)
    out: list[tuple[int, tuple]] = []
    while len(out) < count:
        case = instance(rng)
        options = reference.options_count(case[0], case[1])
        if options <= limit and (options >= 20 or rng.random() < 0.1):
            out.append((len(out), case))
    return out


CASES = small_instances(80)


@pytest.mark.parametrize(("number", "case"), CASES, ids=[f"case{n}" for n, _ in CASES])
def test_objective_equals_brute_force(number: int, case: tuple) -> None:
    packages, facilities, weights = case
    plan = solve(packages, facilities, weights, EXACT)
    best = reference.brute_force(packages, facilities, weights)
    assert plan.objective == pytest.approx(best, abs=1e-6, rel=0)
    quantities = {(a.package_id, a.facility_id): a.quantity for a in plan.allocations}
    assert reference.objective(packages, facilities, quantities, weights) == pytest.approx(
        plan.objective, abs=1e-6, rel=0
    )
    assert sum(a.score.total for a in plan.allocations) == pytest.approx(
        plan.objective - weights.unmet_penalty * sum(q * 1.0 for q in plan.unmet.values()),
        abs=1e-6,
    )
    assert plan.lower_bound is not None
    assert plan.lower_bound <= best + 1e-6  # a valid bound on every plan
    assert plan.proven_optimal
    assert plan.status in (PlanStatus.OPTIMAL, PlanStatus.SHORTAGE)
    assert (plan.status is PlanStatus.SHORTAGE) == bool(plan.unmet)


@pytest.mark.parametrize(("number", "case"), CASES[:20], ids=[f"case{n}" for n, _ in CASES[:20]])
def test_greedy_is_never_better(number: int, case: tuple) -> None:
    packages, facilities, weights = case
    exact = solve(packages, facilities, weights, EXACT)
    greedy = solve_greedy(packages, facilities, weights)
    assert greedy.objective >= exact.objective - 1e-6


def test_the_cases_exercise_the_model() -> None:
    """Guard against a generator that only makes trivial instances."""
    plans = [solve(p, f, w, EXACT) for _, (p, f, w) in CASES]
    assert sum(bool(plan.unmet) for plan in plans) >= 5
    assert sum(plan.facilities_used >= 2 for plan in plans) >= 10
    assert sum(any(a.locked for a in plan.allocations) for plan in plans) >= 3
    assert sum(any(a.first_work for a in plan.allocations) for plan in plans) >= 10
