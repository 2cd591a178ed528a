"""The engine's behaviour on hand-made cases: shortages, reasons, locks, lots, weights."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.matching import (
    REASON_ORDER,
    Facility,
    Plan,
    PlanStatus,
    Reason,
    Requirement,
    Shortage,
    ShortageCause,
    SolveOptions,
    Weights,
    WorkPackage,
    propose_single,
    solve,
    solve_greedy,
    wage_uplift,
)

MAY = "2026-05"
JUNE = "2026-06"
ASSEMBLY = Requirement(1, "組立", 2)
INSPECTION = Requirement(2, "検品", 1)


def facility(fid: int, **overrides: object) -> Facility:
    values: dict[str, object] = {
        "id": fid,
        "name": f"事業所{fid}",
        "capabilities": {1: 3, 2: 3},
        "max_difficulty": 3,
        "pc_experience": True,
        "free_hours": {MAY: 100.0, JUNE: 100.0},
        "distance_km": 10.0,
        "avg_monthly_wage": 20_000,
        "has_work": True,
        "quality": 0.8,
    }
    values.update(overrides)
    return Facility(**values)  # type: ignore[arg-type]


def package(pid: str = "o1", quantity: float = 60, **overrides: object) -> WorkPackage:
    values: dict[str, object] = {
        "id": pid,
        "month": MAY,
        "quantity": quantity,
        "requirements": (ASSEMBLY,),
    }
    values.update(overrides)
    return WorkPackage(**values)  # type: ignore[arg-type]


def hours_by_facility(plan: Plan) -> dict[int, float]:
    out: dict[int, float] = {}
    for a in plan.allocations:
        out[a.facility_id] = out.get(a.facility_id, 0.0) + a.hours
    return out


# ---------------------------------------------------------------- shortages


def test_capacity_shortage_names_capability_month_and_hours() -> None:
    facilities = [facility(1, free_hours={MAY: 50}), facility(2, free_hours={MAY: 30})]
    plan = solve([package(quantity=200)], facilities)

    assert plan.status is PlanStatus.SHORTAGE
    assert hours_by_facility(plan) == {1: 50, 2: 30}
    assert plan.unmet == {"o1": 120}
    [shortage] = plan.shortages
    assert shortage == Shortage(
        capability="組立",
        month=MAY,
        quantity=120,
        cause=ShortageCause.CAPACITY,
        package_ids=("o1",),
        candidates=2,
        candidate_free_hours=80,
        reasons=(),
    )
    messages = plan.messages()
    assert messages[0].template == "%(capability)s capacity short by %(quantity)s h in %(month)s"
    assert messages[0].text == "組立 capacity short by 120 h in 2026-05"
    assert str(messages[1]) == (
        "2 eligible facilities have 80 h free in 2026-05 "
        "(capacity binds, shared with other packages or below the minimum lot)"
    )


def test_shortages_are_per_capability_and_month_and_capacity_is_shared() -> None:
    """Two May packages compete for the same free hours; June has its own capacity."""
    facilities = [facility(1, free_hours={MAY: 100, JUNE: 100})]
    packages = [
        package("a", 70),
        package("b", 70, requirements=(ASSEMBLY, INSPECTION)),
        package("c", 90, month=JUNE),
    ]
    plan = solve(packages, facilities)
    assert plan.unmet == pytest.approx({"a": 40}) or plan.unmet == pytest.approx({"b": 40})
    assert not any(s.month == JUNE for s in plan.shortages)
    [shortage] = plan.shortages
    assert shortage.quantity == 40
    assert shortage.capability in ("組立", "組立・検品")
    assert shortage.candidate_free_hours == 100  # the facility alone could, not with the other


def test_no_candidate_lists_the_reason_counts() -> None:
    facilities = [
        facility(1, capabilities={1: 1}),  # proficiency 1 < 2
        facility(2, capabilities={}),
        facility(3, distance_km=45.0),
        facility(4, available=False),
    ]
    work = package(quantity=40, on_site=True, max_distance_km=30.0)
    plan = solve([work], facilities)

    assert plan.status is PlanStatus.SHORTAGE
    assert plan.allocations == ()
    [shortage] = plan.shortages
    assert shortage.cause is ShortageCause.NO_CANDIDATE
    assert shortage.reasons == (
        (Reason.MISSING_CAPABILITY, 2),
        (Reason.TOO_FAR, 1),
        (Reason.UNAVAILABLE, 1),
    )
    assert plan.exclusion_counts("o1") == dict(shortage.reasons)
    texts = [m.text for m in plan.messages()]
    assert texts == [
        "組立 capacity short by 40 h in 2026-05",
        "No facility passes the hard constraints for o1; facilities left out: "
        "missing_capability 2, too_far 1, unavailable 1",
    ]


def test_pieces_are_converted_to_hours_for_capacity() -> None:
    work = package(quantity=300, unit="pcs", hours_per_unit=0.5)  # 150 h
    plan = solve([work], [facility(1, free_hours={MAY: 100})])
    [allocation] = plan.allocations
    assert (allocation.quantity, allocation.hours) == (200, 100)
    assert plan.unmet == {"o1": 100}
    assert plan.shortages[0].quantity == 50  # hours


def test_no_work_no_facilities_no_exception() -> None:
    assert solve([], [facility(1)]).status is PlanStatus.OPTIMAL
    plan = solve([package()], [])
    assert plan.status is PlanStatus.SHORTAGE
    assert plan.shortages[0].cause is ShortageCause.NO_CANDIDATE
    assert solve([package(quantity=0)], [facility(1)]).allocations == ()


# ----------------------------------------------------------------- exclusions


@pytest.mark.parametrize(
    ("facility_overrides", "package_overrides", "reason"),
    [
        ({"capabilities": {1: 1}}, {}, Reason.MISSING_CAPABILITY),
        ({"max_difficulty": None}, {"difficulty": 1}, Reason.DIFFICULTY_TOO_HIGH),
        ({"max_difficulty": 1}, {"difficulty": 2}, Reason.DIFFICULTY_TOO_HIGH),
        ({"pc_experience": False}, {"needs_pc": True}, Reason.NO_PC_EXPERIENCE),
        ({"free_hours": {JUNE: 100}}, {}, Reason.NO_FREE_CAPACITY),
        ({"free_hours": {MAY: 10}}, {"min_lot": 20}, Reason.NO_FREE_CAPACITY),
        ({"distance_km": None}, {"on_site": True, "max_distance_km": 30}, Reason.TOO_FAR),
        ({"distance_km": 31}, {"on_site": True, "max_distance_km": 30}, Reason.TOO_FAR),
        ({}, {"excluded_by_buyer": frozenset({1})}, Reason.EXCLUDED_BY_BUYER),
        ({}, {"excluded_by_coordinator": frozenset({1})}, Reason.EXCLUDED_BY_COORDINATOR),
        ({"available": False}, {}, Reason.UNAVAILABLE),
    ],
)
def test_each_hard_constraint_excludes_with_its_reason(
    facility_overrides: dict, package_overrides: dict, reason: Reason
) -> None:
    plan = solve([package(**package_overrides)], [facility(1, **facility_overrides), facility(2)])
    assert plan.exclusions["o1"] == {1: reason}
    assert hours_by_facility(plan) == {2: 60}


def test_the_first_failing_constraint_is_reported() -> None:
    """Every constraint fails: the reason is the first in REASON_ORDER, and so on down."""
    broken: dict[str, object] = {
        "capabilities": {},
        "max_difficulty": None,
        "pc_experience": False,
        "free_hours": {},
        "distance_km": None,
        "available": False,
    }
    work = package(
        difficulty=1,
        needs_pc=True,
        on_site=True,
        max_distance_km=10,
        excluded_by_buyer=frozenset({1}),
        excluded_by_coordinator=frozenset({1}),
    )
    fixes = {
        Reason.MISSING_CAPABILITY: ("capabilities", {1: 3}),
        Reason.DIFFICULTY_TOO_HIGH: ("max_difficulty", 3),
        Reason.NO_PC_EXPERIENCE: ("pc_experience", True),
        Reason.NO_FREE_CAPACITY: ("free_hours", {MAY: 100}),
        Reason.TOO_FAR: ("distance_km", 5.0),
    }
    seen = []
    for reason in REASON_ORDER:
        plan = solve([work], [facility(1, **broken)])
        seen.append(plan.exclusions["o1"][1])
        if reason in fixes:
            key, value = fixes[reason]
            broken[key] = value
        elif reason is Reason.EXCLUDED_BY_BUYER:
            work = package(**{**_fields(work), "excluded_by_buyer": frozenset()})
        elif reason is Reason.EXCLUDED_BY_COORDINATOR:
            work = package(**{**_fields(work), "excluded_by_coordinator": frozenset()})
    assert seen == list(REASON_ORDER)


def _fields(work: WorkPackage) -> dict:
    return {k: getattr(work, k) for k in work.__dataclass_fields__ if k not in ("id", "quantity")}


def test_per_package_site_distances_override_the_facility_distance() -> None:
    work = package(on_site=True, max_distance_km=20, distances_km={1: 50.0, 2: 5.0})
    plan = solve([work], [facility(1, distance_km=1.0), facility(2, distance_km=80.0)])
    assert plan.exclusions["o1"] == {1: Reason.TOO_FAR}
    assert plan.allocations[0].distance_km == 5.0


# ----------------------------------------------------------- locks and lots


def test_locked_allocations_are_kept_and_the_rest_is_optimised() -> None:
    facilities = [facility(1, distance_km=50.0), facility(2, distance_km=1.0), facility(3)]
    work = package(quantity=100, locked={1: 30})
    plan = solve([work], facilities)
    by_facility = {a.facility_id: a for a in plan.allocations}
    assert by_facility[1].quantity == 30 and by_facility[1].locked
    assert sum(a.quantity for a in plan.allocations) == 100
    assert not any(a.locked for a in plan.allocations if a.facility_id != 1)
    assert plan.lock_warnings == ()


def test_locks_use_capacity_first_and_warnings_flag_broken_rules() -> None:
    facilities = [
        facility(1, free_hours={MAY: 40}, capabilities={}),  # locked although not capable
        facility(2, free_hours={MAY: 100}),
    ]
    packages = [package("a", 50, locked={1: 50}), package("b", 40)]
    plan = solve(packages, facilities)
    assert {(a.package_id, a.facility_id): a.quantity for a in plan.allocations} == {
        ("a", 1): 50,
        ("b", 2): 40,
    }
    assert plan.exclusions["b"][1] is Reason.MISSING_CAPABILITY
    texts = {m.text for m in plan.messages()}
    assert "Locked allocation of facility 1 on a ignores a hard constraint: " in next(
        t[: len("Locked allocation of facility 1 on a ignores a hard constraint: ")]
        for t in texts
        if t.startswith("Locked allocation")
    )
    assert "Locked work exceeds the free capacity of facility 1 by 10 h (a)" in texts


def test_locked_quantity_beyond_the_package_is_clamped() -> None:
    plan = solve([package(quantity=20, locked={1: 15, 2: 15})], [facility(1), facility(2)])
    assert {a.facility_id: a.quantity for a in plan.allocations} == {1: 15, 2: 5}
    [warning] = plan.lock_warnings
    assert (warning.facility_id, warning.clamped) == (2, 10)


def test_coordinator_exclusion_beats_the_best_facility() -> None:
    best = facility(1, distance_km=0.0, avg_monthly_wage=10_000, quality=1.0)
    plan = solve([package(excluded_by_coordinator=frozenset({1}))], [best, facility(2)])
    assert 1 not in hours_by_facility(plan)
    assert plan.exclusions["o1"] == {1: Reason.EXCLUDED_BY_COORDINATOR}
    assert hours_by_facility(solve([package()], [best, facility(2)])) == {1: 60}


def test_minimum_lot_means_zero_or_at_least_the_lot() -> None:
    # Spreading pays (concentration, first work), but every share must be ≥ 25.
    weights = Weights(concentration=1.0, concentration_step_hours=10, idle_bonus=20)
    facilities = [facility(fid, has_work=False) for fid in range(1, 7)]
    free_for_all = solve([package(quantity=100)], facilities, weights)
    assert min(a.quantity for a in free_for_all.allocations) < 25
    plan = solve([package(quantity=100, min_lot=25)], facilities, weights)
    assert plan.facilities_used == 4
    assert all(a.quantity >= 25 for a in plan.allocations)


def test_a_package_smaller_than_its_lot_goes_to_one_facility() -> None:
    weights = Weights(concentration=1.0, concentration_step_hours=1)
    plan = solve([package(quantity=10, min_lot=40)], [facility(1), facility(2)], weights)
    assert [a.quantity for a in plan.allocations] == [10]


# ----------------------------------------------------------------- weights


def test_the_wage_weight_moves_work_to_lower_wage_facilities() -> None:
    near_a_type = facility(1, distance_km=0.0, avg_monthly_wage=85_000)
    far_b_type = facility(2, distance_km=30.0, avg_monthly_wage=15_000)
    work = package(quantity=80)
    no_wage = solve([work], [near_a_type, far_b_type], Weights(wage_uplift=0.0))
    with_wage = solve([work], [near_a_type, far_b_type], Weights(wage_uplift=2.0))
    assert hours_by_facility(no_wage) == {1: 80}
    assert hours_by_facility(with_wage) == {2: 80}
    [allocation] = with_wage.allocations
    assert allocation.score.wage_uplift == pytest.approx(2.0 * 0.15 * 80)


def test_facilities_without_history_get_the_neutral_quality_prior() -> None:
    unknown = facility(1, quality=None)
    plan = solve([package(quantity=40)], [unknown])
    [allocation] = plan.allocations
    assert allocation.quality == 0.5
    assert allocation.score.quality == pytest.approx(40 * 0.5)
    # Ranked between a poor and a good record, other things equal.
    assert hours_by_facility(
        solve([package(quantity=40)], [unknown, facility(2, quality=0.4)])
    ) == {1: 40}
    assert hours_by_facility(
        solve([package(quantity=40)], [unknown, facility(2, quality=0.6)])
    ) == {2: 40}
    prior = Weights(neutral_quality=0.3)
    assert solve([package(quantity=40)], [unknown], prior).allocations[0].quality == 0.3


def test_facilities_without_work_get_a_bonus() -> None:
    busy = facility(1, distance_km=0.0)
    idle = facility(2, distance_km=3.0, has_work=False)
    plan = solve([package(quantity=40)], [busy, idle])
    # The bonus is earned in full with a working day (8 h); the rest goes to the nearest.
    assert hours_by_facility(plan) == {1: 32, 2: 8}
    [first] = [a for a in plan.allocations if a.first_work]
    assert first.score.idle_bonus == pytest.approx(-5.0)
    lots = solve([package(quantity=40, min_lot=20)], [busy, idle])
    assert hours_by_facility(lots) == {1: 20, 2: 20}
    assert hours_by_facility(
        solve([package(quantity=40)], [busy, idle], Weights(idle_bonus=0))
    ) == {1: 40}


def test_concentration_spreads_the_load() -> None:
    facilities = [facility(1, distance_km=0.0), facility(2, distance_km=6.0)]
    work = package(quantity=100)
    piled = solve([work], facilities, Weights(concentration=0.0))
    spread = solve([work], facilities, Weights(concentration=0.5, concentration_step_hours=20))
    assert hours_by_facility(piled) == {1: 100}
    # Each further 20 h on a facility costs 0.5 more per hour; facility 2 costs 0.1 more per
    # hour (6 km of 60): at 60/40 both marginal hours cost 1.0 + 0.1, beyond it 1.5 vs 1.1.
    assert hours_by_facility(spread) == {1: 60, 2: 40}
    assert sum(a.score.concentration for a in spread.allocations) > 0


def test_score_breakdown_adds_up_to_the_objective() -> None:
    facilities = [facility(fid, distance_km=fid * 7.0, has_work=fid % 2 == 0) for fid in range(8)]
    packages = [package(f"o{n}", 30 + 10 * n, min_lot=10) for n in range(4)]
    plan = solve(packages, facilities)
    assert plan.status is PlanStatus.OPTIMAL
    assert sum(a.score.total for a in plan.allocations) == pytest.approx(plan.objective)


# ------------------------------------------------------- options and helpers


def test_propose_single_is_the_same_model() -> None:
    facilities = [facility(fid, distance_km=float(fid)) for fid in range(1, 30)]
    work = package(quantity=150)
    assert propose_single(work, facilities) == solve([work], facilities)


def test_candidates_are_priced_by_the_relaxation() -> None:
    """k lowest reduced costs plus what the LP relaxation uses: facilities that everyone
    wants get dearer, so four packages competing for the same nearest facilities still find
    room (a plain top-3 by cost would give all four the same 30 h for 40 h of work)."""
    facilities = [facility(fid, free_hours={MAY: 10}, distance_km=float(fid)) for fid in range(20)]
    options = SolveOptions(candidates_per_package=3)
    packages = [package(f"p{n}", 10) for n in range(4)]
    plan = solve(packages, facilities, options=options)
    assert plan.unmet == {}
    assert hours_by_facility(plan) == {0: 10, 1: 10, 2: 10, 3: 10}
    assert all(count >= 20 - 3 - 4 for count in plan.pruned.values())
    assert plan.notes == ()
    assert plan.lower_bound is not None and plan.bound_gap is not None
    assert 0 <= plan.bound_gap < 1e-6  # no minimum lot: the relaxation is exact here


def test_a_shortage_of_the_restricted_model_triggers_a_full_solve() -> None:
    """The relaxation ignores the minimum lot: it splits 30 h over the two nearest
    facilities, which cannot take 20 h lots of a 30 h package; only the far one can."""
    facilities = [
        facility(1, distance_km=0.0, free_hours={MAY: 20}),
        facility(2, distance_km=0.0, free_hours={MAY: 20}),
        facility(3, distance_km=50.0, free_hours={MAY: 40}),
    ]
    work = package(quantity=30, min_lot=20)
    plan = solve([work], facilities, options=SolveOptions(candidates_per_package=1))
    assert hours_by_facility(plan) == {3: 30}
    assert plan.pruned == {} and plan.unmet == {}
    assert plan.notes[0].text == "Solved again with every eligible facility because of a shortage"


def test_wage_uplift_per_worker() -> None:
    facilities = [facility(1, workers=10), facility(2, workers=0), facility(3)]
    work = package(quantity=60, rate_per_hour=1_000, locked={1: 40, 2: 20})
    uplift = wage_uplift(solve([work], facilities), [work], facilities)
    assert uplift == {1: 4_000, 2: 20_000, 3: 0}


def test_greedy_fills_the_nearest_facility_first() -> None:
    facilities = [
        facility(1, distance_km=20.0),
        facility(2, distance_km=5.0, free_hours={MAY: 50}),
        facility(3, distance_km=None),
    ]
    plan = solve_greedy([package(quantity=120)], facilities)
    assert plan.method == "greedy" and plan.status is PlanStatus.HEURISTIC
    assert hours_by_facility(plan) == {2: 50, 1: 70}


def test_invalid_values_are_rejected_when_built() -> None:
    with pytest.raises(ValueError, match="min_proficiency"):
        Requirement(1, "組立", 4)
    with pytest.raises(ValueError, match="quality"):
        facility(1, quality=1.5)
    with pytest.raises(ValueError, match="quantity"):
        package(quantity=-1)
    with pytest.raises(ValueError, match="candidates_per_package"):
        SolveOptions(candidates_per_package=0)
    with pytest.raises(ValueError, match="unique"):
        solve([package(), package()], [facility(1)])


def test_the_engine_is_pure() -> None:
    """No Flask, SQLAlchemy or app session inside the engine."""
    root = Path(__file__).parents[2] / "app" / "matching"
    for name in ("engine.py", "greedy.py"):
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[0] in ("flask", "sqlalchemy")}
        assert all(m.startswith("app.matching.") for m in imported if m.startswith("app"))
