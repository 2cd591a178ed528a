"""Form fields and validators for Japanese input: full-width digits, 円 and commas, dates.

Used by the buyer and agreement forms. Generic enough to move to ``app/web`` once other
packages want them too.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import Length, NumberRange
from wtforms.widgets import TextInput

# The largest value an INTEGER column takes on every database we run on.
MAX_INT = 2_147_483_647


def strip(value: str | None) -> str:
    return (value or "").strip()


def nfkc(value: str | None) -> str:
    """Full-width letters and digits to half-width, half-width kana to full-width; stripped."""
    return unicodedata.normalize("NFKC", value or "").strip()


def max_length(limit: int) -> Length:
    return Length(max=limit, message=_l("Use at most %(max)d characters."))


def at_least(minimum: int) -> NumberRange:
    return NumberRange(min=minimum, message=_l("Enter %(min)s or more."))


def between(minimum: int, maximum: int) -> NumberRange:
    return NumberRange(
        min=minimum, max=maximum, message=_l("Enter a number from %(min)s to %(max)s.")
    )


class WholeNumberField(IntegerField):
    """A whole number typed as text: accepts full-width digits, thousands separators and a
    trailing 円. Empty input is ``None``."""

    widget = TextInput()

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        render_kw = {"inputmode": "numeric", **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = nfkc(str(valuelist[0])).replace(",", "").replace("円", "").replace(" ", "")
        if raw == "":
            self.data = None
            return
        try:
            value = int(raw)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter a whole number in digits.")) from None
        if abs(value) > MAX_INT:
            self.data = None
            raise ValueError(_l("This number is too large."))
        self.data = value


class YenField(WholeNumberField):
    """An amount in whole yen (円)."""


class JaDateField(DateField):
    """A date; the browser's date picker sends 2026-04-01, typing 2026/4/1 works too."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", ["%Y-%m-%d", "%Y/%m/%d"])
        kwargs.setdefault("invalid_value_message", _l("Enter a date like 2026-04-01."))
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and nfkc(" ".join(str(v) for v in valuelist)) == "":
            self.data = None
            return
        if valuelist:
            valuelist = [nfkc(str(v)) for v in valuelist]
        super().process_formdata(valuelist)


class TextField(StringField):
    """A stripped one-line text field."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("filters", [strip])
        super().__init__(label, validators, **kwargs)
