"""The plans, kept as data: what each costs, which limits apply, which Stripe price bills it.

Prices here are what the billing page shows; Stripe's price (configured by environment
variable, one per plan) is what is charged, so keep the two in step when prices change.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from tenants.models import TenantKind


@dataclass(frozen=True)
class Plan:
    code: str
    name: object  # a lazy string
    description: object
    yearly_price_yen: int  # excluding consumption tax
    max_facilities: int | None  # None: no limit
    storage_mb: int | None
    price_setting: str | None  # Settings field holding the plan's Stripe price id
    suited_to: frozenset[TenantKind] = frozenset()

    @property
    def paid(self) -> bool:
        return self.price_setting is not None


TRIAL = Plan(
    code="trial",
    name=_l("Free trial"),
    description=_l("Every feature for 30 days, no payment details needed."),
    yearly_price_yen=0,
    max_facilities=500,
    storage_mb=20_000,
    price_setting=None,
)
MUNICIPAL = Plan(
    code="municipal",
    name=_l("Municipal plan"),
    description=_l("For a city, town or village running its own joint-order program."),
    yearly_price_yen=360_000,
    max_facilities=150,
    storage_mb=5_000,
    price_setting="stripe_price_municipal",
    suited_to=frozenset({TenantKind.MUNICIPALITY}),
)
PREFECTURE = Plan(
    code="prefecture",
    name=_l("Prefecture / support center plan"),
    description=_l("For a prefecture or support center coordinating many facilities."),
    yearly_price_yen=960_000,
    max_facilities=500,
    storage_mb=20_000,
    price_setting="stripe_price_prefecture",
    suited_to=frozenset({TenantKind.PREFECTURE, TenantKind.SUPPORT_CENTER}),
)

PLANS: dict[str, Plan] = {plan.code: plan for plan in (TRIAL, MUNICIPAL, PREFECTURE)}
PAID_PLANS = tuple(plan for plan in PLANS.values() if plan.paid)


def plan_named(code: str | None) -> Plan | None:
    return PLANS.get(code or "")


def price_ids(settings: object) -> dict[str, str]:
    """Plan code → the Stripe price id configured for it (plans without one are left out)."""
    found: dict[str, str] = {}
    for plan in PAID_PLANS:
        price = str(getattr(settings, plan.price_setting or "", "") or "")
        if price:
            found[plan.code] = price
    return found


def plan_for_price(settings: object, price_id: str | None) -> Plan | None:
    for code, price in price_ids(settings).items():
        if price == price_id:
            return PLANS[code]
    return None
