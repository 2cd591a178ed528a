"""Catalogue forms, and the number fields the workspace's record forms share.

The number fields read what people type in Japan: full-width digits (１２３), thousands
separators (12,000) and surrounding spaces; their messages are in the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Literal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, StopValidation

from app.auth.forms import REQUIRED

TOO_LONG = _l("Use at most %(max)d characters.")


def strip(value: str | None) -> str:
    return (value or "").strip()


INTEGER = re.compile(r"^[+-]?[0-9]+$")
DECIMAL = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def normalise_number(text: str) -> str:
    """'１２,０００円 ' → '12000': NFKC folds full-width digits and signs."""
    folded = unicodedata.normalize("NFKC", text).strip().replace(",", "")
    return folded.removesuffix("円").strip()


def _raw(valuelist: Sequence[Any] | None) -> str | None:
    if not valuelist:
        return None
    text = normalise_number(str(valuelist[0]))
    return text or None


class _StopWhenUnreadable:
    """Input that is not a number gets one message, not also "required" or "out of range"."""

    process_errors: list[Any]

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()


class WholeNumberField(_StopWhenUnreadable, IntegerField):
    """An integer: blank is None (add Optional or DataRequired), junk is a Japanese error."""

    def process_formdata(self, valuelist: Sequence[Any] | None) -> None:
        text = _raw(valuelist)
        self.data = None
        if text is None:
            return
        if not INTEGER.match(text):
            raise ValueError(_l("Enter a whole number."))
        self.data = int(text)


class DecimalNumberField(_StopWhenUnreadable, FloatField):
    """A finite decimal number (no NaN or infinity)."""

    def process_formdata(self, valuelist: Sequence[Any] | None) -> None:
        text = _raw(valuelist)
        self.data = None
        if text is None:
            return
        if not DECIMAL.match(text):
            raise ValueError(_l("Enter a number."))
        self.data = float(text)


def in_range(low: int | float, high: int | float) -> NumberRange:
    return NumberRange(min=low, max=high, message=_l("Enter a number from %(min)s to %(max)s."))


def name_field(label: Any, max_length: int, **kwargs: Any) -> StringField:
    return StringField(
        label,
        validators=[DataRequired(message=REQUIRED), Length(max=max_length, message=TOO_LONG)],
        filters=[strip],
        **kwargs,
    )


# --- the catalogue forms ------------------------------------------------------------------


class CapabilityForm(FlaskForm):
    name = name_field(_l("Process name"), 60, description=_l("For example: 組立, 梱包, 検品"))
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=2000, message=TOO_LONG)],
        filters=[strip],
    )


class LevelForm(FlaskForm):
    """Editing a level: its number is fixed once created (records refer to it)."""

    name = name_field(_l("Level name"), 60, description=_l("For example: やさしい, ふつう"))
    definition = TextAreaField(
        _l("Definition"),
        validators=[DataRequired(message=REQUIRED), Length(max=2000, message=TOO_LONG)],
        filters=[strip],
        description=_l("What work of this level requires, so that everyone judges alike."),
    )


class NewLevelForm(LevelForm):
    level = WholeNumberField(
        _l("Level"),
        validators=[DataRequired(message=REQUIRED), in_range(1, 10)],
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
