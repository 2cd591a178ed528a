"""The shared form fields for Japanese input (app/web/fields.py), as plain WTForms forms."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from babel.messages.pofile import read_po
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import DataRequired, InputRequired, Optional

from app.web.fields import (
    MAX_INT,
    NEGATIVE_AMOUNT,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_A_WHOLE_NUMBER,
    NOT_AN_AMOUNT,
    TOO_LARGE,
    DateFieldJa,
    DecimalNumberField,
    NumberTooLarge,
    TextField,
    WholeNumberField,
    YenField,
    at_least,
    between,
    fold,
    max_length,
    nfkc,
    number_text,
    parse_whole_number,
    strip,
)

JA_PO = Path(__file__).resolve().parents[2] / "app/translations/ja/LC_MESSAGES/messages.po"


class NumberForm(Form):
    number = WholeNumberField(validators=[Optional()])


class RangedForm(Form):
    number = WholeNumberField(validators=[DataRequired(), between(1, 10)])


class YenForm(Form):
    amount = YenField(validators=[Optional()])


class DecimalForm(Form):
    number = DecimalNumberField(validators=[Optional()])


class DateForm(Form):
    day = DateFieldJa(validators=[Optional()])


class RequiredDateForm(Form):
    day = DateFieldJa(validators=[InputRequired()])


class TextForm(Form):
    name = TextField(validators=[max_length(5)])
    kana = TextField(filters=[nfkc])


def submit(form_class: type[Form], **values: str) -> Any:
    form = form_class(MultiDict(values))
    form.validate()
    return form


def errors(field: Any) -> list[str]:
    return [str(error) for error in field.errors]


# --- whole numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("42", 42),
        ("１２３", 123),  # full-width digits
        ("12,000", 12_000),
        ("１２，０００円", 12_000),  # full-width comma, trailing 円
        ("1,200 円", 1_200),
        (" 1 200 ", 1_200),
        ("¥1,000", 1_000),
        ("￥１０００", 1_000),  # full-width yen sign
        ("+7", 7),
        ("007", 7),
        ("-3", -3),
        ("2,147,483,647", MAX_INT),
    ],
)
def test_whole_number_reads_what_people_type(typed, value):
    form = submit(NumberForm, number=typed)
    assert form.number.data == value
    assert form.number.errors == []


@pytest.mark.parametrize("typed", ["", "   ", "\u3000", "円"])
def test_whole_number_blank_is_none(typed):
    form = submit(NumberForm, number=typed)
    assert form.number.data is None
    assert form.number.errors == []


@pytest.mark.parametrize(
    "typed", ["abc", "1.5", "１万", "三万円", "1_000", "1e3", "円1000", "1円000", "12-3", "−5"]
)
def test_whole_number_junk_gets_one_message(typed):
    form = submit(NumberForm, number=typed)
    assert form.number.data is None
    assert errors(form.number) == [str(NOT_A_WHOLE_NUMBER)]


def test_unreadable_input_stops_validation_with_one_message():
    """Not also "required" (the data is None) nor "out of range"."""
    assert errors(submit(RangedForm, number="many").number) == [str(NOT_A_WHOLE_NUMBER)]
    assert errors(submit(RangedForm, number="99999999999").number) == [str(TOO_LARGE)]


def test_readable_input_still_goes_through_the_validators():
    assert errors(submit(RangedForm, number="11").number) == ["Enter a number from 1 to 10."]
    assert errors(submit(RangedForm, number="").number) == ["This field is required."]
    assert submit(RangedForm, number="１０").number.errors == []


@pytest.mark.parametrize("typed", ["2147483648", "-2147483648", "9" * 5000, "-" + "9" * 5000])
def test_whole_number_beyond_an_integer_column_is_too_large(typed):
    form = submit(NumberForm, number=typed)
    assert form.number.data is None
    assert errors(form.number) == [str(TOO_LARGE)]


def test_invalid_value_message_can_be_given():
    class MonthsForm(Form):
        months = WholeNumberField(invalid_value_message="Enter months.")

    assert errors(submit(MonthsForm, months="x").months) == ["Enter months."]


def test_a_field_missing_from_the_post_keeps_its_value():
    """As WTForms' own fields do: a form built with obj= does not wipe what was stored."""
    form = NumberForm(MultiDict({"other": "1"}), obj=SimpleNamespace(number=5))
    assert form.validate()
    assert form.number.data == 5


def test_whole_number_renders_as_text_with_a_numeric_keyboard():
    html = str(NumberForm().number())
    assert 'type="text"' in html and 'inputmode="numeric"' in html

    class Styled(Form):
        number = WholeNumberField(render_kw={"autocomplete": "off"})

    html = str(Styled().number())
    assert 'inputmode="numeric"' in html and 'autocomplete="off"' in html


# --- yen ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("1200000", 1_200_000),
        ("1,200,000円", 1_200_000),
        ("１，２００，０００円", 1_200_000),
        ("¥1,200,000", 1_200_000),
        ("0", 0),
        ("-0", 0),
        (str(MAX_INT), MAX_INT),
    ],
)
def test_yen_reads_amounts(typed, value):
    form = submit(YenForm, amount=typed)
    assert form.amount.data == value
    assert form.amount.errors == []


def test_yen_blank_is_none():
    form = submit(YenForm, amount="")
    assert form.amount.data is None and form.amount.errors == []


@pytest.mark.parametrize("typed", ["-1", "-5,000円", "－１"])
def test_yen_refuses_negative_amounts(typed):
    form = submit(YenForm, amount=typed)
    assert form.amount.data is None
    assert errors(form.amount) == [str(NEGATIVE_AMOUNT)]


@pytest.mark.parametrize("typed", ["2147483648", "99,999,999,999円"])
def test_yen_refuses_what_the_column_cannot_hold(typed):
    assert errors(submit(YenForm, amount=typed).amount) == [str(TOO_LARGE)]


@pytest.mark.parametrize("typed", ["三万円", "12.5", "たくさん", "1万円"])
def test_yen_junk_asks_for_whole_yen(typed):
    form = submit(YenForm, amount=typed)
    assert form.amount.data is None
    assert errors(form.amount) == [str(NOT_AN_AMOUNT)]


def test_yen_with_data_required_gives_one_message():
    class Required(Form):
        amount = YenField(validators=[DataRequired()])

    assert errors(submit(Required, amount="-1").amount) == [str(NEGATIVE_AMOUNT)]
    assert errors(submit(Required, amount="abc").amount) == [str(NOT_AN_AMOUNT)]


# --- decimals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "value"),
    [("34.9756", 34.9756), ("３４．９７５６", 34.9756), ("-180", -180.0), (".5", 0.5), ("5.", 5.0)],
)
def test_decimal_reads_numbers(typed, value):
    form = submit(DecimalForm, number=typed)
    assert form.number.data == pytest.approx(value)
    assert form.number.errors == []


@pytest.mark.parametrize("typed", ["north", "nan", "inf", "1e5", "1.2.3", "."])
def test_decimal_junk_gets_one_message(typed):
    form = submit(DecimalForm, number=typed)
    assert form.number.data is None
    assert errors(form.number) == [str(NOT_A_NUMBER)]


def test_decimal_refuses_infinity_spelled_out():
    assert errors(submit(DecimalForm, number="9" * 400).number) == [str(TOO_LARGE)]


def test_decimal_blank_is_none_and_renders_a_decimal_keyboard():
    form = submit(DecimalForm, number=" ")
    assert form.number.data is None and form.number.errors == []
    assert 'inputmode="decimal"' in str(DecimalForm().number())


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "2026-04-01",  # what the date picker sends
        "2026/04/01",
        "2026/4/1",
        "2026-4-1",
        "２０２６／４／１",  # full-width digits and slash
        "２０２６－０４－０１",  # full-width hyphen
        "2026ー04ー01",  # long-vowel mark typed for the hyphen
        " 2026-04-01 ",
    ],
)
def test_date_reads_both_formats(typed):
    form = submit(DateForm, day=typed)
    assert form.day.data == date(2026, 4, 1)
    assert form.day.errors == []


def test_date_leap_day():
    assert submit(DateForm, day="2028/2/29").day.data == date(2028, 2, 29)


@pytest.mark.parametrize("typed", ["", "  ", "\u3000"])
def test_date_blank_is_none(typed):
    form = submit(DateForm, day=typed)
    assert form.day.data is None and form.day.errors == []


@pytest.mark.parametrize(
    "typed",
    [
        "2026-02-30",
        "2026/02/29",
        "2026-13-01",
        "2026-04-00",
        "someday",
        "2026.04.01",
        "令和8年4月1日",
    ],
)
def test_date_refuses_impossible_or_unreadable_dates(typed):
    form = submit(DateForm, day=typed)
    assert form.day.data is None
    assert errors(form.day) == [str(NOT_A_DATE)]


def test_date_required_and_unreadable_gets_one_message():
    assert errors(submit(RequiredDateForm, day="2026-02-30").day) == [str(NOT_A_DATE)]
    assert errors(submit(RequiredDateForm, day="").day) == ["This field is required."]


def test_date_renders_the_date_picker():
    assert 'type="date"' in str(DateForm().day())


# --- text and helpers --------------------------------------------------------------------------


def test_text_field_strips_and_filters_replace_the_stripping():
    form = submit(TextForm, name="  山田  ", kana=" ﾔﾏﾀﾞ ")
    assert (form.name.data, form.kana.data) == ("山田", "ヤマダ")
    assert errors(submit(TextForm, name="あいうえおか").name) == ["Use at most 5 characters."]


def test_string_helpers():
    assert strip(None) == "" and strip("  a b ") == "a b"
    assert nfkc(None) == "" and nfkc(" ＡＢＣ１２３ ") == "ABC123" and nfkc("ｶﾀｶﾅ") == "カタカナ"
    assert fold("４２０ー０８５３") == "420-0853" and fold("054−221−1111") == "054-221-1111"


def test_number_text_and_parse_whole_number():
    assert number_text("￥１２,０００円 ") == "12000"
    assert number_text(None) == "" and number_text(0) == "0"
    assert parse_whole_number("1,200,000円") == 1_200_000
    assert parse_whole_number("") is None and parse_whole_number(None) is None
    with pytest.raises(ValueError, match="not a whole number"):
        parse_whole_number("abc")
    with pytest.raises(NumberTooLarge):
        parse_whole_number(str(MAX_INT + 1))
    assert issubclass(NumberTooLarge, ValueError)  # callers that only catch ValueError are safe


def test_range_helpers_messages():
    class Ranges(Form):
        small = WholeNumberField(validators=[Optional(), at_least(0)])
        ratio = DecimalNumberField(validators=[Optional(), between(-90, 90)])

    form = submit(Ranges, small="-1", ratio="91")
    assert errors(form.small) == ["Enter 0 or more."]
    assert errors(form.ratio) == ["Enter a number from -90 to 90."]


def test_every_message_is_in_the_japanese_catalogue():
    with JA_PO.open("rb") as po_file:
        catalogue = read_po(po_file)
    messages = [
        NOT_A_WHOLE_NUMBER,
        NOT_A_NUMBER,
        NOT_AN_AMOUNT,
        NEGATIVE_AMOUNT,
        TOO_LARGE,
        NOT_A_DATE,
        "Use at most %(max)d characters.",
        "Enter %(min)s or more.",
        "Enter a number from %(min)s to %(max)s.",
    ]
    for message in messages:
        entry = catalogue.get(str(message))
        assert entry is not None and entry.string, message


# --- selects: the one-pass widget writes what WTForms writes -----------------------------------


def test_one_pass_select_writes_the_same_html_as_wtforms():
    from wtforms import SelectChoice as C
    from wtforms import SelectField, SelectMultipleField
    from wtforms.widgets import Select

    from app.web.fields import OnePassSelect

    class Choices(Form):
        plain = SelectField(
            choices=[C("", "選択…"), C("1", 'A & "B" <c>'), C("2", "二")], default="2"
        )
        several = SelectMultipleField(choices=[C("1", "x"), C("2", "y"), C("3", "z")])
        flags = SelectField(choices=[C(True, "はい"), C(False, "いいえ")])
        own_attributes = SelectField(
            choices=[C("1", "a", render_kw={"disabled": True}), C("2", "b")], default="1"
        )

    form = Choices(data={"several": ["1", "3"]})
    for name, multiple in (("plain", False), ("several", True), ("flags", False)):
        assert OnePassSelect(multiple)(form[name]) == Select(multiple)(form[name]), name
    assert OnePassSelect()(form.own_attributes) == Select()(form.own_attributes)
    assert "&lt;c&gt;" in OnePassSelect()(form.plain)


def test_every_select_of_the_app_uses_the_one_pass_widget(app):
    from wtforms import SelectField, SelectMultipleField

    from app.web.fields import OnePassSelect

    assert isinstance(SelectField.widget, OnePassSelect)
    assert isinstance(SelectMultipleField.widget, OnePassSelect)
    assert SelectMultipleField.widget.multiple
