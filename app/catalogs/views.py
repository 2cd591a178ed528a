"""The workspace's catalogues on one page: processes, difficulty scale, plan goals, lost reasons.

Each section is a fragment that replaces itself after an htmx post (``hx-target`` = the
section); without JavaScript the same forms post normally and get a 303 back to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, flash, g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from app.catalogs import service
from app.catalogs.forms import (
    CapabilityForm,
    GoalForm,
    LevelForm,
    LostReasonForm,
    MoveForm,
    NewLevelForm,
)
from app.catalogs.models import Capability, DifficultyLevel, LostReason, PlanGoal
from app.extensions import db
from app.web.htmx import htmx_target, redirect_303, render
from tenants.context import staff_view, tenant_blueprint

bp = tenant_blueprint("catalogs", __name__, "/catalogs")

T = TypeVar("T")

# section id (the element id and the URL anchor) -> its fragment template
SECTIONS = {
    "capabilities": "catalogs/_capabilities.html",
    "difficulty": "catalogs/_difficulty.html",
    "goals": "catalogs/_goals.html",
    "lost-reasons": "catalogs/_lost_reasons.html",
}
SECTION_TITLES = {
    "capabilities": _l("Processes"),
    "difficulty": _l("Difficulty levels"),
    "goals": _l("Comprehensive-plan goals"),
    "lost-reasons": _l("Lost reasons"),
}


# --- helpers -------------------------------------------------------------------------------


def _get(model: type[T], row_id: int) -> T:
    row = db.session.get(model, (g.tenant.id, row_id))
    if row is None:
        abort(404)
    return row


def _context(**forms: FlaskForm) -> dict[str, Any]:
    context: dict[str, Any] = {
        "catalogues": service.load_catalogues(db.session),
        "capability_form": CapabilityForm(prefix="capability", formdata=None),
        "level_form": NewLevelForm(prefix="level", formdata=None),
        "goal_form": GoalForm(prefix="goal", formdata=None),
        "reason_form": LostReasonForm(prefix="reason", formdata=None),
    }
    context.update(forms)
    return context


def _page(section: str, status: int = 200, **forms: FlaskForm) -> Any:
    """The section alone for htmx, the whole page otherwise."""
    return render("catalogs/index.html", SECTIONS[section], section, **_context(**forms)), status


def _index_url(section: str) -> str:
    return url_for("catalogs.index") + "#" + section


def _saved_response(section: str) -> Any:
    """After a successful write: the refreshed section (htmx) or a 303 back to the page."""
    if htmx_target() == section:
        return _page(section)
    flash(_("Saved."), "success")
    return redirect_303(_index_url(section))


def _done(section: str) -> Any:
    db.session.commit()
    return _saved_response(section)


def _save(form: FlaskForm, field: str, action: Callable[[], object]) -> bool:
    """Run a service write and commit; a duplicate becomes an error at the form's field."""
    session = db.session
    try:
        action()
        session.commit()
    except service.Duplicate as exc:
        session.rollback()
        form[exc.field].errors.append(exc.message)
        return False
    except IntegrityError:
        # Someone saved the same name a moment ago: the constraint caught it.
        session.rollback()
        form[field].errors.append(_("This is already used in this workspace."))
        return False
    return True


def _edit_page(form: FlaskForm, section: str, heading: str, row: Any) -> Any:
    return (
        render(
            "catalogs/edit.html",
            form=form,
            section=section,
            section_title=SECTION_TITLES[section],
            heading=heading,
            row=row,
        ),
        422 if form.errors else 200,
    )


def _edited(form: FlaskForm, section: str, field: str, action: Callable[[], object]) -> Any:
    if _save(form, field, action):
        flash(_("Saved."), "success")
        return redirect_303(_index_url(section))
    return None


# --- the page ------------------------------------------------------------------------------


@bp.get("/")
@staff_view()
def index() -> Any:
    return render("catalogs/index.html", **_context())


# --- processes (capabilities) --------------------------------------------------------------


@bp.post("/capabilities")
@staff_view(write=True)
def add_capability() -> Any:
    form = CapabilityForm(prefix="capability")
    if form.validate_on_submit() and _save(
        form,
        "name",
        lambda: service.add_capability(
            db.session, name=form.name.data, description=form.description.data
        ),
    ):
        return _saved_response("capabilities")
    return _page("capabilities", 422, capability_form=form)


@bp.route("/capabilities/<int:capability_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit_capability(capability_id: int) -> Any:
    capability = _get(Capability, capability_id)
    form = CapabilityForm(obj=capability)
    if form.validate_on_submit():
        done = _edited(
            form,
            "capabilities",
            "name",
            lambda: service.update_capability(
                db.session, capability, name=form.name.data, description=form.description.data
            ),
        )
        if done is not None:
            return done
    return _edit_page(form, "capabilities", capability.name, capability)


@bp.post("/capabilities/<int:capability_id>/archive")
@staff_view(write=True)
def archive_capability(capability_id: int) -> Any:
    service.archive(_get(Capability, capability_id))
    return _done("capabilities")


@bp.post("/capabilities/<int:capability_id>/restore")
@staff_view(write=True)
def restore_capability(capability_id: int) -> Any:
    service.restore(_get(Capability, capability_id))
    return _done("capabilities")


def _move(row: Capability | LostReason, section: str) -> Any:
    direction = MoveForm().chosen()
    if direction is None:
        abort(400)
    service.move(db.session, row, direction)
    return _done(section)


@bp.post("/capabilities/<int:capability_id>/move")
@staff_view(write=True)
def move_capability(capability_id: int) -> Any:
    return _move(_get(Capability, capability_id), "capabilities")


# --- difficulty scale ----------------------------------------------------------------------


@bp.post("/difficulty")
@staff_view(write=True)
def add_level() -> Any:
    form = NewLevelForm(prefix="level")
    if form.validate_on_submit() and _save(
        form,
        "level",
        lambda: service.add_level(
            db.session,
            level=cast(int, form.level.data),
            name=form.name.data,
            definition=form.definition.data,
        ),
    ):
        return _saved_response("difficulty")
    return _page("difficulty", 422, level_form=form)


@bp.route("/difficulty/<int:level_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit_level(level_id: int) -> Any:
    level = _get(DifficultyLevel, level_id)
    form = LevelForm(obj=level)
    if form.validate_on_submit():
        done = _edited(
            form,
            "difficulty",
            "name",
            lambda: service.update_level(
                level, name=form.name.data, definition=form.definition.data
            ),
        )
        if done is not None:
            return done
    heading = _("Level %(level)d: %(name)s", level=level.level, name=level.name)
    return _edit_page(form, "difficulty", heading, level)


# --- comprehensive-plan goals --------------------------------------------------------------


@bp.post("/goals")
@staff_view(write=True)
def add_goal() -> Any:
    form = GoalForm(prefix="goal")
    if form.validate_on_submit() and _save(
        form,
        "code",
        lambda: service.add_goal(db.session, code=form.code.data, title=form.title.data),
    ):
        return _saved_response("goals")
    return _page("goals", 422, goal_form=form)


@bp.route("/goals/<int:goal_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit_goal(goal_id: int) -> Any:
    goal = _get(PlanGoal, goal_id)
    form = GoalForm(obj=goal)
    if form.validate_on_submit():
        done = _edited(
            form,
            "goals",
            "code",
            lambda: service.update_goal(
                db.session, goal, code=form.code.data, title=form.title.data
            ),
        )
        if done is not None:
            return done
    return _edit_page(form, "goals", f"{goal.code} {goal.title}", goal)


@bp.post("/goals/<int:goal_id>/archive")
@staff_view(write=True)
def archive_goal(goal_id: int) -> Any:
    service.archive(_get(PlanGoal, goal_id))
    return _done("goals")


@bp.post("/goals/<int:goal_id>/restore")
@staff_view(write=True)
def restore_goal(goal_id: int) -> Any:
    service.restore(_get(PlanGoal, goal_id))
    return _done("goals")


# --- lost reasons --------------------------------------------------------------------------


@bp.post("/lost-reasons")
@staff_view(write=True)
def add_lost_reason() -> Any:
    form = LostReasonForm(prefix="reason")
    if form.validate_on_submit() and _save(
        form, "label", lambda: service.add_lost_reason(db.session, label=form.label.data)
    ):
        return _saved_response("lost-reasons")
    return _page("lost-reasons", 422, reason_form=form)


@bp.route("/lost-reasons/<int:reason_id>/edit", methods=["GET", "POST"])
@staff_view(write=True)
def edit_lost_reason(reason_id: int) -> Any:
    reason = _get(LostReason, reason_id)
    form = LostReasonForm(obj=reason)
    if form.validate_on_submit():
        done = _edited(
            form,
            "lost-reasons",
            "label",
            lambda: service.update_lost_reason(db.session, reason, label=form.label.data),
        )
        if done is not None:
            return done
    return _edit_page(form, "lost-reasons", reason.label, reason)


@bp.post("/lost-reasons/<int:reason_id>/archive")
@staff_view(write=True)
def archive_lost_reason(reason_id: int) -> Any:
    service.archive(_get(LostReason, reason_id))
    return _done("lost-reasons")


@bp.post("/lost-reasons/<int:reason_id>/restore")
@staff_view(write=True)
def restore_lost_reason(reason_id: int) -> Any:
    service.restore(_get(LostReason, reason_id))
    return _done("lost-reasons")


@bp.post("/lost-reasons/<int:reason_id>/move")
@staff_view(write=True)
def move_lost_reason(reason_id: int) -> Any:
    return _move(_get(LostReason, reason_id), "lost-reasons")
