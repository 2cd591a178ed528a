"""Form fields and helpers for what people type in Japan: full-width digits, 円 and commas, dates.

One copy for every package's forms. Numbers and dates are read after NFKC folding (１２３ → 123,
￥ → ¥, ／ → /), so what an IME produces is accepted as typed. Blank input is ``None``: pair a
field with ``Optional()`` or ``InputRequired()``. A field left out of the submitted form keeps
its default (or the ``obj=`` value), as WTForms' own fields do.

Input that cannot be read gets one message and stops validation there, so "required" or "out
of range" is not shown beside it. Messages are lazy: they are translated when rendered.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import (
    DateField,
    FloatField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import Length, NumberRange, StopValidation
from wtforms.widgets import Select, TextInput

# The largest value an INTEGER column takes on every database we run on.
MAX_INT = 2_147_483_647
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]

NOT_A_WHOLE_NUMBER = _l("Enter a whole number.")
NOT_A_NUMBER = _l("Enter a number.")
NOT_AN_AMOUNT = _l("Enter an amount in whole yen, e.g. 1200000.")
NEGATIVE_AMOUNT = _l("The amount cannot be negative.")
TOO_LARGE = _l("This number is too large.")
NOT_A_DATE = _l("Enter a date like 2026-04-01.")

_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# Dashes an IME gives for "-" that NFKC keeps: the long-vowel mark and the minus sign.
_DASHES = str.maketrans({"ー": "-", "−": "-"})


# --- helpers -----------------------------------------------------------------------------------


def strip(value: str | None) -> str:
    return (value or "").strip()


def nfkc(value: str | None) -> str:
    """Full-width letters and digits to half-width, half-width kana to full-width; stripped."""
    return unicodedata.normalize("NFKC", value or "").strip()


def fold(value: str | None) -> str:
    """``nfkc``, and ー or − typed for a hyphen made "-": for dates, postal codes and phones."""
    return nfkc(value).translate(_DASHES)


def max_length(limit: int) -> Length:
    return Length(max=limit, message=_l("Use at most %(max)d characters."))


def at_least(minimum: int | float) -> NumberRange:
    return NumberRange(min=minimum, message=_l("Enter %(min)s or more."))


def between(minimum: int | float, maximum: int | float) -> NumberRange:
    return NumberRange(
        min=minimum, max=maximum, message=_l("Enter a number from %(min)s to %(max)s.")
    )


def number_text(value: Any) -> str:
    """'￥１２,０００円 ' → '12000': NFKC folds full-width digits, signs and ￥; thousands
    separators and spaces go, then a leading ¥ and a trailing 円. Not checked further."""
    text = "".join(nfkc("" if value is None else str(value)).replace(",", "").split())
    return text.removeprefix("¥").removesuffix("円")


class NumberTooLarge(ValueError):
    """A whole number, but beyond ±MAX_INT: more than an INTEGER column holds."""


def parse_whole_number(value: Any) -> int | None:
    """A whole number as people type it: 1,200,000 / １２０００００ / 1200000円 / ¥1,200,000.

    None when blank; ``NumberTooLarge`` beyond ±MAX_INT; ValueError for anything else.
    """
    text = number_text(value)
    if not text:
        return None
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"not a whole number: {text!r}")
    # Counted before int(): Python refuses to convert strings of thousands of digits.
    if len(text.lstrip("+-").lstrip("0")) > len(str(MAX_INT)):
        raise NumberTooLarge(text)
    number = int(text)
    if abs(number) > MAX_INT:
        raise NumberTooLarge(text)
    return number


# --- fields ------------------------------------------------------------------------------------


class StopWhenUnreadable:
    """Input that could not be read gets its one message, not also "required" or "out of range"."""

    process_errors: list[Any]

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()


def _with_inputmode(kwargs: dict[str, Any], inputmode: str) -> dict[str, Any]:
    """The field's ``render_kw`` with an ``inputmode`` the caller's own render_kw may override."""
    return {"inputmode": inputmode, **(kwargs.pop("render_kw", None) or {})}


class WholeNumberField(StopWhenUnreadable, IntegerField):
    """An integer typed as text: full-width digits, thousands separators, a trailing 円.

    Blank is None. Beyond ±MAX_INT is "too large". Anything else unreadable gets
    ``invalid_value_message`` (default "Enter a whole number."). Ranges are validators.
    """

    widget = TextInput()
    default_invalid_message: Any = NOT_A_WHOLE_NUMBER
    data: int | None

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs["render_kw"] = _with_inputmode(kwargs, "numeric")
        kwargs.setdefault("invalid_value_message", self.default_invalid_message)
        super().__init__(label, validators, **kwargs)

    def read(self, raw: Any) -> int | None:
        """The value of what was typed; ValueError with the message to show if unreadable."""
        try:
            return parse_whole_number(raw)
        except NumberTooLarge:
            raise ValueError(TOO_LARGE) from None
        except ValueError:
            raise ValueError(self.invalid_value_message) from None

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        self.data = None  # stays None when read() refuses the input
        self.data = self.read(valuelist[0])


class YenField(WholeNumberField):
    """An amount in whole yen (円): 0 to MAX_INT; ¥1,200,000 and 1,200,000円 both work.

    A negative amount is refused here ("The amount cannot be negative."); a lower ceiling than
    the column's, if the domain has one, is a validator of the form.
    """

    default_invalid_message = NOT_AN_AMOUNT

    def read(self, raw: Any) -> int | None:
        value = super().read(raw)
        if value is not None and value < 0:
            raise ValueError(NEGATIVE_AMOUNT)
        return value


class DecimalNumberField(StopWhenUnreadable, FloatField):
    """A finite decimal number typed as text (34.9756, full-width digits too). Blank is None;
    NaN, infinity and exponents are not numbers here."""

    widget = TextInput()
    data: float | None

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs["render_kw"] = _with_inputmode(kwargs, "decimal")
        kwargs.setdefault("invalid_value_message", NOT_A_NUMBER)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        self.data = None
        text = number_text(valuelist[0])
        if not text:
            return
        if not _DECIMAL.fullmatch(text):
            raise ValueError(self.invalid_value_message)
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(TOO_LARGE)
        self.data = value


class DateFieldJa(StopWhenUnreadable, DateField):
    """A date: the browser's date picker sends 2026-04-01; typing 2026/4/1, full-width digits
    or ー for the hyphen works too. Blank is None; an impossible date (2026-02-30) is refused."""

    data: date | None

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", list(DATE_FORMATS))
        kwargs.setdefault("invalid_value_message", NOT_A_DATE)
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = fold(" ".join(str(value) for value in valuelist))
        if not text:
            self.data = None
            return
        super().process_formdata([text])


class TextField(StringField):
    """A stripped one-line text field (``filters=`` replaces the stripping)."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("filters", [strip])
        super().__init__(label, validators, **kwargs)


class OnePassSelect(Select):
    """WTForms' select, with plain options written in one f-string each. WTForms builds every
    option through ``html_params`` and ``Markup.format`` (about 0.1 ms an option), which made
    a form offering a workspace's 2,000 facilities cost over 100 ms. Same HTML, escaped the
    same; options with their own attributes still go through WTForms."""

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        if choice.render_kw or kwargs:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        label = choice.label or choice.value
        selected = "selected " if choice.selected else ""
        html = f'<option {selected}value="{escape(value)}">{escape(label)}</option>'
        return Markup(html)  # noqa: S704 -- value and label are escaped just above


def use_one_pass_selects() -> None:
    """Make every select and multiple select of the app render with ``OnePassSelect``."""
    SelectField.widget = OnePassSelect()
    SelectMultipleField.widget = OnePassSelect(multiple=True)
