"""Catalogue forms: processes, difficulty levels, plan goals and lost reasons."""

from __future__ import annotations

from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from app.auth.forms import REQUIRED
from app.web.fields import WholeNumberField, between, max_length, strip


def name_field(label: Any, limit: int, **kwargs: Any) -> StringField:
    """A required, stripped name of at most ``limit`` characters (facility forms use it too)."""
    return StringField(
        label,
        validators=[DataRequired(message=REQUIRED), max_length(limit)],
        filters=[strip],
        **kwargs,
    )


class CapabilityForm(FlaskForm):
    name = name_field(_l("Process name"), 60, description=_l("For example: 組立, 梱包, 検品"))
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), max_length(2000)],
        filters=[strip],
    )


class LevelForm(FlaskForm):
    """Editing a level: its number is fixed once created (records refer to it)."""

    name = name_field(_l("Level name"), 60, description=_l("For example: やさしい, ふつう"))
    definition = TextAreaField(
        _l("Definition"),
        validators=[DataRequired(message=REQUIRED), max_length(2000)],
        filters=[strip],
        description=_l("What work of this level requires, so that everyone judges alike."),
    )


class NewLevelForm(LevelForm):
    level = WholeNumberField(
        _l("Level"),
        validators=[DataRequired(message=REQUIRED), between(1, 10)],
        description=_l("1 (easiest) to 10."),
    )


class GoalForm(FlaskForm):
    code = name_field(_l("Code"), 20, description=_l("For example: 3-2-1"))
    title = name_field(_l("Goal"), 200)


class LostReasonForm(FlaskForm):
    label = name_field(_l("Lost reason"), 100)


class MoveForm(FlaskForm):
    """Up or down in the list (the buttons of a row)."""

    direction = StringField()

    def chosen(self) -> Literal["up", "down"] | None:
        value = self.direction.data
        if value == "up":
            return "up"
        if value == "down":
            return "down"
        return None
