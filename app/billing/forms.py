"""Billing forms: the details printed on invoices, and the plan to subscribe to."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField
from wtforms.validators import Email, Length, Optional, ValidationError

from app.auth.forms import normalise_email
from app.billing.rules import normalise_registration_number, registration_number_problem
from app.web.fields import TextField, max_length, nfkc

STATUS_LABELS = {
    "trialing": _l("Free trial"),
    "active": _l("Active"),
    "past_due": _l("Payment overdue"),
    "unpaid": _l("Unpaid (read-only)"),
    "canceled": _l("Ended (read-only)"),
    "incomplete": _l("Awaiting the first payment"),
    "incomplete_expired": _l("First payment not made"),
    "paused": _l("Paused (read-only)"),
}
COLLECTION_LABELS = {
    "charge_automatically": _l("Card (Stripe Checkout)"),
    "send_invoice": _l("Invoice and bank transfer (請求書払い)"),
}
INVOICE_STATUS_LABELS = {
    "draft": _l("Draft"),
    "open": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "uncollectible": _l("Uncollectible"),
    "void": _l("Void"),
}


class InvoiceDetailsForm(FlaskForm):
    invoice_addressee = TextField(
        _l("Invoice addressee (宛名)"),
        validators=[Optional(), max_length(200)],
        filters=[nfkc],
        description=_l("Printed on invoices, e.g. 〇〇市 産業振興課 御中."),
    )
    invoice_email = EmailField(
        _l("E-mail address for invoices"),
        validators=[
            Optional(),
            Length(max=254),
            Email(message=_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
        filters=[normalise_email],
        description=_l("Invoices for payment by bank transfer are sent here."),
    )
    registration_number = StringField(
        _l("Qualified invoice registration number (登録番号)"),
        validators=[Optional()],
        filters=[normalise_registration_number],
        description=_l("Optional: T followed by 13 digits, e.g. T8000020130001."),
    )

    def validate_registration_number(self, field: StringField) -> None:
        problem = registration_number_problem(field.data or "")
        if problem == "format":
            raise ValidationError(_l("Enter T followed by 13 digits, e.g. T8000020130001."))
        if problem == "check_digit":
            raise ValidationError(
                _l("This number's check digit does not match. Check the number for typos.")
            )


class PlanForm(FlaskForm):
    """The plan's code; the service refuses codes that are not offered."""

    plan = HiddenField()
