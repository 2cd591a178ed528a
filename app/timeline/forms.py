"""The note form of a timeline."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.auth.forms import REQUIRED
from app.timeline.service import MAX_BODY


class TimelineEntryForm(FlaskForm):
    body = TextAreaField(
        _l("Note"), validators=[DataRequired(message=REQUIRED), Length(max=MAX_BODY)]
    )
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice("note", _l("Note")), SelectChoice("decision", _l("Decision"))],
        default="note",
    )
    internal = BooleanField(_l("Internal (never shown to the buyer)"))
