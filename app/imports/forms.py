"""Forms of the import screens: the upload, the confirmation, the encoding override."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import Form, HiddenField, SelectChoice, SelectField
from wtforms.validators import AnyOf, Optional

from app.imports.engine import ENCODING_LABELS, ENCODINGS

ENCODING_CHOICES = [
    SelectChoice("", _l("Recognise automatically")),
    *(SelectChoice(code, ENCODING_LABELS[code]) for code in ENCODINGS),
]


class UploadForm(FlaskForm):
    """One per kind on the page: made with ``prefix=<kind>`` so the fields have distinct ids."""

    file = FileField(
        _l("File (CSV or Excel .xlsx)"),
        validators=[FileRequired(message=_l("Choose a file to upload."))],
        description=_l("Up to 10 MB and 50,000 rows. The first row holds the column names."),
        render_kw={"accept": ".csv,.txt,.xlsx,text/csv"},
    )


class ConfirmForm(FlaskForm):
    encoding = HiddenField(validators=[Optional(), AnyOf(list(ENCODINGS))])


class EncodingForm(Form):
    """The preview's "read the file again as ..." choice (a GET form: nothing is written)."""

    encoding = SelectField(_l("Character encoding"), choices=ENCODING_CHOICES, default="")

    @property
    def chosen(self) -> str | None:
        value = self.encoding.data
        return value if value in ENCODINGS else None
