"""Sign-in, sign-out, password reset and change, and accepting invitations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.auth import service
from app.auth.forms import (
    AcceptInvitationForm,
    AccountForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    normalise_email,
)
from app.auth.tokens import InvalidToken
from app.extensions import db, limiter
from app.mail import send_mail
from app.web.htmx import redirect_303, render
from tenants import service as workspaces
from tenants.isolation import use_user

bp = Blueprint("auth", __name__, template_folder="templates")


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def home_for(user_id: int) -> str:
    """One workspace: its home for the person's role. None but a support account: the
    workspaces of the agent's regions. Otherwise the list of workspaces."""
    from tenants.context import home_endpoint
    from tenants.support import agent_for

    memberships = workspaces.memberships_of(db.session, user_id)
    if len(memberships) == 1:
        tenant, membership = memberships[0]
        return url_for(home_endpoint(membership.role), tenant_slug=tenant.slug)
    if not memberships and agent_for(db.session, user_id) is not None:
        return url_for("support.index")
    return url_for("workspaces.index")


def _settings() -> Any:
    return current_app.extensions["renkei_settings"]


def _account_key() -> str:
    return "login-account:" + normalise_email(request.form.get("email"))


def _failed(response: Response) -> bool:
    """Only refused credentials count towards the sign-in limits."""
    return response.status_code == 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: _settings().login_limit_per_address, methods=["POST"], deduct_when=_failed)
@limiter.limit(
    lambda: _settings().login_limit_per_account,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or home_for(current_user.id))
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(db.session, form.email.data, form.password.data or "")
        if user is not None:
            db.session.commit()
            session.clear()  # a fresh session on sign-in (no fixation)
            login_user(user, remember=form.remember.data)
            use_user(db.session, user.id)
            return redirect_303(safe_next(request.args.get("next")) or home_for(user.id))
        form.password.errors.append(_("The e-mail address or password is wrong."))
    return render("auth/login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect_303(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = service.find_user_by_email(db.session, form.email.data)
        if user is not None and user.is_active:
            link = url_for(
                "auth.reset_password", token=service.make_reset_token(user), _external=True
            )
            send_mail(
                user.email,
                _("Resetting your Renkei password"),
                _(
                    "Open this link to choose a new password (valid for %(minutes)d minutes, "
                    "usable once):\n%(link)s\n\nIf you did not ask for this, ignore this mail.",
                    minutes=_settings().password_reset_max_age_minutes,
                    link=link,
                ),
            )
        # The same answer either way: the page does not tell who has an account.
        flash(_("If the address has an account, we have sent a link to it."), "info")
        return redirect_303(url_for("auth.login"))
    return render("auth/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    try:
        user = service.user_for_reset_token(db.session, token)
    except InvalidToken as exc:
        message = (
            _("This link has expired. Ask for a new one.")
            if exc.expired
            else _("This link is not valid or was already used. Ask for a new one.")
        )
        return render("auth/link_problem.html", message=message), 400
    form = ResetPasswordForm()
    form.known_email = user.email
    if form.validate_on_submit():
        service.set_password(user, form.password.data)
        db.session.commit()
        logout_user()
        session.clear()
        flash(_("Your password was changed. Sign in with the new one."), "success")
        return redirect_303(url_for("auth.login"))
    return render("auth/reset.html", form=form), 422 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Any:
    user = current_user._get_current_object()
    form = AccountForm(obj=user)
    password_form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        user.name = form.name.data.strip()
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect_303(url_for("auth.account"))
    context: dict[str, Any] = {"form": form, "password_form": password_form}
    return render("auth/account.html", **context), 422 if form.errors else 200


@bp.post("/account/password")
@login_required
def change_password() -> Any:
    user = current_user._get_current_object()
    password_form = ChangePasswordForm(prefix="pw")
    password_form.known_email = user.email
    if password_form.validate_on_submit():
        if service.change_password(
            user, password_form.current_password.data, password_form.password.data
        ):
            db.session.commit()
            login_user(user)  # this session stays; every other one ends with the old token
            flash(_("Password changed. Other sessions were signed out."), "success")
            return redirect_303(url_for("auth.account"))
        password_form.current_password.errors.append(_("The current password is wrong."))
    form = AccountForm(obj=user)
    return render("auth/account.html", form=form, password_form=password_form), 422


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Any:
    session_ = db.session
    try:
        tenant, invitation = workspaces.open_invitation(
            session_, token, _settings().invitation_max_age_days
        )
    except workspaces.InvitationUnusable as exc:
        messages = {
            "expired": _("This invitation has expired. Ask the administrator for a new one."),
            "accepted": _("This invitation was already used. Sign in instead."),
            "revoked": _("This invitation was withdrawn. Ask the administrator for a new one."),
        }
        message = messages.get(exc.reason, _("This invitation link is not valid."))
        return render("auth/link_problem.html", message=message), 400

    existing = service.find_user_by_email(session_, invitation.email)
    if current_user.is_authenticated and current_user.email != invitation.email:
        return render(
            "auth/link_problem.html",
            message=_(
                "This invitation is for %(email)s. Sign out, then open the link again.",
                email=invitation.email,
            ),
        ), 403
    if existing is not None and not current_user.is_authenticated:
        flash(_("Sign in to accept the invitation to %(name)s.", name=tenant.name), "info")
        return redirect(url_for("auth.login", next=request.path))

    form = AcceptInvitationForm()
    form.known_email = invitation.email
    if request.method == "POST":
        user = None
        try:
            if existing is not None:
                user = existing  # signed in as the invitee (checked above); CSRF checked globally
            elif form.validate_on_submit():
                user = service.create_user(
                    session_, invitation.email, form.name.data, form.password.data
                )
                use_user(session_, user.id)
            if user is not None:
                workspaces.accept_invitation(session_, invitation, user)
                session_.commit()
        except workspaces.RuleBroken as exc:
            session_.rollback()
            return render("auth/link_problem.html", message=str(exc)), 400
        if user is not None:
            if not current_user.is_authenticated:
                login_user(user)
            flash(_("Welcome to %(name)s.", name=tenant.name), "success")
            from tenants.context import home_endpoint

            return redirect_303(url_for(home_endpoint(invitation.role), tenant_slug=tenant.slug))
    status = 422 if form.errors else 200
    return render(
        "auth/accept.html", form=form, tenant=tenant, invitation=invitation, existing=existing
    ), status
