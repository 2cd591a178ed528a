"""Import and export screens: upload → preview (or the list of problems) → confirm, and the
CSV/XLSX exports. Writes need a writing role; exports are open to every staff reader."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from flask import (
    Response,
    abort,
    current_app,
    g,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from app.billing.guard import check_facility_room
from app.extensions import db
from app.imports import engine, service
from app.imports.engine import Outcome, Problem, RowError, Spec
from app.imports.forms import ConfirmForm, EncodingForm, UploadForm
from app.imports.specs import SPECS
from app.jobs import JobStore, Progress, store_for
from app.jobs import run as run_job
from app.jp import JST
from app.web.errors import error_page
from app.web.htmx import redirect_303, render
from tenants.context import staff_view, tenant_blueprint

bp = tenant_blueprint("imports", __name__, "/data")

KIND_LABELS: Final = {
    "facilities": _l("Facilities"),
    "buyers": _l("Buyers"),
    "deals": _l("Deals"),
    "orders": _l("Orders"),
    "order_months": _l("Monthly amounts of orders"),
    "facility_wages": _l("Facility wages by fiscal year"),
    "assignments": _l("Assignments (work given to facilities)"),
}
MATCHING_NOTES: Final = {
    "facilities": _l(
        "A row whose 事業所名 is already used by a facility of this workspace updates that "
        "facility; any other row adds a new one."
    ),
    "buyers": _l(
        "A row whose 企業名 is already used by a buyer of this workspace updates that buyer; "
        "any other row adds a new one."
    ),
    "deals": _l(
        "A row with a 番号 updates that deal of this workspace; a row without one adds a new "
        "deal. The buyer is found by its name (発注企業) and must exist already."
    ),
    "orders": _l(
        "A row with a 受注番号 updates that order; a row without one adds a new order. The "
        "buyer (発注企業) and the deal (商談番号) must exist already."
    ),
    "order_months": _l(
        "Each row is one month of one order, found by its 受注番号 or its unique 件名: the "
        "forecast and the actual amount placed with facilities. A month already recorded is "
        "updated."
    ),
    "facility_wages": _l(
        "Each row is a facility's average monthly wage in one fiscal year (found by 事業所名). "
        "A year already recorded is updated."
    ),
    "assignments": _l(
        "Each row is the work one facility took on for one order in one month (past years "
        "from the 案件管理シート). The same facility, order and month again is updated."
    ),
}
SHEET_TITLES: Final = {
    "facilities": "事業所",
    "buyers": "発注企業",
    "deals": "商談",
    "orders": "受注",
    "order_months": "月次発注額",
    "facility_wages": "工賃実績",
    "assignments": "アサイン実績",
}
# The list where imported records are seen.
LIST_ENDPOINTS: Final = {
    "order_months": "orders.index",
    "facility_wages": "facilities.index",
    "assignments": "orders.index",
}
FORMATS: Final = {
    "csv": ("text/csv; charset=utf-8", ".csv"),
    "csv-sjis": ("text/csv; charset=Shift_JIS", "_sjis.csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
}
PREVIEW_ROWS: Final = 20
ERRORS_SHOWN: Final = 200


def say(message: str, params: Any = None) -> str:
    """Translate an engine message (an English msgid with its parameters)."""
    return _(message, **dict(params or {}))


def _spec_or_404(kind: str) -> Spec:
    spec = SPECS.get(kind)
    if spec is None:
        abort(404)
    return spec


def _store() -> service.UploadStore:
    return service.UploadStore(Path(current_app.instance_path) / "imports", g.tenant.id)


def _list_url(kind: str) -> str:
    """The list of the imported records."""
    return url_for(LIST_ENDPOINTS.get(kind, f"{kind}.index"))


# --- the page ----------------------------------------------------------------------------------


def _column_rows(spec: Spec) -> list[dict[str, Any]]:
    return [
        {
            "header": column.header,
            "field": column.field,
            "aliases": column.aliases,
            "required": column.required,
            "hint": say(column.type.hint, column.type.hint_params),
        }
        for column in spec.columns
    ]


def _index_context(forms: dict[str, UploadForm] | None = None) -> dict[str, Any]:
    counts = service.active_counts(db.session)
    sections = [
        {
            "kind": kind,
            "label": KIND_LABELS[kind],
            "count": counts[kind],
            "matching": MATCHING_NOTES[kind],
            "form": (forms or {}).get(kind) or UploadForm(prefix=kind),
            "columns": _column_rows(spec),
        }
        for kind, spec in SPECS.items()
    ]
    return {"sections": sections}


@bp.get("/")
@staff_view()
def index() -> Any:
    return render("imports/index.html", **_index_context())


@bp.post("/<kind>/upload")
@staff_view(write=True)
def upload(kind: str) -> Any:
    _spec_or_404(kind)
    form = UploadForm(prefix=kind)
    if form.validate_on_submit():
        storage = form.file.data
        data = storage.read(engine.MAX_BYTES + 1)
        try:
            engine.sniff(data)
        except Problem as problem:
            form.file.errors.append(say(problem.message, problem.params))
        else:
            token = _store().save(kind, storage.filename or "", current_user.id, data)
            return redirect_303(url_for("imports.preview", kind=kind, token=token))
    return render("imports/index.html", **_index_context({kind: form})), 422


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_exc: RequestEntityTooLarge) -> Any:
    """Bigger than the server takes at all (checked before the page is known): say the limit."""
    db.session.rollback()
    return error_page(413, say(engine.TOO_LARGE, {"limit": engine.MAX_BYTES // (1024 * 1024)}))


# --- preview, problems, confirmation -----------------------------------------------------------


def _gone(kind: str) -> Any:
    return render("imports/gone.html", kind=kind, label=KIND_LABELS[kind]), 410


def _check(kind: str, data: bytes, encoding: str | None) -> tuple[Outcome | None, str | None]:
    try:
        return service.check_upload(db.session, kind, data, encoding), None
    except Problem as problem:
        return None, say(problem.message, problem.params)


def _error_rows(errors: list[RowError], limit: int | None = None) -> list[dict[str, Any]]:
    shown = errors if limit is None else errors[:limit]
    return [
        {
            "row": error.row,
            "column": error.column,
            "value": error.value,
            "message": say(error.message, error.params),
        }
        for error in shown
    ]


def _preview_page(
    kind: str,
    upload: service.Upload,
    data: bytes,
    encoding: str | None,
    outcome: Outcome | None,
    problem: str | None,
) -> Any:
    encoding_form = EncodingForm(data={"encoding": encoding or ""})
    preview_rows: list[dict[str, Any]] = []
    headers: list[str] = []
    if outcome is not None and outcome.ok:
        keep = [i for i, column in enumerate(outcome.columns) if column is not None]
        headers = [outcome.table.headers[i] for i in keep]
        preview_rows = [
            {"row": row.row, "new": row.target_id is None, "cells": [row.cells[i] for i in keep]}
            for row in outcome.rows[:PREVIEW_ROWS]
        ]
    return render(
        "imports/preview.html",
        kind=kind,
        label=KIND_LABELS[kind],
        upload=upload,
        outcome=outcome,
        problem=problem,
        encoding=encoding,
        encoding_label=engine.ENCODING_LABELS.get(
            (outcome.table.encoding if outcome else None) or "", ""
        ),
        encoding_form=encoding_form,
        errors=_error_rows(outcome.errors, ERRORS_SHOWN) if outcome else [],
        error_count=len(outcome.errors) if outcome else 0,
        headers=headers,
        preview_rows=preview_rows,
        matching=MATCHING_NOTES[kind],
        confirm_form=ConfirmForm(data={"encoding": encoding or ""}),
        upload_form=UploadForm(prefix=kind),
        is_csv=not data.startswith(b"PK\x03\x04"),
    )


@bp.get("/<kind>/<token>")
@staff_view(write=True)
def preview(kind: str, token: str) -> Any:
    _spec_or_404(kind)
    upload = _store().load(token, kind, current_user.id)
    if upload is None:
        return _gone(kind)
    encoding = EncodingForm(request.args).chosen
    data = upload.read()
    outcome, problem = _check(kind, data, encoding)
    return _preview_page(kind, upload, data, encoding, outcome, problem)


@bp.get("/<kind>/<token>/errors.csv")
@staff_view(write=True)
def errors(kind: str, token: str) -> Any:
    """Every problem of the file as CSV (UTF-8 with BOM), to fix the spreadsheet row by row."""
    _spec_or_404(kind)
    upload = _store().load(token, kind, current_user.id)
    if upload is None:
        return _gone(kind)
    outcome, problem = _check(kind, upload.read(), EncodingForm(request.args).chosen)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_("Row"), _("Column"), _("Value"), _("Problem")])
    if problem is not None:
        writer.writerow(["", "", "", problem])
    for error in _error_rows(outcome.errors if outcome else []):
        writer.writerow(
            [error["row"], error["column"], engine.csv_guard(error["value"]), error["message"]]
        )
    response = Response(
        b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"),
        content_type="text/csv; charset=utf-8",
    )
    response.headers.set("Content-Disposition", "attachment", filename=f"{kind}_errors.csv")
    return response


@bp.post("/<kind>/<token>/confirm")
@staff_view(write=True)
def confirm(kind: str, token: str) -> Any:
    _spec_or_404(kind)
    form = ConfirmForm()
    encoding = form.encoding.data if form.validate_on_submit() else None
    store = _store()
    upload = store.claim(token, kind, current_user.id)
    if upload is None:
        return _gone(kind)
    try:
        data = upload.read()
        outcome, problem = _check(kind, data, encoding or None)
    except Exception:
        store.release(upload)  # nothing was written: the file can be confirmed again
        raise
    if outcome is None or not outcome.ok:
        # The workspace changed since the preview (or the file cannot be read): show why.
        store.release(upload)
        return _preview_page(kind, upload, data, encoding or None, outcome, problem), 422
    if kind == "facilities":  # the plan's facility limit counts imported ones too
        over_limit = check_facility_room(sum(1 for row in outcome.rows if row.target_id is None))
        if over_limit is not None:
            store.release(upload)
            return _preview_page(kind, upload, data, encoding or None, None, over_limit), 422
    # The write runs as a job with visible progress; the file stays until it succeeds.
    jobs = _jobs()
    try:
        job = jobs.create(g.tenant.id, current_user.id, kind, total=len(outcome.rows))
    except Exception:
        store.release(upload)  # the job store is down (503): the file can be confirmed later
        raise
    tenant_id, label = g.tenant.id, str(KIND_LABELS[kind])

    def write(session: Session, progress: Progress) -> str:
        try:
            result = service.apply(session, outcome, tenant_id, progress)
        except Exception:
            store.release(upload)  # nothing was written: the file can be confirmed again
            raise
        store.delete(upload)
        return _(
            "Imported %(label)s: %(created)d added, %(updated)d updated.",
            label=label,
            created=result.created,
            updated=result.updated,
        )

    settings = current_app.extensions["renkei_settings"]
    run_job(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        jobs,
        job,
        write,
        background=settings.background_jobs,
    )
    return redirect_303(url_for("imports.progress", kind=kind, job_id=job.id))


def _jobs() -> JobStore:
    return store_for(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.get("/<kind>/jobs/<job_id>")
@staff_view(write=True)
def progress(kind: str, job_id: str) -> Any:
    """The import's progress; the fragment polls itself every second while it runs."""
    _spec_or_404(kind)
    job = _jobs().load(g.tenant.id, job_id, current_user.id)
    if job is None or job.kind != kind:
        return error_page(410, _("This import is not available (finished long ago or unknown)."))
    context = {"job": job, "kind": kind, "label": KIND_LABELS[kind], "list_url": _list_url(kind)}
    return render("imports/progress.html", "imports/_progress.html", "progress", **context)


# --- exports -----------------------------------------------------------------------------------


@bp.get("/export/<kind>.<fmt>")
@staff_view()
def export(kind: str, fmt: str) -> Any:
    """Stream the workspace's records as CSV (UTF-8 or Shift_JIS) or XLSX; archived records
    only with ``?archived=1``."""
    _spec_or_404(kind)
    if fmt not in FORMATS:
        abort(404)
    body = service.export_stream(
        db.engine,
        g.tenant.id,
        current_user.id,
        kind,
        fmt,
        SHEET_TITLES[kind],
        include_archived=request.args.get("archived") == "1",
    )
    mimetype, suffix = FORMATS[fmt]
    response = Response(body, content_type=mimetype)
    stamp = datetime.now(JST).strftime("%Y%m%d")
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=f"{kind}_{g.tenant.slug}_{stamp}{suffix}",
    )
    return response
