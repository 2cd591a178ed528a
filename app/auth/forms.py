"""Account forms. Messages are in the user's language (Japanese by default)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from app.auth.passwords import password_problem

REQUIRED = _l("This field is required.")


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


class EmailFieldJa(EmailField):
    """An e-mail field that validates in the user's language and stores lower-case."""

    def __init__(self, label: Any = None, **kwargs: Any) -> None:
        validators = [
            DataRequired(message=REQUIRED),
            Length(max=254),
            Email(message=_l("Enter a valid e-mail address."), check_deliverability=False),
        ]
        super().__init__(label or _l("E-mail address"), validators=validators, **kwargs)
        self.filters = (normalise_email,)


class NewPasswordMixin:
    """A new password with confirmation and the policy check."""

    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=REQUIRED)],
        description=_l("At least 10 characters. A phrase of several words is easy to remember."),
    )
    password_confirm = PasswordField(
        _l("Password (again)"),
        validators=[
            DataRequired(message=REQUIRED),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
    )

    def validate_password(self, field: PasswordField) -> None:
        email_field = getattr(self, "email", None)
        email = email_field.data if email_field is not None else getattr(self, "known_email", "")
        problem = password_problem(field.data or "", email or "")
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailFieldJa()
    password = PasswordField(_l("Password"), validators=[DataRequired(message=REQUIRED)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = EmailFieldJa()


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    known_email = ""


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(message=REQUIRED)]
    )
    known_email = ""


class AccountForm(FlaskForm):
    name = StringField(
        _l("Your name"), validators=[DataRequired(message=REQUIRED), Length(max=100)]
    )


class AcceptInvitationForm(NewPasswordMixin, FlaskForm):
    """For invitees without an account: name and password, the e-mail comes from the invitation."""

    name = StringField(
        _l("Your name"), validators=[DataRequired(message=REQUIRED), Length(max=100)]
    )
    known_email = ""
