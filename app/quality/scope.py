"""Is a technical support request inside the agreement's service scope? Pure.

The seed report's conflict — "sending an engineer is outside the contract" said after the
buyer was promised one — comes from scope decided too late. ``evaluate`` decides it before
anything is promised, from the agreement's terms and the free visits already used this
fiscal year:

- no agreement, or an agreement without support terms → ``no_terms`` (flagged);
- remote support (video, photos, drawings) → in scope;
- on site: excluded by the agreement → ``out_of_scope``; remote first and remote not yet
  tried → ``out_of_scope`` until it has been; a free visit left this fiscal year → in scope
  (and uses it); otherwise the agreed rate → ``paid`` (flagged: the buyer must agree to the
  fee); no rate either → ``out_of_scope``.

Every verdict but ``in_scope`` must be confirmed, with a note, before it is promised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.quality.models import ScopeVerdict

# Reasons, in the order they are shown.
NO_AGREEMENT = "no_agreement"
NO_SUPPORT_TERMS = "no_support_terms"
REMOTE = "remote"
ONSITE_EXCLUDED = "onsite_excluded"
REMOTE_FIRST = "remote_first"
FREE_VISIT = "free_visit"
NO_FREE_VISITS_LEFT = "no_free_visits_left"
PAID_VISIT = "paid_visit"
NO_ONSITE_TERMS = "no_onsite_terms"


@dataclass(frozen=True)
class ServiceScope:
    """The support terms of one agreement (None: the agreement does not say)."""

    remote_first: bool | None = None
    onsite_included: bool | None = None
    free_visits_per_year: int | None = None
    onsite_rate_yen: int | None = None
    response_hours: int | None = None
    notes: str = ""

    @classmethod
    def of(cls, agreement: Any) -> ServiceScope | None:
        """The scope of an ``Agreement`` row, or None without an agreement."""
        if agreement is None:
            return None
        return cls(
            remote_first=agreement.remote_support_first,
            onsite_included=agreement.onsite_support_included,
            free_visits_per_year=agreement.free_onsite_visits_per_year,
            onsite_rate_yen=agreement.onsite_rate_yen,
            response_hours=agreement.response_time_hours,
            notes=agreement.support_scope_notes or "",
        )

    @property
    def has_terms(self) -> bool:
        return any(
            value is not None
            for value in (
                self.remote_first,
                self.onsite_included,
                self.free_visits_per_year,
                self.onsite_rate_yen,
                self.response_hours,
            )
        ) or bool(self.notes.strip())


@dataclass(frozen=True)
class ScopeDecision:
    verdict: ScopeVerdict
    reasons: tuple[str, ...]
    free_visits_left: int | None = None  # None: the agreement sets no free visits
    fee_yen: int | None = None
    uses_free_visit: bool = False

    @property
    def flagged(self) -> bool:
        """Outside the plain scope: must be confirmed with a note before it is promised."""
        return self.verdict != ScopeVerdict.IN_SCOPE


def free_visits_left(scope: ServiceScope, used: int) -> int | None:
    if scope.free_visits_per_year is None:
        return None
    return max(0, scope.free_visits_per_year - used)


def evaluate(  # noqa: PLR0911  (one return per verdict reads best)
    scope: ServiceScope | None, *, onsite: bool, remote_tried: bool, free_visits_used: int
) -> ScopeDecision:
    """The verdict for one request (see the module's docstring)."""
    if free_visits_used < 0:
        raise ValueError("free visits used cannot be negative")
    if scope is None:
        return ScopeDecision(ScopeVerdict.NO_TERMS, (NO_AGREEMENT,))
    left = free_visits_left(scope, free_visits_used)
    if not scope.has_terms:
        return ScopeDecision(ScopeVerdict.NO_TERMS, (NO_SUPPORT_TERMS,), left)
    if not onsite:
        return ScopeDecision(ScopeVerdict.IN_SCOPE, (REMOTE,), left)
    if scope.onsite_included is False:
        return ScopeDecision(ScopeVerdict.OUT_OF_SCOPE, (ONSITE_EXCLUDED,), left)
    blockers = (REMOTE_FIRST,) if scope.remote_first and not remote_tried else ()
    if left:
        verdict = ScopeVerdict.OUT_OF_SCOPE if blockers else ScopeVerdict.IN_SCOPE
        return ScopeDecision(verdict, (*blockers, FREE_VISIT), left, 0, uses_free_visit=True)
    used_up = (NO_FREE_VISITS_LEFT,) if scope.free_visits_per_year else ()
    if scope.onsite_rate_yen is not None:
        verdict = ScopeVerdict.OUT_OF_SCOPE if blockers else ScopeVerdict.PAID
        return ScopeDecision(
            verdict, (*blockers, *used_up, PAID_VISIT), left, scope.onsite_rate_yen
        )
    return ScopeDecision(ScopeVerdict.OUT_OF_SCOPE, (*blockers, *used_up, NO_ONSITE_TERMS), left)


def response_due(requested_at: datetime, scope: ServiceScope | None) -> datetime | None:
    """When the first answer is due under the agreement (None: no response time agreed)."""
    if scope is None or scope.response_hours is None:
        return None
    return requested_at + timedelta(hours=scope.response_hours)


def response_overdue(
    due_at: datetime | None, first_response_at: datetime | None, now: datetime
) -> bool:
    return due_at is not None and first_response_at is None and now > due_at
