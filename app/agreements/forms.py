"""Agreement and action-plan forms, and the labels of their kinds and statuses."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from app.agreements import service
from app.agreements.models import ActionStatus, AgreementKind
from app.auth.forms import REQUIRED
from app.web.fields import (
    DateFieldJa,
    TextField,
    WholeNumberField,
    YenField,
    between,
    max_length,
    strip,
)

MAX_TEXT = 4000

KIND_LABELS = {
    AgreementKind.COMPREHENSIVE: _l("Comprehensive partnership agreement"),
    AgreementKind.OUTSOURCING: _l("Outsourcing contract"),
    AgreementKind.INDIVIDUAL: _l("Individual contract"),
}
ACTION_STATUS_LABELS = {
    ActionStatus.PLANNED: _l("Planned"),
    ActionStatus.IN_PROGRESS: _l("In progress"),
    ActionStatus.DONE: _l("Done"),
    ActionStatus.ON_HOLD: _l("On hold"),
}
REMOTE_FIRST_LABELS = {
    "": _l("Not decided"),
    "yes": _l("Yes: remote support first (video, photos, drawings), then on site"),
    "no": _l("No: on-site visit from the start"),
}
ONSITE_INCLUDED_LABELS = {
    "": _l("Not decided"),
    "yes": _l("Yes: engineers go to the buyer's site (free visits, then at the rate)"),
    "no": _l("No: on-site support is not part of this agreement"),
}


def text_area(label: Any, limit: int = MAX_TEXT, **kwargs: Any) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[max_length(limit)],
        filters=[strip],
        **kwargs,
    )


def optional_int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


class YesNoField(SelectField):
    """A yes / no / not decided select over a nullable boolean column."""

    def process_data(self, value: Any) -> None:
        self.data = "" if value in (None, "") else ("yes" if value in (True, "yes") else "no")


class AgreementForm(FlaskForm):
    """Buyer and goal choices are set by the view (the workspace's own)."""

    buyer_id = SelectField(
        _l("Buyer"),
        coerce=optional_int,
        validators=[DataRequired(message=_l("Choose a buyer."))],
        invalid_value_message=_l("Choose a buyer from the list."),
        invalid_choice_message=_l("Choose a buyer from the list."),
    )
    title = TextField(
        _l("Title"),
        validators=[DataRequired(message=REQUIRED), max_length(200)],
        description=_l("For example: 障害者就労支援に関する包括連携協定"),
    )
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        default=AgreementKind.COMPREHENSIVE.value,
        invalid_choice_message=_l("Choose a kind from the list."),
    )
    fields_of_collaboration = text_area(
        _l("Fields of collaboration"),
        description=_l("What both sides will do together, in concrete words."),
    )
    goal_ids = SelectMultipleField(
        _l("Goals of the comprehensive plan"),
        coerce=int,
        invalid_value_message=_l("Choose goals from the list."),
        invalid_choice_message=_l("Choose goals from the list."),
        description=_l("Linking to the plan (総合計画) makes the agreement part of policy."),
    )
    signed_on = DateFieldJa(_l("Signed on"), validators=[Optional()])
    starts_on = DateFieldJa(_l("Starts on"), validators=[Optional()])
    ends_on = DateFieldJa(_l("Ends on"), validators=[Optional()])
    renewal_on = DateFieldJa(
        _l("Renewal date"),
        validators=[Optional()],
        description=_l("When the renewal must be decided; a reminder appears before it."),
    )
    remind_days_before_renewal = WholeNumberField(
        _l("Remind days before renewal"),
        validators=[InputRequired(message=REQUIRED), between(0, 365)],
        default=60,
    )
    price_review_at_renewal = BooleanField(_l("Review the price at renewal"))
    remote_support_first = SelectField(
        _l("Remote support first"),
        choices=[SelectChoice(value, label) for value, label in REMOTE_FIRST_LABELS.items()],
        default="",
        invalid_choice_message=_l("Choose an answer from the list."),
    )
    onsite_support_included = YesNoField(
        _l("On-site support (engineer dispatch)"),
        choices=[SelectChoice(value, label) for value, label in ONSITE_INCLUDED_LABELS.items()],
        default="",
        invalid_choice_message=_l("Choose an answer from the list."),
    )
    free_onsite_visits_per_year = WholeNumberField(
        _l("Free on-site visits per year"),
        validators=[Optional(), between(0, 365)],
        description=_l("Engineer visits to the buyer's site included in the price (0 = none)."),
    )
    onsite_rate_yen = YenField(
        _l("Rate of a paid on-site visit (yen)"),
        validators=[Optional()],
        description=_l("Per visit, beyond the free ones."),
    )
    response_time_hours = WholeNumberField(
        _l("Response time (hours)"),
        validators=[Optional(), between(0, 8760)],
        description=_l("How soon a first answer to a problem is due."),
    )
    support_scope_notes = text_area(
        _l("What technical support covers"),
        description=_l("For example: defects of delivered work only, not the buyer's equipment."),
    )
    inspection_level = TextField(
        _l("Inspection level"),
        validators=[max_length(100)],
        description=_l("For example: 全数検査, 抜き取り検査 (AQL 1.0)"),
    )
    acceptance_criteria = text_area(_l("Acceptance criteria"))
    minimum_commitment_months = WholeNumberField(
        _l("Minimum commitment (months)"),
        validators=[Optional(), between(0, 120)],
        description=_l("Securing at least 6 months of continuation at order time is advised."),
    )
    forecast_deadline_day = WholeNumberField(
        _l("Monthly forecast deadline (day)"),
        validators=[Optional(), between(1, 28)],
        description=_l("Day of the month by which the buyer sends next month's forecast."),
    )
    notes = text_area(_l("Notes"))

    def set_choices(self, buyers: list[tuple[int, str]], goals: list[tuple[int, str]]) -> None:
        self.buyer_id.choices = [
            SelectChoice("", _l("Choose…")),
            *(SelectChoice(str(buyer_id), name) for buyer_id, name in buyers),
        ]
        self.goal_ids.choices = [SelectChoice(str(goal_id), label) for goal_id, label in goals]

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        problems = service.term_problems(
            self.starts_on.data, self.ends_on.data, self.renewal_on.data
        )
        for name, message in problems.items():
            field = getattr(self, name)
            if not field.errors:
                field.errors = [*field.errors, message]
                valid = False
        return valid

    def values(self) -> dict[str, Any]:
        """The agreement's columns, for the service (goal ids are separate)."""
        remote = self.remote_support_first.data
        onsite = self.onsite_support_included.data
        return {
            "buyer_id": self.buyer_id.data,
            "title": self.title.data,
            "kind": AgreementKind(self.kind.data),
            "fields_of_collaboration": self.fields_of_collaboration.data or "",
            "signed_on": self.signed_on.data,
            "starts_on": self.starts_on.data,
            "ends_on": self.ends_on.data,
            "renewal_on": self.renewal_on.data,
            "remind_days_before_renewal": self.remind_days_before_renewal.data,
            "price_review_at_renewal": bool(self.price_review_at_renewal.data),
            "remote_support_first": None if remote == "" else remote == "yes",
            "free_onsite_visits_per_year": self.free_onsite_visits_per_year.data,
            "onsite_rate_yen": self.onsite_rate_yen.data,
            "response_time_hours": self.response_time_hours.data,
            "onsite_support_included": None if onsite == "" else onsite == "yes",
            "support_scope_notes": self.support_scope_notes.data or "",
            "inspection_level": self.inspection_level.data or "",
            "acceptance_criteria": self.acceptance_criteria.data or "",
            "minimum_commitment_months": self.minimum_commitment_months.data,
            "forecast_deadline_day": self.forecast_deadline_day.data,
            "notes": self.notes.data or "",
        }

    def show_stored(self, agreement: Any, goal_ids: list[int]) -> None:
        """On GET, after ``AgreementForm(obj=agreement)``: the fields that are not columns."""
        remote = agreement.remote_support_first
        self.remote_support_first.data = "" if remote is None else ("yes" if remote else "no")
        self.goal_ids.data = goal_ids


class ActionItemForm(FlaskForm):
    """One item of the action plan. Used with a prefix (``new-`` / ``edit-``) on the page."""

    title = TextField(
        _l("Action item"), validators=[DataRequired(message=REQUIRED), max_length(200)]
    )
    owner = TextField(_l("Owner"), validators=[max_length(100)])
    due_on = DateFieldJa(_l("Due date"), validators=[Optional()])
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice(status.value, label) for status, label in ACTION_STATUS_LABELS.items()
        ],
        default=ActionStatus.PLANNED.value,
        invalid_choice_message=_l("Choose a status from the list."),
    )
    kpi = TextField(
        _l("KPI"),
        validators=[max_length(200)],
        description=_l("How progress is measured, e.g. 発注額 年200万円"),
    )
    progress = WholeNumberField(_l("Progress (%)"), validators=[Optional(), between(0, 100)])

    def values(self) -> dict[str, Any]:
        return {
            "title": self.title.data,
            "owner": self.owner.data or "",
            "due_on": self.due_on.data,
            "status": ActionStatus(self.status.data),
            "kpi": self.kpi.data or "",
            "progress": self.progress.data,
        }
