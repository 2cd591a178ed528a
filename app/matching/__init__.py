"""Matching: who takes which work.  The pure engine lives in :mod:`app.matching.engine`
(model and solver), with a greedy baseline in :mod:`app.matching.greedy`."""

from app.matching.engine import (
    REASON_ORDER,
    Allocation,
    Facility,
    LockWarning,
    Message,
    Plan,
    PlanStatus,
    Reason,
    Requirement,
    Score,
    Shortage,
    ShortageCause,
    SolveOptions,
    Weights,
    WorkPackage,
    propose_single,
    solve,
    wage_uplift,
)
from app.matching.greedy import solve_greedy

__all__ = [
    "REASON_ORDER",
    "Allocation",
    "Facility",
    "LockWarning",
    "Message",
    "Plan",
    "PlanStatus",
    "Reason",
    "Requirement",
    "Score",
    "Shortage",
    "ShortageCause",
    "SolveOptions",
    "Weights",
    "WorkPackage",
    "propose_single",
    "solve",
    "solve_greedy",
    "wage_uplift",
]
