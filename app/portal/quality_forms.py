"""Forms of the portals' quality pages: the buyer's nonconformance and support request, the
facility's progress and self-inspection. Choices of lots, orders, versions and
nonconformances are filled by the views from what the person may see; anything else posted
is refused with a message."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, SelectChoice, SelectField
from wtforms.validators import DataRequired, InputRequired, Optional

from app.auth.forms import REQUIRED
from app.quality.forms import (
    PHOTO_TYPES,
    ChoiceField,
    enum_field,
    text_area,
)
from app.quality.models import InspectionResult, Severity, SupportMode
from app.web.fields import (
    DateFieldJa,
    TextField,
    WholeNumberField,
    at_least,
    between,
    max_length,
)

# The buyer's words for the severity of what it found.
BUYER_SEVERITY_LABELS = {
    Severity.CRITICAL: _l("Critical: unusable, or a safety issue"),
    Severity.MAJOR: _l("Major: does not meet the specification"),
    Severity.MINOR: _l("Minor: a small flaw, still usable"),
}
BUYER_MODE_LABELS = {
    SupportMode.REMOTE: _l("Remote: by video, photos or drawings"),
    SupportMode.ONSITE: _l("On site: an engineer comes to us"),
}
# The facility's few words for the verdict of its own check.
SELF_RESULT_LABELS = {
    InspectionResult.ACCEPTED: _l("All OK"),
    InspectionResult.PARTIAL: _l("Partly OK"),
    InspectionResult.REJECTED: _l("Not OK"),
}


class BuyerNonconformanceForm(FlaskForm):
    delivery_id = ChoiceField(_l("Lot"), _l("Choose one of your delivered lots."))
    severity = enum_field(_l("How serious is it?"), BUYER_SEVERITY_LABELS, Severity.MAJOR)
    title = TextField(
        _l("What is wrong"),
        validators=[DataRequired(message=REQUIRED), max_length(200)],
        description=_l("For example: scratches on the front panel."),
    )
    description = text_area(
        _l("Details"),
        description=_l("Where you found it, how many boxes, how it was checked."),
    )
    quantity_affected = WholeNumberField(_l("Items affected"), validators=[Optional(), at_least(0)])
    found_on = DateFieldJa(_l("Found on"), validators=[InputRequired(message=REQUIRED)])
    photos = MultipleFileField(
        _l("Photos (optional)"),
        description=_l("JPEG, PNG or WebP."),
        render_kw={"accept": PHOTO_TYPES},
    )


class BuyerSupportForm(FlaskForm):
    order_id = ChoiceField(_l("Order"), _l("Choose one of your orders."))
    nonconformance_id = ChoiceField(
        _l("About a nonconformance"), _l("Choose one of your nonconformances."), optional=True
    )
    subject = TextField(
        _l("What do you need help with?"),
        validators=[DataRequired(message=REQUIRED), max_length(200)],
    )
    description = text_area(_l("Details"))
    mode = enum_field(_l("Support asked for"), BUYER_MODE_LABELS, SupportMode.REMOTE)
    remote_tried = BooleanField(_l("We already tried remote support for this"))
    accept_outside_scope = BooleanField(
        _l(
            "I understand this is outside our agreement: the coordinator will confirm what "
            "applies (and any fee) before promising it."
        )
    )


class ProgressForm(FlaskForm):
    quantity = WholeNumberField(
        _l("How many made"),
        validators=[InputRequired(message=REQUIRED), between(0, 10_000_000)],
    )
    lead_person = TextField(
        _l("Person in charge"), validators=[DataRequired(message=REQUIRED), max_length(100)]
    )
    started_on = DateFieldJa(_l("Started on"), validators=[Optional()])
    finished_on = DateFieldJa(_l("Finished on"), validators=[Optional()])
    manual_version_id = ChoiceField(
        _l("Manual used"), _l("Choose a version from the list."), optional=True
    )


class SelfInspectionForm(FlaskForm):
    """A self-inspection; the view adds one field per inspection item (``item_<id>``)."""

    inspector = TextField(
        _l("Checked by"), validators=[DataRequired(message=REQUIRED), max_length(100)]
    )
    inspected_on = DateFieldJa(_l("Date"), validators=[InputRequired(message=REQUIRED)])
    quantity = WholeNumberField(
        _l("Items made"), validators=[InputRequired(message=REQUIRED), at_least(0)]
    )
    sample_size = WholeNumberField(
        _l("Items checked"), validators=[InputRequired(message=REQUIRED), at_least(0)]
    )
    passed = WholeNumberField(
        _l("OK"),
        validators=[Optional(), at_least(0)],
        description=_l("Leave empty: the items checked minus reworked and failed."),
    )
    reworked = WholeNumberField(
        _l("Reworked"), validators=[InputRequired(message=REQUIRED), at_least(0)], default=0
    )
    failed = WholeNumberField(
        _l("Failed"), validators=[InputRequired(message=REQUIRED), at_least(0)], default=0
    )
    result = SelectField(
        _l("Result"),
        choices=[SelectChoice(k.value, v) for k, v in SELF_RESULT_LABELS.items()],
        default=InspectionResult.ACCEPTED.value,
        invalid_choice_message=_l("Choose from the list."),
    )
    accepted_quantity = WholeNumberField(
        _l("How many are OK"),
        validators=[Optional(), at_least(0)],
        description=_l("Only for “partly OK”."),
    )
    notes = text_area(_l("Notes"))
    photos = MultipleFileField(
        _l("Photos"), description=_l("JPEG, PNG or WebP."), render_kw={"accept": PHOTO_TYPES}
    )
