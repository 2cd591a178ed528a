"""Portal forms: a quote's answer, a month's forecast, a message, a request for new work."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from app.auth.forms import REQUIRED
from app.portal.models import QuoteAnswer
from app.portal.service import MAX_MESSAGE
from app.web.fields import DateFieldJa, TextField, YenField, max_length

MAX_COMMENT = 2000


class QuoteAnswerForm(FlaskForm):
    answer = SelectField(
        _l("Your answer"),
        choices=[
            SelectChoice(QuoteAnswer.APPROVED.value, _l("Approve the quote")),
            SelectChoice(QuoteAnswer.DECLINED.value, _l("Decline the quote")),
        ],
        validators=[InputRequired(REQUIRED)],
    )
    comment = TextAreaField(
        _l("Comment to the coordinator"),
        validators=[Optional(), max_length(MAX_COMMENT)],
        description=_l("Required when you decline: what would have to change."),
    )


class ForecastForm(FlaskForm):
    """One month's forecast; the month is a hidden "YYYY-MM" (the page offers open months)."""

    month = HiddenField(validators=[InputRequired(REQUIRED)])
    amount = YenField(_l("Forecast (yen)"), validators=[InputRequired(REQUIRED)])

    def validate_month(self, field: HiddenField) -> None:
        if self.month_date() is None:
            raise ValidationError(_l("Choose a month of this order that is still open."))

    def month_date(self) -> date | None:
        try:
            return date.fromisoformat(str(self.month.data or "") + "-01")
        except ValueError:
            return None


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Message to the coordinator"),
        validators=[DataRequired(message=REQUIRED), max_length(MAX_MESSAGE)],
    )


class WorkRequestForm(FlaskForm):
    title = TextField(
        _l("What work do you want done?"),
        validators=[DataRequired(message=REQUIRED), max_length(200)],
        description=_l("For example: assembly of brackets, packing of gift boxes."),
    )
    description = TextAreaField(
        _l("Details"),
        validators=[DataRequired(message=REQUIRED), max_length(MAX_MESSAGE)],
        description=_l("Processes, quality requirements, where the work is done, deadlines."),
    )
    volume = TextField(
        _l("Volume"),
        validators=[Optional(), max_length(100)],
        description=_l("For example: 5,000 pieces a month."),
    )
    wanted_from = DateFieldJa(_l("Wanted from"), validators=[Optional()])
