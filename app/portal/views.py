"""The buyer portal (/t/<slug>/portal) and the facility portal (/t/<slug>/facility).

Every view is declared ``buyer_view`` or ``facility_view``: staff, support agents and the
other portal get 403, outsiders 404 (``tenant_blueprint``). The company or facility comes
from the person's membership (``g.buyer`` / ``g.facility``), never from the URL, and every
record is looked up through it: another company's id is simply not found (404).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.agreements.forms import ACTION_STATUS_LABELS, REMOTE_FIRST_LABELS
from app.agreements.forms import KIND_LABELS as AGREEMENT_KIND_LABELS
from app.db import utcnow
from app.deals.models import Deal, DealStage
from app.extensions import db
from app.jp import fiscal_year_label, fiscal_year_of, today_jst
from app.matching.service import format_quantity
from app.notifications import service as notifications
from app.orders import service as orders
from app.orders.forms import DELIVERY_STATUS_LABELS, STATUS_LABELS
from app.orders.models import Order
from app.portal import facility_quality, service
from app.portal.forms import ForecastForm, MessageForm, QuoteAnswerForm, WorkRequestForm
from app.portal.models import QuoteAnswer
from app.web.htmx import is_htmx, redirect_303, render
from tenants.context import buyer_view, current_membership, facility_view, tenant_blueprint

bp = tenant_blueprint("portal", __name__, "/portal")
facility_bp = tenant_blueprint("facility_portal", __name__, "/facility")

# The buyer's words for where its deal stands (the pipeline's early stages read as one).
BUYER_STAGE_LABELS = {
    "discussion": _l("Under discussion"),
    "trial": _l("Site visit / trial"),
    "quote": _l("Quote"),
    "ordered": _l("Ordered"),
    "closed": _l("Closed without an order"),
}


def _session() -> Session:
    return db.session


def _month_label(month: date) -> str:
    return _("%(year)d/%(month)d", year=month.year, month=month.month)


@bp.context_processor
def portal_helpers() -> dict[str, Any]:
    return {
        "buyer_stage": lambda deal: BUYER_STAGE_LABELS[service.BUYER_STAGE[deal.stage]],
        "priced": lambda deal: deal.stage in service.PRICED_STAGES,
        "order_status_labels": STATUS_LABELS,
        "delivery_labels": DELIVERY_STATUS_LABELS,
        "month_label": _month_label,
    }


# --- home ----------------------------------------------------------------------------------


@bp.get("/")
@buyer_view
def home() -> Any:
    session = _session()
    today = today_jst()
    buyer = g.buyer
    deal_list = service.buyer_deals(session, buyer.id)
    latest = service.latest_decisions(
        session, [d.id for d in deal_list if d.stage == DealStage.QUOTE]
    )
    quotes = [d for d in deal_list if service.awaiting_answer(d, latest.get(d.id))]
    order_list = service.buyer_orders(session, buyer.id)
    return render(
        "portal/home.html",
        quotes=quotes,
        forecasts=service.forecasts_due(session, order_list, today),
        orders=order_list,
        lots=service.next_lots(session, [o.id for o in order_list], today),
        today=today,
    )


# --- agreements ----------------------------------------------------------------------------


@bp.get("/agreements")
@buyer_view
def agreements() -> Any:
    return render(
        "portal/agreements.html",
        agreements=service.buyer_agreements(_session(), g.buyer.id),
        kind_labels=AGREEMENT_KIND_LABELS,
    )


@bp.get("/agreements/<int:agreement_id>")
@buyer_view
def agreement(agreement_id: int) -> Any:
    session = _session()
    found = service.agreement_of(session, g.buyer.id, agreement_id)
    if found is None:
        abort(404)
    items, goals = service.agreement_plan(session, found.id)
    return render(
        "portal/agreement.html",
        agreement=found,
        items=items,
        goals=goals,
        kind_labels=AGREEMENT_KIND_LABELS,
        status_labels=ACTION_STATUS_LABELS,
        remote_labels=REMOTE_FIRST_LABELS,
    )


# --- deals and quotes ----------------------------------------------------------------------


@bp.get("/deals")
@buyer_view
def deals() -> Any:
    session = _session()
    deal_list = service.buyer_deals(session, g.buyer.id)
    latest = service.latest_decisions(session, [d.id for d in deal_list])
    return render(
        "portal/deals.html",
        deals=deal_list,
        awaiting={d.id for d in deal_list if service.awaiting_answer(d, latest.get(d.id))},
    )


def _deal_or_404(deal_id: int) -> Deal:
    deal = service.deal_of(_session(), g.buyer.id, deal_id)
    if deal is None:
        abort(404)
    return deal


def _deal_context(deal: Deal, form: QuoteAnswerForm | None = None) -> dict[str, Any]:
    session = _session()
    latest = service.latest_decisions(session, [deal.id]).get(deal.id)
    return {
        "deal": deal,
        "latest": latest,
        "awaiting": service.awaiting_answer(deal, latest),
        "form": form or QuoteAnswerForm(formdata=None),
        "entries": service.buyer_entries(session, deal_id=deal.id),
        "order": orders.order_for_deal(session, deal.id) if deal.stage == DealStage.WON else None,
    }


@bp.get("/deals/<int:deal_id>")
@buyer_view
def deal(deal_id: int) -> Any:
    return render("portal/deal.html", **_deal_context(_deal_or_404(deal_id)))


@bp.post("/deals/<int:deal_id>/answer")
@buyer_view
def answer_quote(deal_id: int) -> Any:
    session = _session()
    found = _deal_or_404(deal_id)
    form = QuoteAnswerForm()
    if form.validate_on_submit():
        answer = QuoteAnswer(form.answer.data)
        try:
            _decision, notes = service.answer_quote(
                session,
                found,
                current_membership(),
                answer,
                form.comment.data or "",
                now=utcnow(),
                link=url_for("deals.detail", deal_id=found.id),
            )
            session.commit()
        except service.PortalRuleBroken as exc:
            session.rollback()
            form.comment.errors = [str(exc)]
        else:
            notifications.send_after_commit(notes)
            message = (
                _("You approved the quote. The coordinator has been told.")
                if answer == QuoteAnswer.APPROVED
                else _("You declined the quote. The coordinator has been told.")
            )
            flash(message, "success")
            return redirect_303(url_for("portal.deal", deal_id=found.id))
    return render("portal/deal.html", **_deal_context(found, form)), 422


# --- requests for new work -----------------------------------------------------------------


@bp.route("/requests/new", methods=["GET", "POST"])
@buyer_view
def request_work() -> Any:
    session = _session()
    form = WorkRequestForm()
    if form.validate_on_submit():
        found, notes = service.request_work(
            session,
            g.buyer,
            current_membership(),
            title=form.title.data,
            description=form.description.data or "",
            volume=form.volume.data or "",
            wanted_from=form.wanted_from.data,
            today=today_jst(),
            link_for=lambda d: url_for("deals.detail", deal_id=d.id),
        )
        session.commit()
        notifications.send_after_commit(notes)
        flash(_("Thank you. Your request was sent to the coordinator."), "success")
        return redirect_303(url_for("portal.deal", deal_id=found.id))
    return render("portal/request.html", form=form), 422 if form.errors else 200


# --- orders --------------------------------------------------------------------------------


@bp.get("/orders")
@buyer_view
def orders_index() -> Any:
    session = _session()
    order_list = service.buyer_orders(session, g.buyer.id)
    return render(
        "portal/orders.html",
        orders=order_list,
        lots=service.next_lots(session, [o.id for o in order_list], today_jst()),
        today=today_jst(),
    )


def _order_or_404(order_id: int) -> Order:
    found = service.order_of(_session(), g.buyer.id, order_id)
    if found is None:
        abort(404)
    return found


def _order_context(order: Order, **forms: Any) -> dict[str, Any]:
    """Everything the buyer's order page shows: a fixed number of queries."""
    session = _session()
    today = today_jst()
    agreement = (
        service.agreement_of(session, g.buyer.id, order.agreement_id)
        if order.agreement_id is not None
        else None
    )
    deadline_day = agreement.forecast_deadline_day if agreement is not None else None
    months = orders.order_months(session, order.id)
    deliveries = orders.order_deliveries(session, order.id)
    return {
        "order": order,
        "agreement": agreement,
        "deadline_day": deadline_day,
        "deliveries": deliveries,
        "overdue": {
            d.id for d in deliveries if orders.is_overdue(d.due_on, d.delivered_on, d.status, today)
        },
        "table": orders.build_month_table(order, months, deadline_day),
        "open_months": {
            m.strftime("%Y-%m") for m in service.open_forecast_months(order, months, today)
        },
        "forecast_form": forms.get("forecast_form"),
        "forecast_error_key": forms.get("forecast_error_key"),
        "entries": service.buyer_entries(session, order_id=order.id),
        "message_form": forms.get("message_form") or MessageForm(formdata=None),
        "today": today,
    }


@bp.get("/orders/<int:order_id>")
@buyer_view
def order(order_id: int) -> Any:
    return render("portal/order.html", **_order_context(_order_or_404(order_id)))


@bp.post("/orders/<int:order_id>/forecast")
@buyer_view
def submit_forecast(order_id: int) -> Any:
    session = _session()
    found = _order_or_404(order_id)
    form = ForecastForm()
    month = form.month_date()
    if form.validate_on_submit() and month is not None and form.amount.data is not None:
        agreement = (
            service.agreement_of(session, g.buyer.id, found.agreement_id)
            if found.agreement_id is not None
            else None
        )
        try:
            _row, late = service.submit_forecast(
                session,
                found,
                month,
                form.amount.data,
                now=utcnow(),
                today=today_jst(),
                deadline_day=agreement.forecast_deadline_day if agreement else None,
            )
            session.commit()
        except service.PortalRuleBroken as exc:
            session.rollback()
            form.amount.errors = [str(exc)]
        else:
            if is_htmx():
                context = _order_context(found)
                return render("portal/order.html", "portal/_months.html", "months", **context)
            if late:
                flash(
                    _(
                        "Forecast for %(month)s received, after the deadline.",
                        month=_month_label(month),
                    ),
                    "warning",
                )
            else:
                flash(_("Forecast for %(month)s received.", month=_month_label(month)), "success")
            return redirect_303(url_for("portal.order", order_id=found.id) + "#months")
    key = month.strftime("%Y-%m") if month is not None else None
    context = _order_context(found, forecast_form=form, forecast_error_key=key)
    return render("portal/order.html", "portal/_months.html", "months", **context), 422


@bp.post("/orders/<int:order_id>/messages")
@buyer_view
def post_message(order_id: int) -> Any:
    session = _session()
    found = _order_or_404(order_id)
    form = MessageForm()
    if form.validate_on_submit():
        _entry, notes = service.post_message(
            session,
            found,
            current_membership(),
            form.body.data or "",
            link=url_for("orders.detail", order_id=found.id) + "#timeline",
        )
        session.commit()
        notifications.send_after_commit(notes)
        if is_htmx():
            context = _order_context(found)
            return render("portal/order.html", "portal/_timeline.html", "timeline", **context)
        flash(_("Message sent to the coordinator."), "success")
        return redirect_303(url_for("portal.order", order_id=found.id) + "#timeline")
    context = _order_context(found, message_form=form)
    return render("portal/order.html", "portal/_timeline.html", "timeline", **context), 422


# === the facility portal ===================================================================


@facility_bp.context_processor
def facility_helpers() -> dict[str, Any]:
    return {"quantity": format_quantity, "month_label": _month_label}


SCHEDULE_MONTHS_BACK = 2
SCHEDULE_MONTHS_AHEAD = 6


@facility_bp.get("/", endpoint="home")
@facility_view
def facility_home() -> Any:
    session = _session()
    facility = g.facility
    this_month = orders.first_of_month(today_jst())
    work = service.facility_work(session, facility.id, this_month, this_month)
    totals = service.facility_totals(session, facility.id, [this_month])
    return render(
        "facility_portal/home.html",
        work=work,
        month=this_month,
        total=totals[0],
        unread=notifications.unread_count(session, facility_id=facility.id),
        manuals_to_confirm=facility_quality.manuals_to_confirm(session, facility.id),
    )


@facility_bp.get("/schedule")
@facility_view
def schedule() -> Any:
    this_month = orders.first_of_month(today_jst())
    first = orders.add_months(this_month, -SCHEDULE_MONTHS_BACK)
    last = orders.add_months(this_month, SCHEDULE_MONTHS_AHEAD)
    work = service.facility_work(_session(), g.facility.id, first, last)
    by_month: dict[date, list[service.FacilityWork]] = {}
    for item in work:
        by_month.setdefault(item.assignment.month, []).append(item)
    return render(
        "facility_portal/schedule.html",
        months=sorted(by_month.items(), reverse=True),
        this_month=this_month,
    )


@facility_bp.get("/notices")
@facility_view
def notices() -> Any:
    return render(
        "facility_portal/notices.html",
        notices=notifications.for_facility(_session(), g.facility.id),
    )


@facility_bp.post("/notices/<int:notice_id>/read")
@facility_view
def read_notice(notice_id: int) -> Any:
    session = _session()
    note = service.facility_notice(session, g.facility.id, notice_id)
    if note is None:
        abort(404)
    notifications.mark_read(note, utcnow())
    session.commit()
    return redirect_303(url_for("facility_portal.notices") + f"#notice-{note.id}")


@facility_bp.post("/notices/read-all")
@facility_view
def read_all_notices() -> Any:
    session = _session()
    notifications.mark_all_read(session, utcnow(), facility_id=g.facility.id)
    session.commit()
    return redirect_303(url_for("facility_portal.notices"))


@facility_bp.get("/totals")
@facility_view
def totals() -> Any:
    this_fy = fiscal_year_of(today_jst())
    fy = request.args.get("fy", type=int) or this_fy
    if not orders.FIRST_FISCAL_YEAR <= fy <= orders.LAST_FISCAL_YEAR:
        fy = this_fy
    months = orders.fiscal_year_first_days(fy)
    rows = service.facility_totals(_session(), g.facility.id, months)
    return render(
        "facility_portal/totals.html",
        rows=rows,
        fy=fy,
        fy_label=fiscal_year_label(fy),
        previous_fy=fy - 1,
        next_fy=fy + 1 if fy < this_fy else None,
        hours_total=round(sum(r.hours for r in rows), 1),
        amount_total=sum(r.amount for r in rows),
        estimated=any(r.estimated for r in rows),
    )
