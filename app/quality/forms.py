"""Quality forms. Choices of facilities, lots, versions and orders are filled by the views
from the request's workspace; a value that is not among them is refused with a message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from app.auth.forms import REQUIRED
from app.quality.models import (
    ActionKind,
    InspectionMethod,
    InspectionResult,
    InspectionStage,
    ItemKind,
    ManualKind,
    NonconformanceSource,
    NonconformanceStatus,
    SamplingMode,
    ScopeVerdict,
    Severity,
    SupportMode,
    SupportStatus,
)
from app.quality.sampling import AQL_VALUES, LEVELS
from app.web.fields import (
    DateFieldJa,
    DecimalNumberField,
    TextField,
    WholeNumberField,
    at_least,
    between,
    max_length,
    number_text,
    strip,
)

MAX_TEXT = 4000
# What the file pickers offer; the server decides by content, whatever the browser sends.
PHOTO_TYPES = "image/jpeg,image/png,image/webp"
FILE_TYPES = PHOTO_TYPES + ",application/pdf"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

SAMPLING_LABELS = {
    SamplingMode.ISO2859: _l("Sampling (ISO 2859-1, normal inspection)"),
    SamplingMode.FULL: _l("Full inspection (every item)"),
}
ITEM_KIND_LABELS = {
    ItemKind.CHECK: _l("Checklist item"),
    ItemKind.MEASURE: _l("Measurement"),
}
STAGE_LABELS = {
    InspectionStage.SELF: _l("Self-inspection by the facility"),
    InspectionStage.CENTRAL: _l("Central quality check"),
}
METHOD_LABELS = {
    InspectionMethod.ON_SITE: _l("On site"),
    InspectionMethod.REMOTE_PHOTO: _l("Remote, from photos"),
}
RESULT_LABELS = {
    InspectionResult.PENDING: _l("Verdict pending"),
    InspectionResult.ACCEPTED: _l("Accepted"),
    InspectionResult.PARTIAL: _l("Partly accepted"),
    InspectionResult.REJECTED: _l("Rejected"),
}
SEVERITY_LABELS = {
    Severity.CRITICAL: _l("Critical"),
    Severity.MAJOR: _l("Major"),
    Severity.MINOR: _l("Minor"),
}
SOURCE_LABELS = {
    NonconformanceSource.INTERNAL: _l("Found internally"),
    NonconformanceSource.BUYER: _l("Reported by the buyer"),
}
NC_STATUS_LABELS = {
    NonconformanceStatus.OPEN: _l("Reported"),
    NonconformanceStatus.INVESTIGATING: _l("Investigating the cause"),
    NonconformanceStatus.ACTING: _l("Taking action"),
    NonconformanceStatus.VERIFYING: _l("Verifying the effect"),
    NonconformanceStatus.CLOSED: _l("Closed"),
}
ACTION_KIND_LABELS = {
    ActionKind.CORRECTIVE: _l("Corrective action"),
    ActionKind.PREVENTIVE: _l("Preventive action"),
}
MODE_LABELS = {
    SupportMode.REMOTE: _l("Remote (video, photos, drawings)"),
    SupportMode.ONSITE: _l("On site (engineer dispatch)"),
}
SUPPORT_STATUS_LABELS = {
    SupportStatus.OPEN: _l("Received"),
    SupportStatus.PROMISED: _l("Promised"),
    SupportStatus.DONE: _l("Done"),
    SupportStatus.DECLINED: _l("Declined"),
}
VERDICT_LABELS = {
    ScopeVerdict.IN_SCOPE: _l("Within the agreed scope"),
    ScopeVerdict.PAID: _l("Paid visit"),
    ScopeVerdict.OUT_OF_SCOPE: _l("Outside the agreed scope"),
    ScopeVerdict.NO_TERMS: _l("No service scope agreed"),
}
MANUAL_KIND_LABELS = {
    ManualKind.MANUAL: _l("Work manual"),
    ManualKind.REGULATION: _l("Regulation"),
    ManualKind.FAQ: _l("FAQ"),
}


def choices(labels: dict[Any, Any]) -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in labels.items()]


def text_area(label: Any, required: bool = False, **kwargs: Any) -> TextAreaField:
    validators: list[Any] = [Length(max=MAX_TEXT, message=_l("Use at most %(max)d characters."))]
    if required:
        validators.insert(0, DataRequired(message=REQUIRED))
    return TextAreaField(label, validators=validators, filters=[strip], **kwargs)


class ChoiceField(SelectField):
    """A select whose choices the view sets; anything else gets ``message``."""

    def __init__(self, label: Any, message: Any, optional: bool = False, **kwargs: Any) -> None:
        super().__init__(label, choices=[], validate_choice=False, **kwargs)
        self.message = message
        self.optional = optional

    def pre_validate(self, form: Any) -> None:
        value = str(self.data or "")
        if value == "" and self.optional:
            return
        allowed = {str(choice.value) for choice in self.choices or []} - {""}
        if value not in allowed:
            raise ValidationError(self.message)

    @property
    def id_or_none(self) -> int | None:
        return int(self.data) if str(self.data or "").isdigit() else None


def enum_field(label: Any, labels: dict[Any, Any], default: Any) -> SelectField:
    return SelectField(
        label,
        choices=choices(labels),
        default=default.value,
        validate_choice=True,
        invalid_choice_message=_l("Choose from the list."),
    )


# --- plans ------------------------------------------------------------------------------------


class PlanForm(FlaskForm):
    sampling_mode = enum_field(_l("Inspection"), SAMPLING_LABELS, SamplingMode.ISO2859)
    inspection_level = SelectField(
        _l("Inspection level"),
        choices=[SelectChoice(level, level) for level in LEVELS],
        default="II",
        invalid_choice_message=_l("Choose from the list."),
        description=_l("General inspection level; II is the usual one."),
    )
    aql = SelectField(
        _l("AQL"),
        choices=[SelectChoice(value, value) for value in AQL_VALUES],
        default="1.0",
        invalid_choice_message=_l("Choose an AQL from the list."),
        description=_l("Acceptance quality limit, in percent nonconforming."),
    )
    notes = text_area(_l("Notes and acceptance criteria"))


class ItemForm(FlaskForm):
    kind = enum_field(_l("Kind"), ITEM_KIND_LABELS, ItemKind.CHECK)
    name = TextField(_l("Item"), validators=[DataRequired(message=REQUIRED), max_length(120)])
    criteria = text_area(_l("What to check and how"))
    unit = TextField(_l("Unit"), validators=[max_length(20)])
    nominal = DecimalNumberField(_l("Nominal value"), validators=[Optional()])
    tolerance_minus = DecimalNumberField(_l("Tolerance below (−)"), validators=[Optional()])
    tolerance_plus = DecimalNumberField(_l("Tolerance above (+)"), validators=[Optional()])


# --- lots -------------------------------------------------------------------------------------


class LotWorkForm(FlaskForm):
    facility_id = ChoiceField(_l("Facility"), _l("Choose a facility from the list."))
    quantity = WholeNumberField(
        _l("Quantity made"), validators=[InputRequired(message=REQUIRED), between(0, 10_000_000)]
    )
    lead_person = TextField(
        _l("Person in charge"), validators=[DataRequired(message=REQUIRED), max_length(100)]
    )
    workers = WholeNumberField(_l("Workers"), validators=[Optional(), between(0, 10_000)])
    started_on = DateFieldJa(_l("Started on"), validators=[Optional()])
    finished_on = DateFieldJa(_l("Finished on"), validators=[Optional()])
    manual_version_id = ChoiceField(
        _l("Manual version used"), _l("Choose a version from the list."), optional=True
    )
    notes = text_area(_l("Notes"))


def parse_values(text: str) -> list[float]:
    """Measured values typed one after another: "10.02 10.01, 9.98" (full-width digits too).

    ValueError carries the first piece that is not a plain decimal number.
    """
    values = []
    for piece in text.replace("、", " ").replace(",", " ").split():
        cleaned = number_text(piece)
        if not _DECIMAL.fullmatch(cleaned):
            raise ValueError(piece)
        values.append(float(cleaned))
    return values


class InspectionForm(FlaskForm):
    """An inspection; the view adds one field per inspection item (``item_<id>``)."""

    facility_id = ChoiceField(_l("Facility"), _l("Choose a facility from the list."))
    stage = enum_field(_l("Inspection stage"), STAGE_LABELS, InspectionStage.CENTRAL)
    method = enum_field(_l("Method"), METHOD_LABELS, InspectionMethod.ON_SITE)
    inspector = TextField(
        _l("Inspector"), validators=[DataRequired(message=REQUIRED), max_length(100)]
    )
    inspected_on = DateFieldJa(_l("Inspected on"), validators=[InputRequired(message=REQUIRED)])
    quantity = WholeNumberField(
        _l("Quantity inspected from"),
        validators=[InputRequired(message=REQUIRED), at_least(0)],
        description=_l("Items of this facility's share presented for inspection."),
    )
    sample_size = WholeNumberField(
        _l("Sample size"), validators=[InputRequired(message=REQUIRED), at_least(0)]
    )
    passed = WholeNumberField(
        _l("Passed"), validators=[InputRequired(message=REQUIRED), at_least(0)]
    )
    reworked = WholeNumberField(
        _l("Reworked"),
        validators=[InputRequired(message=REQUIRED), at_least(0)],
        default=0,
        description=_l("Found nonconforming, fixed and passed on a second check."),
    )
    failed = WholeNumberField(
        _l("Failed"), validators=[InputRequired(message=REQUIRED), at_least(0)], default=0
    )
    result = enum_field(_l("Result"), RESULT_LABELS, InspectionResult.PENDING)
    accepted_quantity = WholeNumberField(
        _l("Quantity accepted"),
        validators=[Optional(), at_least(0)],
        description=_l("Only for a partial acceptance."),
    )
    notes = text_area(_l("Notes"))
    photos = MultipleFileField(
        _l("Photos"),
        description=_l("JPEG, PNG or WebP; required for a remote verification."),
        render_kw={"accept": PHOTO_TYPES},
    )


def measurement_field(label: str) -> TextField:
    return TextField(
        label,
        validators=[max_length(2000)],
        description=_l("Measured values separated by spaces, e.g. 10.02 9.98 10.01"),
    )


def check_field(label: str) -> SelectField:
    return SelectField(
        label,
        choices=[
            SelectChoice("", _l("Not checked")),
            SelectChoice("ok", _l("OK")),
            SelectChoice("ng", _l("Not OK")),
        ],
        default="",
        invalid_choice_message=_l("Choose from the list."),
    )


class PhotoForm(FlaskForm):
    photos = MultipleFileField(_l("Photos"), render_kw={"accept": PHOTO_TYPES})
    caption = TextField(_l("Caption"), validators=[max_length(200)])


class ResultForm(FlaskForm):
    result = enum_field(_l("Result"), RESULT_LABELS, InspectionResult.ACCEPTED)
    accepted_quantity = WholeNumberField(
        _l("Quantity accepted"),
        validators=[Optional(), at_least(0)],
        description=_l("Only for a partial acceptance."),
    )


# --- nonconformances --------------------------------------------------------------------------


class NonconformanceForm(FlaskForm):
    delivery_id = HiddenField()
    facility_id = ChoiceField(_l("Facility"), _l("Choose a facility from the list."), optional=True)
    inspection_id = ChoiceField(
        _l("Found in the inspection"), _l("Choose an inspection from the list."), optional=True
    )
    source = enum_field(_l("Raised"), SOURCE_LABELS, NonconformanceSource.INTERNAL)
    severity = enum_field(_l("Severity"), SEVERITY_LABELS, Severity.MAJOR)
    title = TextField(
        _l("What is wrong"), validators=[DataRequired(message=REQUIRED), max_length(200)]
    )
    description = text_area(_l("Details"))
    quantity_affected = WholeNumberField(_l("Items affected"), validators=[Optional(), at_least(0)])
    found_on = DateFieldJa(_l("Found on"), validators=[InputRequired(message=REQUIRED)])
    evidence = MultipleFileField(_l("Photos or documents"), render_kw={"accept": FILE_TYPES})

    @property
    def delivery_id_value(self) -> int | None:
        text = str(self.delivery_id.data or "").strip()
        return int(text) if text.isdigit() and len(text) < 10 else None


class AnalysisForm(FlaskForm):
    root_cause = text_area(_l("Root cause"), required=True)


class ActionForm(FlaskForm):
    kind = enum_field(_l("Kind"), ACTION_KIND_LABELS, ActionKind.CORRECTIVE)
    description = text_area(_l("Action taken"), required=True)
    owner = TextField(_l("Owner"), validators=[DataRequired(message=REQUIRED), max_length(100)])
    due_on = DateFieldJa(_l("Due date"), validators=[InputRequired(message=REQUIRED)])


class NcStatusForm(FlaskForm):
    status = ChoiceField(_l("New status"), _l("Choose a status from the list."))


class CloseForm(FlaskForm):
    closure_note = text_area(
        _l("How the fix was verified"), description=_l("Evidence that the action worked.")
    )
    # DataRequired, not InputRequired: a blank or unreadable date arrives as None.
    closed_on = DateFieldJa(_l("Completed on"), validators=[DataRequired(message=REQUIRED)])
    evidence = MultipleFileField(_l("Evidence files"), render_kw={"accept": FILE_TYPES})


class EvidenceForm(FlaskForm):
    evidence = MultipleFileField(_l("Photos or documents"), render_kw={"accept": FILE_TYPES})
    caption = TextField(_l("Caption"), validators=[max_length(200)])


# --- technical support ------------------------------------------------------------------------


class SupportForm(FlaskForm):
    order_id = ChoiceField(_l("Order"), _l("Choose an order from the list."))
    nonconformance_id = HiddenField()
    facility_id = ChoiceField(
        _l("Facility concerned"), _l("Choose a facility from the list."), optional=True
    )
    subject = TextField(_l("Subject"), validators=[DataRequired(message=REQUIRED), max_length(200)])
    description = text_area(_l("What the buyer needs"))
    requested_by = TextField(_l("Requested by"), validators=[max_length(100)])
    mode = enum_field(_l("Support asked for"), MODE_LABELS, SupportMode.REMOTE)
    remote_tried = BooleanField(_l("Remote support was tried first"))

    @property
    def nonconformance_value(self) -> int | None:
        text = str(self.nonconformance_id.data or "").strip()
        return int(text) if text.isdigit() and len(text) < 10 else None


class PromiseForm(FlaskForm):
    visit_on = DateFieldJa(_l("Visit date"), validators=[Optional()])
    confirm_exception = BooleanField(_l("Promise it although it is outside the agreed scope"))
    exception_note = text_area(
        _l("Who agreed, and to what"),
        description=_l("For example: the buyer accepted the paid visit (30,000 yen) by phone."),
    )


class OutcomeForm(FlaskForm):
    outcome = text_area(_l("Outcome"))
    resolved_on = DateFieldJa(_l("Resolved on"), validators=[Optional()])


# --- manuals ----------------------------------------------------------------------------------


class ManualForm(FlaskForm):
    order_id = ChoiceField(_l("Order"), _l("Choose an order from the list."))
    kind = enum_field(_l("Kind"), MANUAL_KIND_LABELS, ManualKind.MANUAL)
    title = TextField(
        _l("Manual name"), validators=[DataRequired(message=REQUIRED), max_length(200)]
    )
    body = text_area(_l("Contents"), render_kw={"rows": 12})
    file = FileField(_l("Document (PDF or image)"), render_kw={"accept": FILE_TYPES})


class VersionForm(FlaskForm):
    changes = text_area(_l("What changed"), required=True)
    body = text_area(_l("Contents"), render_kw={"rows": 12})
    file = FileField(_l("Document (PDF or image)"), render_kw={"accept": FILE_TYPES})


class AcknowledgementForm(FlaskForm):
    version_id = ChoiceField(_l("Version"), _l("Choose a version from the list."))
    facility_id = ChoiceField(_l("Facility"), _l("Choose a facility from the list."))
    acknowledged_by = TextField(
        _l("Confirmed by"), validators=[DataRequired(message=REQUIRED), max_length(100)]
    )


def read_item_values(
    form: Any, items: Sequence[Any]
) -> tuple[dict[int, list[float]], dict[int, bool]] | None:
    """The plan items' answers on an inspection form (``item_<id>`` fields): measurements
    by item and checklist verdicts by item; None after putting "not a number" errors at the
    items whose measurement cannot be read."""
    measurements: dict[int, list[float]] = {}
    checks: dict[int, bool] = {}
    readable = True
    for item in items:
        field = getattr(form, f"item_{item.id}")
        if item.kind == ItemKind.MEASURE:
            try:
                values = parse_values(field.data or "")
            except ValueError as exc:
                field.errors = [
                    *list(field.errors or []),
                    _("“%(value)s” is not a number.", value=str(exc)),
                ]
                readable = False
                continue
            if values:
                measurements[item.id] = values
        elif field.data in ("ok", "ng"):
            checks[item.id] = field.data == "ok"
    return (measurements, checks) if readable else None
