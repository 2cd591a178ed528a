"""Hard constraints hold on random instances (Hypothesis, derandomized for CI)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.matching import (
    Facility,
    Plan,
    Requirement,
    SolveOptions,
    Weights,
    WorkPackage,
    solve,
    solve_greedy,
)
from tests.matching import reference

MONTHS = ("2026-05", "2026-06")
CI = settings(
    derandomize=True,
    database=None,
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
EXACT = SolveOptions(mip_rel_gap=0.0, candidates_per_package=None)
halves = st.integers(0, 24).map(lambda n: n / 2)
free = st.integers(0, 48).map(lambda n: n / 2)


def mostly(value: object, *others: object) -> st.SearchStrategy:
    """``value`` three times out of four, else one of ``others``: instances where most
    facilities are eligible, so that plans have real choices."""
    return st.sampled_from([value, value, value, *others])


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[WorkPackage], list[Facility], Weights]:
    ids = draw(st.lists(st.integers(1, 40), min_size=1, max_size=7, unique=True))
    facilities = [
        Facility(
            id=fid,
            name=f"F{fid}",
            capabilities=draw(
                st.dictionaries(st.integers(1, 3), mostly(3, 1, 2), min_size=1, max_size=3)
            ),
            max_difficulty=draw(mostly(3, None, 1, 2)),
            pc_experience=draw(mostly(True, False)),
            free_hours={m: draw(free) for m in MONTHS if draw(mostly(True, False))},
            available=draw(mostly(True, False)),
            distance_km=draw(st.one_of(st.none(), st.floats(0, 90), st.floats(0, 40))),
            avg_monthly_wage=draw(st.integers(0, 150_000)),
            has_work=draw(st.booleans()),
            quality=draw(st.one_of(st.none(), st.floats(0, 1))),
        )
        for fid in ids
    ]
    packages = []
    for n in range(draw(st.integers(1, 4))):
        packages.append(
            WorkPackage(
                id=f"p{n}",
                month=draw(st.sampled_from(MONTHS)),
                quantity=draw(halves),
                requirements=tuple(
                    Requirement(c, f"工程{c}", draw(mostly(1, 2, 3)))
                    for c in draw(st.lists(st.integers(1, 3), max_size=2, unique=True))
                ),
                difficulty=draw(mostly(None, 1, 2, 3)),
                needs_pc=draw(mostly(False, True)),
                on_site=draw(mostly(False, True)),
                max_distance_km=draw(st.one_of(st.none(), st.floats(5, 60))),
                excluded_by_buyer=frozenset(draw(st.lists(st.sampled_from(ids), max_size=1))),
                excluded_by_coordinator=frozenset(draw(st.lists(st.sampled_from(ids), max_size=1))),
                min_lot=draw(st.sampled_from([0.0, 0.0, 1.0, 2.5, 4.0])),
                locked=draw(
                    st.dictionaries(st.sampled_from(ids), halves, max_size=1) | st.just({})
                ),
                hours_per_unit=draw(mostly(1.0, 0.5, 2.0)),
                unit=draw(st.sampled_from(["h", "pcs"])),
            )
        )
    weights = Weights(
        distance=draw(st.floats(0, 2)),
        quality=draw(st.floats(0, 2)),
        wage_uplift=draw(st.floats(0, 2)),
        idle_bonus=draw(st.floats(0, 10)),
        concentration=draw(st.floats(0, 1)),
        concentration_step_hours=draw(st.sampled_from([1.0, 4.0, 80.0])),
    )
    return packages, facilities, weights


def check_hard_constraints(
    plan: Plan, packages: list[WorkPackage], facilities: list[Facility]
) -> None:
    locked = reference.locks(packages)
    by_package = {p.id: p for p in packages}
    by_facility = {f.id: f for f in facilities}
    used: dict[tuple[int, str], float] = defaultdict(float)
    placed: dict[str, float] = defaultdict(float)
    for a in plan.allocations:
        p, f = by_package[a.package_id], by_facility[a.facility_id]
        placed[p.id] += a.quantity
        assert a.hours == a.quantity * p.hours_per_unit
        if a.locked:
            assert a.quantity == locked[p.id, f.id]
            continue
        assert (p.id, f.id) not in locked
        rest = reference.remaining(p, locked)
        free = reference.free_after_locks(f, p.month, packages, locked)
        assert reference.first_failure(p, f, free, rest) is None, (p, f)
        assert a.quantity >= min(p.min_lot, rest) - 1e-6, "minimum lot"
        used[f.id, p.month] += a.hours
    for (fid, month), hours in used.items():
        free = reference.free_after_locks(by_facility[fid], month, packages, locked)
        assert hours <= free + 1e-6, "free capacity"
    for p in packages:
        assert placed[p.id] + plan.unmet.get(p.id, 0.0) == _approx(p.quantity), p.id
        assert plan.unmet.get(p.id, 0.0) >= 0
    # Shortages account for exactly the unmet hours
    unmet_hours = sum(q * by_package[pid].hours_per_unit for pid, q in plan.unmet.items())
    assert sum(s.quantity for s in plan.shortages) == _approx(unmet_hours)


def _approx(value: float) -> object:
    return pytest.approx(value, abs=1e-5)


@CI
@given(instances())
def test_plans_respect_every_hard_constraint(case: tuple) -> None:
    packages, facilities, weights = case
    plan = solve(packages, facilities, weights, EXACT)
    check_hard_constraints(plan, packages, facilities)


@CI
@given(instances())
def test_exclusions_name_the_first_failing_constraint(case: tuple) -> None:
    packages, facilities, weights = case
    plan = solve(packages, facilities, weights)
    locked = reference.locks(packages)
    for p in packages:
        rest = reference.remaining(p, locked)
        for f in facilities:
            if (p.id, f.id) in locked:
                assert f.id not in plan.exclusions[p.id]
                continue
            free = reference.free_after_locks(f, p.month, packages, locked)
            expected = reference.first_failure(p, f, free, rest)
            assert plan.exclusions[p.id].get(f.id) == expected


@CI
@given(instances())
def test_greedy_respects_the_same_constraints_and_never_wins(case: tuple) -> None:
    packages, facilities, weights = case
    greedy = solve_greedy(packages, facilities, weights)
    check_hard_constraints(greedy, packages, facilities)
    exact = solve(packages, facilities, weights, EXACT)
    assert greedy.objective >= exact.objective - 1e-6 * max(1.0, abs(exact.objective))


@CI
@given(instances())
def test_restricted_candidates_keep_the_constraints_and_a_valid_bound(case: tuple) -> None:
    """Two candidates per package (priced by the relaxation): still feasible, never better
    than the exact optimum, and the lower bound never above it."""
    packages, facilities, weights = case
    exact = solve(packages, facilities, weights, EXACT)
    plan = solve(packages, facilities, weights, SolveOptions(candidates_per_package=2))
    check_hard_constraints(plan, packages, facilities)
    tolerance = 1e-6 * max(1.0, abs(exact.objective))
    assert plan.objective >= exact.objective - tolerance
    for bound in (plan.lower_bound, exact.lower_bound):
        assert bound is not None
        assert bound <= exact.objective + tolerance


@settings(CI, max_examples=40)
@given(instances(), st.randoms(use_true_random=False))
def test_same_input_same_plan_whatever_the_order(case: tuple, rnd: object) -> None:
    packages, facilities, weights = case
    first = solve(packages, facilities, weights)
    assert solve(packages, facilities, weights) == first
    shuffled_p, shuffled_f = list(packages), list(facilities)
    rnd.shuffle(shuffled_p)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_f)  # type: ignore[attr-defined]
    assert solve(shuffled_p, shuffled_f, weights) == first
