"""The report's pages and files: who may see them, what they cost, charts under the CSP, CSV
in UTF-8 (BOM) and CP932, the workbook, and the PDF made by a job with visible progress."""

from __future__ import annotations

import base64
import csv
import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.buyers.models import Buyer
from app.deals.models import Deal, DealStage
from app.facilities.models import Facility, FacilityKind
from app.matching.models import Assignment
from app.orders.models import Order, OrderMonth
from app.reports import presentation
from tests.reports.seed import R4
from tests.reports.test_cache import without_csrf_tokens

REPORTS = "/t/alpha/reports/"


def test_nav_entry_and_page_for_every_staff_role(client, world, samples):
    for person in (world.admin, world.coordinator, world.viewer):
        client.login_as(person)
        response = client.get(REPORTS)
        assert response.status_code == 200
        assert 'href="/t/alpha/reports/"' in response.text and "レポート" in response.text


def test_outsider_gets_404_on_every_report_route(client, world, samples):
    client.login_as(world.outsider)
    for url in (
        REPORTS,
        f"{REPORTS}?fy=2026",
        f"{REPORTS}tables/kpi.csv",
        f"{REPORTS}region",
        f"{REPORTS}exports/{'0' * 32}",
        f"{REPORTS}exports/{'0' * 32}/file",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{REPORTS}exports", data={"fy": "2026", "fmt": "pdf"}).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, world):
    assert client.get(REPORTS).status_code == 302


def test_bad_years_and_tables(client, world, samples):
    client.login_as(world.viewer)
    assert client.get(f"{REPORTS}?fy=abc").status_code == 200
    assert client.get(f"{REPORTS}?fy=1900").status_code == 200  # falls back to this year
    assert client.get(f"{REPORTS}tables/nothing.csv").status_code == 404
    assert client.get(f"{REPORTS}tables/kpi.pdf").status_code == 404
    assert client.post(f"{REPORTS}exports", data={"fy": "2026", "fmt": "doc"}).status_code == 400


def _grow(arrange, n: int) -> None:
    """``n`` more buyers, deals, orders with months, facilities and assignments in alpha."""

    def add(s):
        for i in range(n):
            buyer = Buyer(name=f"追加企業{i}")
            facility = Facility(
                name=f"追加事業所{i}",
                kind=FacilityKind.TYPE_A,
                participating_since=date(2025, 4, 1),
                hours_per_month=80,
            )
            s.add_all([buyer, facility])
            s.flush()
            deal = Deal(
                buyer_id=buyer.id,
                title=f"追加{i}",
                stage=DealStage.WON,
                amount=1000 + i,
                opened_on=date(2026, 4, 2),
                closed_on=date(2026, 5, 2),
            )
            s.add(deal)
            s.flush()
            order = Order(
                buyer_id=buyer.id,
                deal_id=deal.id,
                title=f"追加受注{i}",
                confirmed_on=date(2026, 5, 2),
                assigned_on=date(2026, 5, 9),
            )
            s.add(order)
            s.flush()
            s.add_all(
                [
                    OrderMonth(
                        order_id=order.id,
                        month=date(2026, m, 1),
                        forecast_amount=900,
                        actual_amount=1000,
                    )
                    for m in (6, 7, 8)
                ]
                + [
                    Assignment(
                        order_id=order.id,
                        facility_id=facility.id,
                        month=date(2026, 6, 1),
                        quantity=5,
                        hours=10,
                    )
                ]
            )

    arrange(add)


def test_query_count_of_the_report_page_does_not_grow(
    app, database, client, world, samples, arrange, query_counter
):
    client.login_as(world.coordinator)
    client.get(REPORTS)  # warm-up
    app.extensions["renkei_report_cache"].clear()
    query_counter.clear()
    assert client.get(f"{REPORTS}?fy=2026").status_code == 200
    few = len(query_counter)
    _grow(arrange, 40)  # new audit events: the next view builds the report again
    query_counter.clear()
    response = client.get(f"{REPORTS}?fy=2026")
    assert response.status_code == 200
    assert len(query_counter) == few, query_counter
    # Pinned: user, the person's workspaces (and 2 set_config on PostgreSQL: user, then
    # workspace), the data version, then the report's 16 statements and the 2 of the year
    # picker.
    shell = 2 + (2 if database.kind == "postgresql" else 0)
    assert few == shell + 1 + 16 + 2
    assert "追加企業0" in response.text  # the forecast table names the buyers it shows
    # Unchanged data: the built report is reused, only its version is read.
    query_counter.clear()
    again = client.get(f"{REPORTS}?fy=2026").text
    assert without_csrf_tokens(again) == without_csrf_tokens(response.text)
    assert len(query_counter) == shell + 1, query_counter


def test_charts_are_svg_images_without_scripts(client, world, samples):
    client.login_as(world.viewer)
    html = client.get(f"{REPORTS}?fy=2026").text
    uris = re.findall(r'<img src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(uris) == 4  # monthly, trend, facilities, funnel
    for encoded in uris:
        svg = base64.b64decode(encoded).decode("utf-8")
        assert svg.startswith("<svg") and "<script" not in svg
        assert "Noto Sans CJK JP" in svg
    trend = base64.b64decode(uris[0]).decode("utf-8")
    assert "R.8" in trend  # 令和8年度 on the axis
    csp = client.get(f"{REPORTS}?fy=2026").headers["Content-Security-Policy"]
    assert "img-src 'self' data:" in csp and "script-src 'self'" in csp


def test_every_table_as_csv_in_utf8_with_bom_and_in_cp932(seeded, client):
    for key in presentation.TABLE_KEYS:
        utf8 = client.get(f"{REPORTS}tables/{key}.csv?fy=2022")
        assert utf8.status_code == 200, key
        assert utf8.data.startswith(b"\xef\xbb\xbf"), key
        assert "attachment" in utf8.headers["Content-Disposition"]
        sjis = client.get(f"{REPORTS}tables/{key}.csv-sjis?fy=2022")
        assert sjis.status_code == 200
        assert (
            sjis.data.decode("cp932").splitlines()[0]
            == utf8.data.decode("utf-8-sig").splitlines()[0]
        )
    rows = list(
        csv.reader(
            io.StringIO(client.get(f"{REPORTS}tables/kpi.csv?fy=2022").data.decode("utf-8-sig"))
        )
    )
    assert rows[0][:4] == ["指標", "単位", "R.3 実績", "R.4 実績"]
    order_total = next(row for row in rows if row[0] == "発注総額")
    assert order_total[1:6] == ["円", "10080000", "21490000", "11410000", "213.2"]
    arr = next(row for row in rows if row[0] == "ARR（年間定期収益）")
    assert arr[5] == "166.0"


def test_one_table_as_excel(seeded, client):
    response = client.get(f"{REPORTS}tables/lost_reasons.xlsx?fy=2022")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("理由", "商談", "金額")
    assert sum(row[2] for row in values[1:4]) == 66_410_000


def _progress(client, response) -> tuple[str, str]:
    assert response.status_code == 303, response.text[:500]
    location = response.headers["Location"]
    page = client.get(location)
    assert page.status_code == 200
    return location, page.text


def test_the_whole_report_as_a_workbook_through_a_job(seeded, client):
    location, page = _progress(
        client, client.post(f"{REPORTS}exports", data={"fy": "2022", "fmt": "xlsx"})
    )
    assert "ファイルができました" in page
    download = re.search(r'href="([^"]+/file)"', page).group(1)
    workbook = load_workbook(io.BytesIO(client.get(download).data))
    assert len(workbook.worksheets) == len(presentation.TABLE_KEYS)
    assert workbook.worksheets[0].title == "対前年度推移"
    # The fragment polls itself only while the job runs: a finished one does not.
    fragment = client.get(location, headers={"HX-Request": "true", "HX-Target": "progress"})
    assert 'id="progress"' in fragment.text and "hx-get" not in fragment.text
    assert "<html" not in fragment.text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_council_pdf_in_japanese(seeded, client, tmp_path: Path):
    _location, page = _progress(
        client, client.post(f"{REPORTS}exports", data={"fy": "2022", "fmt": "pdf"})
    )
    download = re.search(r'href="([^"]+/file)"', page).group(1)
    response = client.get(download)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "report_R.4_alpha_" in response.headers["Content-Disposition"]
    path = tmp_path / "report.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          check=True, text=True).stdout  # fmt: skip
    for expected in (
        "令和4年度 事業報告",
        "対前年度推移",
        "1億28万円",
        "8,790万円",
        "2,149万円",
        "(213%)",
        "2,872万円",
        "(166%)",
        "+19,878円",
        "96事業所",
        "ページ",
    ):
        assert expected in text, expected
    pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "595.276 x 841.89 pts (A4)" in pages.stdout


def test_a_running_export_polls_and_someone_elses_is_gone(app, client, world, samples):
    from app.jobs import JobStore

    store = JobStore(Path(app.instance_path) / "jobs")
    job = store.create(world.alpha.id, world.coordinator.id, f"report-pdf:{R4}", total=4)
    job.done = 1
    store.save(job)
    client.login_as(world.coordinator)
    page = client.get(f"{REPORTS}exports/{job.id}").text
    assert "hx-get" in page and 'max="4"' in page and "/file" not in page
    assert client.get(f"{REPORTS}exports/{job.id}/file").status_code == 410  # not finished
    client.login_as(world.admin)  # same workspace, another person
    assert client.get(f"{REPORTS}exports/{job.id}").status_code == 410
    assert client.get(f"{REPORTS}exports/{job.id}/file").status_code == 410


def test_the_print_version_of_the_page_hides_the_controls():
    css = (Path(presentation.__file__).parents[1] / "web" / "static" / "app.css").read_text()
    assert "@media print" in css and ".downloads" in css.split("@media print")[1]


def test_read_only_members_export_too(client, world, samples):
    client.login_as(world.viewer)
    response = client.post(f"{REPORTS}exports", data={"fy": "2026", "fmt": "xlsx"})
    assert response.status_code == 303
    assert "ファイルができました" in client.get(response.headers["Location"]).text


def test_a_buyer_is_marked_as_the_municipality_in_its_form(client, world, samples, read):
    from sqlalchemy import select

    client.login_as(world.coordinator)
    page = client.get("/t/alpha/buyers/1/edit")
    assert "自治体（本市町村の部署）からの発注" in page.text
    data = {"name": "市役所 障害福祉課", "is_municipality": "y", "prefecture_code": ""}
    assert client.post("/t/alpha/buyers/1/edit", data=data).status_code == 303
    assert read(lambda s: s.scalar(select(Buyer.is_municipality).where(Buyer.id == 1))) is True


def test_quality_section_counts_the_year_inspections_and_nonconformances(
    client, world, samples, arrange
):
    """Central inspections and nonconformances of the fiscal year feed the quality table."""
    from datetime import date

    from app.quality.models import Inspection, InspectionStage, Nonconformance

    def records(s):
        s.add(
            Inspection(
                delivery_id=1, facility_id=1, stage=InspectionStage.CENTRAL, inspector="検査員",
                inspected_on=date(2026, 7, 2), quantity=200, sample_size=50, passed=46,
                reworked=0, failed=4,
            )
        )  # fmt: skip
        s.add(
            Nonconformance(
                delivery_id=1, facility_id=1, source="buyer", severity="major",
                title="寸法不良", found_on=date(2026, 7, 3),
            )
        )  # fmt: skip

    arrange(records)
    client.login_as(world.coordinator)
    page = client.get("/t/alpha/reports/?fy=2026").text
    section = page.split('id="section-quality"')[1].split("</section>")[0]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    assert "50" in cells and "4" in cells, cells
    assert any(c.startswith("8.0") for c in cells), cells
    assert "重要" in section, section
