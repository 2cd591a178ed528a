"""Benchmark: the matching engine on a large workspace.  Prints figures; asserts nothing.

    .venv/bin/python -m tests.bench.bench_matching          # about half a minute
    .venv/bin/python -m tests.bench.bench_matching --full   # + the unrestricted model (minutes)
    .venv/bin/python -m tests.bench.bench_matching --hub    # distances to the hub only

A workspace of 1,000 facilities (B型 60 %, ¥15–25k average monthly wage; A型 15 %, ¥80–100k;
生活介護 10 %, ¥8–15k; partner manufacturers 15 %, ¥200–280k), 11 capabilities, facilities
spread over a 60 km square (distance 0–60 km to the coordinator's hub), and one month of 300
open work packages (20–300 h, measured to the buyer's own site; 15 % on-site with a 20–40 km
limit, some needing PC work, most with a minimum lot of 10–40 h, ten with a coordinator's
lock).  Fixed seed: the same workspace every run.

The solver keeps, per package, the facilities the LP relaxation uses plus the 10 with the
lowest reduced cost (``SolveOptions`` default): "optimal" means proven within 0.1 % of that
restricted model's optimum; the plan's lower bound (the relaxation over every eligible
facility) bounds the distance to the unrestricted optimum.  ``--full`` also solves the
unrestricted model, to show what the restriction costs.  ``--hub`` measures off-site work to
the coordinator's hub instead of the buyer's site, so every package ranks facilities alike:
the hard case for the solver (many equivalent plans).

Wage uplift per facility = Σ assigned hours × the package's hourly piece rate / the
facility's workers (yen per worker for the month).  The Gini coefficient is taken over all
available facilities (those without work count as 0) and over those that got work.
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import statistics
import time
from collections.abc import Sequence

from app.matching import (
    Facility,
    Plan,
    Requirement,
    SolveOptions,
    Weights,
    WorkPackage,
    propose_single,
    solve,
    solve_greedy,
    wage_uplift,
)

MONTH = "2026-05"
FACILITIES = 1_000
PACKAGES = 300
RUNS = 3
SINGLE_RUNS = 30
CAPABILITIES = (
    "組立",
    "検品",
    "梱包",
    "封入・封緘",
    "シール貼り",
    "清掃",
    "農作業",
    "縫製",
    "金属加工",
    "データ入力",
    "印刷",
)
KINDS = (  # kind, share, wage range (yen/month/worker), workers, free hours
    ("B型", 0.60, (15_000, 25_000), (10, 40), (20, 300)),
    ("A型", 0.15, (80_000, 100_000), (10, 20), (60, 500)),
    ("生活介護", 0.10, (8_000, 15_000), (10, 30), (10, 120)),
    ("協力企業", 0.15, (200_000, 280_000), (5, 30), (80, 600)),
)


def workspace(seed: int = 2026, *, hub: bool = False) -> tuple[list[WorkPackage], list[Facility]]:
    rng = random.Random(seed)
    centre = (30.0, 30.0)  # the coordinator's office
    places: list[tuple[float, float]] = []
    facilities = []
    for fid in range(1, FACILITIES + 1):
        kind = rng.choices(KINDS, weights=[k[1] for k in KINDS])[0]
        x, y = rng.uniform(0, 60), rng.uniform(0, 60)
        places.append((x, y))
        caps = rng.sample(range(1, len(CAPABILITIES) + 1), rng.randint(2, 5))
        if kind[0] == "協力企業" and 9 not in caps:
            caps.append(9)  # metal working
        facilities.append(
            Facility(
                id=fid,
                name=f"{kind[0]}事業所{fid}",
                capabilities={c: rng.choice([1, 2, 2, 3]) for c in caps},
                max_difficulty=rng.choice([None, 1, 2, 2, 3]),
                pc_experience=rng.random() < 0.3,
                free_hours={MONTH: float(rng.randint(*kind[4]))},
                available=rng.random() < 0.92,
                distance_km=None if rng.random() < 0.03 else round(math.dist((x, y), centre), 1),
                avg_monthly_wage=rng.randint(*kind[2]),
                has_work=rng.random() < 0.6,
                quality=None if rng.random() < 0.3 else round(rng.uniform(0.55, 1.0), 2),
                workers=rng.randint(*kind[3]),
            )
        )
    packages = []
    for n in range(PACKAGES):
        caps = rng.sample(range(1, len(CAPABILITIES) + 1), rng.choice([1, 1, 2]))
        on_site = rng.random() < 0.15
        site = (rng.uniform(0, 60), rng.uniform(0, 60))
        ids = [f.id for f in facilities]
        packages.append(
            WorkPackage(
                id=f"order-{n:03d}/{MONTH}",
                month=MONTH,
                quantity=float(round(math.exp(rng.uniform(math.log(20), math.log(300))))),
                requirements=tuple(
                    Requirement(c, CAPABILITIES[c - 1], rng.choice([1, 1, 2])) for c in caps
                ),
                difficulty=rng.choice([None, None, 1, 1, 2, 3]),
                needs_pc=10 in caps or rng.random() < 0.05,
                on_site=on_site,
                max_distance_km=float(rng.choice([20, 30, 40])) if on_site else None,
                distances_km=None
                if hub and not on_site
                else {
                    fid: round(math.dist(place, site), 1)
                    for fid, place in zip(ids, places, strict=True)
                },
                excluded_by_buyer=frozenset(rng.sample(ids, 3))
                if rng.random() < 0.1
                else frozenset(),
                min_lot=float(rng.choice([0, 10, 10, 20, 20, 40])),
                rate_per_hour=float(rng.randint(300, 1_200)),
            )
        )
    # A few coordinator locks on capable facilities
    for n in rng.sample(range(PACKAGES), 10):
        p = packages[n]
        capable = [
            f.id
            for f in facilities
            if all(f.capabilities.get(r.capability_id, 0) >= 1 for r in p.requirements)
        ]
        if capable:
            lock = {rng.choice(capable): min(p.quantity, 20.0)}
            packages[n] = WorkPackage(**{**vars(p), "locked": lock})
    return packages, facilities


def gini(values: Sequence[float]) -> float:
    """0 = everyone gets the same, 1 = one facility gets everything."""
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if n == 0 or total == 0:
        return 0.0
    return sum((2 * i - n - 1) * v for i, v in enumerate(ordered, start=1)) / (n * total)


def describe(
    name: str, plan: Plan, packages: list[WorkPackage], facilities: list[Facility]
) -> None:
    available = [f for f in facilities if f.available]
    by_id = {p.id: p for p in packages}
    uplift = wage_uplift(plan, packages, available)
    working = [v for v in uplift.values() if v > 0]
    idle_ids = {f.id for f in facilities if not f.has_work}
    first = len({a.facility_id for a in plan.allocations} & idle_ids)
    b_type = {f.id for f in facilities if f.avg_monthly_wage <= 25_000}
    b_hours = sum(a.hours for a in plan.allocations if a.facility_id in b_type)
    hours = sum(a.hours for a in plan.allocations)
    print(f"  {name}")
    unmet_hours = sum(q * by_id[pid].hours_per_unit for pid, q in plan.unmet.items())
    placed_cost = plan.objective - Weights().unmet_penalty * unmet_hours
    print(f"    objective            {plan.objective:14,.1f}   status {plan.status}")
    print(f"    cost of placed work  {placed_cost:14,.1f}   (objective without unmet penalty)")
    print(f"    hours placed         {hours:14,.0f}   unmet {sum(plan.unmet.values()):,.0f}")
    print(f"    facilities with work {plan.facilities_used:14,d}   of which first work {first}")
    print(f"    hours to ≤¥25k wages {100 * b_hours / hours:13.1f}%")
    print(
        f"    wage uplift/worker   mean ¥{statistics.mean(working):,.0f} over {len(working)}, "
        f"Gini {gini(list(uplift.values())):.3f} (all available) / {gini(working):.3f} (with work)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also solve the unrestricted model")
    parser.add_argument("--hub", action="store_true", help="off-site distances to the hub")
    args = parser.parse_args()

    started = time.perf_counter()
    packages, facilities = workspace(hub=args.hub)
    print(
        f"Workspace: {len(facilities):,} facilities, {len(packages)} packages "
        f"({sum(p.quantity for p in packages):,.0f} h) in {MONTH}; "
        f"free capacity {sum(f.free_hours[MONTH] for f in facilities if f.available):,.0f} h; "
        f"built in {time.perf_counter() - started:.2f} s"
    )
    weights = Weights()
    options = SolveOptions()

    times, plan = [], None
    for _ in range(RUNS):
        plan = solve(packages, facilities, weights, options)
        times.append(plan.solve_seconds)
    assert plan is not None
    print(
        f"\nBatch solve (k = {options.candidates_per_package}), {RUNS} runs: "
        f"median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"
    )
    print(
        f"  status {plan.status}, proven optimal {plan.proven_optimal}, "
        f"MIP gap {100 * (plan.mip_gap or 0):.3f} % (restricted model), "
        f"gap to the full relaxation {100 * (plan.bound_gap or 0):.2f} %"
    )
    print(f"  model {dict(plan.model_size)}; eligible pairs left out {sum(plan.pruned.values()):,}")
    excluded = sum(len(e) for e in plan.exclusions.values())
    print(f"  exclusions recorded {excluded:,}; messages {len(plan.messages())}")

    single_times = []
    for p in packages[:SINGLE_RUNS]:
        single = propose_single(p, facilities, weights, options)
        single_times.append(single.solve_seconds)
    print(
        f"\nSingle-order proposal over {len(facilities):,} facilities, {SINGLE_RUNS} orders: "
        f"median {1000 * statistics.median(single_times):.0f} ms, "
        f"max {1000 * max(single_times):.0f} ms"
    )

    greedy_started = time.perf_counter()
    greedy = solve_greedy(packages, facilities, weights)
    greedy_time = time.perf_counter() - greedy_started
    print(f"\nQuality (same objective; lower is better), greedy took {greedy_time:.2f} s:")
    describe("MILP", plan, packages, facilities)
    describe("greedy (nearest first, fill up)", greedy, packages, facilities)

    if args.full:
        full = solve(
            packages,
            facilities,
            weights,
            SolveOptions(candidates_per_package=None, mip_rel_gap=1e-4, time_limit_s=600),
        )
        print(f"\nUnrestricted model: {full.solve_seconds:.1f} s, {dict(full.model_size)}")
        print(
            f"  status {full.status}, MIP gap {100 * (full.mip_gap or 0):.3f} %, objective "
            f"{full.objective:,.1f} vs restricted {plan.objective:,.1f} "
            f"({100 * (plan.objective - full.objective) / abs(full.objective):+.3f} %)"
        )

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak memory (max RSS of this process): {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
