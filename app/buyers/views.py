"""Buyer screens (発注企業): list, new, detail with the buyer's history, edit, archive/restore."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.agreements.forms import KIND_LABELS as AGREEMENT_KIND_LABELS
from app.buyers import service
from app.buyers.forms import BuyerForm
from app.buyers.models import Buyer
from app.db import utcnow
from app.deals.service import STAGE_LABELS as DEAL_STAGE_LABELS
from app.extensions import db
from app.orders.forms import STATUS_LABELS as ORDER_STATUS_LABELS
from app.reports import drill
from app.web.htmx import redirect_303, render
from app.web.listing import ListParams, paginate
from tenants.context import staff_view, tenant_blueprint

bp = tenant_blueprint("buyers", __name__, "/buyers")


def _buyer_or_404(buyer_id: int) -> Buyer:
    buyer = db.session.get(Buyer, (g.tenant.id, buyer_id))
    if buyer is None:
        abort(404)
    return buyer


@bp.get("/")
@staff_view()
def index() -> Any:
    params = ListParams.from_args(
        request.args, service.SORTABLE, service.FILTERS, default_sort="name"
    )
    page = paginate(db.session, service.list_query(params), params.page)
    return render(
        "buyers/index.html",
        "buyers/_rows.html",
        target="rows",
        listing=page,
        params=params,
        industries=service.industries(db.session),
        **drill.context(params.filters, drill.BUYER_FILTERS),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_view(write=True)
def new() -> Any:
    form = BuyerForm()
    if form.validate_on_submit():
        buyer = service.create_buyer(db.session, form.values())
        db.session.commit()
        flash(_("%(name)s was added.", name=buyer.name), "success")
        return redirect_303(url_for("buyers.detail", buyer_id=buyer.id))
    return render("buyers/form.html", form=form, buyer=None), 422 if form.errors else 200


@bp.get("/<int:buyer_id>")
@staff_view()
def detail(buyer_id: int) -> Any:
    buyer = _buyer_or_404(buyer_id)
    return render(
        "buyers/detail.html",
        buyer=buyer,
        history=service.history(db.session, buyer.id),
        stage_labels=DEAL_STAGE_LABELS,
        status_labels=ORDER_STATUS_LABELS,
        agreement_kind_labels=AGREEMENT_KIND_LABELS,
    )


@bp.route("/<int:buyer_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit(buyer_id: int) -> Any:
    buyer = _buyer_or_404(buyer_id)
    if buyer.archived:
        flash(_("This record is archived. Restore it before editing."), "warning")
        return redirect(url_for("buyers.detail", buyer_id=buyer.id), 303)
    form = BuyerForm(obj=buyer)
    if form.validate_on_submit():
        service.update_buyer(buyer, form.values())
        db.session.commit()
        flash(_("Changes saved."), "success")
        return redirect_303(url_for("buyers.detail", buyer_id=buyer.id))
    return render("buyers/form.html", form=form, buyer=buyer), 422 if form.errors else 200


@bp.post("/<int:buyer_id>/archive")
@staff_view(write=True)
def archive(buyer_id: int) -> Any:
    buyer = _buyer_or_404(buyer_id)
    if service.archive(buyer, utcnow()):
        db.session.commit()
        flash(_("%(name)s was archived. It stays viewable.", name=buyer.name), "success")
    return redirect_303(url_for("buyers.detail", buyer_id=buyer.id))


@bp.post("/<int:buyer_id>/restore")
@staff_view(write=True)
def restore(buyer_id: int) -> Any:
    buyer = _buyer_or_404(buyer_id)
    if service.restore(buyer):
        db.session.commit()
        flash(_("%(name)s was restored.", name=buyer.name), "success")
    return redirect_303(url_for("buyers.detail", buyer_id=buyer.id))
