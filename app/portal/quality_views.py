"""The quality pages of the portals.

Buyer portal (/t/<slug>/portal/...): the quality record and traceability of the company's
delivered lots (page and A4 PDF), its nonconformances (and raising one), its technical
support requests (and raising one, with the scope that applies shown before sending), and
the photos of those records. Facility portal (/t/<slug>/facility/...): the manuals to work
to (and confirming them), its lots with its own progress and self-inspections, its quality
figures, and its files.

Every view is ``buyer_view`` or ``facility_view``; the company or facility comes from the
membership (``g.buyer`` / ``g.facility``), and every record is looked up through it, so
another's record is not found (404). What each side may see is decided in
``app.portal.shared_quality`` and ``app.portal.facility_quality``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice

from app.agreements.forms import REMOTE_FIRST_LABELS
from app.db import utcnow
from app.extensions import db
from app.jp import format_percent, today_jst
from app.notifications import service as notifications
from app.orders.models import Delivery, Order
from app.portal import facility_quality as facility_side
from app.portal import shared_quality as shared
from app.portal.quality_forms import (
    BUYER_MODE_LABELS,
    BUYER_SEVERITY_LABELS,
    SELF_RESULT_LABELS,
    BuyerNonconformanceForm,
    BuyerSupportForm,
    ProgressForm,
    SelfInspectionForm,
)
from app.quality import kpi
from app.quality import service as quality
from app.quality import trace as traceability
from app.quality.forms import (
    ACTION_KIND_LABELS,
    MANUAL_KIND_LABELS,
    METHOD_LABELS,
    NC_STATUS_LABELS,
    RESULT_LABELS,
    SAMPLING_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    STAGE_LABELS,
    SUPPORT_STATUS_LABELS,
    VERDICT_LABELS,
    check_field,
    measurement_field,
    read_item_values,
)
from app.quality.models import (
    InspectionItem,
    InspectionResult,
    ItemKind,
    ManualVersion,
    Nonconformance,
    Severity,
    SupportMode,
    SupportRequest,
)
from app.storage.backends import StorageUnavailable, content_disposition
from app.storage.service import files_by_id, get_storage, max_upload_bytes
from app.storage.serving import send_original, send_preview
from app.web.errors import error_page
from app.web.htmx import redirect_303, render
from app.web.listing import ListParams, paginate
from tenants.context import buyer_view, current_membership, facility_view, tenant_blueprint

bp = tenant_blueprint("portal_quality", __name__, "/portal")
facility_bp = tenant_blueprint("facility_quality", __name__, "/facility")

PAGE_SIZE = 30


def _labels() -> dict[str, Any]:
    return {
        "sampling_labels": SAMPLING_LABELS,
        "stage_labels": STAGE_LABELS,
        "method_labels": METHOD_LABELS,
        "result_labels": RESULT_LABELS,
        "severity_labels": SEVERITY_LABELS,
        "source_labels": SOURCE_LABELS,
        "nc_status_labels": NC_STATUS_LABELS,
        "action_kind_labels": ACTION_KIND_LABELS,
        "support_status_labels": SUPPORT_STATUS_LABELS,
        "verdict_labels": VERDICT_LABELS,
        "manual_kind_labels": MANUAL_KIND_LABELS,
        "mode_labels": BUYER_MODE_LABELS,
        "self_result_labels": SELF_RESULT_LABELS,
        "remote_labels": REMOTE_FIRST_LABELS,
        "percent": format_percent,
    }


bp.context_processor(_labels)
facility_bp.context_processor(_labels)


def _too_large(_exc: RequestEntityTooLarge) -> Any:
    """Bigger than the server reads at all: say the limit, store nothing."""
    db.session.rollback()
    limit = max_upload_bytes() // (1024 * 1024)
    return error_page(
        413, _("Files can be at most %(limit)d MB per upload. Nothing was saved.", limit=limit)
    )


bp.register_error_handler(RequestEntityTooLarge, _too_large)
facility_bp.register_error_handler(RequestEntityTooLarge, _too_large)


def _session() -> Session:
    return db.session


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


def _save(form: Any, work: Callable[[], Any]) -> tuple[bool, str | None]:
    """Run ``work()`` and commit; on refusal or storage trouble roll back (objects uploaded
    go with it) and return the message for the form when it belongs to no field."""
    session = _session()
    try:
        work()
        session.commit()
    except quality.Refused as exc:
        session.rollback()
        field = getattr(form, exc.field, None) if exc.field else None
        if field is None:
            return False, exc.message
        field.errors = [*list(field.errors or []), exc.message]
        return False, None
    except StorageUnavailable:
        session.rollback()
        return False, _(
            "The file storage is not answering, so nothing was saved. Try again in a few "
            "minutes; everything else keeps working."
        )
    except IntegrityError:  # the same record saved a moment ago by someone else
        session.rollback()
        return False, _("Someone saved the same record a moment ago. Reload the page and check.")
    return True, None


def _person() -> str:
    return str(current_membership().user.name)


# === the buyer portal ======================================================================


@bp.get("/quality")
@buyer_view
def index() -> Any:
    """The company's delivered lots with the central check's verdict (partial acceptance
    included) and open nonconformances."""
    session = _session()
    params = ListParams.from_args(request.args, sortable=())
    listing = paginate(
        session, shared.shared_lot_list(g.buyer.id, params.q), params.page, PAGE_SIZE, False
    )
    ids = [row[0].id for row in listing.items]
    return render(
        "portal/quality/index.html",
        "portal/quality/_lot_rows.html",
        "rows",
        listing=listing,
        params=params,
        verdicts=shared.lot_verdicts(session, ids),
        open_ncs=shared.open_nonconformance_counts(session, ids),
    )


def _shared_lot_or_404(delivery_id: int) -> Delivery:
    delivery = shared.shared_lot(_session(), g.buyer.id, delivery_id)
    if delivery is None:
        abort(404)
    return delivery


@bp.get("/lots/<int:delivery_id>")
@buyer_view
def lot(delivery_id: int) -> Any:
    session = _session()
    trace = traceability.lot_trace(session, _shared_lot_or_404(delivery_id))
    people = shared.company_people(session, g.buyer.id)
    return render(
        "portal/quality/lot.html",
        trace=trace,
        sampling=quality.lot_plan(trace.plan, trace.delivery.quantity),
        verdict=shared.lot_verdicts(session, [trace.delivery.id])[trace.delivery.id],
        ours={nc.id for nc in trace.nonconformances if shared.raised_by_company(nc, people)},
    )


@bp.get("/lots/<int:delivery_id>/trace.pdf")
@buyer_view
def lot_pdf(delivery_id: int) -> Any:
    """The quality module's printable traceability record, as shared with the buyer."""
    from app.quality.printing import photo_data_uris
    from app.web.pdf import html_to_pdf

    delivery = _shared_lot_or_404(delivery_id)
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
        shared=True,
    )
    response = Response(html_to_pdf(html), mimetype="application/pdf")
    name = f"trace-{delivery.lot_no}.pdf"
    response.headers["Content-Disposition"] = content_disposition("inline", name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/nonconformances")
@buyer_view
def nonconformances() -> Any:
    session = _session()
    params = ListParams.from_args(request.args, sortable=())
    listing = paginate(
        session, shared.nonconformance_list(g.buyer.id, params.q), params.page, PAGE_SIZE, False
    )
    people = shared.company_people(session, g.buyer.id)
    return render(
        "portal/quality/nonconformances.html",
        "portal/quality/_nc_rows.html",
        "rows",
        listing=listing,
        params=params,
        ours={row[0].id for row in listing.items if shared.raised_by_company(row[0], people)},
    )


def _lot_choices(form: BuyerNonconformanceForm) -> None:
    rows = shared.shared_lot_choices(_session(), g.buyer.id)
    form.delivery_id.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(str(d.id), f"{d.lot_no}（{title}・{d.delivered_on.isoformat()}）")
        for d, title in rows
    ]


@bp.route("/nonconformances/new", methods=["GET", "POST"])
@buyer_view
def new_nonconformance() -> Any:
    session = _session()
    form = BuyerNonconformanceForm()
    _lot_choices(form)
    if request.method == "GET":
        form.delivery_id.data = request.args.get("delivery_id", "")
        form.found_on.data = today_jst()
    message = None
    if form.validate_on_submit():
        found_on = form.found_on.data
        assert found_on is not None  # InputRequired
        photos = _uploads(form.photos)
        saved: list[Nonconformance] = []
        ok, message = _save(
            form,
            lambda: saved.append(
                shared.raise_nonconformance(
                    session,
                    g.buyer.id,
                    delivery_id=form.delivery_id.id_or_none,
                    severity=Severity(form.severity.data),
                    title=form.title.data,
                    description=form.description.data or "",
                    quantity_affected=form.quantity_affected.data,
                    found_on=found_on,
                    today=today_jst(),
                    photos=photos,
                    storage=get_storage(),
                    max_bytes=max_upload_bytes(),
                )
            ),
        )
        if ok:
            nc = saved[0]
            notes = shared.tell_staff_of_nonconformance(
                session,
                nc,
                g.buyer,
                _person(),
                link=url_for("quality.nonconformance", nc_id=nc.id),
            )
            session.commit()
            notifications.send_after_commit(notes)
            flash(_("Thank you. The quality team has been told and will answer you."), "success")
            return redirect_303(url_for("portal_quality.nonconformance", nc_id=nc.id))
    status = 422 if request.method == "POST" else 200
    return render(
        "portal/quality/nonconformance_new.html",
        form=form,
        form_error=message,
        severity_choices=BUYER_SEVERITY_LABELS,
    ), status


@bp.get("/nonconformances/<int:nc_id>")
@buyer_view
def nonconformance(nc_id: int) -> Any:
    session = _session()
    found = shared.shared_nonconformance(session, g.buyer.id, nc_id)
    if found is None:
        abort(404)
    nc, delivery, order = found
    people = shared.company_people(session, g.buyer.id)
    support = shared.support_of_nonconformance(session, nc.id)
    return render(
        "portal/quality/nonconformance.html",
        nc=nc,
        delivery=delivery,
        order=order,
        ours=shared.raised_by_company(nc, people),
        actions=quality.actions_of(session, nc.id),
        photos=shared.company_photos(session, [nc.id], people).get(nc.id, []),
        support=support,
    )


# --- technical support -----------------------------------------------------------------------


@bp.get("/support")
@buyer_view
def support_requests() -> Any:
    session = _session()
    params = ListParams.from_args(request.args, sortable=())
    listing = paginate(session, shared.support_list(g.buyer.id), params.page, PAGE_SIZE, False)
    requests = [row[0] for row in listing.items]
    return render(
        "portal/quality/support_list.html",
        "portal/quality/_support_rows.html",
        "rows",
        listing=listing,
        params=params,
        verdicts=quality.live_verdicts(session, requests, today_jst()),
    )


def _support_choices(form: BuyerSupportForm) -> dict[int, Order]:
    session = _session()
    orders = {o.id: o for o in shared.support_orders(session, g.buyer.id)}
    form.order_id.choices = [SelectChoice(str(i), o.title) for i, o in orders.items()]
    rows = session.execute(shared.nonconformance_list(g.buyer.id).limit(200)).all()
    form.nonconformance_id.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(nc.id), f"{lot_no}: {nc.title}（{title}）") for nc, lot_no, title in rows
    ]
    return orders


def _scope_key(order_id: Any, mode: Any, remote_tried: Any) -> str:
    """What the shown scope was worked out for: sending needs the same choices."""
    return f"{order_id}:{mode}:{int(bool(remote_tried))}"


@bp.route("/support/new", methods=["GET", "POST"])
@buyer_view
def new_support_request() -> Any:
    """Step one shows the scope that applies to the request as filled in (htmx refreshes it
    as the choices change); sending needs the scope of the same choices to have been shown,
    and a request outside the scope the buyer's explicit "I understand"."""
    session = _session()
    form = BuyerSupportForm()
    orders = _support_choices(form)
    if request.method == "GET":
        wanted_nc = request.args.get("nonconformance_id", "")
        found = (
            shared.shared_nonconformance(session, g.buyer.id, int(wanted_nc))
            if wanted_nc.isdigit() and len(wanted_nc) < 10
            else None
        )
        if found is not None:
            form.nonconformance_id.data = str(found[0].id)
            form.order_id.data = str(found[2].id)
            form.subject.data = found[0].title
        else:
            form.order_id.data = request.args.get("order_id", "")
        if form.order_id.id_or_none not in orders and orders:
            form.order_id.data = str(next(iter(orders)))
    order = orders.get(form.order_id.id_or_none or 0)
    preview = (
        shared.scope_preview(
            session,
            order,
            onsite=form.mode.data == SupportMode.ONSITE.value,
            remote_tried=bool(form.remote_tried.data),
            now=utcnow(),
        )
        if order is not None
        else None
    )
    shown_key = _scope_key(form.order_id.data, form.mode.data, form.remote_tried.data)
    message = None
    status = 200
    if request.method == "POST" and request.form.get("step") == "send":
        status = 422
        if not form.validate_on_submit() or order is None:
            pass  # the errors are shown at their fields
        elif request.form.get("checked") != shown_key:
            message = _("Your choices changed the scope that applies: check it below, then send.")
        else:
            saved: list[tuple[SupportRequest, shared.ScopePreview]] = []
            ok, message = _save(
                form,
                lambda: saved.append(
                    shared.raise_support_request(
                        session,
                        g.buyer.id,
                        order,
                        requested_by=f"{g.buyer.name} {_person()}",
                        subject=form.subject.data,
                        description=form.description.data or "",
                        mode=SupportMode(form.mode.data),
                        remote_tried=bool(form.remote_tried.data),
                        nonconformance_id=form.nonconformance_id.id_or_none,
                        accept_outside_scope=bool(form.accept_outside_scope.data),
                        now=utcnow(),
                    )
                ),
            )
            if ok:
                support, sent = saved[0]
                notes = shared.tell_staff_of_support_request(
                    session,
                    support,
                    order,
                    g.buyer,
                    sent,
                    verdict_label=str(VERDICT_LABELS[sent.decision.verdict]),
                    link=url_for("quality.support_request", request_id=support.id),
                )
                session.commit()
                notifications.send_after_commit(notes)
                flash(_("Your request was sent to the coordinator."), "success")
                return redirect_303(
                    url_for("portal_quality.support_request", request_id=support.id)
                )
    # htmx refreshes the scope panel when the order, the mode or "remote tried" change.
    live = {
        "hx-post": url_for("portal_quality.new_support_request"),
        "hx-trigger": "change",
        "hx-target": "#scope",
        "hx-swap": "outerHTML",
        "hx-include": "closest form",
        "hx-vals": '{"step": "check"}',
    }
    for name in ("order_id", "mode", "remote_tried"):
        getattr(form, name).render_kw = live
    return render(
        "portal/quality/support_new.html",
        "portal/quality/_scope.html",
        target="scope",
        form=form,
        order=order,
        preview=preview,
        checked=shown_key,
        form_error=message,
        has_orders=bool(orders),
    ), status


@bp.get("/support/<int:request_id>")
@buyer_view
def support_request(request_id: int) -> Any:
    session = _session()
    found = shared.shared_support_request(session, g.buyer.id, request_id)
    if found is None:
        abort(404)
    support, order = found
    nc = (
        shared.shared_nonconformance(session, g.buyer.id, support.nonconformance_id)
        if support.nonconformance_id
        else None
    )
    verdict = quality.live_verdicts(session, [support], today_jst())[support.id]
    return render(
        "portal/quality/support.html",
        support=support,
        order=order,
        nc=nc[0] if nc else None,
        verdict=verdict,
    )


@bp.get("/files/<int:file_id>/preview")
@buyer_view
def photo(file_id: int) -> Any:
    stored = shared.shared_file(_session(), g.buyer.id, file_id)
    if stored is None:
        abort(404)
    return send_preview(stored)


# === the facility portal ===================================================================


@facility_bp.get("/manuals")
@facility_view
def manuals() -> Any:
    return render(
        "facility_portal/manuals.html",
        manuals=facility_side.manuals_to_work_to(_session(), g.facility.id),
    )


def _manual_or_404(manual_id: int) -> tuple[Any, Order]:
    found = facility_side.facility_manual(_session(), g.facility.id, manual_id)
    if found is None:
        abort(404)
    return found


@facility_bp.get("/manuals/<int:manual_id>")
@facility_view
def manual(manual_id: int) -> Any:
    session = _session()
    found_manual, order = _manual_or_404(manual_id)
    versions = quality.versions_of_manuals(session, [found_manual.id])[found_manual.id]
    return render(
        "facility_portal/manual.html",
        manual=found_manual,
        order=order,
        versions=versions,
        latest=versions[0] if versions else None,
        acks=facility_side.acknowledged_versions(session, g.facility.id, [v.id for v in versions]),
        files=files_by_id(session, {v.file_id for v in versions if v.file_id}),
    )


@facility_bp.post("/manuals/<int:manual_id>/versions/<int:version_id>/acknowledge")
@facility_view
def acknowledge(manual_id: int, version_id: int) -> Any:
    """The facility of the person signed in confirms the version: never another one."""
    session = _session()
    found_manual, _order = _manual_or_404(manual_id)
    version = session.get(ManualVersion, (g.tenant.id, version_id))
    if version is None or version.manual_id != found_manual.id:
        abort(404)
    ok, message = _save(
        None,
        lambda: facility_side.acknowledge_newest(
            session, g.facility, found_manual, version, by=_person(), now=utcnow()
        ),
    )
    if ok:
        flash(_("Confirmed: you work to version %(no)d.", no=version.version_no), "success")
    else:
        flash(message or "", "warning")
    return redirect_303(url_for("facility_quality.manual", manual_id=found_manual.id))


@facility_bp.get("/lots")
@facility_view
def lots() -> Any:
    session = _session()
    params = ListParams.from_args(request.args, sortable=())
    listing = paginate(
        session, facility_side.lot_list(g.facility.id), params.page, PAGE_SIZE, False
    )
    return render(
        "facility_portal/lots.html",
        "facility_portal/_lot_cards.html",
        "rows",
        listing=listing,
        params=params,
        states=facility_side.lot_states(
            session, g.facility.id, [row[0].id for row in listing.items]
        ),
    )


def _facility_lot_or_404(delivery_id: int) -> tuple[Delivery, Order]:
    found = facility_side.facility_lot(_session(), g.facility.id, delivery_id)
    if found is None:
        abort(404)
    return found


def _progress_choices(form: ProgressForm, order_id: int) -> None:
    versions = facility_side.work_versions(_session(), order_id)
    form.manual_version_id.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(v.id), f"{m.title} v{v.version_no}") for m, v in versions
    ]


def _inspection_form(items: list[InspectionItem], blank: bool = False) -> SelfInspectionForm:
    """The self-inspection form with one field per active item of the order's plan; read
    from the request unless ``blank``."""

    class Form(SelfInspectionForm):
        pass

    for item in items:
        label = item.name + (f"（{item.unit}）" if item.unit else "")
        field = measurement_field(label) if item.kind == ItemKind.MEASURE else check_field(label)
        setattr(Form, f"item_{item.id}", field)
    return Form(formdata=None) if blank else Form()


def _lot_context(delivery: Delivery, order: Order, **forms: Any) -> dict[str, Any]:
    session = _session()
    facility_id = g.facility.id
    work = facility_side.own_work(session, facility_id, delivery.id)
    plan = quality.plan_of(session, order.id)
    items = quality.plan_items(session, plan.id if plan else None)
    progress_form = forms.get("progress_form")
    if progress_form is None:
        progress_form = ProgressForm(formdata=None, obj=work)
        if work is None:
            progress_form.lead_person.data = _person()
            current = quality.current_work_version(session, order.id)
            progress_form.manual_version_id.data = str(current.id) if current else ""
        else:
            progress_form.manual_version_id.data = str(work.manual_version_id or "")
    _progress_choices(progress_form, order.id)
    inspections = facility_side.own_inspections(session, facility_id, delivery.id)
    inspection_form = forms.get("inspection_form")
    if inspection_form is None:
        inspection_form = _inspection_form(items, blank=True)
        inspection_form.inspector.data = _person()
        inspection_form.inspected_on.data = today_jst()
        made = work.quantity if work is not None else delivery.quantity
        inspection_form.quantity.data = made
        inspection_form.sample_size.data = made
    return {
        "delivery": delivery,
        "order": order,
        "work": work,
        "items": items,
        "inspections": inspections,
        "photos": quality.photos_of(session, [i.id for i in inspections]),
        "progress_form": progress_form,
        "inspection_form": inspection_form,
        "form_error": forms.get("form_error"),
    }


@facility_bp.get("/lots/<int:delivery_id>", endpoint="lot")
@facility_view
def facility_lot(delivery_id: int) -> Any:
    delivery, order = _facility_lot_or_404(delivery_id)
    return render("facility_portal/lot.html", **_lot_context(delivery, order))


@facility_bp.post("/lots/<int:delivery_id>/progress")
@facility_view
def save_progress(delivery_id: int) -> Any:
    delivery, order = _facility_lot_or_404(delivery_id)
    form = ProgressForm()
    _progress_choices(form, order.id)
    message = None
    if form.validate_on_submit():
        quantity = form.quantity.data
        assert quantity is not None  # InputRequired
        ok, message = _save(
            form,
            lambda: facility_side.save_progress(
                _session(),
                g.facility.id,
                delivery,
                quantity=quantity,
                lead_person=form.lead_person.data,
                started_on=form.started_on.data,
                finished_on=form.finished_on.data,
                manual_version_id=form.manual_version_id.id_or_none,
                today=today_jst(),
            ),
        )
        if ok:
            flash(_("Saved."), "success")
            return redirect_303(
                url_for("facility_quality.lot", delivery_id=delivery.id) + "#progress"
            )
    context = _lot_context(delivery, order, progress_form=form, form_error=message)
    return render("facility_portal/lot.html", **context), 422


def _self_inspection(form: Any, items: list[InspectionItem]) -> facility_side.SelfInspection | None:
    """The form's values, or None after putting "not a number" errors at the items."""
    answers = read_item_values(form, items)
    if answers is None:
        return None
    measurements, checks = answers
    assert form.inspected_on.data is not None
    return facility_side.SelfInspection(
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


@facility_bp.route("/lots/<int:delivery_id>/self-inspection", methods=["GET", "POST"])
@facility_view
def self_inspection(delivery_id: int) -> Any:
    """GET shows the lot page at its self-inspection form; POST records one."""
    session = _session()
    delivery, order = _facility_lot_or_404(delivery_id)
    if request.method == "GET":
        return redirect_303(
            url_for("facility_quality.lot", delivery_id=delivery.id) + "#self-inspection"
        )
    plan = quality.plan_of(session, order.id)
    items = quality.plan_items(session, plan.id if plan else None)
    form = _inspection_form(items)
    message = None
    if form.validate_on_submit():
        data = _self_inspection(form, items)
        if data is not None:
            photos = _uploads(form.photos)
            ok, message = _save(
                form,
                lambda: facility_side.record_self_inspection(
                    session,
                    g.facility.id,
                    delivery,
                    data,
                    items=items,
                    photos=photos,
                    storage=get_storage(),
                    max_bytes=max_upload_bytes(),
                    today=today_jst(),
                ),
            )
            if ok:
                flash(_("Self-inspection recorded. Thank you."), "success")
                return redirect_303(
                    url_for("facility_quality.lot", delivery_id=delivery.id) + "#inspections"
                )
    context = _lot_context(delivery, order, inspection_form=form, form_error=message)
    return render("facility_portal/lot.html", **context), 422


@facility_bp.get("/quality")
@facility_view
def figures() -> Any:
    return render(
        "facility_portal/quality.html",
        figures=facility_side.own_figures(_session(), g.facility.id, today_jst()),
        window_days=kpi.WINDOW_DAYS,
    )


def _facility_file_or_404(file_id: int) -> Any:
    stored = facility_side.facility_file(_session(), g.facility.id, file_id)
    if stored is None:
        abort(404)
    return stored


@facility_bp.get("/files/<int:file_id>")
@facility_view
def file(file_id: int) -> Any:
    return send_original(_facility_file_or_404(file_id))


@facility_bp.get("/files/<int:file_id>/preview")
@facility_view
def preview(file_id: int) -> Any:
    return send_preview(_facility_file_or_404(file_id))
