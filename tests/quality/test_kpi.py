"""Quality KPI arithmetic and the matching score, with plain numbers."""

from __future__ import annotations

from typing import Any

import pytest

from app.quality import kpi
from app.quality.kpi import QualityCounts, quality_score


def test_rates():
    assert kpi.defect_rate(5, 100) == 0.05
    assert kpi.first_pass_yield(90, 100) == 0.9
    assert kpi.on_time_rate(9, 10) == 0.9
    assert kpi.defect_rate(0, 0) is None
    assert kpi.on_time_rate(0, 0) is None


def test_score_by_the_documented_formula():
    counts = QualityCounts(
        inspected=100, passed=90, reworked=5, failed=5, lots_due=10, lots_on_time=9
    )
    fpy = (90 + 10) / 120
    good = (95 + 10) / 120
    on_time = (9 + 2) / 14
    expected = 0.4 * fpy + 0.3 * good + 0.3 * on_time
    assert quality_score(counts) == pytest.approx(expected)
    with_critical = QualityCounts(**{**counts.__dict__, "nonconformances": {"critical": 1}})
    assert quality_score(with_critical) == pytest.approx(expected - 0.20)


def test_no_history_is_none_and_thin_history_stays_near_the_neutral_prior():
    assert quality_score(QualityCounts()) is None
    perfect_but_tiny = quality_score(
        QualityCounts(inspected=5, passed=5, lots_due=1, lots_on_time=1)
    )
    proven = quality_score(
        QualityCounts(inspected=2000, passed=1990, failed=10, lots_due=40, lots_on_time=39)
    )
    assert perfect_but_tiny is not None and proven is not None
    assert 0.5 < perfect_but_tiny < proven
    # A nonconformance alone is history.
    assert quality_score(QualityCounts(nonconformances={"minor": 1})) == pytest.approx(0.49)


def test_worse_records_score_lower_and_scores_stay_within_bounds():
    def score(**counts: Any) -> float:
        value = quality_score(QualityCounts(inspected=200, lots_due=10, **counts))
        assert value is not None
        return value

    good = score(passed=200, lots_on_time=10)
    reworked = score(passed=180, reworked=20, lots_on_time=10)
    failed = score(passed=180, failed=20, lots_on_time=10)
    late = score(passed=200, lots_on_time=2)
    assert good > reworked > failed
    assert good > late
    assert score(failed=200, nonconformances={"critical": 10, "major": 5}) == 0.0
    assert good <= 1.0


def test_penalty_is_capped():
    assert kpi.penalty({"critical": 2, "major": 1, "minor": 3}) == pytest.approx(0.48)
    assert kpi.penalty({"critical": 30}) == kpi.MAX_PENALTY
    assert kpi.penalty(None) == 0


def test_inconsistent_counts_are_refused():
    with pytest.raises(ValueError):
        QualityCounts(inspected=10, passed=8, failed=3)
    with pytest.raises(ValueError):
        QualityCounts(lots_due=1, lots_on_time=2)
    with pytest.raises(ValueError):
        QualityCounts(inspected=-1)
