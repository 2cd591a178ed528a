"""Service scope of technical support requests, decided before anything is promised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.quality import scope
from app.quality.models import ScopeVerdict
from app.quality.scope import ServiceScope, evaluate

FULL = ServiceScope(
    remote_first=True, onsite_included=True, free_visits_per_year=2, onsite_rate_yen=30_000,
    response_hours=24,
)  # fmt: skip


def test_without_agreement_or_terms_nothing_is_in_scope():
    decision = evaluate(None, onsite=False, remote_tried=False, free_visits_used=0)
    assert decision.verdict == ScopeVerdict.NO_TERMS and decision.flagged
    assert decision.reasons == (scope.NO_AGREEMENT,)
    empty = evaluate(ServiceScope(), onsite=True, remote_tried=True, free_visits_used=0)
    assert empty.verdict == ScopeVerdict.NO_TERMS
    assert empty.reasons == (scope.NO_SUPPORT_TERMS,)


def test_remote_support_is_in_scope():
    decision = evaluate(FULL, onsite=False, remote_tried=False, free_visits_used=5)
    assert decision.verdict == ScopeVerdict.IN_SCOPE and not decision.flagged
    assert not decision.uses_free_visit


def test_remote_first_blocks_a_visit_until_remote_was_tried():
    blocked = evaluate(FULL, onsite=True, remote_tried=False, free_visits_used=0)
    assert blocked.verdict == ScopeVerdict.OUT_OF_SCOPE
    assert scope.REMOTE_FIRST in blocked.reasons
    allowed = evaluate(FULL, onsite=True, remote_tried=True, free_visits_used=0)
    assert allowed.verdict == ScopeVerdict.IN_SCOPE
    assert allowed.uses_free_visit and allowed.free_visits_left == 2 and allowed.fee_yen == 0


def test_free_visits_then_the_paid_rate_then_nothing():
    last_free = evaluate(FULL, onsite=True, remote_tried=True, free_visits_used=1)
    assert last_free.verdict == ScopeVerdict.IN_SCOPE and last_free.free_visits_left == 1
    paid = evaluate(FULL, onsite=True, remote_tried=True, free_visits_used=2)
    assert paid.verdict == ScopeVerdict.PAID and paid.flagged
    assert paid.fee_yen == 30_000 and not paid.uses_free_visit
    assert paid.reasons == (scope.NO_FREE_VISITS_LEFT, scope.PAID_VISIT)
    no_rate = ServiceScope(onsite_included=True, free_visits_per_year=1)
    out = evaluate(no_rate, onsite=True, remote_tried=True, free_visits_used=1)
    assert out.verdict == ScopeVerdict.OUT_OF_SCOPE
    assert out.reasons == (scope.NO_FREE_VISITS_LEFT, scope.NO_ONSITE_TERMS)


def test_excluded_onsite_support_is_out_of_scope_whatever_else():
    excluded = ServiceScope(onsite_included=False, free_visits_per_year=5, onsite_rate_yen=1)
    decision = evaluate(excluded, onsite=True, remote_tried=True, free_visits_used=0)
    assert decision.verdict == ScopeVerdict.OUT_OF_SCOPE
    assert decision.reasons == (scope.ONSITE_EXCLUDED,)


def test_response_deadline():
    asked = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    due = scope.response_due(asked, FULL)
    assert due == asked + timedelta(hours=24)
    assert scope.response_due(asked, ServiceScope(remote_first=True)) is None
    assert scope.response_overdue(due, None, due + timedelta(minutes=1))
    assert not scope.response_overdue(due, asked, due + timedelta(days=3))
    assert not scope.response_overdue(None, None, due)
    with pytest.raises(ValueError):
        evaluate(FULL, onsite=True, remote_tried=True, free_visits_used=-1)
