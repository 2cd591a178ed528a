"""The report in a real browser: the charts load under the strict CSP, and an export's
progress fragment polls itself until the file is ready."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.jobs import JobStore
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page: Page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{live_server}/t/alpha/")


def test_charts_load_under_the_csp(page: Page, live_server: str, world, samples):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "viewer@example.jp")
    page.click("nav.main-nav >> text=レポート")
    expect(page.locator("h1")).to_contain_text("事業報告")
    images = page.locator("figure.chart img")
    expect(images).to_have_count(4)
    widths = images.evaluate_all("(all) => all.map((img) => img.complete && img.naturalWidth)")
    assert all(width and width > 100 for width in widths), widths
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_export_progress_polls_until_the_file_is_ready(
    page: Page, live_server: str, app, world, samples
):
    store = JobStore(Path(app.instance_path) / "jobs")
    job = store.create(world.alpha.id, world.coordinator.id, "report-xlsx:2026", total=4)
    sign_in(page, live_server, "coordinator@example.jp")
    page.goto(f"{live_server}/t/alpha/reports/exports/{job.id}")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#progress")).to_contain_text("4 段階中 0")
    # The job moves on (as the export's thread would), then finishes with its file.
    job.done = 2
    store.save(job)
    expect(page.locator("#progress")).to_contain_text("4 段階中 2", timeout=5000)
    (store.root / str(world.alpha.id) / f"{job.id}.xlsx").write_bytes(b"PK\x03\x04 workbook")
    job.state, job.done = "done", 4
    store.save(job)
    expect(page.locator("#progress")).to_contain_text("ファイルができました", timeout=5000)
    assert page.evaluate("window.notReloaded") is True  # swapped by htmx, not reloaded
    with page.expect_download() as download:
        page.click("#progress a[download]")
    assert download.value.suggested_filename.startswith("report_R.8_alpha_")
