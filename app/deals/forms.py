"""Deal forms: the deal itself and a stage move from the board or the detail page."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.auth.forms import REQUIRED
from app.deals.models import Deal, DealStage, PricingBasis
from app.deals.service import (
    MAX_MONTHS,
    MAX_YEN,
    PIPELINE,
    PRICING_LABELS,
    STAGE_LABELS,
    DealData,
    compute_amount,
)
from app.web.fields import YenField, nfkc, parse_whole_number, strip

ONE_OFF = "one_off"
RECURRING = "recurring"
INVALID_CHOICE = _l("Choose one of the options.")
INVALID_DATE = _l("Enter a date as YYYY-MM-DD.")


def optional_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def choices(rows: Iterable[tuple[Any, Any]], empty: Any = None) -> list[SelectChoice]:
    """Select options from (value, label) rows, after an optional empty option."""
    options = [SelectChoice("", empty)] if empty is not None else []
    return options + [SelectChoice(str(value), label) for value, label in rows]


def preview_amount(monthly: str, months: str) -> int | None:
    """The recurring amount while the form is being typed, or None if not computable yet."""
    try:
        monthly_yen = parse_whole_number(monthly)
        month_count = int(nfkc(months))
    except ValueError:
        return None
    if monthly_yen is None or not 0 <= monthly_yen <= MAX_YEN or not 0 < month_count <= MAX_MONTHS:
        return None
    return compute_amount(True, None, monthly_yen, month_count)


# YenField refuses negative amounts itself; a deal's amount also has the pipeline's ceiling.
AMOUNT_RANGE = NumberRange(
    min=0, max=MAX_YEN, message=_l("Enter an amount between 0 and 2,000,000,000 yen.")
)
YEN_INPUT = {"autocomplete": "off"}


class DealForm(FlaskForm):
    buyer_id = SelectField(
        _l("Buyer company"),
        coerce=optional_int,
        validators=[DataRequired(message=_l("Choose the buyer company."))],
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )
    title = StringField(
        _l("Title"),
        validators=[DataRequired(message=REQUIRED), Length(max=200)],
        filters=[strip],
        description=_l("What the work is, e.g. 部品の組立・検品."),
    )
    description = TextAreaField(_l("Description"), filters=[strip])
    stage = SelectField(
        _l("Stage"),
        choices=[SelectChoice(stage.value, STAGE_LABELS[stage]) for stage in PIPELINE],
        default=DealStage.LEAD.value,
        invalid_choice_message=INVALID_CHOICE,
    )
    recurrence = RadioField(
        _l("One-off or recurring"),
        choices=[
            SelectChoice(ONE_OFF, _l("One-off")),
            SelectChoice(RECURRING, _l("Recurring (monthly)")),
        ],
        default=ONE_OFF,
        invalid_choice_message=INVALID_CHOICE,
    )
    amount = YenField(
        _l("Amount (yen)"),
        validators=[Optional(), AMOUNT_RANGE],
        render_kw=YEN_INPUT,
        description=_l("For a one-off deal: the whole amount."),
    )
    monthly_amount = YenField(
        _l("Monthly amount (yen)"),
        validators=[Optional(), AMOUNT_RANGE],
        render_kw=YEN_INPUT,
        description=_l("For a recurring deal."),
    )
    expected_months = IntegerField(
        _l("Expected months"),
        validators=[
            Optional(),
            NumberRange(
                min=1, max=MAX_MONTHS, message=_l("Enter a number of months from 1 to 120.")
            ),
        ],
        invalid_value_message=_l("Enter a whole number of months."),
        description=_l("For a recurring deal: the amount is the monthly amount × these months."),
    )
    difficulty_level = SelectField(
        _l("Difficulty level"),
        coerce=optional_int,
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )
    capability_ids = SelectMultipleField(
        _l("Required capabilities"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )
    volume = StringField(
        _l("Volume"),
        validators=[Length(max=100)],
        filters=[strip],
        description=_l("e.g. 5,000 pieces a month"),
    )
    pricing_basis = SelectField(
        _l("Pricing basis"),
        choices=[
            SelectChoice("", _l("Not decided")),
            *(SelectChoice(basis.value, label) for basis, label in PRICING_LABELS.items()),
        ],
        invalid_choice_message=INVALID_CHOICE,
    )
    owner_id = SelectField(
        _l("Owner"),
        coerce=optional_int,
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
    )
    next_action = StringField(_l("Next action"), validators=[Length(max=200)], filters=[strip])
    next_action_on = DateField(
        _l("Next action date"), validators=[Optional()], invalid_value_message=INVALID_DATE
    )
    opened_on = DateField(
        _l("Opened on"),
        validators=[DataRequired(message=REQUIRED)],
        invalid_value_message=INVALID_DATE,
        description=_l("When the buyer entered the pipeline (decides the fiscal year)."),
    )
    lost_reason_id = SelectField(
        _l("Lost reason"),
        coerce=optional_int,
        invalid_value_message=INVALID_CHOICE,
        invalid_choice_message=INVALID_CHOICE,
        description=_l("Required when the deal is lost."),
    )
    lost_comment = TextAreaField(_l("Comment on the loss"), filters=[strip])

    def set_choices(
        self,
        *,
        buyers: Iterable[tuple[int, str]],
        owners: Iterable[tuple[int, str]],
        capabilities: Iterable[tuple[int, str]],
        difficulty_levels: Iterable[tuple[int, str]],
        lost_reasons: Iterable[tuple[int, str]],
    ) -> None:
        self.buyer_id.choices = choices(buyers, empty=_l("Choose…"))
        self.owner_id.choices = choices(owners, empty=_l("Nobody yet"))
        self.capability_ids.choices = choices(capabilities)
        self.difficulty_level.choices = choices(difficulty_levels, empty=_l("Not decided"))
        self.lost_reason_id.choices = choices(lost_reasons, empty=_l("Choose…"))

    @property
    def is_recurring(self) -> bool:
        return self.recurrence.data == RECURRING

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        required: list[Any] = []
        if self.is_recurring:
            required += [self.monthly_amount, self.expected_months]
        elif self.recurrence.data == ONE_OFF:
            required.append(self.amount)
        if self.stage.data == DealStage.LOST.value:
            required.append(self.lost_reason_id)
        for form_field in required:
            if form_field.data is None and not form_field.errors:
                form_field.errors = [*form_field.errors, REQUIRED]
                valid = False
        if (
            self.is_recurring
            and not self.monthly_amount.errors
            and not self.expected_months.errors
            and (self.monthly_amount.data or 0) * (self.expected_months.data or 0) > MAX_YEN
        ):
            self.monthly_amount.errors = [
                *self.monthly_amount.errors,
                _l("Monthly amount × months must not exceed 2,000,000,000 yen."),
            ]
            valid = False
        return valid

    def to_data(self) -> DealData:
        return DealData(
            buyer_id=self.buyer_id.data,
            title=self.title.data or "",
            description=self.description.data or "",
            stage=DealStage(self.stage.data),
            recurring=self.is_recurring,
            amount=self.amount.data,
            monthly_amount=self.monthly_amount.data,
            expected_months=self.expected_months.data,
            difficulty_level=self.difficulty_level.data,
            capability_ids=list(self.capability_ids.data or []),
            volume=self.volume.data or "",
            pricing_basis=PricingBasis(self.pricing_basis.data)
            if self.pricing_basis.data
            else None,
            owner_id=self.owner_id.data,
            next_action=self.next_action.data or "",
            next_action_on=self.next_action_on.data,
            opened_on=self.opened_on.data,
            lost_reason_id=self.lost_reason_id.data
            if self.stage.data == DealStage.LOST.value
            else None,
            lost_comment=(self.lost_comment.data or "")
            if self.stage.data == DealStage.LOST.value
            else "",
        )


def new_deal_data(today: date, owner_id: int | None, stage: str | None = None) -> dict[str, Any]:
    """Initial values of the new-deal form."""
    return {
        "opened_on": today,
        "owner_id": owner_id,
        "stage": stage or DealStage.LEAD.value,
        "recurrence": ONE_OFF,
    }


def deal_form_data(deal: Deal, capability_ids: list[int]) -> dict[str, Any]:
    """The edit form's initial values from a stored deal."""
    return {
        "buyer_id": deal.buyer_id,
        "title": deal.title,
        "description": deal.description,
        "stage": deal.stage.value,
        "recurrence": RECURRING if deal.recurring else ONE_OFF,
        "amount": None if deal.recurring else deal.amount,
        "monthly_amount": deal.monthly_amount,
        "expected_months": deal.expected_months,
        "difficulty_level": deal.difficulty_level,
        "capability_ids": capability_ids,
        "volume": deal.volume,
        "pricing_basis": deal.pricing_basis.value if deal.pricing_basis else "",
        "owner_id": deal.owner_id,
        "next_action": deal.next_action,
        "next_action_on": deal.next_action_on,
        "opened_on": deal.opened_on,
        "lost_reason_id": deal.lost_reason_id,
        "lost_comment": deal.lost_comment,
    }


class MoveForm(FlaskForm):
    """Move a deal to another stage: the board's and the detail page's small forms."""

    stage = SelectField(
        _l("Stage"),
        choices=[SelectChoice(stage.value, STAGE_LABELS[stage]) for stage in PIPELINE],
        validators=[DataRequired(message=INVALID_CHOICE)],
        invalid_choice_message=INVALID_CHOICE,
    )
    next = StringField()
