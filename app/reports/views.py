"""Report screens: the fiscal-year report, one table as CSV/XLSX, the whole report as PDF or
workbook (a job with visible progress), and the regional roll-up for prefecture workspaces."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final

from flask import Response, abort, current_app, g, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import HiddenField, SelectChoice, SelectField
from wtforms.validators import AnyOf, DataRequired

from app.extensions import db
from app.jobs import Job, JobStore, Progress
from app.jobs import run as run_job
from app.jp import JST, fiscal_year_label, today_jst
from app.reports import charts, exports, kpi, presentation, region, service
from app.reports.cache import ReportCache
from app.reports.presentation import TABLE_KEYS
from app.web.errors import error_page
from app.web.htmx import redirect_303, render
from tenants.context import staff_view, tenant_blueprint
from tenants.models import STAFF_ROLES, TenantKind

bp = tenant_blueprint("reports", __name__, "/reports")

JOB_KINDS: Final = {"pdf": "report-pdf", "xlsx": "report-xlsx"}
JOB_STEPS: Final = 4  # load, tables and charts, render, write
EXPORT_MAX_AGE_SECONDS: Final = 24 * 3600
PRINT_CSS: Final = Path(__file__).with_name("print.css")
SECTION_TITLES: Final = {
    "kpi": _l("1. This year's KPIs"),
    "sales": _l("2. Pipeline and sales"),
    "delivery": _l("3. Delivery and facilities"),
    "quality": _l("4. Quality"),
    "procurement": _l("5. Priority procurement (優先調達)"),
}


class ExportForm(FlaskForm):
    fy = HiddenField(validators=[DataRequired()])
    fmt = SelectField(
        _l("Format"),
        choices=[
            SelectChoice("pdf", _l("PDF (A4, for the council)")),
            SelectChoice("xlsx", _l("Excel workbook (every table)")),
        ],
        validators=[AnyOf(("pdf", "xlsx"))],
    )


def _session() -> Session:
    return db.session


def fiscal_year_arg(value: str | None, today: Any) -> int:
    """The fiscal year asked for in a query string; this year when missing or implausible."""
    year = kpi.current_fiscal_year(today)
    try:
        chosen = int(value or "")
    except ValueError:
        return year
    return chosen if 1989 <= chosen <= year + 1 else year


def _cache() -> ReportCache:
    cache: ReportCache = current_app.extensions["renkei_report_cache"]
    return cache


def _built(fy: int, today: Any) -> tuple[service.Report, tuple[Any, ...]]:
    """The year's report, from this process's cache when the workspace's data has not
    changed since it was built (one small statement to know), else built and kept."""
    session = _session()
    key = service.report_key(session, fy, today)
    report = _cache().get_or_build(key, lambda: service.build_report(session, fy, today))
    return report, key


def _link_for(endpoint: str, values: dict[str, Any]) -> str:
    return url_for(endpoint, **values)


def _charts(report: service.Report, key: tuple[Any, ...]) -> list[charts.Chart]:
    """The charts speak the reader's language: kept per report and locale."""
    locale = str(get_locale() or "ja")
    found: list[charts.Chart] = _cache().get_or_build(
        (*key, "charts", locale), lambda: charts.charts(report)
    )
    return found


def _page_context(report: service.Report, key: tuple[Any, ...], years: list[int]) -> dict[str, Any]:
    p = report.period
    return {
        "report": report,
        "p": p,
        "title": _("%(year)s program report", year=fiscal_year_label(p.fiscal_year)),
        "short": presentation.short_year,
        "lines": presentation.kpi_lines(report, _link_for),
        "sections": presentation.sections(report, _link_for),
        "section_titles": SECTION_TITLES,
        "charts": _charts(report, key),
        "show": presentation.show,
        "years": years,
        "today": today_jst(),
        "export_form": ExportForm(formdata=None, data={"fy": str(p.fiscal_year)}),
        "table_keys": TABLE_KEYS,
        "forecast_rows_shown": presentation.FORECAST_ROWS_SHOWN,
    }


@bp.get("/")
@staff_view()
def index() -> Any:
    today = today_jst()
    fy = fiscal_year_arg(request.args.get("fy"), today)
    report, key = _built(fy, today)
    tenant_id, _fy, _day, version = key
    years: list[int] = _cache().get_or_build(
        (tenant_id, today, version, "years"),
        lambda: service.years_with_records(_session(), today),
    )
    if fy not in years:
        years = sorted({*years, fy}, reverse=True)
    return render("reports/index.html", **_page_context(report, key, years))


# --- one table -------------------------------------------------------------------------------


@bp.get("/tables/<table>.<fmt>")
@staff_view()
def table_file(table: str, fmt: str) -> Any:
    if table not in TABLE_KEYS or fmt not in ("csv", "csv-sjis", "xlsx"):
        abort(404)
    today = today_jst()
    fy = fiscal_year_arg(request.args.get("fy"), today)
    report, _key = _built(fy, today)
    chosen = next(t for t in presentation.all_tables(report) if t.key == table)
    if fmt == "xlsx":
        body = exports.workbook_bytes([chosen])
    else:
        body = exports.table_csv(chosen, "utf-8" if fmt == "csv" else "cp932")
    return _download(body, fmt, f"{table}_{presentation.short_year(fy)}")


def _download(body: bytes, fmt: str, name: str) -> Response:
    mimetype, suffix = exports.FORMATS[fmt]
    response = Response(body, content_type=mimetype)
    stamp = datetime.now(JST).strftime("%Y%m%d")
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"{name}_{g.tenant.slug}_{stamp}{suffix}"
    )
    return response


# --- the whole report: a job with progress ---------------------------------------------------


def _jobs() -> JobStore:
    return JobStore(Path(current_app.instance_path) / "jobs")


def _export_path(store: JobStore, job: Job, fmt: str) -> Path:
    suffix = exports.FORMATS[fmt][1]
    return store.root / str(int(job.tenant_id)) / f"{job.id}{suffix}"


def _purge_old_exports(store: JobStore, tenant_id: int) -> None:
    folder = store.root / str(int(tenant_id))
    if not folder.is_dir():
        return
    limit = datetime.now().timestamp() - EXPORT_MAX_AGE_SECONDS
    for path in folder.iterdir():
        if path.suffix in (".pdf", ".xlsx") and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def render_pdf_html(report: service.Report, tenant_name: str) -> str:
    """The council version: one A4 document, styles inline (no request needed)."""
    css = PRINT_CSS.read_text(encoding="utf-8")
    return render_template(
        "reports/print.html",
        report=report,
        p=report.period,
        tenant_name=tenant_name,
        title=_("%(year)s program report", year=fiscal_year_label(report.period.fiscal_year)),
        short=presentation.short_year,
        lines=presentation.kpi_lines(report),
        sections=presentation.sections(report),
        section_titles=SECTION_TITLES,
        charts=charts.charts(report),
        show=presentation.show,
        css=css,
        generated=datetime.now(JST).strftime("%Y-%m-%d %H:%M"),
    )


def export_work(fy: int, fmt: str, tenant_name: str, locale: str, path: Path) -> Any:
    """What the export job does, in its own session: load, build, render, write the file."""

    def work(session: Session, progress: Progress) -> str:
        with force_locale(locale):
            report = service.build_report(session, fy, today_jst())
            progress(1)
            if fmt == "pdf":
                html = render_pdf_html(report, tenant_name)
                progress(2)
                body = exports.pdf_in_child_process(html, base_url=str(path.parent))
                progress(3)
            else:
                tables = presentation.all_tables(report)
                progress(2)
                body = exports.workbook_bytes(tables)
                progress(3)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        temporary.write_bytes(body)
        temporary.replace(path)
        return path.name

    return work


@bp.post("/exports")
@staff_view(roles=STAFF_ROLES)  # a POST that only reads: read-only members export too
def start_export() -> Any:
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    fy = fiscal_year_arg(form.fy.data, today_jst())
    fmt = form.fmt.data
    store = _jobs()
    _purge_old_exports(store, g.tenant.id)
    job = store.create(g.tenant.id, current_user.id, f"{JOB_KINDS[fmt]}:{fy}", total=JOB_STEPS)
    locale = str(get_locale() or "ja")
    work = export_work(fy, fmt, g.tenant.name, locale, _export_path(store, job, fmt))
    settings = current_app.extensions["renkei_settings"]
    run_job(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        store,
        job,
        work,
        background=settings.background_jobs,
    )
    return redirect_303(url_for("reports.export_progress", job_id=job.id))


def _job_or_none(job_id: str) -> tuple[Job, str, int] | None:
    job = _jobs().load(g.tenant.id, job_id, current_user.id)
    if job is None:
        return None
    kind, _sep, year = job.kind.partition(":")
    fmt = next((f for f, k in JOB_KINDS.items() if k == kind), None)
    if fmt is None or not year.isdigit():
        return None
    return job, fmt, int(year)


def _gone() -> Any:
    return error_page(410, _("This export is not available (finished long ago or unknown)."))


@bp.get("/exports/<job_id>")
@staff_view()
def export_progress(job_id: str) -> Any:
    """The export's progress; the fragment asks for itself every second while it runs."""
    found = _job_or_none(job_id)
    if found is None:
        return _gone()
    job, fmt, fy = found
    context = {
        "job": job,
        "fmt": fmt,
        "fy": fy,
        "year_label": fiscal_year_label(fy),
        "download_url": url_for("reports.export_file", job_id=job.id),
    }
    return render("reports/progress.html", "reports/_progress.html", "progress", **context)


@bp.get("/exports/<job_id>/file")
@staff_view()
def export_file(job_id: str) -> Any:
    found = _job_or_none(job_id)
    if found is None:
        return _gone()
    job, fmt, fy = found
    path = _export_path(_jobs(), job, fmt)
    if job.state != "done" or not path.is_file():
        return _gone()
    # A report file is a few hundred kilobytes: read whole, nothing left open.
    return _download(path.read_bytes(), fmt, f"report_{presentation.short_year(fy)}")


# --- the regional roll-up --------------------------------------------------------------------


@bp.get("/region")
@staff_view()
def region_view() -> Any:
    today = today_jst()
    fy = fiscal_year_arg(request.args.get("fy"), today)
    tenant = g.tenant
    if tenant.kind != TenantKind.PREFECTURE:
        return render("reports/region.html", applicable=False, fy=fy)
    rollup = region.prefecture_rollup(_session(), tenant, current_user.id, fy, today)
    return render(
        "reports/region.html",
        applicable=True,
        fy=fy,
        rollup=rollup,
        short=presentation.short_year,
        value_text=presentation.value_text,
        difference_text=presentation.difference_text,
        percent=presentation.percent,
        labels=presentation.LABELS,
        definitions=presentation.DEFINITIONS,
        keys=kpi.KPI_KEYS,
        years=list(range(kpi.current_fiscal_year(today), kpi.current_fiscal_year(today) - 6, -1)),
    )
