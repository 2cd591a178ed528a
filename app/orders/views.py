"""Orders (受注): the list, an order's page (schedule, status, delivery lots, the monthly
forecast-and-actual table, the timeline), orders from won deals and orders without a deal."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from app.agreements.models import Agreement
from app.buyers.models import Buyer
from app.db import utcnow
from app.deals.models import Deal
from app.extensions import db
from app.jp import fiscal_year_label, fiscal_year_of, today_jst
from app.matching import service as matching
from app.orders import service
from app.orders.forms import (
    DELIVERY_STATUS_LABELS,
    STATUS_LABELS,
    DeliveryEditForm,
    DeliveryForm,
    MonthForm,
    OrderEditForm,
    OrderForm,
    StatusForm,
    status_choices,
)
from app.orders.models import Delivery, DeliveryStatus, Order, OrderStatus
from app.reports import drill
from app.timeline import service as timeline
from app.timeline.forms import TimelineEntryForm
from app.timeline.models import EntryKind
from app.web.htmx import is_htmx, redirect_303, render
from app.web.listing import ListParams, paginate
from tenants.context import current_membership, staff_view, tenant_blueprint

bp = tenant_blueprint("orders", __name__, "/orders")

FILTERS = ("status", "buyer", "fy", "archived", *drill.ORDER_FILTERS)
# Fiscal years offered by the list's filter: a few back from this year, and the next one.
FY_CHOICES_BACK = 5


# --- helpers ---------------------------------------------------------------------------------


def _session() -> Session:
    return db.session


def _order_or_404(order_id: int) -> Order:
    order = _session().get(Order, (g.tenant.id, order_id))
    if order is None:
        abort(404)
    return order


def _detail_url(order: Order, anchor: str = "") -> str:
    return url_for("orders.detail", order_id=order.id) + (f"#{anchor}" if anchor else "")


def _refuse_archived(order: Order) -> Any:
    flash(_("This order is archived. Restore it to make changes."), "error")
    return redirect_303(_detail_url(order))


def _buyer_choices(session: Session) -> list[SelectChoice]:
    buyers = session.execute(
        select(Buyer.id, Buyer.name).where(Buyer.archived_at.is_(None)).order_by(Buyer.name)
    ).all()
    return [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(buyer_id), name) for buyer_id, name in buyers
    ]


def _agreement_choices(session: Session, order: Order) -> list[SelectChoice]:
    """The buyer's agreements that are not archived, and the order's own even if it is."""
    agreements = session.scalars(
        select(Agreement)
        .where(Agreement.buyer_id == order.buyer_id)
        .order_by(Agreement.signed_on.desc().nulls_last(), Agreement.id.desc())
    ).all()
    return [SelectChoice("", _("None"))] + [
        SelectChoice(str(a.id), a.title)
        for a in agreements
        if a.archived_at is None or a.id == order.agreement_id
    ]


# --- the list --------------------------------------------------------------------------------


def _list_params() -> ListParams:
    params = ListParams.from_args(
        request.args, sortable=service.SORTS, filters=FILTERS, default_sort="confirmed_on"
    )
    if "sort" not in request.args:  # newest first unless asked otherwise
        params = replace(params, descending=True)
    return params


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@bp.get("/")
@staff_view()
def index() -> Any:
    session = _session()
    params = _list_params()
    this_fy = fiscal_year_of(today_jst())
    status = params.filters.get("status", "")
    fy = _int_or_none(params.filters.get("fy"))
    if fy is not None and not service.FIRST_FISCAL_YEAR <= fy <= service.LAST_FISCAL_YEAR:
        fy = None
    query = service.order_list(
        q=params.q,
        status=OrderStatus(status) if status in {s.value for s in OrderStatus} else None,
        buyer_id=_int_or_none(params.filters.get("buyer")),
        fiscal_year=fy,
        include_archived=params.filters.get("archived") == "1",
        sort=params.sort,
        descending=params.descending,
        drill_values=params.filters,
    )
    listing = paginate(session, query, params.page, scalars=False, key=Order.id)
    actuals = service.fiscal_year_actuals(
        session, [order.id for order, _buyer in listing.items], this_fy
    )
    fiscal_years = list(range(this_fy + 1, this_fy - FY_CHOICES_BACK - 1, -1))
    if fy is not None and fy not in fiscal_years:
        fiscal_years.append(fy)
    return render(
        "orders/index.html",
        "orders/_rows.html",
        "rows",
        listing=listing,
        actuals=actuals,
        params=params,
        buyers=_buyer_choices(session)[1:],
        statuses=STATUS_LABELS,
        fiscal_years=fiscal_years,
        this_fy_label=fiscal_year_label(this_fy),
        can_write=current_membership().can_write,
        **drill.context(params.filters, drill.ORDER_FILTERS),
    )


# --- one order -------------------------------------------------------------------------------


def _detail_context(order: Order, **forms: Any) -> dict[str, Any]:
    """Everything the order's page shows: a fixed number of queries whatever its size."""
    session = _session()
    tenant_id = g.tenant.id
    buyer = session.get(Buyer, (tenant_id, order.buyer_id))
    agreement = (
        session.get(Agreement, (tenant_id, order.agreement_id)) if order.agreement_id else None
    )
    deal = session.get(Deal, (tenant_id, order.deal_id)) if order.deal_id else None
    deliveries = service.order_deliveries(session, order.id)
    deadline_day = agreement.forecast_deadline_day if agreement is not None else None
    table = service.build_month_table(order, service.order_months(session, order.id), deadline_day)
    today = today_jst()
    overdue = {
        d.id for d in deliveries if service.is_overdue(d.due_on, d.delivered_on, d.status, today)
    }
    can_write = current_membership().can_write and not order.archived
    status_form = forms.get("status_form") or StatusForm()
    status_form.status.choices = status_choices(service.next_statuses(order.status))
    return {
        "order": order,
        "buyer": buyer,
        "agreement": agreement,
        "deal": deal,
        "deliveries": deliveries,
        "overdue": overdue,
        "table": table,
        "deadline_day": deadline_day,
        "status_labels": STATUS_LABELS,
        "delivery_labels": DELIVERY_STATUS_LABELS,
        "status_form": status_form,
        "delivery_form": forms.get("delivery_form") or DeliveryForm(formdata=None),
        "month_form": forms.get("month_form"),
        "month_error_key": forms.get("month_error_key"),
        "entries": timeline.entries(session, order_id=order.id),
        "assignment_rows": matching.assignment_rows(session, order_id=order.id),
        "assignments_show_facility": True,
        "assignments_link": url_for("matching.order_proposal", order_id=order.id),
        "timeline_form": forms.get("timeline_form") or TimelineEntryForm(formdata=None),
        "post_url": url_for("orders.add_note", order_id=order.id),
        "can_write": can_write,
        "can_manage": current_membership().can_write,
        "buyer_url": url_for("buyers.detail", buyer_id=order.buyer_id),
        "deal_url": url_for("deals.detail", deal_id=order.deal_id) if order.deal_id else None,
        "agreement_url": (
            url_for("agreements.detail", agreement_id=order.agreement_id)
            if order.agreement_id
            else None
        ),
    }


@bp.get("/<int:order_id>")
@staff_view()
def detail(order_id: int) -> Any:
    order = _order_or_404(order_id)
    return render("orders/detail.html", **_detail_context(order))


@bp.route("/new", methods=["GET", "POST"])
@staff_view(write=True)
def new() -> Any:
    session = _session()
    form = OrderForm()
    form.buyer_id.choices = _buyer_choices(session)
    if request.method == "GET":
        form.confirmed_on.data = today_jst()
        buyer_id = request.args.get("buyer_id", "")
        if buyer_id in {c.value for c in form.buyer_id.choices}:
            form.buyer_id.data = buyer_id
    if form.validate_on_submit():
        buyer = session.get(Buyer, (g.tenant.id, int(form.buyer_id.data)))
        if buyer is None:  # the choices came from this tenant's buyers
            abort(404)
        assert form.confirmed_on.data is not None  # InputRequired
        order = service.create_order(
            session,
            buyer=buyer,
            title=form.title.data,
            confirmed_on=form.confirmed_on.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            notes=form.notes.data,
        )
        session.commit()
        flash(_("Order %(title)s created.", title=order.title), "success")
        return redirect_303(_detail_url(order))
    return render("orders/new.html", form=form), 422 if form.errors else 200


@bp.post("/from-deal/<int:deal_id>")
@staff_view(write=True)
def create_from_deal(deal_id: int) -> Any:
    session = _session()
    deal = session.get(Deal, (g.tenant.id, deal_id))
    if deal is None:
        abort(404)
    existing = service.order_for_deal(session, deal.id)
    if existing is not None:
        flash(_("This deal already has an order."), "info")
        return redirect_303(_detail_url(existing))
    try:
        order = service.create_order_from_deal(session, deal, today_jst())
        session.commit()
    except service.RuleBroken as exc:
        session.rollback()
        flash(str(exc), "error")
        deal_url = url_for("deals.detail", deal_id=deal.id)
        return render("orders/from_deal_refused.html", deal=deal, deal_url=deal_url), 422
    except IntegrityError:
        # Someone made the order a moment ago: show theirs.
        session.rollback()
        existing = service.order_for_deal(session, deal.id)
        if existing is None:
            raise
        flash(_("This deal already has an order."), "info")
        return redirect_303(_detail_url(existing))
    flash(_("Order %(title)s created.", title=order.title), "success")
    return redirect_303(_detail_url(order))


@bp.route("/<int:order_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit(order_id: int) -> Any:
    session = _session()
    order = _order_or_404(order_id)
    if order.archived:
        return _refuse_archived(order)
    form = OrderEditForm(obj=order)
    form.agreement_id.choices = _agreement_choices(session, order)
    if request.method == "GET":
        form.agreement_id.data = str(order.agreement_id or "")
    if form.validate_on_submit():
        service.update_order(
            session,
            order,
            title=form.title.data,
            starts_on=form.starts_on.data,
            ends_on=form.ends_on.data,
            agreement_id=int(form.agreement_id.data) if form.agreement_id.data else None,
            notes=form.notes.data,
        )
        session.commit()
        flash(_("Order saved."), "success")
        return redirect_303(_detail_url(order))
    return render("orders/edit.html", form=form, order=order), 422 if form.errors else 200


@bp.post("/<int:order_id>/status")
@staff_view(write=True)
def change_status(order_id: int) -> Any:
    session = _session()
    order = _order_or_404(order_id)
    if order.archived:
        return _refuse_archived(order)
    form = StatusForm()
    form.status.choices = status_choices(service.next_statuses(order.status))
    if form.validate_on_submit():
        try:
            service.change_status(session, order, OrderStatus(form.status.data), STATUS_LABELS)
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form.status.errors = [str(exc)]
        else:
            flash(_("Status changed."), "success")
            return redirect_303(_detail_url(order))
    context = _detail_context(order, status_form=form)
    return render("orders/detail.html", "orders/_status.html", "status", **context), 422


@bp.post("/<int:order_id>/archive")
@staff_view(write=True)
def archive(order_id: int) -> Any:
    order = _order_or_404(order_id)
    service.archive(order)
    _session().commit()
    flash(_("Order archived. It stays viewable and can be restored."), "success")
    return redirect_303(_detail_url(order))


@bp.post("/<int:order_id>/restore")
@staff_view(write=True)
def restore(order_id: int) -> Any:
    order = _order_or_404(order_id)
    service.restore(order)
    _session().commit()
    flash(_("Order restored."), "success")
    return redirect_303(_detail_url(order))


# --- deliveries ------------------------------------------------------------------------------


@bp.post("/<int:order_id>/deliveries")
@staff_view(write=True)
def add_delivery(order_id: int) -> Any:
    session = _session()
    order = _order_or_404(order_id)
    if order.archived:
        return _refuse_archived(order)
    form = DeliveryForm()
    if form.validate_on_submit():
        assert form.quantity.data is not None and form.due_on.data is not None  # InputRequired
        try:
            service.add_delivery(
                session,
                order,
                lot_no=form.lot_no.data,
                quantity=form.quantity.data,
                due_on=form.due_on.data,
            )
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form.lot_no.errors = [str(exc)]
        except IntegrityError:  # the same lot added a moment ago by someone else
            session.rollback()
            form.lot_no.errors = [_("This order already has a lot %(lot)s.", lot=form.lot_no.data)]
        else:
            flash(_("Lot %(lot)s added.", lot=form.lot_no.data), "success")
            return redirect_303(_detail_url(order, "deliveries"))
    context = _detail_context(order, delivery_form=form)
    return render("orders/detail.html", "orders/_deliveries.html", "deliveries", **context), 422


def _delivery_or_404(order: Order, delivery_id: int) -> Delivery:
    delivery = _session().get(Delivery, (g.tenant.id, delivery_id))
    if delivery is None or delivery.order_id != order.id:
        abort(404)
    return delivery


@bp.route("/<int:order_id>/deliveries/<int:delivery_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit_delivery(order_id: int, delivery_id: int) -> Any:
    session = _session()
    order = _order_or_404(order_id)
    delivery = _delivery_or_404(order, delivery_id)
    if order.archived:
        return _refuse_archived(order)
    form = DeliveryEditForm(obj=delivery)
    if request.method == "GET":
        form.due_on.data = delivery.due_on
        form.status.data = delivery.status.value
    if form.validate_on_submit():
        assert form.quantity.data is not None and form.due_on.data is not None  # InputRequired
        try:
            service.update_delivery(
                session,
                order,
                delivery,
                lot_no=form.lot_no.data,
                quantity=form.quantity.data,
                due_on=form.due_on.data,
                delivered_on=form.delivered_on.data,
                status=DeliveryStatus(form.status.data),
                labels=DELIVERY_STATUS_LABELS,
                today=today_jst(),
            )
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            below = isinstance(exc, service.QuantityBelowRecorded)
            (form.quantity if below else form.lot_no).errors = [str(exc)]
        else:
            flash(_("Lot %(lot)s saved.", lot=delivery.lot_no), "success")
            return redirect_303(_detail_url(order, "deliveries"))
    return (
        render("orders/delivery_edit.html", form=form, order=order, delivery=delivery),
        422 if form.errors else 200,
    )


# --- the monthly table -----------------------------------------------------------------------


@bp.post("/<int:order_id>/months")
@staff_view(write=True)
def set_month(order_id: int) -> Any:
    session = _session()
    order = _order_or_404(order_id)
    if order.archived:
        return _refuse_archived(order)
    form = MonthForm()
    valid = form.validate_on_submit()
    month = form.month_date()
    stored = {m.month: m for m in service.order_months(session, order.id)}
    if valid and month not in set(service.months_of(order)) | set(stored):
        form.month.errors = [_("Choose a month of this order.")]
        valid = False
    if valid and month is not None:
        service.set_month(
            session,
            order,
            month,
            forecast=form.forecast.data,
            actual=form.actual.data,
            existing=stored.get(month),
            now=utcnow(),
        )
        session.commit()
        if is_htmx():
            context = _detail_context(order)
            return render("orders/detail.html", "orders/_months.html", "months", **context)
        flash(_("Amounts for %(month)s saved.", month=_month_label(month)), "success")
        return redirect_303(_detail_url(order, "months"))
    key = month.strftime("%Y-%m") if month is not None else None
    context = _detail_context(order, month_form=form, month_error_key=key)
    return render("orders/detail.html", "orders/_months.html", "months", **context), 422


def _month_label(month: date) -> str:
    return _("%(year)d/%(month)d", year=month.year, month=month.month)


# --- the timeline ----------------------------------------------------------------------------


@bp.post("/<int:order_id>/notes")
@staff_view(write=True)
def add_note(order_id: int) -> Any:
    session = _session()
    order = _order_or_404(order_id)
    if order.archived:
        return _refuse_archived(order)
    form = TimelineEntryForm()
    if form.validate_on_submit():
        timeline.add_entry(
            session,
            body=form.body.data,
            order_id=order.id,
            kind=EntryKind(form.kind.data),
            internal=bool(form.internal.data),
        )
        session.commit()
        if is_htmx():
            context = _detail_context(order)
            return render("orders/detail.html", "timeline/_timeline.html", "timeline", **context)
        return redirect_303(_detail_url(order, "timeline"))
    context = _detail_context(order, timeline_form=form)
    return render("orders/detail.html", "timeline/_timeline.html", "timeline", **context), 422
