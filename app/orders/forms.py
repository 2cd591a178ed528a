"""Order forms: new order, edit, status, delivery lots and one month's forecast and actual."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.auth.forms import REQUIRED
from app.orders.models import DeliveryStatus, OrderStatus
from app.orders.service import MAX_SCHEDULE_MONTHS, schedule_problem
from app.web.fields import DateFieldJa, WholeNumberField, YenField, nfkc, strip

STATUS_LABELS = {
    OrderStatus.CONFIRMED: _l("Order confirmed"),
    OrderStatus.IN_PROGRESS: _l("Work in progress"),
    OrderStatus.DELIVERED: _l("Delivered"),
    OrderStatus.CLOSED: _l("Completed"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}
DELIVERY_STATUS_LABELS = {
    DeliveryStatus.PLANNED: _l("Planned"),
    DeliveryStatus.IN_PRODUCTION: _l("In production"),
    DeliveryStatus.DELIVERED: _l("Delivered"),
    DeliveryStatus.ACCEPTED: _l("Accepted on inspection"),
    DeliveryStatus.REJECTED: _l("Sent back"),
}


def check_choice(field: SelectField, message: Any) -> None:
    """Select fields validate against the choices the view gave them, with our message."""
    allowed = {str(choice.value) for choice in field.choices or []}
    if str(field.data or "") not in allowed:
        raise ValidationError(message)


class ScheduleMixin:
    starts_on = DateFieldJa(_l("Start date"), validators=[Optional()])
    ends_on = DateFieldJa(_l("End date"), validators=[Optional()])

    def validate_ends_on(self, field: DateFieldJa) -> None:
        problem = schedule_problem(self.starts_on.data, field.data)
        if problem == "order":
            raise ValidationError(_l("The end date must be on or after the start date."))
        if problem == "length":
            raise ValidationError(
                _l("A schedule can span at most %(n)d months.", n=MAX_SCHEDULE_MONTHS)
            )


TITLE_VALIDATORS = [DataRequired(message=REQUIRED), Length(max=200)]
NOTES_VALIDATORS = [Length(max=4000)]


class OrderForm(ScheduleMixin, FlaskForm):
    """A new order without a deal. The view fills the buyer choices."""

    buyer_id = SelectField(_l("Buyer company"), choices=[], validate_choice=False)
    title = StringField(_l("Title"), validators=TITLE_VALIDATORS, filters=[strip])
    confirmed_on = DateFieldJa(_l("Order confirmed on"), validators=[InputRequired(REQUIRED)])
    notes = TextAreaField(_l("Notes"), validators=NOTES_VALIDATORS, filters=[strip])

    def validate_buyer_id(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError(_l("Choose a buyer company."))
        check_choice(field, _l("Choose a buyer company."))


class OrderEditForm(ScheduleMixin, FlaskForm):
    title = StringField(_l("Title"), validators=TITLE_VALIDATORS, filters=[strip])
    agreement_id = SelectField(_l("Agreement"), choices=[], validate_choice=False)
    notes = TextAreaField(_l("Notes"), validators=NOTES_VALIDATORS, filters=[strip])

    def validate_agreement_id(self, field: SelectField) -> None:
        check_choice(field, _l("Choose one of the buyer's agreements."))


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[], validate_choice=False)

    def validate_status(self, field: SelectField) -> None:
        check_choice(field, _l("Choose one of the listed statuses."))


def status_choices(statuses: Any) -> list[SelectChoice]:
    return [SelectChoice(s.value, STATUS_LABELS[s]) for s in statuses]


class DeliveryForm(FlaskForm):
    lot_no = StringField(
        _l("Lot no."),
        validators=[DataRequired(message=REQUIRED), Length(max=40)],
        filters=[nfkc],
    )
    quantity = WholeNumberField(
        _l("Quantity"),
        validators=[
            InputRequired(REQUIRED),
            NumberRange(min=0, message=_l("Cannot be negative.")),
        ],
    )
    due_on = DateFieldJa(_l("Due date"), validators=[InputRequired(REQUIRED)])


class DeliveryEditForm(DeliveryForm):
    delivered_on = DateFieldJa(_l("Delivered on"), validators=[Optional()])
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(s.value, label) for s, label in DELIVERY_STATUS_LABELS.items()],
        validate_choice=False,
    )

    def validate_status(self, field: SelectField) -> None:
        check_choice(field, _l("Choose one of the listed statuses."))


class MonthForm(FlaskForm):
    """One month of the monthly table: the buyer's forecast and the amount placed."""

    month = HiddenField(validators=[InputRequired(REQUIRED)])
    forecast = YenField(_l("Forecast (yen)"), validators=[Optional()])
    actual = YenField(_l("Actual (yen)"), validators=[Optional()])

    def validate_month(self, field: HiddenField) -> None:
        if self.month_date() is None:
            raise ValidationError(_l("Choose a month of this order."))

    def month_date(self) -> date | None:
        try:
            month = date.fromisoformat(str(self.month.data or "") + "-01")
        except ValueError:
            return None
        return month
