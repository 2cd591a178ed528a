"""Deal screens: the list, the board by stage, the form, the detail page with its timeline."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.db import utcnow
from app.deals import service
from app.deals.forms import (
    DealForm,
    MoveForm,
    deal_form_data,
    new_deal_data,
    preview_amount,
)
from app.deals.models import Deal, DealStage, PricingBasis
from app.extensions import db
from app.jp import fiscal_year_of, fiscal_year_range, today_jst
from app.orders.models import Order
from app.reports import drill
from app.timeline import service as timeline
from app.timeline.forms import TimelineEntryForm
from app.timeline.models import EntryKind
from app.web.htmx import htmx_target, is_htmx, redirect_303, render
from app.web.listing import ListParams, paginate
from tenants.context import current_membership, staff_view, tenant_blueprint

bp = tenant_blueprint("deals", __name__, "/deals")

BOARD_FILTERS = ("buyer", "owner", "recurring", "fy")


def _minimum_volume() -> int:
    """The workspace's minimum annual volume (error pages render without a workspace)."""
    tenant = g.get("tenant")
    return tenant.min_annual_volume if tenant is not None else service.MINIMUM_ANNUAL_VOLUME


@bp.context_processor
def deal_helpers() -> dict[str, Any]:
    return {
        "stage_label": service.stage_label,
        "pricing_label": lambda basis: (
            service.PRICING_LABELS.get(PricingBasis(basis), basis) if basis else ""
        ),
        "deal_warnings": lambda deal: service.deal_warnings(deal, _minimum_volume()),
        "warning_labels": service.WARNING_LABELS,
        "annual_volume": service.annual_volume,
        "minimum_volume": _minimum_volume(),
        "previous_stage": service.previous_stage,
        "next_stage": service.next_stage,
        "pipeline": service.PIPELINE,
    }


def _deal_or_404(deal_id: int) -> Deal:
    deal = db.session.get(Deal, (g.tenant.id, deal_id))
    if deal is None:
        abort(404)
    return deal


def _can_write() -> bool:
    return current_membership().can_write


def _filter_choices(today: date) -> dict[str, Any]:
    session = db.session
    return {
        "buyers": service.buyer_choices(session),
        "owners": service.owner_choices(session),
        "years": service.fiscal_years(session, today),
    }


# --- list and board --------------------------------------------------------------------------


@bp.get("/")
@staff_view()
def index() -> Any:
    params = ListParams.from_args(
        request.args, sortable=service.SORTABLE, filters=service.FILTER_NAMES
    )
    filters = service.DealFilters.parse(params.q, params.filters)
    statement = service.list_statement(filters, params.sort, params.descending)
    listing = paginate(db.session, statement, params.page, scalars=False)
    # The rows alone (htmx) need no filter choices.
    choices = {} if htmx_target() == "rows" else _filter_choices(today_jst())
    return render(
        "deals/index.html",
        "deals/_rows.html",
        target="rows",
        listing=listing,
        params=params,
        filters=filters,
        can_write=_can_write(),
        **choices,
        **drill.context(params.filters, drill.DEAL_FILTERS),
    )


def _board_context(args: MultiDict[str, str]) -> dict[str, Any]:
    params = ListParams.from_args(args, sortable=(), filters=BOARD_FILTERS)
    filters = service.DealFilters.parse(params.q, params.filters)
    # Without a fiscal-year filter, won and lost deals are those decided this fiscal year.
    closed_since = None
    if filters.fiscal_year is None:
        closed_since = fiscal_year_range(fiscal_year_of(today_jst()))[0]
    return {
        "columns": service.board(db.session, filters, closed_since=closed_since),
        "closed_since": closed_since,
        "params": params,
        "filters": filters,
        "card_limit": service.BOARD_CARD_LIMIT,
        "can_write": _can_write(),
        "board_url": url_for("deals.board")
        + ("?" + params.url_args() if params.url_args() else ""),
    }


@bp.get("/board")
@staff_view()
def board() -> Any:
    context = _board_context(request.args)
    choices = {} if htmx_target() == "board" else _filter_choices(today_jst())
    return render("deals/board.html", "deals/_board.html", target="board", **context, **choices)


# --- creating and editing ----------------------------------------------------------------------


def _prepared_form(deal: Deal | None = None, **initial: Any) -> DealForm:
    session = db.session
    keep_capabilities = initial.get("capability_ids", []) if deal is not None else []
    form = DealForm(data=initial)
    form.set_choices(
        buyers=service.buyer_choices(session, keep=deal.buyer_id if deal else None),
        owners=service.owner_choices(session, keep=deal.owner_id if deal else None),
        capabilities=service.capability_choices(session, keep=keep_capabilities),
        difficulty_levels=service.difficulty_choices(session),
        lost_reasons=service.lost_reason_choices(
            session, keep=deal.lost_reason_id if deal else None
        ),
    )
    return form


def _form_page(form: DealForm, deal: Deal | None) -> Any:
    amount = preview_amount(str(form.monthly_amount._value()), str(form.expected_months._value()))
    status = 422 if form.errors else 200
    return render("deals/form.html", form=form, deal=deal, amount=amount), status


def _requested_stage() -> str | None:
    stage = request.args.get("stage", "")
    return stage if stage in {s.value for s in DealStage} else None


@bp.route("/new", methods=["GET", "POST"])
@staff_view(write=True)
def new() -> Any:
    form = _prepared_form(**new_deal_data(today_jst(), current_membership().id, _requested_stage()))
    if form.validate_on_submit():
        try:
            deal = service.create_deal(db.session, form.to_data(), today=today_jst())
            db.session.commit()
        except service.RuleBroken as exc:
            db.session.rollback()
            form.title.errors = [*form.title.errors, str(exc)]
        else:
            flash(_("Deal %(title)s was created.", title=deal.title), "success")
            return redirect_303(url_for("deals.detail", deal_id=deal.id))
    return _form_page(form, None)


@bp.route("/<int:deal_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit(deal_id: int) -> Any:
    deal = _deal_or_404(deal_id)
    if deal.archived:
        flash(_("This deal is archived. Restore it to change it."), "error")
        return redirect_303(url_for("deals.detail", deal_id=deal.id))
    initial = deal_form_data(deal, service.capability_ids(db.session, deal))
    if request.method == "GET" and _requested_stage():
        initial["stage"] = _requested_stage()
    form = _prepared_form(deal, **initial)
    if form.validate_on_submit():
        try:
            service.update_deal(db.session, deal, form.to_data(), today=today_jst())
            db.session.commit()
        except service.RuleBroken as exc:
            db.session.rollback()
            form.title.errors = [*form.title.errors, str(exc)]
        else:
            flash(_("Deal %(title)s was saved.", title=deal.title), "success")
            return redirect_303(url_for("deals.detail", deal_id=deal.id))
    return _form_page(form, deal)


@bp.get("/amount-preview")
@staff_view()
def amount_preview() -> Any:
    """The recurring amount as the form is typed (htmx); monthly × months."""
    amount = preview_amount(
        request.args.get("monthly_amount", ""), request.args.get("expected_months", "")
    )
    return render("deals/_amount_preview.html", amount=amount)


# --- one deal ----------------------------------------------------------------------------------


def _order_links(deal: Deal, can_write: bool) -> dict[str, Any]:
    """The order made from this won deal, or the button to make one."""
    order = db.session.scalar(select(Order).where(Order.deal_id == deal.id))
    order_url = create_order_url = None
    if order is not None:
        order_url = url_for("orders.detail", order_id=order.id)
    elif deal.stage == DealStage.WON and can_write and not deal.archived:
        create_order_url = url_for("orders.create_from_deal", deal_id=deal.id)
    return {"order": order, "order_url": order_url, "create_order_url": create_order_url}


def _detail_context(deal: Deal, timeline_form: TimelineEntryForm | None = None) -> dict[str, Any]:
    can_write = _can_write()
    return {
        "detail": service.deal_detail(db.session, deal),
        "deal": deal,
        "can_write": can_write,
        "entries": timeline.entries(db.session, deal_id=deal.id),
        "timeline_form": timeline_form or TimelineEntryForm(formdata=None),
        "post_url": url_for("deals.add_note", deal_id=deal.id),
        **_order_links(deal, can_write),
    }


@bp.get("/<int:deal_id>")
@staff_view()
def detail(deal_id: int) -> Any:
    deal = _deal_or_404(deal_id)
    return render("deals/detail.html", **_detail_context(deal))


@bp.post("/<int:deal_id>/notes")
@staff_view(write=True)
def add_note(deal_id: int) -> Any:
    deal = _deal_or_404(deal_id)
    form = TimelineEntryForm()
    if form.validate_on_submit():
        timeline.add_entry(
            db.session,
            body=form.body.data,
            deal_id=deal.id,
            kind=EntryKind(form.kind.data),
            internal=bool(form.internal.data),
        )
        db.session.commit()
        if not is_htmx():
            return redirect_303(url_for("deals.detail", deal_id=deal.id) + "#timeline")
        form = TimelineEntryForm(formdata=None)
    context = _detail_context(deal, timeline_form=form)
    status = 422 if form.errors else 200
    return render(
        "deals/detail.html", "timeline/_timeline.html", target="timeline", **context
    ), status


def _safe_return(target: str | None, fallback: str) -> str:
    """Only back to a page of this workspace's deals: never an open redirect."""
    prefix = url_for("deals.index")
    if target and target.startswith(prefix) and "\\" not in target and "//" not in target:
        return target
    return fallback


@bp.post("/<int:deal_id>/stage")
@staff_view(write=True)
def move(deal_id: int) -> Any:
    """Move to another stage. From the board (htmx) the board re-renders itself in place."""
    deal = _deal_or_404(deal_id)
    form = MoveForm()
    back = _safe_return(form.next.data, url_for("deals.detail", deal_id=deal.id))
    on_board = is_htmx() and htmx_target() == "board"
    error = None
    if not form.validate_on_submit():
        error = _("Choose one of the stages.")
    else:
        stage = DealStage(form.stage.data)
        if stage == DealStage.LOST and stage != deal.stage:
            # A lost deal needs its reason: the form asks for it.
            flash(_("Choose why the deal was lost, then save."), "info")
            return redirect_303(url_for("deals.edit", deal_id=deal.id, stage=stage.value))
        try:
            service.move_stage(db.session, deal, stage, today=today_jst())
            db.session.commit()
        except service.RuleBroken as exc:
            db.session.rollback()
            error = str(exc)
    if on_board:
        query = MultiDict(parse_qsl(urlsplit(back).query))
        context = _board_context(query)
        return render("deals/_board.html", board_error=error, **context), 422 if error else 200
    if error:
        flash(error, "error")
    else:
        flash(
            _(
                "%(title)s moved to %(stage)s.",
                title=deal.title,
                stage=service.stage_label(deal.stage),
            ),
            "success",
        )
    return redirect_303(back)


@bp.post("/<int:deal_id>/archive")
@staff_view(write=True)
def archive(deal_id: int) -> Any:
    deal = _deal_or_404(deal_id)
    service.archive_deal(deal, utcnow())
    db.session.commit()
    flash(_("Deal %(title)s was archived.", title=deal.title), "success")
    return redirect_303(url_for("deals.detail", deal_id=deal.id))


@bp.post("/<int:deal_id>/restore")
@staff_view(write=True)
def restore(deal_id: int) -> Any:
    deal = _deal_or_404(deal_id)
    service.restore_deal(deal)
    db.session.commit()
    flash(_("Deal %(title)s was restored.", title=deal.title), "success")
    return redirect_303(url_for("deals.detail", deal_id=deal.id))
