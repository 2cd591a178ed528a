"""Benchmark: the fiscal-year report of a large workspace. Prints figures; asserts nothing.

    python -m tests.bench.bench_reports --db=sqlite      (also run by ``make bench``)
    python -m tests.bench.bench_reports --db=postgresql  (a throwaway cluster or TEST_DATABASE_URL)

The workspace holds ten fiscal years (FY2016-2025, the report is FY2025's, seen in June 2026):
500 facilities, 400 buyers, 20,000 deals, 50,000 orders (a third of them recurring) with their
monthly amounts, assignments of every month to one or two facilities, a delivery lot per order
and ten years of wages. The report page is requested 20 times after 3 warm-ups through the WSGI
app in this process (server time, no network; with SQLite the database works in this process
too, so the CPU time is the whole cost and the wall time shows what other load adds): 20 times
built from the records (the first view after any write) and 20 times viewed again while nothing
changed (the built report is reused, app/reports/cache.py); then the whole report as a workbook
and as PDF, each through its export job (run inline here).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.engine import Connection, Engine

from app import create_app
from app import models as all_models
from app.db import Base, utcnow
from app.factory import freeze_startup_objects
from app.reports import summaries
from tests.bench.bench_lists import hash_password_offline
from tests.conftest import CsrfClient, make_settings
from tests.support.database import provide_database

FACILITIES = 500
BUYERS = 400
DEALS = 20_000
ORDERS = 50_000
FIRST_YEAR, YEARS = 2016, 10
REPORT_YEAR = 2025
TODAY = date(2026, 6, 15)
REPEATS = 20
WARMUP = 3
CHUNK = 10_000


def table(name: str) -> Any:
    return Base.metadata.tables[name]


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def insert_chunks(c: Connection, name: str, rows: Iterator[dict[str, Any]]) -> int:
    """Insert a stream of rows a chunk at a time (memory stays flat); returns how many."""
    count, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            c.execute(insert(table(name)), chunk)
            count, chunk = count + len(chunk), []
    if chunk:
        c.execute(insert(table(name)), chunk)
        count += len(chunk)
    return count


def generate(owner: Engine, rng: random.Random) -> dict[str, int]:
    """Bulk rows through Core as the schema owner (the ORM wall is not the subject)."""
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    start = date(FIRST_YEAR, 4, 1)
    days = (date(FIRST_YEAR + YEARS, 3, 31) - start).days
    with owner.begin() as c:
        tenant_id = c.execute(
            insert(table("tenants")).returning(table("tenants").c.id),
            {"slug": "bench", "name": "ベンチ市", "kind": "municipality",
             "prefecture_code": "22", "created_at": now},
        ).scalar_one()  # fmt: skip
        user_id = c.execute(
            insert(table("users")).returning(table("users").c.id),
            {"email": "bench@example.jp", "name": "ベンチ", "created_at": now,
             "password_hash": hash_password_offline("bench-password"), "session_token": "b" * 32},
        ).scalar_one()  # fmt: skip
        t = {"tenant_id": tenant_id}
        c.execute(
            insert(table("memberships")),
            [{**t, "id": 1, "user_id": user_id, "role": "admin", "status": "active",
              "created_at": now}],
        )  # fmt: skip
        c.execute(
            insert(table("lost_reasons")),
            [{**t, "id": i, "label": label, "sort_order": i, **stamps}
             for i, label in enumerate(("顧客都合で白紙", "難易度が高い", "単価が低い"), 1)],
        )  # fmt: skip
        kinds = ["type_a", "type_b", "type_b", "life_care", "manufacturer"]
        facilities = [
            {**t, **stamps, "id": i, "name": f"事業所{i:04d}", "kind": rng.choice(kinds),
             "status": "left" if i % 50 == 0 else "participating",
             "participating_since": start + timedelta(days=rng.randint(0, days)),
             "workers": rng.randint(5, 40), "hours_per_month": rng.randint(100, 800),
             "pc_experience": False, "avg_monthly_wage": 15_000, "postal_code": "",
             "prefecture_code": "22", "municipality": "", "address": "", "contact_name": "",
             "contact_phone": "", "contact_email": "", "equipment": "", "certifications": "",
             "notes": ""}
            for i in range(1, FACILITIES + 1)
        ]  # fmt: skip
        c.execute(insert(table("facilities")), facilities)
        wages = insert_chunks(
            c,
            "facility_wages",
            (
                {**t, "id": n + 1, "facility_id": n // YEARS + 1,
                 "fiscal_year": FIRST_YEAR + n % YEARS,
                 "avg_monthly_wage": 15_000 + (n % YEARS) * rng.randint(200, 900),
                 "workers": rng.randint(5, 40)}
                for n in range(FACILITIES * YEARS)
            ),
        )  # fmt: skip
        c.execute(
            insert(table("buyers")),
            [{**t, **stamps, "id": i, "name": f"株式会社ベンチ{i:04d}", "name_kana": "",
              "industry": "製造業", "postal_code": "", "prefecture_code": "22", "address": "",
              "website": "", "contact_name": "", "contact_email": "", "contact_phone": "",
              "notes": "", "is_municipality": i == 1}
             for i in range(1, BUYERS + 1)],
        )  # fmt: skip
        stages = ["lead", "hearing", "trial", "quote", "won", "won", "lost", "lost", "lost"]

        def deals() -> Iterator[dict[str, Any]]:
            for i in range(1, DEALS + 1):
                stage = rng.choice(stages)
                opened = start + timedelta(days=rng.randint(0, days))
                decided = stage in ("won", "lost")
                yield {
                    **t, **stamps, "id": i, "buyer_id": rng.randint(1, BUYERS),
                    "title": f"案件{i:05d}", "description": "", "stage": stage,
                    "amount": rng.randint(1, 300) * 10_000, "recurring": False, "volume": "",
                    "next_action": "", "lost_comment": "", "opened_on": opened,
                    "closed_on": opened + timedelta(days=rng.randint(10, 200)) if decided else None,
                    "lost_reason_id": rng.randint(1, 3) if stage == "lost" else None,
                    "furthest_stage": rng.choice(stages[:4]), "owner_id": 1,
                }  # fmt: skip

        deal_count = insert_chunks(c, "deals", deals())
        plans: list[tuple[int, date, int]] = []  # (order id, first month, months)

        def orders() -> Iterator[dict[str, Any]]:
            for i in range(1, ORDERS + 1):
                confirmed = start + timedelta(days=rng.randint(0, days))
                months = rng.randint(6, 12) if rng.random() < 0.33 else rng.randint(1, 2)
                plans.append((i, add_months(confirmed.replace(day=1), 1), months))
                assigned = confirmed + timedelta(days=rng.randint(-3, 40))
                yield {
                    **t, **stamps, "id": i, "buyer_id": rng.randint(1, BUYERS),
                    "title": f"受注{i:05d}", "status": "closed", "confirmed_on": confirmed,
                    "assigned_on": assigned if rng.random() < 0.9 else None, "notes": "",
                }  # fmt: skip

        order_count = insert_chunks(c, "orders", orders())
        month_rows: list[tuple[int, date]] = []

        def order_months() -> Iterator[dict[str, Any]]:
            n = 0
            for order_id, first, count in plans:
                monthly = rng.randint(1, 60) * 10_000
                for k in range(count):
                    n += 1
                    month = add_months(first, k)
                    month_rows.append((order_id, month))
                    yield {
                        **t, "id": n, "order_id": order_id, "month": month,
                        "forecast_amount": monthly,
                        "actual_amount": int(monthly * rng.uniform(0.7, 1.1)),
                    }  # fmt: skip

        month_count = insert_chunks(c, "order_months", order_months())

        def assignments() -> Iterator[dict[str, Any]]:
            n = 0
            for order_id, month in month_rows:
                for _ in range(rng.choice((1, 1, 2))):
                    n += 1
                    hours = float(rng.randint(5, 120))
                    yield {
                        **t, "id": n, "order_id": order_id,
                        "facility_id": rng.randint(1, FACILITIES), "month": month,
                        "quantity": hours, "hours": hours, "locked": False, "score": {},
                        "confirmed_at": now,
                    }  # fmt: skip

        assignment_count = insert_chunks(c, "assignments", assignments())
        delivery_count = insert_chunks(
            c,
            "deliveries",
            (
                {**t, **stamps, "id": order_id, "order_id": order_id, "lot_no": "L-1",
                 "quantity": 100, "original_due_on": add_months(first, count) - timedelta(days=5),
                 "delivered_on": add_months(first, count) - timedelta(days=rng.randint(-5, 10)),
                 "status": "accepted"}
                for order_id, first, count in plans
            ),
        )  # fmt: skip
        counts = {
            "memberships": 1, "lost_reasons": 3, "facilities": FACILITIES,
            "facility_wages": wages, "buyers": BUYERS, "deals": deal_count,
            "orders": order_count, "order_months": month_count,
            "assignments": assignment_count, "deliveries": delivery_count,
        }  # fmt: skip
        c.execute(
            insert(table("tenant_id_counters")),
            [{**t, "table_name": k, "last_id": v} for k, v in counts.items()],
        )
    return counts


def generate_into(owner_url: str, kind: str) -> dict[str, int]:
    owner = create_engine(owner_url)
    try:
        counts = generate(owner, random.Random(11))
        if kind == "postgresql":
            with owner.begin() as c:
                c.execute(text("ANALYZE"))
        with owner.begin() as c:
            # Written around the ORM: the report's summaries are built here (after ANALYZE,
            # so the planner knows the tables' sizes).
            summaries.rebuild(c)
            if kind == "postgresql":
                c.execute(text("ANALYZE"))
        return counts
    finally:
        owner.dispose()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_export(client: Any, fmt: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.post("/t/bench/reports/exports", data={"fy": str(REPORT_YEAR), "fmt": fmt})
    page = client.get(response.headers["Location"]).text
    found = re.search(r'href="([^"]+/file)"', page)
    size = len(client.get(found.group(1)).data) if found else 0
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    assert all_models  # every table registered
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database = stack.enter_context(provide_database(args.db, directory))
        started = time.perf_counter()
        # In a child process: this process's peak memory is then the report's alone.
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            counts = pool.apply(generate_into, (database.owner_url, args.db))
        print(
            f"dataset on {args.db}: {YEARS} fiscal years, "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items() if k != "memberships")
            + f"; generated in {time.perf_counter() - started:.0f} s"
        )
        app = create_app(make_settings(database, directory / "instance"))
        app.test_client_class = CsrfClient
        freeze_startup_objects()  # as each gunicorn worker does (infra/gunicorn.conf.py)
        statements: list[int] = [0]
        with app.app_context():
            from app.auth.models import User
            from app.extensions import db

            @event.listens_for(db.engine, "before_cursor_execute")
            def _count(*_a: Any) -> None:
                statements[0] += 1

            user = db.session.scalar(select(User))
            assert user is not None
            login_id = user.get_id()
            db.remove()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = login_id
            session["_fresh"] = True

        import app.reports.views as report_views

        report_views.today_jst = lambda: TODAY  # the report of a finished year, as of June
        url = f"/t/bench/reports/?fy={REPORT_YEAR}"
        cache = app.extensions["renkei_report_cache"]
        for _ in range(WARMUP):
            status = client.get(url).status_code
        # Built: the first view after any write to the workspace (the cache is emptied before
        # each request, as a write would). Again: the same report while nothing changed.
        for label, clear in (("built (first view after a change)", True), ("viewed again", False)):
            timings, cpu = [], []
            statements[0] = 0
            for _ in range(REPEATS):
                if clear:
                    cache.clear()
                t0, c0 = time.perf_counter(), time.process_time()
                status = client.get(url).status_code
                timings.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
            timings.sort()
            p95 = timings[int(len(timings) * 0.95) - 1]
            print(
                f"report page FY{REPORT_YEAR}, {label} (status {status}): median "
                f"{statistics.median(timings):.0f} ms, p95 {p95:.0f} ms, "
                f"median CPU {statistics.median(cpu):.0f} ms, "
                f"{statements[0] / REPEATS:.0f} queries"
            )
        print(f"process peak memory after the page (ru_maxrss): {peak_mb():.0f} MB")
        for fmt in ("xlsx", "pdf"):
            seconds, size = timed_export(client, fmt)
            print(
                f"export {fmt}: {seconds:.1f} s ({size / 1024:.0f} KB); "
                f"process peak memory since start: {peak_mb():.0f} MB"
            )


if __name__ == "__main__":
    main()
