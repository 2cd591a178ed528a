"""Matching forms: a work spec, the workspace's weights, a buyer's exclusion; and the reading
of a proposal's adjustments (quantities, locks, exclusions), which are rows, not fields."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Optional, ValidationError

from app.auth.forms import REQUIRED
from app.catalogs.models import DifficultyLevel
from app.matching.models import WorkUnit
from app.matching.service import parse_month
from app.web.fields import (
    DecimalNumberField,
    WholeNumberField,
    at_least,
    between,
    max_length,
    strip,
)

UNIT_LABELS = {WorkUnit.HOURS: _l("Hours"), WorkUnit.PIECES: _l("Pieces")}
PROFICIENCY_LABELS = {1: _l("Basic"), 2: _l("Practised"), 3: _l("Expert")}


def optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SpecForm(FlaskForm):
    unit = SelectField(
        _l("Counted in"),
        choices=[SelectChoice(unit.value, label) for unit, label in UNIT_LABELS.items()],
        default=WorkUnit.HOURS.value,
    )
    quantity = WholeNumberField(
        _l("Quantity"),
        validators=[InputRequired(message=REQUIRED), between(1, 10_000_000)],
        description=_l("Per month for an order; the whole trial for a deal."),
    )
    hours_per_unit = DecimalNumberField(
        _l("Hours per piece"),
        validators=[Optional(), between(0.001, 1000)],
        description=_l("Only for work counted in pieces, e.g. 0.05 for 3 minutes."),
    )
    min_lot = WholeNumberField(
        _l("Minimum lot per facility"),
        validators=[Optional(), at_least(0)],
        description=_l("No facility gets less than this (0: no minimum)."),
    )
    difficulty_level = SelectField(
        _l("Difficulty level"), coerce=optional_int, validate_choice=False
    )
    needs_pc = BooleanField(_l("Needs PC work"))
    on_site = BooleanField(_l("Work on the buyer's site"))
    max_distance_km = WholeNumberField(
        _l("Maximum distance for on-site work (km)"),
        validators=[Optional(), between(0, 2000)],
    )
    trial_month = StringField(
        _l("Month of the trial"),
        filters=[strip],
        validators=[Optional(), max_length(10)],
        description=_l("Year and month, e.g. 2026-05."),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """Field checks, then the rules between fields (blank optional fields skip their own
        inline validators, so these live here)."""
        valid = super().validate(extra_validators)
        problems: list[tuple[Any, bool, Any]] = [
            (
                self.hours_per_unit,
                self.unit.data == WorkUnit.PIECES.value and self.hours_per_unit.data is None,
                _l("Enter how many hours one piece takes."),
            ),
            (
                self.max_distance_km,
                bool(self.on_site.data) and self.max_distance_km.data is None,
                _l("On-site work needs a maximum distance."),
            ),
            (
                self.min_lot,
                self.min_lot.data is not None
                and self.quantity.data is not None
                and self.min_lot.data > self.quantity.data,
                _l("The minimum lot cannot be larger than the quantity."),
            ),
        ]
        for f, broken, message in problems:
            if broken and not f.errors:
                f.errors = [*f.errors, message]
                valid = False
        return valid

    def validate_trial_month(self, f: StringField) -> None:
        if f.data and parse_month(f.data) is None:
            raise ValidationError(_l("Enter a year and month such as 2026-05."))


def spec_form(levels: Sequence[DifficultyLevel], **kwargs: Any) -> SpecForm:
    form = SpecForm(**kwargs)
    form.difficulty_level.choices = [
        SelectChoice("", _l("As the deal says")),
        *(SelectChoice(str(level.level), f"{level.level} {level.name}") for level in levels),
    ]
    return form


def read_capability_levels(
    form: Mapping[str, str], capability_ids: Sequence[int]
) -> dict[int, int]:
    """``cap-<id>`` → minimum proficiency 1..3 (blank: not needed); unknown values ignored."""
    levels = {}
    for capability_id in capability_ids:
        raw = form.get(f"cap-{capability_id}", "")
        if raw in ("1", "2", "3"):
            levels[capability_id] = int(raw)
    return levels


class WeightsForm(FlaskForm):
    distance = DecimalNumberField(
        _l("Distance"), validators=[InputRequired(message=REQUIRED), between(0, 100)]
    )
    quality = DecimalNumberField(
        _l("Quality record"), validators=[InputRequired(message=REQUIRED), between(0, 100)]
    )
    wage_uplift = DecimalNumberField(
        _l("Wage uplift (lowest wages first)"),
        validators=[InputRequired(message=REQUIRED), between(0, 100)],
    )
    idle_bonus = DecimalNumberField(
        _l("Bonus for a facility without work yet"),
        validators=[InputRequired(message=REQUIRED), between(0, 100)],
    )
    concentration = DecimalNumberField(
        _l("Concentration (spread the work)"),
        validators=[InputRequired(message=REQUIRED), between(0, 100)],
    )

    def values(self) -> dict[str, float]:
        return {
            name: float(self[name].data)
            for name in ("distance", "quality", "wage_uplift", "idle_bonus", "concentration")
        }


class ExclusionForm(FlaskForm):
    facility_id = SelectField(_l("Facility"), coerce=optional_int, validate_choice=False)
    reason = StringField(_l("Reason"), filters=[strip], validators=[max_length(200)])

    def validate_facility_id(self, f: SelectField) -> None:
        allowed = {str(choice.value) for choice in f.choices or [] if choice.value}
        if str(f.data or "") not in allowed:
            raise ValidationError(_l("Choose a facility."))


# --- a proposal's adjustments ----------------------------------------------------------------


def parse_quantity(raw: str | None) -> float | None:
    """ "1,200" / "１２．５" / "12.5h" → a number ≥ 0; None when blank; ValueError otherwise."""
    text = unicodedata.normalize("NFKC", raw or "").strip().replace(",", "")
    for suffix in ("時間", "h", "個", "pcs"):
        text = text.removesuffix(suffix).strip()
    if not text:
        return None
    value = float(text)
    if not math.isfinite(value) or value < 0 or value > 1e9:
        raise ValueError(text)
    return value


@dataclass
class Adjustments:
    """What the coordinator changed on a proposal: facility → quantity for every row shown,
    which of them are locked, which facilities are excluded, and the errors found."""

    quantities: dict[int, float] = field(default_factory=dict)
    locked: dict[int, float] = field(default_factory=dict)
    excluded: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def read_adjustments(form: Mapping[str, str], facility_names: Mapping[int, str]) -> Adjustments:
    """Rows are ``q-<id>`` (quantity), ``lock-<id>``, ``ex-<id>``; ``add-facility`` with
    ``add-quantity`` locks in a facility that was not in the plan."""
    out = Adjustments()
    locks = set()
    for key in form:
        prefix, _, raw_id = key.partition("-")
        if prefix not in ("q", "lock", "ex") or not raw_id.isdigit():
            continue
        facility_id = int(raw_id)
        if facility_id not in facility_names:
            out.errors.append(str(UNKNOWN_FACILITY))
        elif prefix == "ex":
            out.excluded.add(facility_id)
        elif prefix == "lock":
            locks.add(facility_id)
        else:
            _read_row(out, facility_id, form.get(key), facility_names[facility_id])
    out.locked = {fid: out.quantities[fid] for fid in locks if fid in out.quantities}
    _read_added(out, form, facility_names)
    for facility_id in out.excluded:
        out.quantities.pop(facility_id, None)
        out.locked.pop(facility_id, None)
    return out


UNKNOWN_FACILITY = _l("A chosen facility does not exist or has left the program.")


def _read_row(out: Adjustments, facility_id: int, raw: str | None, name: str) -> None:
    try:
        quantity = parse_quantity(raw)
    except ValueError:
        out.errors.append(
            str(_l("%(facility)s: enter the quantity as a number of zero or more.", facility=name))
        )
        return
    out.quantities[facility_id] = quantity or 0.0


def _read_added(out: Adjustments, form: Mapping[str, str], names: Mapping[int, str]) -> None:
    added = optional_int(form.get("add-facility"))
    if added is None:
        return
    if added not in names:
        out.errors.append(str(UNKNOWN_FACILITY))
        return
    try:
        quantity = parse_quantity(form.get("add-quantity"))
    except ValueError:
        quantity = None
    if not quantity:
        out.errors.append(str(_l("Enter the quantity for the facility you add.")))
        return
    out.quantities[added] = quantity
    out.locked[added] = quantity
    out.excluded.discard(added)
