"""The agreement rules as pure functions of plain values: no app, no database."""

from __future__ import annotations

from datetime import date

import pytest

from app.agreements.models import ActionStatus
from app.agreements.service import (
    RenewalState,
    action_overdue,
    days_until,
    is_vague,
    plan_summary,
    progress_for,
    reminder_starts_on,
    renewal_state,
    short_commitment,
    term_problems,
)

RENEWAL = date(2027, 3, 31)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2027, 1, 29), None),  # 61 days before: not yet
        (date(2027, 1, 30), RenewalState.UPCOMING),  # renewal − 60 days: the first day
        (date(2027, 3, 30), RenewalState.UPCOMING),
        (RENEWAL, RenewalState.UPCOMING),  # the day itself
        (date(2027, 4, 1), RenewalState.OVERDUE),  # passed and nobody moved it
    ],
)
def test_reminder_shows_from_renewal_minus_reminder_days(today, expected):
    assert renewal_state(RENEWAL, 60, today) == expected
    assert (renewal_state(RENEWAL, 60, today) is not None) == (
        today >= reminder_starts_on(RENEWAL, 60)
    )


def test_reminder_edge_cases():
    assert reminder_starts_on(RENEWAL, 60) == date(2027, 1, 30)
    assert reminder_starts_on(None, 60) is None
    assert renewal_state(None, 60, RENEWAL) is None
    # Zero days: only on the day itself.
    assert renewal_state(RENEWAL, 0, date(2027, 3, 30)) is None
    assert renewal_state(RENEWAL, 0, RENEWAL) == RenewalState.UPCOMING
    # Archived agreements never remind.
    assert renewal_state(RENEWAL, 60, RENEWAL, archived=True) is None
    assert renewal_state(RENEWAL, 60, date(2028, 1, 1), archived=True) is None
    # A negative figure cannot push the reminder past the renewal date.
    assert renewal_state(RENEWAL, -5, RENEWAL) == RenewalState.UPCOMING


def test_days_until():
    assert days_until(RENEWAL, date(2027, 3, 1)) == 30
    assert days_until(RENEWAL, date(2027, 4, 2)) == -2
    assert days_until(None, RENEWAL) is None


@pytest.mark.parametrize(
    ("items", "scope", "vague"),
    [(0, False, True), (0, True, False), (1, False, False), (3, True, False)],
)
def test_vague_means_no_action_plan_and_no_scope(items, scope, vague):
    assert is_vague(items, scope) is vague


def test_short_commitment_is_below_six_months():
    assert short_commitment(None) is False
    assert short_commitment(0) is True
    assert short_commitment(5) is True
    assert short_commitment(6) is False
    assert short_commitment(24) is False


def test_term_problems():
    start, end = date(2026, 4, 1), date(2027, 3, 31)
    assert term_problems(start, end, date(2027, 3, 1)) == {}
    assert term_problems(start, start, start) == {}  # one-day term
    assert term_problems(None, None, None) == {}
    assert set(term_problems(end, start, None)) == {"ends_on"}
    assert set(term_problems(start, end, date(2027, 4, 1))) == {"renewal_on"}
    assert set(term_problems(start, None, date(2026, 3, 31))) == {"renewal_on"}
    assert set(term_problems(None, end, date(2027, 4, 1))) == {"renewal_on"}
    # The reversed term is the problem to fix first; the renewal date is judged after.
    assert set(term_problems(end, start, date(2030, 1, 1))) == {"ends_on"}


def test_progress_of_an_action():
    assert progress_for(ActionStatus.DONE, 40) == 100
    assert progress_for(ActionStatus.DONE, None) == 100
    assert progress_for(ActionStatus.IN_PROGRESS, 40) == 40
    assert progress_for(ActionStatus.PLANNED, None) == 0
    assert progress_for(ActionStatus.ON_HOLD, 70) == 70


def test_overdue_actions_and_summary():
    today = date(2026, 6, 1)
    assert action_overdue(date(2026, 5, 31), ActionStatus.IN_PROGRESS, today)
    assert not action_overdue(date(2026, 5, 31), ActionStatus.DONE, today)
    assert not action_overdue(today, ActionStatus.PLANNED, today)
    assert not action_overdue(None, ActionStatus.PLANNED, today)
    summary = plan_summary(
        [
            (ActionStatus.DONE, 100, date(2026, 5, 1)),
            (ActionStatus.IN_PROGRESS, 50, date(2026, 5, 1)),
            (ActionStatus.PLANNED, 0, None),
        ],
        today,
    )
    assert (summary.total, summary.done, summary.overdue, summary.average_progress) == (
        3,
        1,
        1,
        50,
    )
    assert plan_summary([], today).average_progress is None
