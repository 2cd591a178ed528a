"""Facility screens: the list, the profile with capabilities and wages, new / edit, archive.

The detail page's capability and wage sections replace themselves after an htmx post; without
JavaScript the same forms post normally and get a 303 back to the page.
"""

from __future__ import annotations

from typing import Any, cast

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.billing.guard import check_facility_room
from app.catalogs.models import Capability
from app.catalogs.service import active_capabilities, difficulty_scale
from app.extensions import db
from app.facilities import service
from app.facilities.forms import (
    KIND_LABELS,
    PROFICIENCY_LABELS,
    STATUS_LABELS,
    CapabilityAssignForm,
    FacilityForm,
    WageForm,
    capability_choices,
    capability_form,
    facility_form,
    wage_form,
)
from app.facilities.models import Facility
from app.jp import fiscal_year_of, today_jst
from app.matching import service as matching
from app.reports import drill
from app.web.htmx import htmx_target, redirect_303, render
from app.web.listing import ListParams, paginate
from tenants.context import staff_view, tenant_blueprint

bp = tenant_blueprint("facilities", __name__, "/facilities")


@bp.app_template_filter("facility_kind")
def facility_kind_label(kind: Any) -> str:
    return str(KIND_LABELS.get(kind, kind or ""))


@bp.app_template_filter("facility_status")
def facility_status_label(status: Any) -> str:
    return str(STATUS_LABELS.get(status, status or ""))


@bp.app_template_filter("proficiency")
def proficiency_label(level: Any) -> str:
    return str(PROFICIENCY_LABELS.get(level, level or ""))


def _facility(facility_id: int) -> Facility:
    facility = db.session.get(Facility, (g.tenant.id, facility_id))
    if facility is None:
        abort(404)
    return facility


# --- the list ------------------------------------------------------------------------------


@bp.get("/")
@staff_view()
def index() -> Any:
    params = ListParams.from_args(
        request.args, tuple(service.SORTABLE), service.FILTERS, default_sort="name"
    )
    session = db.session
    listing = paginate(session, service.list_query(params), params.page)
    held = service.capabilities_of(session, [facility.id for facility in listing.items])
    capabilities = session.scalars(
        select(Capability).order_by(Capability.sort_order, Capability.id)
    ).all()
    return render(
        "facilities/index.html",
        "facilities/_rows.html",
        "rows",
        params=params,
        listing=listing,
        held=held,
        capabilities=capabilities,
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        **drill.context(params.filters, drill.FACILITY_FILTERS),
    )


# --- one facility --------------------------------------------------------------------------


def _last_closed_fiscal_year() -> int:
    return fiscal_year_of(today_jst()) - 1


def _offered(
    facility: Facility, held: list[service.HeldCapability] | None = None
) -> list[Capability]:
    """Processes that can be added: active ones the facility does not have yet."""
    if held is None:
        held = service.capabilities_of(db.session, [facility.id])[facility.id]
    held_ids = {item.capability.id for item in held}
    return [c for c in active_capabilities(db.session) if c.id not in held_ids]


def _detail_context(
    facility: Facility,
    capability_form_: CapabilityAssignForm | None = None,
    wage_form_: WageForm | None = None,
) -> dict[str, Any]:
    session = db.session
    held = service.capabilities_of(session, [facility.id])[facility.id]
    offered = _offered(facility, held)
    fiscal_years = service.fiscal_year_choices(today_jst())
    return {
        "facility": facility,
        "held": held,
        "level": service.difficulty_level(session, facility.max_difficulty),
        "wages": service.wage_history(session, facility.id),
        "capability_form": capability_form_ or capability_form(offered, formdata=None),
        "offered": offered,
        "wage_form": wage_form_
        or wage_form(fiscal_years, formdata=None, data={"fiscal_year": _last_closed_fiscal_year()}),
        "proficiency_labels": PROFICIENCY_LABELS,
        "assignment_rows": matching.assignment_rows(session, facility_id=facility.id),
        "assignments_show_work": True,
    }


@bp.get("/<int:facility_id>")
@staff_view()
def detail(facility_id: int) -> Any:
    return render("facilities/detail.html", **_detail_context(_facility(facility_id)))


def _form_page(form: FacilityForm, facility: Facility | None) -> Any:
    return (
        render("facilities/form.html", form=form, facility=facility),
        422 if form.errors else 200,
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_view(write=True)
def new() -> Any:
    session = db.session
    over_limit = check_facility_room()
    if over_limit is not None:
        flash(over_limit, "error")
        return redirect_303(url_for("facilities.index"))
    form = facility_form(difficulty_scale(session))
    if not form.is_submitted():
        form.prefecture_code.data = g.tenant.prefecture_code
    if form.validate_on_submit():
        try:
            facility = service.create_facility(session, **form.profile())
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form[exc.field].errors.append(exc.message)
        else:
            flash(_("Facility %(name)s added.", name=facility.name), "success")
            return redirect_303(url_for("facilities.detail", facility_id=facility.id))
    return _form_page(form, None)


@bp.route("/<int:facility_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit(facility_id: int) -> Any:
    session = db.session
    facility = _facility(facility_id)
    form = facility_form(difficulty_scale(session), obj=facility)
    if form.validate_on_submit():
        try:
            service.update_facility(session, facility, **form.profile())
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form[exc.field].errors.append(exc.message)
        else:
            flash(_("Saved."), "success")
            return redirect_303(url_for("facilities.detail", facility_id=facility.id))
    return _form_page(form, facility)


@bp.post("/<int:facility_id>/archive")
@staff_view(write=True)
def archive(facility_id: int) -> Any:
    facility = _facility(facility_id)
    service.archive(facility)
    db.session.commit()
    flash(_("Facility %(name)s archived.", name=facility.name), "success")
    return redirect_303(url_for("facilities.detail", facility_id=facility.id))


@bp.post("/<int:facility_id>/restore")
@staff_view(write=True)
def restore(facility_id: int) -> Any:
    facility = _facility(facility_id)
    over_limit = check_facility_room() if facility.archived_at is not None else None
    if over_limit is not None:
        flash(over_limit, "error")
        return redirect_303(url_for("facilities.detail", facility_id=facility.id))
    service.restore(facility)
    db.session.commit()
    flash(_("Facility %(name)s restored.", name=facility.name), "success")
    return redirect_303(url_for("facilities.detail", facility_id=facility.id))


# --- sections of the detail page -----------------------------------------------------------

SECTIONS = {
    "capabilities": "facilities/_capabilities.html",
    "wages": "facilities/_wages.html",
}


def _section(facility: Facility, section: str, status: int = 200, **forms: Any) -> Any:
    context = _detail_context(facility, **forms)
    return render("facilities/detail.html", SECTIONS[section], section, **context), status


def _section_saved(facility: Facility, section: str) -> Any:
    if htmx_target() == section:
        return _section(facility, section)
    flash(_("Saved."), "success")
    return redirect_303(url_for("facilities.detail", facility_id=facility.id) + "#" + section)


@bp.post("/<int:facility_id>/capabilities")
@staff_view(write=True)
def add_capability(facility_id: int) -> Any:
    """Add a process with its proficiency, or change the proficiency of one it has."""
    session = db.session
    facility = _facility(facility_id)
    form = CapabilityAssignForm()
    if form.validate_on_submit():
        try:
            service.set_capability(
                session, facility, form.capability_id.data, form.proficiency.data
            )
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form[exc.field].errors.append(exc.message)
        except IntegrityError:
            session.rollback()  # the same process added twice at once: the first one stands
            return _section_saved(facility, "capabilities")
        else:
            return _section_saved(facility, "capabilities")
    form.capability_id.choices = capability_choices(_offered(facility))
    return _section(facility, "capabilities", 422, capability_form_=form)


@bp.post("/<int:facility_id>/capabilities/<int:capability_id>/remove")
@staff_view(write=True)
def remove_capability(facility_id: int, capability_id: int) -> Any:
    facility = _facility(facility_id)
    if not service.remove_capability(db.session, facility, capability_id):
        abort(404)
    db.session.commit()
    return _section_saved(facility, "capabilities")


@bp.post("/<int:facility_id>/wages")
@staff_view(write=True)
def save_wage(facility_id: int) -> Any:
    """Record or correct the average monthly wage of one fiscal year."""
    session = db.session
    facility = _facility(facility_id)
    form = wage_form(service.fiscal_year_choices(today_jst()))
    if form.validate_on_submit():
        try:
            service.save_wage(
                session,
                facility,
                fiscal_year=form.fiscal_year.data,
                avg_monthly_wage=cast(int, form.avg_monthly_wage.data),
                workers=form.workers.data,
            )
            session.commit()
        except service.RuleBroken as exc:
            session.rollback()
            form[exc.field].errors.append(exc.message)
        else:
            return _section_saved(facility, "wages")
    return _section(facility, "wages", 422, wage_form_=form)
