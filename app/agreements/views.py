"""Agreement screens (連携協定・契約): list, new, detail with the action plan edited in place,
edit, archive/restore."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.agreements import service
from app.agreements.forms import (
    ACTION_STATUS_LABELS,
    KIND_LABELS,
    ONSITE_INCLUDED_LABELS,
    REMOTE_FIRST_LABELS,
    ActionItemForm,
    AgreementForm,
)
from app.agreements.models import ActionItem, Agreement
from app.buyers import service as buyers
from app.buyers.models import Buyer
from app.db import utcnow
from app.extensions import db
from app.jp import today_jst
from app.orders.forms import STATUS_LABELS as ORDER_STATUS_LABELS
from app.web.htmx import is_htmx, redirect_303, render
from app.web.listing import ListParams, paginate
from tenants.context import current_membership, staff_view, tenant_blueprint

bp = tenant_blueprint("agreements", __name__, "/agreements")

BODY = "agreements/_body.html"
BODY_TARGET = "agreement-body"
DUE_CHOICES = (30, 60, 90, 180, 365)


def today() -> date:  # a seam the tests replace
    return today_jst()


def _agreement_or_404(agreement_id: int) -> Agreement:
    agreement = db.session.get(Agreement, (g.tenant.id, agreement_id))
    if agreement is None:
        abort(404)
    return agreement


def _detail_url(agreement: Agreement, anchor: str | None = None) -> str:
    return url_for("agreements.detail", agreement_id=agreement.id, _anchor=anchor)


# --- list ------------------------------------------------------------------------------------


@bp.get("/")
@staff_view()
def index() -> Any:
    params = ListParams.from_args(
        request.args, service.SORTABLE, service.FILTERS, default_sort="renewal"
    )
    day = today()
    page = paginate(db.session, service.list_query(params, day), params.page, scalars=False)
    due = service.due_days(params)
    return render(
        "agreements/index.html",
        "agreements/_rows.html",
        target="rows",
        listing=page,
        rows=service.list_rows(page.items, day),
        params=params,
        buyer_options=service.buyer_options(db.session),
        kind_labels=KIND_LABELS,
        due=due,
        due_choices=sorted({*DUE_CHOICES, due} - {None}),
        today=day,
    )


# --- new and edit ----------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@staff_view(write=True)
def new() -> Any:
    session = db.session
    form = AgreementForm(buyer_id=request.args.get("buyer_id", type=int))
    form.set_choices(buyers.choices(session), service.goal_choices(session))
    if form.validate_on_submit():
        try:
            agreement = service.create_agreement(session, form.values(), form.goal_ids.data)
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form.buyer_id.errors = [str(exc)]
        else:
            flash(_("%(title)s was added.", title=agreement.title), "success")
            return redirect_303(_detail_url(agreement))
    return _form_page(form, None)


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit(agreement_id: int) -> Any:
    session = db.session
    agreement = _agreement_or_404(agreement_id)
    if agreement.archived:
        flash(_("This record is archived. Restore it before editing."), "warning")
        return redirect(_detail_url(agreement), 303)
    linked = service.goal_ids_of(session, agreement.id)
    form = AgreementForm(obj=agreement)
    form.set_choices(
        buyers.choices(session, keep_id=agreement.buyer_id),
        service.goal_choices(session, keep_ids=linked),
    )
    if request.method == "GET":
        form.show_stored(agreement, linked)
    if form.validate_on_submit():
        try:
            service.update_agreement(session, agreement, form.values(), form.goal_ids.data)
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form.buyer_id.errors = [str(exc)]
        else:
            flash(_("Changes saved."), "success")
            return redirect_303(_detail_url(agreement))
    return _form_page(form, agreement)


def _form_page(form: AgreementForm, agreement: Agreement | None) -> Any:
    return render(
        "agreements/form.html",
        form=form,
        agreement=agreement,
    ), 422 if form.errors else 200


# --- detail and the action plan --------------------------------------------------------------


def _detail_context(
    agreement: Agreement,
    new_form: ActionItemForm | None = None,
    edit_form: ActionItemForm | None = None,
    editing_id: int | None = None,
) -> dict[str, Any]:
    """Everything the page shows, at a fixed number of statements."""
    session = db.session
    day = today()
    items = service.action_items(session, agreement.id)
    can_change = current_membership().can_write and not agreement.archived
    editing = next((item for item in items if item.id == editing_id), None)
    if can_change and editing is not None and edit_form is None:
        edit_form = ActionItemForm(formdata=None, obj=editing, prefix="edit")
    return {
        "agreement": agreement,
        "buyer": session.get(Buyer, (agreement.tenant_id, agreement.buyer_id)),
        "goals": service.linked_goals(session, agreement.id),
        "items": items,
        "orders": service.orders_under(session, agreement.id),
        "today": day,
        "renewal": service.renewal_state(
            agreement.renewal_on, agreement.remind_days_before_renewal, day, agreement.archived
        ),
        "days_to_renewal": service.days_until(agreement.renewal_on, day),
        "vague": service.is_vague(len(items), agreement.has_scope_terms),
        "short_commitment": service.short_commitment(agreement.minimum_commitment_months),
        "summary": service.plan_summary(
            ((item.status, item.progress, item.due_on) for item in items), day
        ),
        "overdue": lambda item: service.action_overdue(item.due_on, item.status, day),
        "can_change": can_change,
        "new_form": new_form or ActionItemForm(formdata=None, prefix="new"),
        "edit_form": edit_form if can_change and editing is not None else None,
        "editing_id": editing.id if can_change and editing is not None else None,
        "kind_labels": KIND_LABELS,
        "status_labels": ACTION_STATUS_LABELS,
        "remote_labels": REMOTE_FIRST_LABELS,
        "onsite_labels": ONSITE_INCLUDED_LABELS,
        "order_status_labels": ORDER_STATUS_LABELS,
        "min_commitment": service.MIN_COMMITMENT_MONTHS,
    }


def _detail(agreement: Agreement, status: int = 200, **kwargs: Any) -> Any:
    page = render(
        "agreements/detail.html", BODY, BODY_TARGET, **_detail_context(agreement, **kwargs)
    )
    return page, status


@bp.get("/<int:agreement_id>")
@staff_view()
def detail(agreement_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    return _detail(agreement, editing_id=request.args.get("edit", type=int))


def _after_plan_change(agreement: Agreement, message: str) -> Any:
    """htmx swaps the page body in place; a plain form post gets the usual 303."""
    if is_htmx():
        return _detail(agreement)
    flash(message, "success")
    return redirect_303(_detail_url(agreement, "action-plan"))


def _plan_refused(agreement: Agreement, exc: service.RuleBroken) -> Any:
    db.session.rollback()
    flash(str(exc), "error")
    return redirect_303(_detail_url(agreement, "action-plan"))


@bp.post("/<int:agreement_id>/actions")
@staff_view(write=True)
def add_action(agreement_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    form = ActionItemForm(prefix="new")
    if not form.validate_on_submit():
        return _detail(agreement, 422, new_form=form)
    try:
        service.add_action_item(db.session, agreement, form.values())
        db.session.commit()
    except service.RuleBroken as exc:
        return _plan_refused(agreement, exc)
    return _after_plan_change(agreement, _("Action added to the plan."))


@bp.post("/<int:agreement_id>/actions/<int:action_item_id>")
@staff_view(write=True)
def update_action(agreement_id: int, action_item_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    item = db.session.get(ActionItem, (g.tenant.id, action_item_id))
    if item is None or item.agreement_id != agreement.id:
        abort(404)
    form = ActionItemForm(prefix="edit")
    if not form.validate_on_submit():
        return _detail(agreement, 422, edit_form=form, editing_id=item.id)
    try:
        service.update_action_item(agreement, item, form.values())
        db.session.commit()
    except service.RuleBroken as exc:
        return _plan_refused(agreement, exc)
    return _after_plan_change(agreement, _("Action updated."))


# --- archive and restore ---------------------------------------------------------------------


@bp.post("/<int:agreement_id>/archive")
@staff_view(write=True)
def archive(agreement_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    if service.archive(agreement, utcnow()):
        db.session.commit()
        flash(_("%(title)s was archived. It stays viewable.", title=agreement.title), "success")
    return redirect_303(_detail_url(agreement))


@bp.post("/<int:agreement_id>/restore")
@staff_view(write=True)
def restore(agreement_id: int) -> Any:
    agreement = _agreement_or_404(agreement_id)
    if service.restore(agreement):
        db.session.commit()
        flash(_("%(title)s was restored.", title=agreement.title), "success")
    return redirect_303(_detail_url(agreement))
