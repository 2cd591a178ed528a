"""The billing page of a workspace (admin only) and Stripe's webhook endpoint.

Every billing route stays usable in a read-only workspace: that is where it is reactivated.
The webhook lives outside /t/: Stripe signs it, there is no session or CSRF token.
"""

from __future__ import annotations

import logging
from typing import Any

import click
import stripe
from flask import Blueprint, current_app, flash, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.billing import service
from app.billing.forms import (
    COLLECTION_LABELS,
    INVOICE_STATUS_LABELS,
    STATUS_LABELS,
    InvoiceDetailsForm,
    PlanForm,
)
from app.billing.gateway import InvoiceSummary, StripeUnavailable
from app.billing.guard import (
    billing_notice,
    current_standing,
    forget_standing,
    gateway,
    open_when_read_only,
    settings,
)
from app.billing.plans import PAID_PLANS, price_ids
from app.billing.rules import trial_days_left
from app.db import utcnow
from app.extensions import csrf, db
from app.web.htmx import redirect_303, render
from tenants.context import admin_view, tenant_blueprint
from tenants.models import Tenant

log = logging.getLogger(__name__)

bp = tenant_blueprint("billing", __name__, "/settings/billing")
webhooks = Blueprint("billing_webhooks", __name__, cli_group="billing")


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"billing_notice": billing_notice}


def _page() -> str:
    return url_for("billing.index")


def _stripe_trouble() -> Any:
    db.session.rollback()
    flash(_("Stripe could not be reached, so nothing was changed. Try again in a moment."), "error")
    return redirect_303(_page())


def _not_configured() -> Any:
    flash(_("Billing is not configured for this installation."), "info")
    return redirect_303(_page())


def _page_context(details_form: InvoiceDetailsForm | None = None) -> dict[str, Any]:
    current = current_standing()
    account = current.account
    invoices: list[InvoiceSummary] = []
    invoices_failed = False
    if account is not None and account.stripe_customer_id:
        try:
            invoices = gateway().invoices(account.stripe_customer_id)
        except StripeUnavailable:
            invoices_failed = True
    if details_form is None:
        details_form = (
            InvoiceDetailsForm(obj=account)
            if account is not None
            else InvoiceDetailsForm(data={"invoice_addressee": g.tenant.name})
        )
    return {
        "enabled": True,
        "standing": current,
        "account": account,
        "usage": service.facility_usage(db.session, current),
        "trial_days_left": trial_days_left(current.trial_ends_at, utcnow()),
        "plans": PAID_PLANS,
        "offered": price_ids(settings()),
        "invoices": invoices,
        "invoices_failed": invoices_failed,
        "details_form": details_form,
        "plan_form": PlanForm(),
        "status_labels": STATUS_LABELS,
        "collection_labels": COLLECTION_LABELS,
        "invoice_status_labels": INVOICE_STATUS_LABELS,
        "days_until_due": settings().invoice_days_until_due,
    }


@bp.get("")
@admin_view
def index() -> Any:
    if not settings().billing_enabled:
        return render("billing/index.html", enabled=False)
    return render("billing/index.html", **_page_context())


@bp.post("/details")
@open_when_read_only
@admin_view
def save_details() -> Any:
    if not settings().billing_enabled:
        return _not_configured()
    form = InvoiceDetailsForm()
    if not form.validate_on_submit():
        return render("billing/index.html", **_page_context(details_form=form)), 422
    try:
        service.save_invoice_details(
            db.session,
            g.tenant,
            settings(),
            gateway(),
            addressee=form.invoice_addressee.data or "",
            email=form.invoice_email.data or "",
            registration_number=form.registration_number.data or "",
        )
        db.session.commit()
    except StripeUnavailable:
        return _stripe_trouble()
    flash(_("Invoice details saved."), "success")
    return redirect_303(_page())


@bp.post("/checkout")
@open_when_read_only
@admin_view
def checkout() -> Any:
    if not settings().billing_enabled:
        return _not_configured()
    form = PlanForm()
    form.validate_on_submit()
    page = url_for("billing.index", _external=True)
    # Stripe fills in {CHECKOUT_SESSION_ID}; url_for would escape the braces.
    success = (
        url_for("billing.checkout_return", _external=True) + "?session_id={CHECKOUT_SESSION_ID}"
    )
    try:
        url = service.start_card_checkout(
            db.session,
            g.tenant,
            settings(),
            gateway(),
            plan_code=form.plan.data or "",
            success_url=success,
            cancel_url=page,
            now=utcnow(),
        )
        db.session.commit()  # the customer id is kept before Stripe's webhooks arrive
    except service.BillingRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_303(_page())
    except StripeUnavailable:
        return _stripe_trouble()
    return redirect_303(url)


@bp.get("/return")
@admin_view
def checkout_return() -> Any:
    """Stripe Checkout sends the admin back here: read the new subscription at once rather
    than wait for the webhook (both read the same state from Stripe)."""
    session_id = request.args.get("session_id", "")
    if not settings().billing_enabled or not session_id.startswith("cs_"):
        return redirect_303(_page())
    try:
        followed = service.sync_checkout(db.session, settings(), gateway(), session_id, utcnow())
        db.session.commit()
    except StripeUnavailable:
        return _stripe_trouble()
    if followed:
        flash(_("Thank you. The subscription is active."), "success")
    else:
        flash(
            _("Stripe is still processing the payment. This page updates when it is done."), "info"
        )
    return redirect_303(_page())


@bp.post("/invoice")
@open_when_read_only
@admin_view
def invoice() -> Any:
    if not settings().billing_enabled:
        return _not_configured()
    form = PlanForm()
    form.validate_on_submit()
    try:
        account = service.subscribe_by_invoice(
            db.session,
            g.tenant,
            settings(),
            gateway(),
            plan_code=form.plan.data or "",
            now=utcnow(),
        )
        db.session.commit()
    except service.BillingRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect_303(_page())
    except StripeUnavailable:
        return _stripe_trouble()
    flash(
        _(
            "The subscription has started. Stripe e-mails the invoice to %(email)s; it is paid "
            "by bank transfer within %(days)d days.",
            email=account.invoice_email,
            days=settings().invoice_days_until_due,
        ),
        "success",
    )
    return redirect_303(_page())


@bp.post("/portal")
@open_when_read_only
@admin_view
def portal() -> Any:
    if not settings().billing_enabled:
        return _not_configured()
    account = current_standing().account
    if account is None or account.stripe_customer_id is None:
        flash(_("Choose a plan first; the customer portal opens after that."), "info")
        return redirect_303(_page())
    try:
        url = gateway().portal_url(
            account.stripe_customer_id, url_for("billing.index", _external=True)
        )
    except StripeUnavailable:
        return _stripe_trouble()
    return redirect_303(url)


@bp.post("/refresh")
@open_when_read_only
@admin_view
def refresh() -> Any:
    if not settings().billing_enabled:
        return _not_configured()
    try:
        service.refresh(db.session, settings(), gateway(), utcnow())
        db.session.commit()
    except StripeUnavailable:
        return _stripe_trouble()
    forget_standing()
    flash(_("Billing state read again from Stripe."), "success")
    return redirect_303(_page())


# --- Stripe's webhook ----------------------------------------------------------------------


@webhooks.post("/billing/stripe/webhook")
@csrf.exempt
def stripe_webhook() -> Any:
    """Verify the signature on the raw body, then apply the event (see service.handle_event).

    2xx as soon as the event is applied or known; 400 for a bad signature (Stripe will not
    fix it by retrying); 503 when Stripe itself cannot be read (Stripe retries later).
    """
    config = settings()
    if not config.billing_enabled:
        return jsonify(error="billing is not configured"), 404
    payload = request.get_data()
    try:
        event = stripe.Webhook.construct_event(
            payload, request.headers.get("Stripe-Signature"), config.stripe_webhook_secret
        )
    except (ValueError, stripe.SignatureVerificationError) as exc:
        log.warning("stripe webhook refused: %s", exc)
        return jsonify(error="invalid signature or payload"), 400
    data = event.to_dict()
    try:
        outcome = service.handle_event(db.session, config, gateway(), data, utcnow())
    except StripeUnavailable:
        db.session.rollback()
        return jsonify(error="stripe unavailable, retry later"), 503
    log.info("stripe event %s (%s): %s", data.get("id"), data.get("type"), outcome)
    return jsonify(received=True, outcome=outcome)


# --- operators -----------------------------------------------------------------------------


@webhooks.cli.command("trial")
@click.argument("slug")
@click.option("--days", type=int, default=30, show_default=True, help="Days from now.")
def set_trial(slug: str, days: int) -> None:
    """Set a workspace's free trial to end DAYS from now (e.g. when turning billing on)."""
    from datetime import timedelta

    with db.new_session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise click.ClickException(f"no workspace {slug!r}")
        config = current_app.extensions["renkei_settings"]
        account = service.set_trial(session, tenant, config, utcnow() + timedelta(days=days))
        session.commit()
        click.echo(f"{slug}: free trial ends {account.trial_ends_at.isoformat()}")
