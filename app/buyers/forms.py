"""The buyer form (発注企業), and the labels of what the buyer's history shows."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import URL, DataRequired, Email, Optional, ValidationError

from app.auth.forms import REQUIRED, normalise_email
from app.web.fields import DecimalNumberField, TextField, between, fold, max_length, nfkc, strip
from tenants.prefectures import PREFECTURES

MAX_NOTES = 4000

POSTAL_CODE = re.compile(r"^(\d{3})-?(\d{4})$")
PHONE = re.compile(r"^\+?[0-9()\- ]{6,30}$")
# Katakana and hiragana (with the long-vowel mark, middle dot and spaces): how names sort.
KANA = re.compile(r"^[\u3041-\u3096\u309D-\u309F\u30A1-\u30FA\u30FC-\u30FF・ ]*$")


def postal_code(value: str | None) -> str:
    """123-4567 from １２３４５６７, 1234567 or 123-4567; other input is kept for the error."""
    text = fold(value)
    match = POSTAL_CODE.match(text)
    return f"{match.group(1)}-{match.group(2)}" if match else text


class BuyerForm(FlaskForm):
    name = TextField(
        _l("Company name"),
        validators=[DataRequired(message=REQUIRED), max_length(120)],
        description=_l("The registered name, e.g. 株式会社サンプル工業"),
    )
    name_kana = TextField(
        _l("Company name (kana)"),
        validators=[max_length(120)],
        filters=[nfkc],
        description=_l("In katakana, without 株式会社: used to sort and search."),
    )
    industry = TextField(
        _l("Industry"),
        validators=[max_length(60)],
        description=_l("For example: 製造業, 食品, 印刷"),
    )
    postal_code = TextField(_l("Postal code"), filters=[postal_code])
    prefecture_code = SelectField(
        _l("Prefecture"),
        choices=[
            SelectChoice("", _l("Not set")),
            *(SelectChoice(code, name) for code, name in PREFECTURES.items()),
        ],
        default="",
        invalid_choice_message=_l("Choose a prefecture from the list."),
    )
    address = TextField(_l("Address"), validators=[max_length(200)])
    latitude = DecimalNumberField(
        _l("Latitude of the work site"),
        validators=[Optional(), between(-90, 90)],
        description=_l("Decimal degrees, e.g. 34.9756: used for distances in matching."),
    )
    longitude = DecimalNumberField(
        _l("Longitude of the work site"),
        validators=[Optional(), between(-180, 180)],
        description=_l("Decimal degrees, e.g. 138.3828."),
    )
    website = TextField(
        _l("Website"),
        validators=[
            Optional(),
            max_length(200),
            URL(message=_l("Enter a web address starting with http:// or https://.")),
        ],
    )
    contact_name = TextField(_l("Contact person"), validators=[max_length(100)])
    contact_email = EmailField(
        _l("Contact e-mail address"),
        validators=[
            Optional(),
            max_length(254),
            Email(message=_l("Enter a valid e-mail address."), check_deliverability=False),
        ],
        filters=[normalise_email],
    )
    contact_phone = TextField(_l("Contact phone"), filters=[nfkc])
    notes = TextAreaField(
        _l("Notes"),
        validators=[max_length(MAX_NOTES)],
        filters=[strip],
        description=_l("What coordinators should know: history, preferences, decision makers."),
    )

    is_municipality = BooleanField(
        _l("This buyer is the municipality itself (one of its departments)"),
        description=_l("Its purchases count as the municipality's in the 優先調達 figures."),
    )

    def validate_name_kana(self, field: TextField) -> None:
        if not KANA.match(field.data or ""):
            raise ValidationError(_l("Use katakana or hiragana only."))

    def validate_postal_code(self, field: TextField) -> None:
        if field.data and not POSTAL_CODE.match(field.data):
            raise ValidationError(_l("Enter a postal code like 123-4567."))

    def validate_contact_phone(self, field: TextField) -> None:
        if field.data and not PHONE.match(field.data):
            raise ValidationError(_l("Enter a phone number with digits and hyphens."))

    def values(self) -> dict[str, Any]:
        """The submitted values by column name, for the service."""
        values: dict[str, Any] = {
            name: getattr(self, name).data or ""
            for name in (
                "name",
                "name_kana",
                "industry",
                "postal_code",
                "prefecture_code",
                "address",
                "website",
                "contact_name",
                "contact_email",
                "contact_phone",
                "notes",
            )
        }
        values["latitude"] = self.latitude.data
        values["longitude"] = self.longitude.data
        values["is_municipality"] = bool(self.is_municipality.data)
        return values
