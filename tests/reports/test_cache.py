"""Built reports are reused only while nothing they were built from has changed: a write
anywhere in the workspace, another day or another workspace means a report built afresh."""

from __future__ import annotations

import re
from datetime import date

from app.reports import service
from app.reports import views as report_views
from app.reports.cache import ReportCache
from tests.deals.test_views import NEW, form

REPORTS = "/t/alpha/reports/"


def without_csrf_tokens(html: str) -> str:
    """A page as served, less its CSRF tokens: they are signed with the current second, so
    two renderings of the same page differ whenever a second boundary falls between them."""
    html = re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', html)
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', html)


def kpi_row(html: str, key: str) -> str:
    found = re.search(rf'<tr id="kpi-{key}">(.*?)</tr>', html, re.S)
    assert found, key
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_lru_keeps_the_newest_entries_and_can_be_turned_off():
    built: list[str] = []

    def build(value: str):
        def make() -> str:
            built.append(value)
            return value

        return make

    cache = ReportCache(entries=2)
    assert cache.get_or_build("a", build("a")) == "a"
    assert cache.get_or_build("a", build("a-again")) == "a"  # kept
    cache.get_or_build("b", build("b"))
    cache.get_or_build("a", build("a-3"))  # a is now the newest
    cache.get_or_build("c", build("c"))  # b, the oldest, goes
    assert len(cache) == 2
    assert cache.get_or_build("b", build("b-2")) == "b-2"
    assert built == ["a", "b", "c", "b-2"]
    assert (cache.hits, cache.misses) == (2, 4)

    off = ReportCache(entries=0)
    off.get_or_build("a", build("x"))
    off.get_or_build("a", build("y"))
    assert built[-2:] == ["x", "y"] and len(off) == 0


def test_a_write_through_any_screen_shows_in_the_next_view(app, client, world, samples):
    client.login_as(world.coordinator)
    before = client.get(f"{REPORTS}?fy=2026").text
    again = client.get(f"{REPORTS}?fy=2026").text
    assert without_csrf_tokens(again) == without_csrf_tokens(before)  # served again, unchanged
    response = client.post(NEW, data=form(amount="2,400,000", opened_on="2026-05-10"))
    assert response.status_code in (302, 303)
    after = client.get(f"{REPORTS}?fy=2026").text
    assert kpi_row(after, "deal_amount") != kpi_row(before, "deal_amount")
    # The one-table download uses the same built report.
    hits = app.extensions["renkei_report_cache"].hits
    assert client.get(f"{REPORTS}tables/kpi.csv?fy=2026").status_code == 200
    assert app.extensions["renkei_report_cache"].hits == hits + 1


def test_key_holds_the_workspace_year_day_and_data_version(app, world, samples, arrange, read):
    day = date(2026, 11, 21)
    alpha = read(lambda s: service.report_key(s, 2026, day))
    beta = read(lambda s: service.report_key(s, 2026, day), tenant_id=world.beta.id)
    assert alpha[0] == world.alpha.id and beta[0] == world.beta.id
    assert alpha[1:3] == (2026, day)
    # Another workspace's writes leave alpha's version where it was; alpha's own move it.
    from app.buyers.models import Buyer

    arrange(lambda s: s.add(Buyer(name="別の自治体の企業")), tenant_id=world.beta.id)
    assert read(lambda s: service.report_key(s, 2026, day)) == alpha
    arrange(lambda s: s.add(Buyer(name="新しい企業")))
    assert read(lambda s: service.report_key(s, 2026, day))[3][0] > alpha[3][0]


def test_another_day_builds_the_report_again(app, client, world, samples, monkeypatch):
    client.login_as(world.viewer)
    cache = app.extensions["renkei_report_cache"]
    monkeypatch.setattr(report_views, "today_jst", lambda: date(2026, 10, 1))
    client.get(f"{REPORTS}?fy=2026")
    misses = cache.misses
    client.get(f"{REPORTS}?fy=2026")
    assert cache.misses == misses
    monkeypatch.setattr(report_views, "today_jst", lambda: date(2026, 10, 2))
    client.get(f"{REPORTS}?fy=2026")
    assert cache.misses > misses


def test_workspaces_never_share_a_built_report(app, client, world, samples):
    client.login_as(world.coordinator)
    client.post(NEW, data=form(amount="2,400,000", opened_on="2026-05-10"))
    alpha_page = client.get(f"{REPORTS}?fy=2026").text
    assert "万円" in kpi_row(alpha_page, "deal_amount")
    client.login_as(world.outsider)  # beta's admin, beta has no records
    beta_page = client.get("/t/beta/reports/?fy=2026").text
    assert "万円" not in kpi_row(beta_page, "deal_amount")
