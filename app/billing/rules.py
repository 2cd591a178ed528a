"""Billing rules as pure functions of plain values: what a workspace may do in each state,
which Stripe subscription an account follows, registration numbers, trial dates.

No Flask, no session: tested with plain values (tests/billing/test_rules.py).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.billing.models import BillingStatus

# Stripe refuses a trial end less than 48 hours away; below that we charge at once.
MIN_STRIPE_TRIAL = timedelta(hours=48)
TRIAL_ENDING_SOON = timedelta(days=7)


class Access(enum.StrEnum):
    FULL = "full"  # everything works
    WARN = "warn"  # everything works, with a banner (payment late)
    READ_ONLY = "read_only"  # reading and export only; nothing is deleted


# A subscription in one of these is being paid for (or will be): the workspace follows it.
LIVE = frozenset({BillingStatus.TRIALING, BillingStatus.ACTIVE, BillingStatus.PAST_DUE})
# Never paid at all: the workspace falls back on its own trial.
NEVER_PAID = frozenset({BillingStatus.INCOMPLETE, BillingStatus.INCOMPLETE_EXPIRED})


def access_for(
    status: BillingStatus, has_subscription: bool, trial_ends_at: datetime, now: datetime
) -> Access:
    """trialing → active → past_due (banner, everything works) → canceled (read-only).

    Without a subscription (or with one whose first payment never went through) the
    workspace is on its free trial, and becomes read-only when the trial ends unpaid.
    """
    if not has_subscription or status in NEVER_PAID:
        return Access.FULL if now < trial_ends_at else Access.READ_ONLY
    if status in (BillingStatus.TRIALING, BillingStatus.ACTIVE):
        return Access.FULL
    if status == BillingStatus.PAST_DUE:
        return Access.WARN
    return Access.READ_ONLY  # canceled, unpaid, paused


def status_from_stripe(value: str | None) -> BillingStatus | None:
    try:
        return BillingStatus(value or "")
    except ValueError:
        return None


def should_follow(
    current_id: str | None,
    current_status: BillingStatus,
    current_created: datetime | None,
    candidate_id: str,
    candidate_status: BillingStatus,
    candidate_created: datetime,
) -> bool:
    """Whether the account should take its state from the candidate subscription.

    Its own subscription: always (that is how it learns of changes). Another one (after a
    reactivation, or a late event about an old subscription): only a live one, and only
    over a current one that is not live or is older. A late event about a canceled old
    subscription therefore never overwrites the new one.
    """
    if current_id is None or current_id == candidate_id:
        return True
    if candidate_status not in LIVE:
        return False
    if current_status not in LIVE:
        return True
    return current_created is None or candidate_created >= current_created


def stripe_trial_end(trial_ends_at: datetime, now: datetime) -> int | None:
    """The trial_end to give Stripe when subscribing during the free trial (the first
    charge waits for the trial's end), or None when too little of it is left."""
    if trial_ends_at - now < MIN_STRIPE_TRIAL:
        return None
    return int(trial_ends_at.timestamp())


def trial_days_left(trial_ends_at: datetime, now: datetime) -> int:
    """Whole days left, rounded up: 1 on the last day, 0 once it has ended."""
    left = trial_ends_at - now
    if left <= timedelta(0):
        return 0
    return left.days + (1 if left % timedelta(days=1) else 0)


def trial_ending_soon(trial_ends_at: datetime, now: datetime) -> bool:
    return timedelta(0) < trial_ends_at - now <= TRIAL_ENDING_SOON


# --- 適格請求書発行事業者登録番号 -----------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-‐−ー]")
_REGISTRATION = re.compile(r"T[0-9]{13}")


def normalise_registration_number(value: str | None) -> str:
    """Full-width, lower case, spaces and hyphens as people type them → ``T`` + 13 digits."""
    text = unicodedata.normalize("NFKC", value or "").upper()
    return _SEPARATORS.sub("", text)


def check_digit(base: str) -> int:
    """The check digit (the first digit) of a 13-digit corporate number from its other 12:
    9 − (Σ digit × weight mod 9), weights 1, 2, 1, 2… counted from the last digit."""
    total = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(reversed(base)))
    return 9 - total % 9


def registration_number_problem(value: str) -> str | None:
    """Why a normalised registration number is not valid ("format" | "check_digit"), or None."""
    if not _REGISTRATION.fullmatch(value):
        return "format"
    digits = value[1:]
    if int(digits[0]) != check_digit(digits[1:]):
        return "check_digit"
    return None


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int | None

    @property
    def room(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    def allows(self, adding: int) -> bool:
        return self.limit is None or self.used + adding <= self.limit
