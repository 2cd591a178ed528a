"""Workspace forms: sign-up, settings, invitations, roles."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from app.auth.forms import REQUIRED, EmailFieldJa, NewPasswordMixin
from app.web.fields import YenField, strip
from tenants.models import INVITABLE_ROLES, STAFF_ROLE_ORDER, Role, TenantKind
from tenants.prefectures import PREFECTURES

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
# Words that would read like part of the site itself, plus the demo workspace's slug.
RESERVED_SLUGS = frozenset(
    {"admin", "api", "app", "auth", "billing", "demo", "help", "login", "logout", "new",
     "platform", "portal", "root", "signup", "static", "support", "system", "www"}
)  # fmt: skip

KIND_LABELS = {
    TenantKind.MUNICIPALITY: _l("Municipality"),
    TenantKind.PREFECTURE: _l("Prefecture"),
    TenantKind.SUPPORT_CENTER: _l("Support center"),
}
ROLE_LABELS = {
    "admin": _l("Administrator"),
    "coordinator": _l("Coordinator"),
    "quality": _l("Quality"),
    "viewer": _l("Viewer (read-only)"),
    "buyer": _l("Buyer company"),
    "facility": _l("Facility"),
}

ROLE_CHOICES = [SelectChoice(role.value, ROLE_LABELS[role.value]) for role in INVITABLE_ROLES]
STAFF_ROLE_CHOICES = [
    SelectChoice(role.value, ROLE_LABELS[role.value]) for role in STAFF_ROLE_ORDER
]


class WorkspaceFields(FlaskForm):
    name = StringField(
        _l("Workspace name"),
        validators=[DataRequired(message=REQUIRED), Length(max=120)],
        filters=[strip],
        description=_l("For example: 〇〇市 共同受注窓口"),
    )
    kind = SelectField(
        _l("Kind of organisation"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
        validators=[DataRequired(message=REQUIRED)],
    )
    prefecture_code = SelectField(
        _l("Prefecture"),
        choices=[
            SelectChoice("", _l("Choose…")),
            *(SelectChoice(code, name) for code, name in PREFECTURES.items()),
        ],
        validators=[DataRequired(message=_l("Choose a prefecture."))],
    )


class SignupForm(WorkspaceFields):
    slug = StringField(
        _l("Workspace URL"),
        validators=[DataRequired(message=REQUIRED)],
        filters=[lambda v: strip(v).lower()],
        description=_l("3–40 lower-case letters, digits and hyphens, e.g. sakura-city."),
    )

    def validate_slug(self, field: StringField) -> None:
        if not SLUG_PATTERN.match(field.data or ""):
            raise ValidationError(
                _l("Use 3–40 lower-case letters, digits and hyphens (not at either end).")
            )
        if field.data in RESERVED_SLUGS:
            raise ValidationError(_l("This URL is reserved. Choose another."))


class SignupWithAccountForm(NewPasswordMixin, SignupForm):
    """Sign-up by someone without an account: the workspace and its first administrator."""

    admin_name = StringField(
        _l("Your name"),
        validators=[DataRequired(message=REQUIRED), Length(max=100)],
        filters=[strip],
    )
    email = EmailFieldJa()


def number_required(_form: Any, field: Any) -> None:
    """Required, where 0 is a real answer (DataRequired would refuse it)."""
    if field.data is None:
        raise StopValidation(str(REQUIRED))


class SettingsForm(WorkspaceFields):
    min_annual_volume = YenField(
        _l("Minimum annual volume of a deal (yen)"),
        # YenField itself refuses a negative amount; 0 is allowed (no minimum).
        validators=[number_required],
        description=_l(
            "Deals under this volume a year are marked. The seed report advises declining "
            "deals that cannot reach about 2,000,000 yen a year."
        ),
    )
    shares_with_prefecture = BooleanField(
        _l("Share this workspace's KPI totals with the prefecture's workspace"),
        description=_l(
            "For municipal workspaces: the prefecture's staff then see this workspace's yearly "
            "totals (deal amount, order total, facilities…) in their regional roll-up, never "
            "its records."
        ),
    )


class InviteForm(FlaskForm):
    """The view fills the company and facility choices with this workspace's records."""

    email = EmailFieldJa()
    role = SelectField(
        _l("Role"),
        choices=ROLE_CHOICES,
        default="coordinator",
    )
    buyer_id = SelectField(
        _l("Buyer company"),
        choices=[],
        default="",
        description=_l("Only for the role Buyer company: whose portal this person uses."),
    )
    facility_id = SelectField(
        _l("Facility"),
        choices=[],
        default="",
        description=_l("Only for the role Facility: whose portal this person uses."),
    )

    def validate_buyer_id(self, field: SelectField) -> None:
        if self.role.data == Role.BUYER.value and not field.data:
            raise ValidationError(_l("Choose the buyer company this person works for."))

    def validate_facility_id(self, field: SelectField) -> None:
        if self.role.data == Role.FACILITY.value and not field.data:
            raise ValidationError(_l("Choose the facility this person works for."))

    def link_ids(self) -> tuple[int | None, int | None]:
        """(buyer id, facility id) for the chosen role; the other choice is ignored."""
        buyer = int(self.buyer_id.data) if self.role.data == Role.BUYER.value else None
        facility = int(self.facility_id.data) if self.role.data == Role.FACILITY.value else None
        return buyer, facility


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=STAFF_ROLE_CHOICES)
