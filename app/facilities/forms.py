"""Facility forms: the profile, a capability with its proficiency, a fiscal year's wage."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Optional,
    ValidationError,
)

from app.auth.forms import REQUIRED
from app.catalogs.forms import name_field
from app.catalogs.models import Capability, DifficultyLevel
from app.facilities.models import FacilityKind, FacilityStatus
from app.facilities.service import PROFICIENCY_LEVELS, PROFILE_FIELDS
from app.jp import fiscal_year_label
from app.web.fields import (
    DateFieldJa,
    DecimalNumberField,
    WholeNumberField,
    between,
    fold,
    max_length,
    strip,
)
from tenants.prefectures import PREFECTURES

KIND_LABELS = {
    FacilityKind.TYPE_A: _l("Employment support, type A"),
    FacilityKind.TYPE_B: _l("Employment support, type B"),
    FacilityKind.LIFE_CARE: _l("Daily-life care"),
    FacilityKind.MANUFACTURER: _l("Partner company"),
    FacilityKind.OTHER: _l("Other"),
}
STATUS_LABELS = {
    FacilityStatus.PARTICIPATING: _l("Participating"),
    FacilityStatus.PAUSED: _l("Paused"),
    FacilityStatus.LEFT: _l("Left the program"),
}
PROFICIENCY_LABELS = {
    1: _l("1 Basic"),
    2: _l("2 Skilled"),
    3: _l("3 Expert"),
}

POSTAL_CODE = re.compile(r"^([0-9]{3})-?([0-9]{4})$")
PHONE = re.compile(r"^\+?[0-9()\- ]{6,30}$")
NOT_A_CHOICE = _l("Choose one of the options.")
EARLIEST_DATE = date(1950, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def optional_int(value: Any) -> int | None:
    if value is None or value in ("", "None"):
        return None
    return int(value)


def choice_list(labels: dict[Any, Any]) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels.items()]


class FacilityForm(FlaskForm):
    name = name_field(_l("Facility name"), 120)
    kind = SelectField(
        _l("Facility kind"),
        choices=choice_list(KIND_LABELS),
        invalid_choice_message=NOT_A_CHOICE,
    )
    status = SelectField(
        _l("Participation"),
        choices=choice_list(STATUS_LABELS),
        default=FacilityStatus.PARTICIPATING.value,
        invalid_choice_message=NOT_A_CHOICE,
    )
    postal_code = StringField(
        _l("Postal code"),
        filters=[fold],
        validators=[Optional()],
        description=_l("For example: 420-0853"),
    )
    prefecture_code = SelectField(
        _l("Prefecture"),
        choices=[
            SelectChoice("", _l("Choose…")),
            *(SelectChoice(code, name) for code, name in PREFECTURES.items()),
        ],
        default="",
        invalid_choice_message=NOT_A_CHOICE,
    )
    municipality = StringField(_l("Municipality"), filters=[strip], validators=[max_length(60)])
    address = StringField(
        _l("Address"),
        filters=[strip],
        validators=[max_length(200)],
        description=_l("After the municipality: district, block, building."),
    )
    latitude = DecimalNumberField(
        _l("Latitude"),
        validators=[Optional(), between(-90, 90)],
        description=_l("Decimal degrees, e.g. 34.9756. Leave both blank if unknown."),
    )
    longitude = DecimalNumberField(
        _l("Longitude"),
        validators=[Optional(), between(-180, 180)],
        description=_l("Decimal degrees, e.g. 138.3828."),
    )
    contact_name = StringField(_l("Contact person"), filters=[strip], validators=[max_length(100)])
    contact_phone = StringField(
        _l("Phone"), filters=[fold], validators=[Optional(), max_length(30)]
    )
    contact_email = StringField(
        _l("Contact e-mail address"),
        filters=[strip],
        validators=[
            Optional(),
            max_length(254),
            Email(message=_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    equipment = TextAreaField(
        _l("Equipment"),
        filters=[strip],
        validators=[max_length(4000)],
        description=_l("Machines, tools and measuring instruments the facility can use."),
    )
    certifications = TextAreaField(
        _l("Certifications"),
        filters=[strip],
        validators=[max_length(4000)],
    )
    max_difficulty = SelectField(
        _l("Highest difficulty level it takes"),
        coerce=optional_int,
        validate_choice=False,
        description=_l("From this workspace's difficulty scale (see the catalogues)."),
    )
    workers = WholeNumberField(
        _l("Workers"),
        validators=[Optional(), between(0, 10_000)],
        description=_l("People who can take on joint-order work."),
    )
    hours_per_month = WholeNumberField(
        _l("Work hours per month"),
        validators=[Optional(), between(0, 1_000_000)],
        description=_l("Total hours a month the facility can give to joint-order work."),
    )
    pc_experience = BooleanField(_l("Has experience with PC work"))
    participating_since = DateFieldJa(_l("Participating since"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[max_length(4000)])

    def validate_postal_code(self, field: StringField) -> None:
        match = POSTAL_CODE.match(field.data or "")
        if match is None:
            raise ValidationError(_l("Enter a postal code like 420-0853."))
        field.data = f"{match.group(1)}-{match.group(2)}"

    def validate_contact_phone(self, field: StringField) -> None:
        if not PHONE.match(field.data or ""):
            raise ValidationError(_l("Enter a phone number with digits and hyphens."))

    def validate_participating_since(self, field: DateFieldJa) -> None:
        if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
            raise ValidationError(
                _l(
                    "Enter a date from %(min)s to %(max)s.",
                    min=EARLIEST_DATE.isoformat(),
                    max=LATEST_DATE.isoformat(),
                )
            )

    def profile(self) -> dict[str, Any]:
        """The values for ``service.create_facility`` / ``update_facility``."""
        return {name: self[name].data for name in PROFILE_FIELDS}


def facility_form(levels: Sequence[DifficultyLevel], **kwargs: Any) -> FacilityForm:
    form = FacilityForm(**kwargs)
    form.max_difficulty.choices = [
        SelectChoice("", _l("Not assessed yet")),
        *(SelectChoice(str(level.level), f"{level.level} {level.name}") for level in levels),
    ]
    return form


class CapabilityAssignForm(FlaskForm):
    capability_id = SelectField(
        _l("Process"),
        coerce=optional_int,
        validate_choice=False,
        validators=[DataRequired(message=_l("Choose a process."))],
    )
    proficiency = SelectField(
        _l("Proficiency"),
        coerce=int,
        choices=[SelectChoice(str(n), PROFICIENCY_LABELS[n]) for n in PROFICIENCY_LEVELS],
        default="1",
        invalid_choice_message=NOT_A_CHOICE,
    )


def capability_choices(capabilities: Sequence[Capability]) -> list[SelectChoice]:
    return [
        SelectChoice("", _l("Choose…")),
        *(SelectChoice(str(c.id), c.name) for c in capabilities),
    ]


def capability_form(capabilities: Sequence[Capability], **kwargs: Any) -> CapabilityAssignForm:
    """``capabilities``: the processes offered in the select (the ones not held yet). Any
    process of the workspace is accepted: the rows' proficiency buttons post held ones."""
    form = CapabilityAssignForm(**kwargs)
    form.capability_id.choices = capability_choices(capabilities)
    return form


class WageForm(FlaskForm):
    fiscal_year = SelectField(_l("Fiscal year"), coerce=int, invalid_choice_message=NOT_A_CHOICE)
    avg_monthly_wage = WholeNumberField(
        _l("Average monthly wage per worker (yen)"),
        validators=[InputRequired(message=REQUIRED), between(0, 10_000_000)],
    )
    workers = WholeNumberField(
        _l("Workers paid that year"), validators=[Optional(), between(0, 10_000)]
    )


def wage_form(fiscal_years: Sequence[int], **kwargs: Any) -> WageForm:
    form = WageForm(**kwargs)
    form.fiscal_year.choices = [
        SelectChoice(str(fy), f"{fiscal_year_label(fy)} ({fy})") for fy in fiscal_years
    ]
    return form
