"""Matching screens: the month's packages, a work spec, a proposal to adjust and confirm,
the monthly plan of every open package, the workspace's weights and buyers' exclusions."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from app import matching as engine
from app.buyers.models import Buyer
from app.catalogs.models import Capability, DifficultyLevel
from app.deals.models import Deal
from app.extensions import db
from app.facilities.models import Facility
from app.jp import today_jst
from app.mail import send_mail
from app.matching import service
from app.matching.forms import (
    PROFICIENCY_LABELS,
    UNIT_LABELS,
    ExclusionForm,
    WeightsForm,
    read_adjustments,
    read_capability_levels,
    spec_form,
)
from app.matching.models import Assignment, BuyerExclusion, WorkSpec, WorkUnit
from app.matching.service import MatchingError, Subject
from app.notifications.models import Notification
from app.orders.models import Order
from app.orders.service import add_months
from app.web.htmx import redirect_303, render
from tenants.context import admin_view, current_membership, staff_view, tenant_blueprint

bp = tenant_blueprint("matching", __name__, "/matching")
log = logging.getLogger(__name__)

REASON_LABELS = {
    engine.Reason.MISSING_CAPABILITY: _l("Missing process or proficiency"),
    engine.Reason.DIFFICULTY_TOO_HIGH: _l("Difficulty above its level"),
    engine.Reason.NO_PC_EXPERIENCE: _l("No PC experience"),
    engine.Reason.NO_FREE_CAPACITY: _l("No free capacity this month"),
    engine.Reason.TOO_FAR: _l("Too far for on-site work"),
    engine.Reason.EXCLUDED_BY_BUYER: _l("Excluded by the buyer"),
    engine.Reason.EXCLUDED_BY_COORDINATOR: _l("Excluded by you"),
    engine.Reason.UNAVAILABLE: _l("Not available (paused)"),
}
STATUS_LABELS = {
    engine.PlanStatus.OPTIMAL: _l("Best plan (proven)"),
    engine.PlanStatus.TIME_LIMIT: _l("Best plan found within the time limit"),
    engine.PlanStatus.SHORTAGE: _l("Not all work can be covered"),
    engine.PlanStatus.HEURISTIC: _l("Heuristic plan"),
}
# The engine's notes are English templates with %-placeholders; these are their translations.
NOTE_TEMPLATES = {
    "Solved again with every eligible facility because of a shortage": _l(
        "Solved again with every eligible facility because of a shortage"
    ),
    "The solver returned no plan (%(reason)s); the greedy plan is shown": _l(
        "The solver returned no plan (%(reason)s); the greedy plan is shown"
    ),
    "Time limit reached: the plan is within %(gap)s%% of the optimum": _l(
        "Time limit reached: the plan is within %(gap)s%% of the optimum"
    ),
    "The greedy plan beat the solver's best within the time limit": _l(
        "The greedy plan beat the solver's best within the time limit"
    ),
}
# How many names each exclusion reason lists (the count is always complete).
NAMES_PER_REASON = 30


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"qty": service.format_quantity}


def _session() -> Session:
    return db.session


def _month_arg(default: date) -> date:
    return service.parse_month(request.values.get("month")) or default


def translate_note(note: engine.Message) -> str:
    template = NOTE_TEMPLATES.get(note.template)
    return str(template) % dict(note.params) if template is not None else note.text


def _writers_only_for_post() -> None:
    """Pages that show on GET and act on POST: read-only members may only look."""
    if request.method == "POST" and not current_membership().can_write:
        abort(403)


def _message(error: MatchingError) -> str:
    params = dict(error.params)
    if "reason" in params:
        params["reason"] = str(REASON_LABELS.get(engine.Reason(params["reason"]), params["reason"]))
    return _(error.message, **params)


# --- the month's packages --------------------------------------------------------------------


@bp.get("/")
@staff_view()
def index() -> Any:
    session = _session()
    month = _month_arg(today_jst().replace(day=1))
    orders = service.open_orders_in(session, month)
    specs = {
        s.order_id: s
        for s in session.scalars(
            select(WorkSpec).where(WorkSpec.order_id.in_([o.id for o in orders]))
        )
    }
    assigned: dict[int, list[Assignment]] = {}
    for a in session.scalars(
        select(Assignment).where(Assignment.month == month, Assignment.order_id.is_not(None))
    ):
        assigned.setdefault(a.order_id or 0, []).append(a)
    trials = service.trial_deals_in(session, month)
    trial_assigned: dict[int, list[Assignment]] = {}
    for a in session.scalars(
        select(Assignment).where(Assignment.deal_id.in_([deal.id for deal, _spec in trials]))
    ):
        trial_assigned.setdefault(a.deal_id or 0, []).append(a)
    buyers = _buyer_names(
        session, {o.buyer_id for o in orders} | {deal.buyer_id for deal, _spec in trials}
    )
    return render(
        "matching/index.html",
        month=month,
        months=_month_choices(month),
        orders=orders,
        specs=specs,
        assigned=assigned,
        trials=trials,
        trial_assigned=trial_assigned,
        buyers=buyers,
        unit_labels=UNIT_LABELS,
    )


def _buyer_names(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(select(Buyer.id, Buyer.name).where(Buyer.id.in_(sorted(ids)))).all()
    )


def _month_choices(month: date) -> list[date]:
    """Six months back and twelve ahead of the month shown."""
    return [add_months(month, offset) for offset in range(-6, 13)]


# --- work specs ------------------------------------------------------------------------------


def _subject_record(kind: str, record_id: int) -> tuple[Subject, Order | Deal]:
    session = _session()
    record: Order | Deal | None = (
        session.get(Order, (g.tenant.id, record_id))
        if kind == "order"
        else session.get(Deal, (g.tenant.id, record_id))
    )
    if record is None:
        abort(404)
    return Subject(kind, record_id), record


def _subject_url(endpoint: str, subject: Subject, **values: Any) -> str:
    values["order_id" if subject.kind == "order" else "deal_id"] = subject.id
    return url_for(f"matching.{subject.kind}_{endpoint}", **values)


def _record_url(subject: Subject) -> str:
    if subject.kind == "order":
        return url_for("orders.detail", order_id=subject.id)
    return url_for("deals.detail", deal_id=subject.id)


def _spec(kind: str, record_id: int) -> Any:
    _writers_only_for_post()
    session = _session()
    subject, record = _subject_record(kind, record_id)
    spec = service.spec_of(session, subject)
    levels = session.scalars(select(DifficultyLevel).order_by(DifficultyLevel.level)).all()
    capabilities = session.scalars(
        select(Capability).where(Capability.archived_at.is_(None)).order_by(Capability.name)
    ).all()
    form = spec_form(levels, obj=spec)
    if spec is not None:
        chosen = {
            cid: level for cid, _, level in service.spec_requirements(session, [spec.id])[spec.id]
        }
    elif isinstance(record, Deal):
        chosen = service.deal_defaults(session, record)["capabilities"]
    elif record.deal_id is not None:
        deal = session.get(Deal, (g.tenant.id, record.deal_id))
        chosen = service.deal_defaults(session, deal)["capabilities"] if deal else {}
    else:
        chosen = {}
    if request.method == "GET" and spec is not None and spec.trial_month is not None:
        form.trial_month.data = service.month_key(spec.trial_month)
    if request.method == "POST":
        chosen = read_capability_levels(request.form, [c.id for c in capabilities])
    error = None
    if form.validate_on_submit():
        try:
            service.save_spec(
                session,
                subject,
                unit=WorkUnit(form.unit.data),
                quantity=int(form.quantity.data or 0),
                hours_per_unit=float(form.hours_per_unit.data or 1.0),
                difficulty_level=form.difficulty_level.data,
                needs_pc=bool(form.needs_pc.data),
                on_site=bool(form.on_site.data),
                max_distance_km=form.max_distance_km.data,
                min_lot=int(form.min_lot.data or 0),
                trial_month=service.parse_month(form.trial_month.data),
                capabilities=chosen,
            )
        except MatchingError as exc:
            session.rollback()
            error = _message(exc)
        else:
            session.commit()
            flash(_("The work spec is saved."), "success")
            return redirect_303(_subject_url("proposal", subject))
    status = 422 if form.errors or error else 200
    return render(
        "matching/spec.html",
        subject=subject,
        record=record,
        record_url=_record_url(subject),
        form=form,
        error=error,
        capabilities=capabilities,
        chosen=chosen,
        proficiency_labels=PROFICIENCY_LABELS,
    ), status


@bp.route("/orders/<int:order_id>/spec", methods=["GET", "POST"])
@staff_view()
def order_spec(order_id: int) -> Any:
    return _spec("order", order_id)


@bp.route("/deals/<int:deal_id>/spec", methods=["GET", "POST"])
@staff_view()
def deal_spec(deal_id: int) -> Any:
    return _spec("deal", deal_id)


# --- proposals -------------------------------------------------------------------------------


def _package_month(subject: Subject, record: Order | Deal, spec: WorkSpec) -> date:
    if subject.kind == "deal":
        return spec.trial_month or today_jst().replace(day=1)
    assert isinstance(record, Order)
    return _month_arg(service.default_month(record, today_jst()))


def _proposal_context(
    proposal: service.Proposal, adjustments: Any = None, error: str | None = None
) -> dict[str, Any]:
    plan = proposal.plan
    info = proposal.info
    records = proposal.facilities.records
    package_id = info.subject.package_id
    rows = []
    for a in sorted(plan.allocations_of(package_id), key=lambda a: (-a.quantity, a.facility_id)):
        rows.append({"allocation": a, "facility": records[a.facility_id]})
    excluded_by_reason: dict[engine.Reason, list[Facility]] = {}
    for facility_id, reason in sorted(plan.exclusions.get(package_id, {}).items()):
        excluded_by_reason.setdefault(reason, []).append(records[facility_id])
    reasons = [
        (reason, REASON_LABELS[reason], excluded_by_reason[reason])
        for reason in engine.REASON_ORDER
        if reason in excluded_by_reason
    ]
    in_plan = {a.facility_id for a in plan.allocations}
    excluded_ids = set(adjustments.excluded) if adjustments else set()
    addable = [f for f in records.values() if f.id not in in_plan and f.id not in excluded_ids]
    return {
        "proposal": proposal,
        "info": info,
        "plan": plan,
        "rows": rows,
        "reasons": reasons,
        "names_per_reason": NAMES_PER_REASON,
        "coordinator_excluded": [records[i] for i in sorted(excluded_ids) if i in records],
        "addable": sorted(addable, key=lambda f: f.name),
        "unmet": plan.unmet.get(package_id, 0.0),
        "status_label": STATUS_LABELS[plan.status],
        "notes": [translate_note(note) for note in plan.notes],
        "reason_labels": REASON_LABELS,
        "confirmed": proposal.confirmed,
        "facility_names": {fid: f.name for fid, f in records.items()},
        "error": error,
        "unit": "h" if info.spec.unit is WorkUnit.HOURS else _("pcs"),
        "subject_url": lambda endpoint, **v: _subject_url(endpoint, info.subject, **v),
        "record_url": _record_url(info.subject),
        "can_write": current_membership().can_write,
    }


def _proposal(kind: str, record_id: int) -> Any:
    session = _session()
    subject, record = _subject_record(kind, record_id)
    spec = service.spec_of(session, subject)
    if spec is None:
        flash(_("Describe the work first: quantity, processes and conditions."), "info")
        return redirect_303(_subject_url("spec", subject))
    month = _package_month(subject, record, spec)
    if isinstance(record, Order) and not service.order_runs_in(record, month):
        month = service.default_month(record, today_jst())
    adjustments = None
    error = None
    if request.method == "POST":
        names = {f.id: f.name for f in session.scalars(select(Facility))}
        adjustments = read_adjustments(request.form, names)
        if adjustments.errors:
            error = " ".join(adjustments.errors)
    proposal = service.propose(
        session,
        subject,
        record,
        spec,
        month,
        locked=adjustments.locked if adjustments and not error else None,
        excluded=adjustments.excluded if adjustments else (),
    )
    context = _proposal_context(proposal, adjustments, error)
    status = 422 if error else 200
    return render(
        "matching/proposal.html", fragment="matching/_proposal.html", target="proposal", **context
    ), status


@bp.get("/orders/<int:order_id>")
@staff_view()
def order_proposal(order_id: int) -> Any:
    return _proposal("order", order_id)


@bp.get("/deals/<int:deal_id>")
@staff_view()
def deal_proposal(deal_id: int) -> Any:
    return _proposal("deal", deal_id)


@bp.post("/orders/<int:order_id>/propose")
@staff_view(write=True)
def order_resolve(order_id: int) -> Any:
    return _proposal("order", order_id)


@bp.post("/deals/<int:deal_id>/propose")
@staff_view(write=True)
def deal_resolve(deal_id: int) -> Any:
    return _proposal("deal", deal_id)


def _confirm(kind: str, record_id: int) -> Any:
    session = _session()
    subject, record = _subject_record(kind, record_id)
    spec = service.spec_of(session, subject)
    if spec is None:
        return redirect_303(_subject_url("spec", subject))
    month = _package_month(subject, record, spec)
    names = {f.id: f.name for f in session.scalars(select(Facility))}
    adjustments = read_adjustments(request.form, names)
    error = " ".join(adjustments.errors) or None
    if error is None:
        try:
            confirmation = service.confirm(
                session,
                subject,
                record,
                spec,
                month,
                adjustments.quantities,
                membership_id=current_membership().id,
                today=today_jst(),
                link=_subject_url("proposal", subject, month=service.month_key(month)),
            )
        except MatchingError as exc:
            session.rollback()
            error = _message(exc)
        else:
            session.commit()
            _send_notification_mail(confirmation.notified)
            flash(
                _(
                    "Assignments confirmed: %(count)d facilities, %(notified)d notified.",
                    count=len(confirmation.assignments),
                    notified=len(confirmation.notified),
                ),
                "success",
            )
            return redirect_303(_subject_url("proposal", subject, month=service.month_key(month)))
    proposal = service.propose(
        session,
        subject,
        record,
        spec,
        month,
        locked={fid: q for fid, q in adjustments.quantities.items() if q > 0},
        excluded=adjustments.excluded,
    )
    context = _proposal_context(proposal, adjustments, error)
    return render(
        "matching/proposal.html", fragment="matching/_proposal.html", target="proposal", **context
    ), 422


def _send_notification_mail(notes: list[Notification]) -> None:
    """After the commit: a mail that cannot be sent never undoes the assignment."""
    for note in notes:
        if not note.emailed_to:
            continue
        try:
            send_mail(note.emailed_to, note.title, note.body)
        except OSError:
            log.warning("assignment mail not sent", extra={"notification": note.id})


@bp.post("/orders/<int:order_id>/confirm")
@staff_view(write=True)
def order_confirm(order_id: int) -> Any:
    return _confirm("order", order_id)


@bp.post("/deals/<int:deal_id>/confirm")
@staff_view(write=True)
def deal_confirm(deal_id: int) -> Any:
    return _confirm("deal", deal_id)


# --- the monthly plan ------------------------------------------------------------------------


@bp.route("/plan", methods=["GET", "POST"])
@staff_view()
def plan() -> Any:
    _writers_only_for_post()
    session = _session()
    month = _month_arg(today_jst().replace(day=1))
    include_assigned = request.values.get("replan") == "1"
    result = None
    if request.method == "POST":
        result = service.plan_month(session, month, include_assigned=include_assigned)
        packages = result.packages
        missing = result.missing_spec
    else:
        items, missing = service.monthly_items(session, month, include_assigned)
        packages = service.build_packages(session, items, month)
    return render(
        "matching/plan.html",
        month=month,
        months=_month_choices(month),
        include_assigned=include_assigned,
        packages=packages,
        missing=missing,
        result=result,
        status_labels=STATUS_LABELS,
        reason_labels=REASON_LABELS,
        can_write=current_membership().can_write,
    )


@bp.post("/plan/confirm")
@staff_view(write=True)
def plan_confirm() -> Any:
    """Confirm every package of the monthly plan; each one all-or-nothing on its own rules,
    all of them in one transaction."""
    session = _session()
    month = _month_arg(today_jst().replace(day=1))
    by_package: dict[str, dict[int, float]] = {}
    for key, raw in request.form.items():
        parts = key.split(":")
        if len(parts) != 2 or not parts[1].isdigit():
            continue
        subject = Subject.parse(parts[0])
        if subject is None:
            continue
        try:
            quantity = float(raw)
        except ValueError:
            continue
        by_package.setdefault(subject.package_id, {})[int(parts[1])] = quantity
    if not by_package:
        flash(_("There is nothing to confirm."), "error")
        return redirect_303(url_for("matching.plan", month=service.month_key(month)))
    notified: list[Notification] = []
    count = 0
    try:
        for package_id, quantities in sorted(by_package.items()):
            subject = Subject.parse(package_id)
            assert subject is not None
            record = _subject_record(subject.kind, subject.id)[1]
            spec = service.spec_of(session, subject)
            if spec is None:
                raise MatchingError(
                    service.N_("Describe the work first: quantity, processes and conditions.")
                )
            confirmation = service.confirm(
                session,
                subject,
                record,
                spec,
                spec.trial_month or month if subject.kind == "deal" else month,
                quantities,
                membership_id=current_membership().id,
                today=today_jst(),
                link=_subject_url("proposal", subject, month=service.month_key(month)),
            )
            notified.extend(confirmation.notified)
            count += 1
    except MatchingError as exc:
        session.rollback()
        flash(_("Nothing was confirmed: %(reason)s", reason=_message(exc)), "error")
        return redirect_303(url_for("matching.plan", month=service.month_key(month)))
    session.commit()
    _send_notification_mail(notified)
    flash(_("%(count)d packages confirmed.", count=count), "success")
    return redirect_303(url_for("matching.index", month=service.month_key(month)))


# --- weights ---------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@admin_view
def settings() -> Any:
    session = _session()
    current = service.load_weights(session)
    form = WeightsForm(
        data={name: getattr(current, name) for name in service.WEIGHT_FIELDS}
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        service.save_weights(session, form.values())
        session.commit()
        flash(_("Matching weights saved."), "success")
        return redirect_303(url_for("matching.settings"))
    defaults = engine.Weights()
    return render(
        "matching/settings.html", form=form, defaults=defaults
    ), 422 if form.errors else 200


# --- buyers' exclusions ----------------------------------------------------------------------


def _buyer_or_404(buyer_id: int) -> Buyer:
    buyer = _session().get(Buyer, (g.tenant.id, buyer_id))
    if buyer is None:
        abort(404)
    return buyer


@bp.route("/buyers/<int:buyer_id>/exclusions", methods=["GET", "POST"])
@staff_view()
def exclusions(buyer_id: int) -> Any:
    session = _session()
    buyer = _buyer_or_404(buyer_id)
    rows = session.execute(
        select(BuyerExclusion, Facility)
        .join(Facility, Facility.id == BuyerExclusion.facility_id)
        .where(BuyerExclusion.buyer_id == buyer.id)
        .order_by(Facility.name)
    ).all()
    taken = {exclusion.facility_id for exclusion, _ in rows}
    facilities = session.execute(
        select(Facility.id, Facility.name)
        .where(Facility.archived_at.is_(None))
        .order_by(Facility.name)
    ).all()
    form = ExclusionForm()
    form.facility_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(fid), name) for fid, name in facilities if fid not in taken
    ]
    error = None
    if request.method == "POST":
        _writers_only_for_post()
        if form.validate_on_submit():
            try:
                service.exclude_facility(session, buyer.id, form.facility_id.data, form.reason.data)
            except MatchingError as exc:
                session.rollback()
                error = _message(exc)
            else:
                session.commit()
                flash(_("The facility is excluded from this buyer's work."), "success")
                return redirect_303(url_for("matching.exclusions", buyer_id=buyer.id))
    status = 422 if form.errors or error else 200
    return render(
        "matching/exclusions.html", buyer=buyer, rows=rows, form=form, error=error
    ), status


@bp.post("/buyers/<int:buyer_id>/exclusions/<int:facility_id>/delete")
@staff_view(write=True)
def include(buyer_id: int, facility_id: int) -> Any:
    session = _session()
    buyer = _buyer_or_404(buyer_id)
    if service.include_facility(session, buyer.id, facility_id):
        session.commit()
        flash(_("The exclusion is removed."), "success")
    return redirect_303(url_for("matching.exclusions", buyer_id=buyer.id))
