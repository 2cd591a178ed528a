"""Quality screens under /t/<slug>/quality. Thin: look up, validate, call the service,
commit, then render or redirect. Staff read everything; admins, coordinators and the quality
role write quality records."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any, cast

from flask import Response, flash, g, render_template, request, url_for
from flask import abort as flask_abort
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import Select, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice

from app.agreements.models import Agreement
from app.buyers.models import Buyer
from app.db import utcnow
from app.extensions import db
from app.facilities.models import Facility
from app.jp import fiscal_year_of, format_percent, today_jst
from app.orders.models import Delivery, Order, OrderStatus
from app.quality import kpi, scope
from app.quality import scores as quality_scores
from app.quality import service as quality
from app.quality import trace as traceability
from app.quality.forms import (
    ACTION_KIND_LABELS,
    ITEM_KIND_LABELS,
    MANUAL_KIND_LABELS,
    METHOD_LABELS,
    MODE_LABELS,
    NC_STATUS_LABELS,
    RESULT_LABELS,
    SAMPLING_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    STAGE_LABELS,
    SUPPORT_STATUS_LABELS,
    VERDICT_LABELS,
    AcknowledgementForm,
    ActionForm,
    AnalysisForm,
    CloseForm,
    EvidenceForm,
    InspectionForm,
    ItemForm,
    LotWorkForm,
    ManualForm,
    NcStatusForm,
    NonconformanceForm,
    OutcomeForm,
    PhotoForm,
    PlanForm,
    PromiseForm,
    ResultForm,
    SupportForm,
    VersionForm,
    check_field,
    measurement_field,
    read_item_values,
)
from app.quality.models import (
    ActionKind,
    Inspection,
    InspectionItem,
    InspectionMethod,
    InspectionResult,
    InspectionStage,
    ItemKind,
    Manual,
    ManualKind,
    ManualVersion,
    Nonconformance,
    NonconformanceAction,
    NonconformanceSource,
    NonconformanceStatus,
    QualityPlan,
    SamplingMode,
    Severity,
    SupportMode,
    SupportRequest,
    SupportStatus,
)
from app.storage.backends import StorageUnavailable, content_disposition
from app.storage.service import files_by_id, get_storage, max_upload_bytes
from app.web.errors import error_page
from app.web.htmx import redirect_303, render
from app.web.listing import ListParams, paginate, text_search
from tenants.context import staff_view, tenant_blueprint
from tenants.models import Role

bp = tenant_blueprint("quality", __name__, "/quality")

# Who writes quality records: the quality role, besides admins and coordinators.
QUALITY_WRITERS = frozenset({Role.ADMIN, Role.COORDINATOR, Role.QUALITY})


def quality_write(view: Any) -> Any:
    return staff_view(write=True, roles=QUALITY_WRITERS)(view)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "sampling_labels": SAMPLING_LABELS,
        "item_kind_labels": ITEM_KIND_LABELS,
        "stage_labels": STAGE_LABELS,
        "method_labels": METHOD_LABELS,
        "result_labels": RESULT_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "source_labels": SOURCE_LABELS,
        "nc_status_labels": NC_STATUS_LABELS,
        "action_kind_labels": ACTION_KIND_LABELS,
        "mode_labels": MODE_LABELS,
        "support_status_labels": SUPPORT_STATUS_LABELS,
        "verdict_labels": VERDICT_LABELS,
        "manual_kind_labels": MANUAL_KIND_LABELS,
        "percent": format_percent,
        "can_write_quality": _can_write(),
    }


def _can_write() -> bool:
    membership = getattr(g, "membership", None)
    return bool(membership and membership.can_write and membership.role in QUALITY_WRITERS)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_exc: RequestEntityTooLarge) -> Any:
    """Bigger than the server reads at all: say the limit, store nothing."""
    db.session.rollback()
    limit = max_upload_bytes() // (1024 * 1024)
    return error_page(
        413, _("Files can be at most %(limit)d MB per upload. Nothing was saved.", limit=limit)
    )


def _values(enum_class: Any) -> set[str]:
    return {member.value for member in enum_class}


def _session() -> Session:
    return db.session


def _get(model: Any, object_id: int) -> Any:
    found = _session().get(model, (g.tenant.id, object_id))
    if found is None:
        flask_abort(404)
    return found


def _facility_choices(blank: str | None = None) -> list[SelectChoice]:
    rows = _session().execute(
        select(Facility.id, Facility.name)
        .where(Facility.archived_at.is_(None))
        .order_by(Facility.name, Facility.id)
    )
    first = [SelectChoice("", blank)] if blank is not None else [SelectChoice("", _("Choose…"))]
    return first + [SelectChoice(str(i), name) for i, name in rows]


def _order_choices() -> list[SelectChoice]:
    rows = _session().execute(
        select(Order.id, Order.title, Buyer.name)
        .join(Buyer, and_(Buyer.tenant_id == Order.tenant_id, Buyer.id == Order.buyer_id))
        .where(Order.archived_at.is_(None), Order.status != OrderStatus.CANCELLED)
        .order_by(Order.confirmed_on.desc(), Order.id.desc())
    )
    return [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(i), f"{title}（{buyer}）") for i, title, buyer in rows
    ]


def _uploads(field: Any) -> list[quality.Upload]:
    """The files of a file field; a browser sends an empty part when none was chosen."""
    data = field.data
    files = data if isinstance(data, list) else [data]
    limit = max_upload_bytes()
    uploads = []
    for item in files:
        if item is None or not getattr(item, "filename", ""):
            continue
        uploads.append(quality.Upload(item.read(limit + 1), item.filename or ""))
    return uploads


def _storage_down_message() -> str:
    return _(
        "The file storage is not answering, so nothing was saved. Try again in a few minutes; "
        "everything else keeps working."
    )


def _apply_refusal(form: Any, exc: quality.Refused) -> str | None:
    """Show the refusal at its field; returns a message for the form when it has none."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None:
        return exc.message
    field.errors = [*list(field.errors or []), exc.message]
    return None


def _save(form: Any, work: Any) -> tuple[bool, str | None]:
    """Run ``work()`` and commit; on refusal or storage trouble roll back (uploaded objects
    go with it) and return the message for the form."""
    session = _session()
    try:
        work()
        session.commit()
    except quality.Refused as exc:
        session.rollback()
        return False, _apply_refusal(form, exc)
    except StorageUnavailable:
        session.rollback()
        return False, _storage_down_message()
    except IntegrityError:  # the same record saved a moment ago by someone else
        session.rollback()
        return False, _("Someone saved the same record a moment ago. Reload the page and check.")
    return True, None


# --- the overview -----------------------------------------------------------------------------


@bp.get("/")
@staff_view()
def index() -> Any:
    session = _session()
    today = today_jst()
    open_ncs = session.execute(quality.nonconformance_list(open_only=True).limit(10)).all()
    severity_counts = dict(
        session.execute(
            select(Nonconformance.severity, func.count())
            .where(Nonconformance.status != NonconformanceStatus.CLOSED)
            .group_by(Nonconformance.severity)
        ).all()
    )
    support_rows = session.execute(quality.support_list(open_only=True).limit(10)).all()
    requests = [row[0] for row in support_rows]
    recent = session.execute(
        select(Inspection, Delivery.lot_no, Facility.name)
        .join(
            Delivery,
            and_(Delivery.tenant_id == Inspection.tenant_id, Delivery.id == Inspection.delivery_id),
        )
        .join(
            Facility,
            and_(Facility.tenant_id == Inspection.tenant_id, Facility.id == Inspection.facility_id),
        )
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        .limit(10)
    ).all()
    return render(
        "quality/index.html",
        open_ncs=open_ncs,
        severity_counts=severity_counts,
        support_rows=support_rows,
        verdicts=quality.live_verdicts(session, requests, today),
        overdue={
            r.id
            for r in requests
            if scope.response_overdue(r.response_due_at, r.first_response_at, utcnow())
        },
        recent=recent,
    )


# --- orders and their plans -------------------------------------------------------------------


@bp.get("/orders/")
@staff_view()
def orders() -> Any:
    session = _session()
    params = ListParams.from_args(request.args, sortable=(), filters=())
    query = cast(
        Select[Any],
        select(Order, Buyer.name.label("buyer_name"), QualityPlan)
        .join(Buyer, and_(Buyer.tenant_id == Order.tenant_id, Buyer.id == Order.buyer_id))
        .outerjoin(
            QualityPlan,
            and_(QualityPlan.tenant_id == Order.tenant_id, QualityPlan.order_id == Order.id),
        )
        .where(Order.archived_at.is_(None))
        .order_by(Order.confirmed_on.desc(), Order.id.desc()),
    )
    search = text_search(params.q, Order.title, Buyer.name)
    if search is not None:
        query = query.where(search)
    listing = paginate(session, query, params.page, scalars=False)
    ids = [row[0].id for row in listing.items]
    lots = (
        dict(
            session.execute(
                select(Delivery.order_id, func.count())
                .where(Delivery.order_id.in_(ids))
                .group_by(Delivery.order_id)
            ).all()
        )
        if ids
        else {}
    )
    open_ncs = (
        dict(
            session.execute(
                select(Delivery.order_id, func.count())
                .select_from(Nonconformance)
                .join(
                    Delivery,
                    and_(
                        Delivery.tenant_id == Nonconformance.tenant_id,
                        Delivery.id == Nonconformance.delivery_id,
                    ),
                )
                .where(
                    Delivery.order_id.in_(ids),
                    Nonconformance.status != NonconformanceStatus.CLOSED,
                )
                .group_by(Delivery.order_id)
            ).all()
        )
        if ids
        else {}
    )
    return render(
        "quality/orders.html",
        "quality/_order_rows.html",
        "rows",
        listing=listing,
        params=params,
        lots=lots,
        open_ncs=open_ncs,
    )


def _order_context(order: Order, **forms: Any) -> dict[str, Any]:
    session = _session()
    tenant_id = g.tenant.id
    buyer = session.get(Buyer, (tenant_id, order.buyer_id))
    agreement = quality.agreement_of(session, order)
    plan = quality.plan_of(session, order.id)
    items = quality.plan_items(session, plan.id if plan else None, include_archived=True)
    deliveries = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.order_id == order.id)
            .order_by(func.coalesce(Delivery.revised_due_on, Delivery.original_due_on), Delivery.id)
        )
    )
    sampling = {d.id: quality.lot_plan(plan, d.quantity) for d in deliveries}
    manuals = quality.manuals_of_order(session, order.id)
    versions = quality.versions_of_manuals(session, [m.id for m in manuals])
    counts = quality_scores.order_counts(session, [order.id], today_jst()).get(order.id)
    plan_form = forms.get("plan_form")
    if plan_form is None:
        plan_form = PlanForm(formdata=None, obj=plan)
        if plan is None:
            mode, aql, note = quality.suggested_plan(agreement)
            plan_form.sampling_mode.data = mode.value
            plan_form.aql.data = aql
            plan_form.notes.data = note
        else:
            plan_form.sampling_mode.data = plan.sampling_mode.value
    return {
        "order": order,
        "buyer": buyer,
        "agreement": agreement,
        "plan": plan,
        "items": items,
        "deliveries": deliveries,
        "sampling": sampling,
        "summaries": traceability.lot_summaries(session, [d.id for d in deliveries]),
        "manuals": manuals,
        "versions": versions,
        "counts": counts,
        "score": kpi.quality_score(counts) if counts else None,
        "plan_form": plan_form,
        "item_form": forms.get("item_form") or ItemForm(formdata=None),
        "form_error": forms.get("form_error"),
    }


@bp.get("/orders/<int:order_id>")
@staff_view()
def order(order_id: int) -> Any:
    return render("quality/order.html", **_order_context(_get(Order, order_id)))


@bp.post("/orders/<int:order_id>/plan")
@quality_write
def save_plan(order_id: int) -> Any:
    order = _get(Order, order_id)
    form = PlanForm()
    if form.validate_on_submit():
        ok, message = _save(
            form,
            lambda: quality.save_plan(
                _session(),
                order,
                mode=SamplingMode(form.sampling_mode.data),
                level=form.inspection_level.data,
                aql=form.aql.data,
                notes=form.notes.data or "",
            ),
        )
        if ok:
            flash(_("Quality plan saved."), "success")
            return redirect_303(url_for("quality.order", order_id=order.id) + "#plan")
        context = _order_context(order, plan_form=form, form_error=message)
    else:
        context = _order_context(order, plan_form=form)
    return render("quality/order.html", **context), 422


@bp.post("/orders/<int:order_id>/items")
@quality_write
def add_item(order_id: int) -> Any:
    order = _get(Order, order_id)
    form = ItemForm()
    plan = quality.plan_of(_session(), order.id)
    message = None
    if plan is None:
        message = _("Save the quality plan first.")
    elif form.validate_on_submit():
        ok, message = _save(
            form,
            lambda: quality.add_item(
                _session(),
                plan,
                kind=ItemKind(form.kind.data),
                name=form.name.data,
                criteria=form.criteria.data or "",
                unit=form.unit.data or "",
                nominal=form.nominal.data,
                tolerance_minus=form.tolerance_minus.data,
                tolerance_plus=form.tolerance_plus.data,
            ),
        )
        if ok:
            flash(_("Inspection item added."), "success")
            return redirect_303(url_for("quality.order", order_id=order.id) + "#items")
    context = _order_context(order, item_form=form, form_error=message)
    return render("quality/order.html", **context), 422


@bp.post("/orders/<int:order_id>/items/<int:item_id>/retire")
@quality_write
def retire_item(order_id: int, item_id: int) -> Any:
    order = _get(Order, order_id)
    plan = quality.plan_of(_session(), order.id)
    item = _get(InspectionItem, item_id)
    if plan is None or item.plan_id != plan.id:
        flask_abort(404)
    quality.retire_item(item)
    _session().commit()
    flash(_("Item retired. Past inspections keep its values."), "success")
    return redirect_303(url_for("quality.order", order_id=order.id) + "#items")


# --- lots and traceability --------------------------------------------------------------------


@bp.get("/lots/")
@staff_view()
def lots() -> Any:
    session = _session()
    params = ListParams.from_args(request.args, sortable=(), filters=())
    listing = paginate(session, traceability.lot_list(q=params.q), params.page, scalars=False)
    summaries = traceability.lot_summaries(session, [row[0].id for row in listing.items])
    return render(
        "quality/lots.html",
        "quality/_lot_rows.html",
        "rows",
        listing=listing,
        params=params,
        summaries=summaries,
    )


def _work_form_choices(form: LotWorkForm, order_id: int) -> None:
    """Facilities of the workspace; versions of the order's manuals (newest first)."""
    session = _session()
    manuals = quality.manuals_of_order(session, order_id)
    versions = quality.versions_of_manuals(session, [m.id for m in manuals])
    form.facility_id.choices = _facility_choices()
    form.manual_version_id.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(v.id), f"{m.title} v{v.version_no}")
        for m in manuals
        for v in versions.get(m.id, [])
    ]


def _lot_context(delivery: Delivery, **forms: Any) -> dict[str, Any]:
    session = _session()
    trace = traceability.lot_trace(session, delivery)
    work_form = forms.get("work_form")
    if work_form is None:
        work_form = LotWorkForm(formdata=None)
        current = quality.current_work_version(session, trace.order.id)
        work_form.manual_version_id.data = str(current.id) if current else ""
    _work_form_choices(work_form, trace.order.id)
    return {
        "trace": trace,
        "sampling": quality.lot_plan(trace.plan, delivery.quantity),
        "work_form": work_form,
        "form_error": forms.get("form_error"),
    }


@bp.get("/lots/<int:delivery_id>")
@staff_view()
def lot(delivery_id: int) -> Any:
    return render("quality/lot.html", **_lot_context(_get(Delivery, delivery_id)))


@bp.get("/lots/<int:delivery_id>/trace.pdf")
@staff_view()
def lot_pdf(delivery_id: int) -> Any:
    """The traceability record as an A4 PDF in Japanese, photos included (as previews)."""
    from app.quality.printing import photo_data_uris
    from app.web.pdf import html_to_pdf

    delivery = _get(Delivery, delivery_id)
    trace = traceability.lot_trace(_session(), delivery)
    try:
        photos = photo_data_uris(get_storage(), trace)
        storage_down = False
    except StorageUnavailable:
        photos, storage_down = {}, True
    html = render_template(
        "quality/trace_pdf.html",
        trace=trace,
        sampling=quality.lot_plan(trace.plan, delivery.quantity),
        photos=photos,
        storage_down=storage_down,
        printed_on=today_jst(),
    )
    pdf = html_to_pdf(html)
    name = f"trace-{trace.order.id}-{delivery.lot_no}.pdf"
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition("inline", name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/lots/<int:delivery_id>/works")
@quality_write
def save_work(delivery_id: int) -> Any:
    delivery = _get(Delivery, delivery_id)
    form = LotWorkForm()
    _work_form_choices(form, delivery.order_id)
    message = None
    if form.validate_on_submit():
        assert form.quantity.data is not None  # InputRequired
        ok, message = _save(
            form,
            lambda: quality.save_lot_work(
                _session(),
                delivery,
                facility_id=int(form.facility_id.data),
                quantity=form.quantity.data,
                lead_person=form.lead_person.data,
                workers=form.workers.data,
                started_on=form.started_on.data,
                finished_on=form.finished_on.data,
                manual_version_id=form.manual_version_id.id_or_none,
                notes=form.notes.data or "",
            ),
        )
        if ok:
            flash(_("Work on lot %(lot)s saved.", lot=delivery.lot_no), "success")
            return redirect_303(url_for("quality.lot", delivery_id=delivery.id) + "#works")
    return render(
        "quality/lot.html", **_lot_context(delivery, work_form=form, form_error=message)
    ), 422


# --- inspections ------------------------------------------------------------------------------


def _inspection_form(items: list[Any], formdata: Any = None) -> InspectionForm:
    """The inspection form with one field per active item of the plan."""

    class Form(InspectionForm):
        pass

    for item in items:
        label = item.name + (f"（{item.unit}）" if item.unit else "")
        field = measurement_field(label) if item.kind == ItemKind.MEASURE else check_field(label)
        setattr(Form, f"item_{item.id}", field)
    form = Form() if formdata is None else Form(formdata=formdata)
    return form


def _inspection_input(form: Any, items: list[Any]) -> quality.InspectionInput | None:
    """The form's values, or None after putting "not a number" errors at the items."""
    answers = read_item_values(form, items)
    if answers is None:
        return None
    measurements, checks = answers
    assert form.inspected_on.data is not None
    return quality.InspectionInput(
        facility_id=int(form.facility_id.data),
        stage=InspectionStage(form.stage.data),
        method=InspectionMethod(form.method.data),
        inspector=form.inspector.data,
        inspected_on=form.inspected_on.data,
        quantity=form.quantity.data,
        sample_size=form.sample_size.data,
        passed=form.passed.data,
        reworked=form.reworked.data or 0,
        failed=form.failed.data or 0,
        result=InspectionResult(form.result.data),
        accepted_quantity=form.accepted_quantity.data,
        notes=form.notes.data or "",
        measurements=measurements,
        checks=checks,
    )


@bp.route("/lots/<int:delivery_id>/inspections/new", methods=["GET", "POST"])
@quality_write
def new_inspection(delivery_id: int) -> Any:
    session = _session()
    delivery = _get(Delivery, delivery_id)
    order = _get(Order, delivery.order_id)
    plan = quality.plan_of(session, order.id)
    items = quality.plan_items(session, plan.id if plan else None)
    sampling = quality.lot_plan(plan, delivery.quantity)
    form = _inspection_form(items)
    form.facility_id.choices = _facility_choices()
    if request.method == "GET":
        form.inspected_on.data = today_jst()
        form.quantity.data = delivery.quantity
        form.sample_size.data = sampling.sample_size if sampling else delivery.quantity
        facility = request.args.get("facility_id", "")
        if facility in {c.value for c in form.facility_id.choices}:
            form.facility_id.data = facility
    message = None
    if form.validate_on_submit():
        data = _inspection_input(form, items)
        if data is not None:
            photos = _uploads(form.photos)
            saved: list[Inspection] = []
            ok, message = _save(
                form,
                lambda: saved.append(
                    quality.record_inspection(
                        session,
                        delivery,
                        data,
                        plan=plan,
                        items=items,
                        photos=photos,
                        storage=get_storage(),
                        max_bytes=max_upload_bytes(),
                    )
                ),
            )
            if ok:
                flash(_("Inspection recorded."), "success")
                return redirect_303(url_for("quality.inspection", inspection_id=saved[0].id))
    status = 422 if request.method == "POST" else 200
    return (
        render(
            "quality/inspection_new.html",
            form=form,
            delivery=delivery,
            order=order,
            plan=plan,
            items=items,
            sampling=sampling,
            form_error=message,
        ),
        status,
    )


def _inspection_context(inspection: Inspection, **forms: Any) -> dict[str, Any]:
    session = _session()
    delivery = _get(Delivery, inspection.delivery_id)
    order = _get(Order, delivery.order_id)
    values = quality.values_of(session, [inspection.id])[inspection.id]
    items = quality.items_by_id(session, {v.item_id for v in values})
    by_item: dict[int, list[Any]] = defaultdict(list)
    for value in values:
        by_item[value.item_id].append(value)
    result_form = forms.get("result_form") or ResultForm(formdata=None)
    return {
        "inspection": inspection,
        "delivery": delivery,
        "order": order,
        "facility": _session().get(Facility, (g.tenant.id, inspection.facility_id)),
        "values_by_item": dict(by_item),
        "items": items,
        "photos": quality.photos_of(session, [inspection.id])[inspection.id],
        "ncs": session.scalars(
            select(Nonconformance).where(Nonconformance.inspection_id == inspection.id)
        ).all(),
        "photo_form": forms.get("photo_form") or PhotoForm(formdata=None),
        "result_form": result_form,
        "form_error": forms.get("form_error"),
    }


@bp.get("/inspections/<int:inspection_id>")
@staff_view()
def inspection(inspection_id: int) -> Any:
    return render("quality/inspection.html", **_inspection_context(_get(Inspection, inspection_id)))


@bp.post("/inspections/<int:inspection_id>/photos")
@quality_write
def add_photos(inspection_id: int) -> Any:
    inspection = _get(Inspection, inspection_id)
    form = PhotoForm()
    message = None
    if form.validate_on_submit():
        photos = _uploads(form.photos)
        ok, message = _save(
            form,
            lambda: quality.add_inspection_photos(
                _session(),
                inspection,
                photos,
                caption=form.caption.data or "",
                storage=get_storage(),
                max_bytes=max_upload_bytes(),
            ),
        )
        if ok:
            flash(_("Photos added."), "success")
            return redirect_303(
                url_for("quality.inspection", inspection_id=inspection.id) + "#photos"
            )
    context = _inspection_context(inspection, photo_form=form, form_error=message)
    return render("quality/inspection.html", **context), 422


@bp.post("/inspections/<int:inspection_id>/result")
@quality_write
def set_result(inspection_id: int) -> Any:
    session = _session()
    inspection = _get(Inspection, inspection_id)
    delivery = _get(Delivery, inspection.delivery_id)
    form = ResultForm()
    message = None
    if form.validate_on_submit():
        plan = quality.plan_of(session, delivery.order_id)
        ok, message = _save(
            form,
            lambda: quality.set_inspection_result(
                session,
                inspection,
                result=InspectionResult(form.result.data),
                accepted_quantity=form.accepted_quantity.data,
                plan=plan,
            ),
        )
        if ok:
            flash(_("Verdict recorded."), "success")
            return redirect_303(url_for("quality.inspection", inspection_id=inspection.id))
    context = _inspection_context(inspection, result_form=form, form_error=message)
    return render("quality/inspection.html", **context), 422


# --- nonconformances --------------------------------------------------------------------------


@bp.get("/nonconformances/")
@staff_view()
def nonconformances() -> Any:
    params = ListParams.from_args(request.args, sortable=(), filters=("status", "severity"))
    status = params.filters.get("status", "")
    severity = params.filters.get("severity", "")
    query = quality.nonconformance_list(
        q=params.q,
        status=NonconformanceStatus(status) if status in _values(NonconformanceStatus) else None,
        severity=Severity(severity) if severity in _values(Severity) else None,
        open_only=status == "",
    )
    listing = paginate(_session(), query, params.page, scalars=False)
    return render(
        "quality/nonconformances.html",
        "quality/_nc_rows.html",
        "rows",
        listing=listing,
        params=params,
        today=today_jst(),
    )


def _nc_form_choices(form: NonconformanceForm, delivery: Delivery | None) -> None:
    form.facility_id.choices = _facility_choices(blank=_("Not known yet"))
    inspections: list[SelectChoice] = [SelectChoice("", _("None"))]
    if delivery is not None:
        for inspection in quality.inspections_of_lot(_session(), delivery.id):
            inspections.append(
                SelectChoice(
                    str(inspection.id),
                    f"{inspection.inspected_on.isoformat()} {STAGE_LABELS[inspection.stage]}",
                )
            )
    form.inspection_id.choices = inspections


@bp.route("/nonconformances/new", methods=["GET", "POST"])
@quality_write
def new_nonconformance() -> Any:
    session = _session()
    form = NonconformanceForm()
    if request.method == "GET":
        form.delivery_id.data = request.args.get("delivery_id", "")
        form.found_on.data = today_jst()
        inspection_arg = request.args.get("inspection_id", "")
        form.inspection_id.data = inspection_arg
        facility_arg = request.args.get("facility_id", "")
        form.facility_id.data = facility_arg
    delivery_id = form.delivery_id_value
    delivery = session.get(Delivery, (g.tenant.id, delivery_id)) if delivery_id else None
    if delivery is None and request.method == "GET":
        flash(_("Choose the lot the nonconformance is about."), "info")
        return redirect_303(url_for("quality.lots"))
    _nc_form_choices(form, delivery)
    message = None
    if delivery is None:
        # A lot id of another workspace is just not found here: the same answer as a typo.
        form.delivery_id.errors = [_("Choose a lot of this workspace.")]
    elif form.validate_on_submit():
        saved: list[Nonconformance] = []
        evidence = _uploads(form.evidence)
        ok, message = _save(
            form,
            lambda: saved.append(
                quality.raise_nonconformance(
                    session,
                    delivery_id=delivery_id,
                    facility_id=form.facility_id.id_or_none,
                    inspection_id=form.inspection_id.id_or_none,
                    source=NonconformanceSource(form.source.data),
                    severity=Severity(form.severity.data),
                    title=form.title.data,
                    description=form.description.data or "",
                    quantity_affected=form.quantity_affected.data,
                    found_on=form.found_on.data,  # type: ignore[arg-type]
                    tenant_id=g.tenant.id,
                    evidence=evidence,
                    storage=get_storage(),
                    max_bytes=max_upload_bytes(),
                )
            ),
        )
        if ok:
            flash(_("Nonconformance recorded."), "success")
            return redirect_303(url_for("quality.nonconformance", nc_id=saved[0].id))
    order = session.get(Order, (g.tenant.id, delivery.order_id)) if delivery else None
    status = 422 if request.method == "POST" else 200
    return (
        render(
            "quality/nonconformance_new.html",
            form=form,
            delivery=delivery,
            order=order,
            form_error=message,
        ),
        status,
    )


def _nc_context(nc: Nonconformance, **forms: Any) -> dict[str, Any]:
    session = _session()
    delivery = _get(Delivery, nc.delivery_id)
    order = _get(Order, delivery.order_id)
    status_form = forms.get("status_form") or NcStatusForm(formdata=None)
    status_form.status.choices = [
        SelectChoice(s.value, NC_STATUS_LABELS[s]) for s in quality.NC_FLOW[nc.status]
    ]
    analysis_form = forms.get("analysis_form") or AnalysisForm(formdata=None, obj=nc)
    close_form = forms.get("close_form") or CloseForm(formdata=None)
    if close_form.closed_on.data is None:
        close_form.closed_on.data = today_jst()
    support = session.scalars(
        select(SupportRequest)
        .where(SupportRequest.nonconformance_id == nc.id)
        .order_by(SupportRequest.requested_at)
    ).all()
    return {
        "nc": nc,
        "delivery": delivery,
        "order": order,
        "facility": session.get(Facility, (g.tenant.id, nc.facility_id))
        if nc.facility_id
        else None,
        "actions": quality.actions_of(session, nc.id),
        "evidence": quality.evidence_of(session, [nc.id])[nc.id],
        "support": support,
        "status_form": status_form,
        "analysis_form": analysis_form,
        "action_form": forms.get("action_form") or ActionForm(formdata=None),
        "close_form": close_form,
        "evidence_form": forms.get("evidence_form") or EvidenceForm(formdata=None),
        "form_error": forms.get("form_error"),
        "today": today_jst(),
    }


@bp.get("/nonconformances/<int:nc_id>")
@staff_view()
def nonconformance(nc_id: int) -> Any:
    return render("quality/nonconformance.html", **_nc_context(_get(Nonconformance, nc_id)))


def _nc_done(nc: Nonconformance, message: str, anchor: str = "") -> Any:
    flash(message, "success")
    return redirect_303(url_for("quality.nonconformance", nc_id=nc.id) + anchor)


@bp.post("/nonconformances/<int:nc_id>/analysis")
@quality_write
def nc_analysis(nc_id: int) -> Any:
    nc = _get(Nonconformance, nc_id)
    form = AnalysisForm()
    message = None
    if form.validate_on_submit():
        ok, message = _save(form, lambda: quality.set_root_cause(nc, form.root_cause.data))
        if ok:
            return _nc_done(nc, _("Root cause saved."), "#analysis")
    return render(
        "quality/nonconformance.html", **_nc_context(nc, analysis_form=form, form_error=message)
    ), 422


@bp.post("/nonconformances/<int:nc_id>/actions")
@quality_write
def nc_add_action(nc_id: int) -> Any:
    nc = _get(Nonconformance, nc_id)
    form = ActionForm()
    message = None
    if form.validate_on_submit():
        assert form.due_on.data is not None
        ok, message = _save(
            form,
            lambda: quality.add_action(
                _session(),
                nc,
                kind=ActionKind(form.kind.data),
                description=form.description.data,
                owner=form.owner.data,
                due_on=form.due_on.data,
            ),
        )
        if ok:
            return _nc_done(nc, _("Action added."), "#actions")
    return render(
        "quality/nonconformance.html", **_nc_context(nc, action_form=form, form_error=message)
    ), 422


@bp.post("/nonconformances/<int:nc_id>/actions/<int:action_id>/done")
@quality_write
def nc_action_done(nc_id: int, action_id: int) -> Any:
    nc = _get(Nonconformance, nc_id)
    action = _get(NonconformanceAction, action_id)
    if action.nonconformance_id != nc.id:
        flask_abort(404)
    form = FlaskForm()
    message = None
    if form.validate_on_submit():
        ok, message = _save(form, lambda: quality.complete_action(nc, action, today_jst()))
        if ok:
            return _nc_done(nc, _("Action marked done."), "#actions")
    return render("quality/nonconformance.html", **_nc_context(nc, form_error=message)), 422


@bp.post("/nonconformances/<int:nc_id>/status")
@quality_write
def nc_status(nc_id: int) -> Any:
    nc = _get(Nonconformance, nc_id)
    form = NcStatusForm()
    form.status.choices = [
        SelectChoice(s.value, NC_STATUS_LABELS[s]) for s in quality.NC_FLOW[nc.status]
    ]
    message = None
    if form.validate_on_submit():
        ok, message = _save(
            form,
            lambda: quality.move_nonconformance(
                _session(), nc, NonconformanceStatus(form.status.data)
            ),
        )
        if ok:
            return _nc_done(nc, _("Status changed."))
    return render(
        "quality/nonconformance.html", **_nc_context(nc, status_form=form, form_error=message)
    ), 422


@bp.post("/nonconformances/<int:nc_id>/evidence")
@quality_write
def nc_evidence(nc_id: int) -> Any:
    nc = _get(Nonconformance, nc_id)
    form = EvidenceForm()
    message = None
    if form.validate_on_submit():
        uploads = _uploads(form.evidence)
        ok, message = _save(
            form,
            lambda: quality.add_evidence(
                _session(),
                nc,
                uploads,
                caption=form.caption.data or "",
                storage=get_storage(),
                max_bytes=max_upload_bytes(),
            ),
        )
        if ok:
            return _nc_done(nc, _("Evidence attached."), "#evidence")
    return render(
        "quality/nonconformance.html", **_nc_context(nc, evidence_form=form, form_error=message)
    ), 422


@bp.post("/nonconformances/<int:nc_id>/close")
@quality_write
def nc_close(nc_id: int) -> Any:
    nc = _get(Nonconformance, nc_id)
    form = CloseForm()
    message = None
    if form.validate_on_submit():
        uploads = _uploads(form.evidence)
        assert form.closed_on.data is not None
        ok, message = _save(
            form,
            lambda: quality.close_nonconformance(
                _session(),
                nc,
                closure_note=form.closure_note.data or "",
                closed_on=form.closed_on.data,
                evidence=uploads,
                storage=get_storage(),
                max_bytes=max_upload_bytes(),
            ),
        )
        if ok:
            return _nc_done(nc, _("Nonconformance closed."))
    return render(
        "quality/nonconformance.html", **_nc_context(nc, close_form=form, form_error=message)
    ), 422


# --- technical support ------------------------------------------------------------------------


@bp.get("/support/")
@staff_view()
def support_requests() -> Any:
    params = ListParams.from_args(request.args, sortable=(), filters=("status",))
    status = params.filters.get("status", "")
    query = quality.support_list(
        q=params.q,
        status=SupportStatus(status) if status in _values(SupportStatus) else None,
        open_only=status == "",
    )
    session = _session()
    listing = paginate(session, query, params.page, scalars=False)
    page = [row[0] for row in listing.items]
    now = utcnow()
    return render(
        "quality/support_list.html",
        "quality/_support_rows.html",
        "rows",
        listing=listing,
        params=params,
        verdicts=quality.live_verdicts(session, page, today_jst()),
        overdue={
            r.id
            for r in page
            if scope.response_overdue(r.response_due_at, r.first_response_at, now)
        },
    )


@bp.route("/support/new", methods=["GET", "POST"])
@quality_write
def new_support_request() -> Any:
    session = _session()
    form = SupportForm()
    form.order_id.choices = _order_choices()
    form.facility_id.choices = _facility_choices(blank=_("None"))
    if request.method == "GET":
        form.order_id.data = request.args.get("order_id", "")
        form.nonconformance_id.data = request.args.get("nonconformance_id", "")
        nc_id = form.nonconformance_value
        nc = session.get(Nonconformance, (g.tenant.id, nc_id)) if nc_id else None
        if nc is not None:
            delivery = session.get(Delivery, (g.tenant.id, nc.delivery_id))
            form.order_id.data = str(delivery.order_id) if delivery else ""
            form.subject.data = nc.title
            form.facility_id.data = str(nc.facility_id or "")
    message = None
    if form.validate_on_submit():
        order = session.get(Order, (g.tenant.id, int(form.order_id.data)))
        if order is None:
            flask_abort(404)
        saved: list[SupportRequest] = []
        ok, message = _save(
            form,
            lambda: saved.append(
                quality.create_support_request(
                    session,
                    order,
                    subject=form.subject.data,
                    description=form.description.data or "",
                    requested_by=form.requested_by.data or "",
                    mode=SupportMode(form.mode.data),
                    remote_tried=bool(form.remote_tried.data),
                    nonconformance_id=form.nonconformance_value,
                    facility_id=form.facility_id.id_or_none,
                    requested_at=utcnow(),
                )
            ),
        )
        if ok:
            flash(_("Support request recorded."), "success")
            return redirect_303(url_for("quality.support_request", request_id=saved[0].id))
    status = 422 if request.method == "POST" else 200
    return render("quality/support_new.html", form=form, form_error=message), status


def _support_context(support: SupportRequest, **forms: Any) -> dict[str, Any]:
    session = _session()
    order = _get(Order, support.order_id)
    today = today_jst()
    decision, terms = quality.decide_scope(session, support, today)
    agreement = (
        session.get(Agreement, (g.tenant.id, support.agreement_id))
        if support.agreement_id
        else None
    )
    fy = fiscal_year_of(support.visit_on or today)
    promise_form = forms.get("promise_form") or PromiseForm(formdata=None)
    return {
        "support": support,
        "order": order,
        "agreement": agreement,
        "terms": terms,
        "decision": decision,
        "visits_used": quality.free_visits_used(session, support.agreement_id, fy, support.id),
        "fiscal_year": fy,
        "overdue": scope.response_overdue(
            support.response_due_at, support.first_response_at, utcnow()
        ),
        "nc": session.get(Nonconformance, (g.tenant.id, support.nonconformance_id))
        if support.nonconformance_id
        else None,
        "facility": session.get(Facility, (g.tenant.id, support.facility_id))
        if support.facility_id
        else None,
        "promise_form": promise_form,
        "outcome_form": forms.get("outcome_form") or OutcomeForm(formdata=None),
        "form_error": forms.get("form_error"),
    }


@bp.get("/support/<int:request_id>")
@staff_view()
def support_request(request_id: int) -> Any:
    return render("quality/support.html", **_support_context(_get(SupportRequest, request_id)))


def _support_done(support: SupportRequest, message: str) -> Any:
    flash(message, "success")
    return redirect_303(url_for("quality.support_request", request_id=support.id))


@bp.post("/support/<int:request_id>/respond")
@quality_write
def support_respond(request_id: int) -> Any:
    support = _get(SupportRequest, request_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        return render("quality/support.html", **_support_context(support)), 422
    quality.record_response(support, utcnow())
    _session().commit()
    return _support_done(support, _("First response recorded."))


@bp.post("/support/<int:request_id>/promise")
@quality_write
def support_promise(request_id: int) -> Any:
    support = _get(SupportRequest, request_id)
    form = PromiseForm()
    message = None
    if form.validate_on_submit():
        ok, message = _save(
            form,
            lambda: quality.promise_support(
                _session(),
                support,
                visit_on=form.visit_on.data,
                confirm_exception=bool(form.confirm_exception.data),
                exception_note=form.exception_note.data or "",
                today=today_jst(),
                now=utcnow(),
            ),
        )
        if ok:
            return _support_done(support, _("Support promised."))
    return render(
        "quality/support.html", **_support_context(support, promise_form=form, form_error=message)
    ), 422


@bp.post("/support/<int:request_id>/outcome")
@quality_write
def support_outcome(request_id: int) -> Any:
    support = _get(SupportRequest, request_id)
    form = OutcomeForm()
    message = None
    declining = request.form.get("action") == "decline"
    if form.validate_on_submit():

        def work() -> None:
            outcome = form.outcome.data or ""
            if declining:
                quality.decline_support(support, outcome, utcnow())
            else:
                resolved = form.resolved_on.data or today_jst()
                quality.complete_support(support, outcome, resolved, utcnow())

        ok, message = _save(form, work)
        if ok:
            return _support_done(
                support, _("Request declined.") if declining else _("Outcome recorded.")
            )
    return render(
        "quality/support.html", **_support_context(support, outcome_form=form, form_error=message)
    ), 422


# --- manuals ----------------------------------------------------------------------------------


@bp.get("/manuals/")
@staff_view()
def manuals() -> Any:
    params = ListParams.from_args(request.args, sortable=(), filters=())
    listing = paginate(_session(), quality.manual_list(q=params.q), params.page, scalars=False)
    return render(
        "quality/manuals.html", "quality/_manual_rows.html", "rows", listing=listing, params=params
    )


@bp.route("/manuals/new", methods=["GET", "POST"])
@quality_write
def new_manual() -> Any:
    session = _session()
    form = ManualForm()
    form.order_id.choices = _order_choices()
    if request.method == "GET":
        form.order_id.data = request.args.get("order_id", "")
    message = None
    if form.validate_on_submit():
        order = session.get(Order, (g.tenant.id, int(form.order_id.data)))
        if order is None:
            flask_abort(404)
        uploads = _uploads(form.file)
        saved: list[Manual] = []
        ok, message = _save(
            form,
            lambda: saved.append(
                quality.create_manual(
                    session,
                    order,
                    kind=ManualKind(form.kind.data),
                    title=form.title.data,
                    body=form.body.data or "",
                    upload=uploads[0] if uploads else None,
                    storage=get_storage(),
                    max_bytes=max_upload_bytes(),
                )
            ),
        )
        if ok:
            flash(_("Manual published as version 1."), "success")
            return redirect_303(url_for("quality.manual", manual_id=saved[0].id))
    status = 422 if request.method == "POST" else 200
    return render("quality/manual_new.html", form=form, form_error=message), status


def _manual_context(manual: Manual, **forms: Any) -> dict[str, Any]:
    session = _session()
    order = _get(Order, manual.order_id)
    versions = quality.versions_of_manuals(session, [manual.id])[manual.id]
    acks = quality.acknowledgements_of(session, [v.id for v in versions])
    notices = quality.notices_of(session, [v.id for v in versions])
    job = quality.job_facility_ids(session, order.id)
    facility_ids = job | {a.facility_id for a in acks} | {n.facility_id for n in notices}
    facilities = (
        {f.id: f for f in session.scalars(select(Facility).where(Facility.id.in_(facility_ids)))}
        if facility_ids
        else {}
    )
    version_no = {v.id: v.version_no for v in versions}
    latest_ack: dict[int, int] = {}
    for ack in acks:
        latest_ack[ack.facility_id] = max(
            latest_ack.get(ack.facility_id, 0), version_no[ack.version_id]
        )
    ack_form = forms.get("ack_form") or AcknowledgementForm(formdata=None)
    ack_form.version_id.choices = [SelectChoice(str(v.id), f"v{v.version_no}") for v in versions]
    ack_form.facility_id.choices = _facility_choices()
    if ack_form.version_id.data is None and versions:
        ack_form.version_id.data = str(versions[0].id)
    return {
        "manual": manual,
        "order": order,
        "versions": versions,
        "files": files_by_id(session, {v.file_id for v in versions if v.file_id}),
        "acks": acks,
        "version_no": version_no,
        "facilities": facilities,
        "job": sorted(job, key=lambda i: facilities[i].name if i in facilities else ""),
        "latest_ack": latest_ack,
        "latest": versions[0] if versions else None,
        "ack_form": ack_form,
        "version_form": forms.get("version_form") or VersionForm(formdata=None),
        "form_error": forms.get("form_error"),
    }


@bp.get("/manuals/<int:manual_id>")
@staff_view()
def manual(manual_id: int) -> Any:
    return render("quality/manual.html", **_manual_context(_get(Manual, manual_id)))


@bp.post("/manuals/<int:manual_id>/versions")
@quality_write
def publish_version(manual_id: int) -> Any:
    manual = _get(Manual, manual_id)
    order = _get(Order, manual.order_id)
    form = VersionForm()
    message = None
    if form.validate_on_submit():
        uploads = _uploads(form.file)
        ok, message = _save(
            form,
            lambda: quality.publish_version(
                _session(),
                manual,
                order,
                changes=form.changes.data,
                body=form.body.data or "",
                upload=uploads[0] if uploads else None,
                storage=get_storage(),
                max_bytes=max_upload_bytes(),
            ),
        )
        if ok:
            flash(_("New version published; the facilities on the job were notified."), "success")
            return redirect_303(url_for("quality.manual", manual_id=manual.id))
    return render(
        "quality/manual.html", **_manual_context(manual, version_form=form, form_error=message)
    ), 422


@bp.post("/manuals/<int:manual_id>/acknowledgements")
@quality_write
def acknowledge(manual_id: int) -> Any:
    manual = _get(Manual, manual_id)
    form = AcknowledgementForm()
    context = _manual_context(manual, ack_form=form)
    message = None
    if form.validate_on_submit():
        version = _get(ManualVersion, int(form.version_id.data))
        if version.manual_id != manual.id:
            flask_abort(404)
        ok, message = _save(
            form,
            lambda: quality.acknowledge(
                _session(),
                version,
                int(form.facility_id.data),
                form.acknowledged_by.data,
                utcnow(),
            ),
        )
        if ok:
            flash(_("Acknowledgement recorded."), "success")
            return redirect_303(url_for("quality.manual", manual_id=manual.id) + "#facilities")
        context = _manual_context(manual, ack_form=form, form_error=message)
    return render("quality/manual.html", **context), 422


# --- KPIs -------------------------------------------------------------------------------------


@bp.get("/kpis")
@staff_view()
def kpis() -> Any:
    """Quality KPIs per facility (paged) and per order (paged), over the last 365 days."""
    session = _session()
    params = ListParams.from_args(request.args, sortable=(), filters=("view",))
    view = "orders" if params.filters.get("view") == "orders" else "facilities"
    today = today_jst()
    query: Select[Any]
    if view == "facilities":
        query = (
            select(Facility)
            .where(Facility.archived_at.is_(None))
            .order_by(Facility.name, Facility.id)
        )
        listing = paginate(session, query, params.page)
        counts = quality_scores.facility_counts(session, [f.id for f in listing.items], today)
    else:
        query = (
            select(Order)
            .where(Order.archived_at.is_(None))
            .order_by(Order.confirmed_on.desc(), Order.id.desc())
        )
        listing = paginate(session, query, params.page)
        counts = quality_scores.order_counts(session, [o.id for o in listing.items], today)
    return render(
        "quality/kpis.html",
        "quality/_kpi_rows.html",
        "rows",
        listing=listing,
        params=replace(params, filters={"view": view}),
        view=view,
        counts=counts,
        scores={key: kpi.quality_score(value) for key, value in counts.items()},
        kpi=kpi,
    )
