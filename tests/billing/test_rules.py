"""The billing rules with plain values: access in every state, which subscription an account
follows, trial dates, registration numbers, plans, and reading Stripe's objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.billing import rules
from app.billing.gateway import SubscriptionState, invoice_subscription_id
from app.billing.models import BillingStatus
from app.billing.plans import MUNICIPAL, PAID_PLANS, PLANS, PREFECTURE, plan_for_price, price_ids
from app.billing.rules import Access
from app.config import Settings

NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=10)
EARLIER = NOW - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("status", "subscribed", "trial_ends_at", "expected"),
    [
        # our own trial, no subscription
        (BillingStatus.TRIALING, False, LATER, Access.FULL),
        (BillingStatus.TRIALING, False, EARLIER, Access.READ_ONLY),
        (BillingStatus.TRIALING, False, NOW, Access.READ_ONLY),  # ends at that instant
        # paying (or Stripe's own trial)
        (BillingStatus.TRIALING, True, EARLIER, Access.FULL),
        (BillingStatus.ACTIVE, True, EARLIER, Access.FULL),
        (BillingStatus.PAST_DUE, True, EARLIER, Access.WARN),
        # ended: read-only whatever the trial says
        (BillingStatus.CANCELED, True, LATER, Access.READ_ONLY),
        (BillingStatus.UNPAID, True, LATER, Access.READ_ONLY),
        (BillingStatus.PAUSED, True, LATER, Access.READ_ONLY),
        # never paid: back on the free trial's terms
        (BillingStatus.INCOMPLETE, True, LATER, Access.FULL),
        (BillingStatus.INCOMPLETE, True, EARLIER, Access.READ_ONLY),
        (BillingStatus.INCOMPLETE_EXPIRED, True, LATER, Access.FULL),
        (BillingStatus.INCOMPLETE_EXPIRED, True, EARLIER, Access.READ_ONLY),
    ],
)
def test_access_in_every_state(status, subscribed, trial_ends_at, expected):
    assert rules.access_for(status, subscribed, trial_ends_at, NOW) == expected


def test_every_status_has_an_access_rule():
    for status in BillingStatus:
        assert rules.access_for(status, True, LATER, NOW) in set(Access)


def test_stripe_statuses_are_read_and_unknown_ones_refused():
    assert rules.status_from_stripe("past_due") == BillingStatus.PAST_DUE
    assert rules.status_from_stripe("something_new") is None
    assert rules.status_from_stripe(None) is None


OLD, NEW = NOW - timedelta(days=400), NOW


@pytest.mark.parametrize(
    ("current", "candidate", "follows"),
    [
        # no subscription yet: take any
        ((None, BillingStatus.TRIALING, None), ("sub_a", BillingStatus.CANCELED, OLD), True),
        # its own subscription, whatever the news
        ((("sub_a"), BillingStatus.ACTIVE, OLD), ("sub_a", BillingStatus.CANCELED, OLD), True),
        # after reactivation, news of the old canceled one is ignored
        (("sub_b", BillingStatus.ACTIVE, NEW), ("sub_a", BillingStatus.CANCELED, OLD), False),
        (("sub_b", BillingStatus.ACTIVE, NEW), ("sub_a", BillingStatus.PAST_DUE, OLD), False),
        # a new live subscription replaces an ended one
        (("sub_a", BillingStatus.CANCELED, OLD), ("sub_b", BillingStatus.ACTIVE, NEW), True),
        (("sub_a", BillingStatus.CANCELED, NEW), ("sub_b", BillingStatus.ACTIVE, OLD), True),
        # an ended one never replaces another
        (("sub_a", BillingStatus.CANCELED, OLD), ("sub_b", BillingStatus.CANCELED, NEW), False),
        (("sub_a", BillingStatus.CANCELED, OLD), ("sub_b", BillingStatus.UNPAID, NEW), False),
        # two live ones: the newer wins
        (("sub_a", BillingStatus.ACTIVE, OLD), ("sub_b", BillingStatus.TRIALING, NEW), True),
    ],
)
def test_which_subscription_an_account_follows(current, candidate, follows):
    assert rules.should_follow(*current, *candidate) is follows


def test_trial_end_given_to_stripe_only_when_enough_is_left():
    assert rules.stripe_trial_end(NOW + timedelta(days=20), NOW) == int(
        (NOW + timedelta(days=20)).timestamp()
    )
    assert rules.stripe_trial_end(NOW + timedelta(hours=48), NOW) == int(
        (NOW + timedelta(hours=48)).timestamp()
    )
    assert rules.stripe_trial_end(NOW + timedelta(hours=47), NOW) is None
    assert rules.stripe_trial_end(NOW - timedelta(days=1), NOW) is None


def test_trial_days_left_round_up_and_stop_at_zero():
    assert rules.trial_days_left(NOW + timedelta(days=30), NOW) == 30
    assert rules.trial_days_left(NOW + timedelta(days=2, seconds=1), NOW) == 3
    assert rules.trial_days_left(NOW + timedelta(minutes=5), NOW) == 1
    assert rules.trial_days_left(NOW, NOW) == 0
    assert rules.trial_days_left(NOW - timedelta(days=3), NOW) == 0
    assert rules.trial_ending_soon(NOW + timedelta(days=7), NOW)
    assert not rules.trial_ending_soon(NOW + timedelta(days=8), NOW)
    assert not rules.trial_ending_soon(NOW - timedelta(days=1), NOW)


# --- registration numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["T8000020130001", "t8000020130001", "Ｔ８０００－０２０１－３０００１", " T 8000-0201-30001 "],
)
def test_registration_numbers_are_normalised_as_people_type_them(typed):
    number = rules.normalise_registration_number(typed)
    assert number == "T8000020130001"
    assert rules.registration_number_problem(number) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("8000020130001", "format"),  # the corporate number alone, no T
        ("T800002013000", "format"),  # 12 digits
        ("T80000201300011", "format"),  # 14 digits
        ("TX000020130001", "format"),
        ("T7000020130001", "check_digit"),
        ("T8000020130002", "check_digit"),
    ],
)
def test_registration_number_problems(value, problem):
    assert rules.registration_number_problem(value) == problem


def test_check_digit_against_published_corporate_numbers():
    # 東京都 8000020130001, 国税庁 7000012050002 (published corporate numbers).
    assert rules.check_digit("000020130001") == 8
    assert rules.check_digit("000012050002") == 7


# --- plans -----------------------------------------------------------------------------------


def test_plans_are_data_with_limits():
    assert set(PLANS) == {"trial", "municipal", "prefecture"}
    assert PLANS["trial"].max_facilities == PREFECTURE.max_facilities  # the full product
    assert MUNICIPAL.max_facilities is not None
    assert PREFECTURE.max_facilities is not None
    assert MUNICIPAL.max_facilities < PREFECTURE.max_facilities
    assert all(plan.paid and plan.yearly_price_yen > 0 for plan in PAID_PLANS)


def test_prices_come_from_settings_and_map_back_to_plans():
    settings = Settings(stripe_price_municipal="price_m", stripe_price_prefecture="")
    assert price_ids(settings) == {"municipal": "price_m"}
    assert plan_for_price(settings, "price_m") is MUNICIPAL
    assert plan_for_price(settings, "price_other") is None
    assert plan_for_price(settings, None) is None


def test_usage_against_a_limit():
    assert rules.Usage(149, 150).allows(1)
    assert not rules.Usage(150, 150).allows(1)
    assert not rules.Usage(140, 150).allows(11)
    assert rules.Usage(10_000, None).allows(500)
    assert rules.Usage(160, 150).room == 0


# --- Stripe's objects, as the current API version shapes them -----------------------------------


def test_subscription_state_reads_the_period_from_its_items():
    state = SubscriptionState.from_stripe(
        {
            "id": "sub_1",
            "customer": {"id": "cus_1", "object": "customer"},
            "status": "active",
            "created": 1_700_000_000,
            "cancel_at_period_end": True,
            "collection_method": "send_invoice",
            "items": {
                "data": [
                    {"price": {"id": "price_m"}, "current_period_end": 1_731_536_000},
                ]
            },
        }
    )
    assert state.customer_id == "cus_1"
    assert state.price_id == "price_m"
    assert state.current_period_end == datetime.fromtimestamp(1_731_536_000, UTC)
    assert state.cancel_at_period_end
    assert state.trial_end is None


def test_invoice_subscription_from_parent_or_older_field():
    assert (
        invoice_subscription_id({"parent": {"subscription_details": {"subscription": "sub_new"}}})
        == "sub_new"
    )
    assert invoice_subscription_id({"subscription": "sub_old"}) == "sub_old"
    assert invoice_subscription_id({"parent": None}) is None


# --- settings ----------------------------------------------------------------------------------


def test_billing_is_off_by_default_and_needs_both_keys(tmp_path):
    base = {"SECRET_KEY": "x", "RENKEI_INSTANCE_PATH": str(tmp_path)}
    assert not Settings.from_env(base).billing_enabled
    both = Settings.from_env(
        base
        | {
            "STRIPE_SECRET_KEY": "sk_live_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
            "STRIPE_PRICE_MUNICIPAL": "price_m",
            "INVOICE_DAYS_UNTIL_DUE": "14",
        }
    )
    assert both.billing_enabled
    assert price_ids(both) == {"municipal": "price_m"}
    assert both.invoice_days_until_due == 14
    assert both.stripe_api_base == ""  # Stripe's own unless a test says otherwise
    for only_one in ({"STRIPE_SECRET_KEY": "sk_x"}, {"STRIPE_WEBHOOK_SECRET": "whsec_x"}):
        with pytest.raises(RuntimeError, match="both"):
            Settings.from_env(base | only_one)
