"""Benchmark: list pages of a large workspace. Prints figures; asserts nothing.

    make bench                       # SQLite
    make bench BENCH_DB=postgresql   # a throwaway PostgreSQL cluster (or TEST_DATABASE_URL)

The workspace has 2,000 facilities, 300 buyers, 5,000 deals and 20,000 orders (with 3
months of amounts and one delivery each). Each page is requested 30 times after 3 warm-up
requests through the WSGI app in this process; the time is the server's time per request.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import resource
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import Engine

from app import create_app
from app import models as all_models
from app.db import Base, utcnow
from tests.conftest import CsrfClient, make_settings
from tests.support.database import provide_database

FACILITIES = 2_000
BUYERS = 300
DEALS = 5_000
ORDERS = 20_000
CAPABILITIES = 12
REPEATS = 30
WARMUP = 3


def table(name: str) -> Any:
    return Base.metadata.tables[name]


def generate(owner: Engine, rng: random.Random) -> None:
    """Bulk rows through Core as the schema owner (fast; the ORM wall is not the subject)."""
    now = utcnow()
    with owner.begin() as c:
        tenant_id = c.execute(
            insert(table("tenants")).returning(table("tenants").c.id),
            {
                "slug": "bench",
                "name": "ベンチ市",
                "kind": "municipality",
                "prefecture_code": "22",
                "created_at": now,
            },
        ).scalar_one()
        user_id = c.execute(
            insert(table("users")).returning(table("users").c.id),
            {
                "email": "bench@example.jp",
                "name": "ベンチ",
                "created_at": now,
                "password_hash": hash_password_offline("bench-password"),
                "session_token": "b" * 32,
            },
        ).scalar_one()
        t = {"tenant_id": tenant_id}
        c.execute(
            insert(table("memberships")),
            [
                {
                    **t,
                    "id": 1,
                    "user_id": user_id,
                    "role": "admin",
                    "status": "active",
                    "created_at": now,
                }
            ],
        )
        c.execute(
            insert(table("capabilities")),
            [
                {**t, "id": i, "name": f"工程{i}", "description": "", "sort_order": i}
                for i in range(1, CAPABILITIES + 1)
            ],
        )
        stamps = {"created_at": now, "updated_at": now}
        c.execute(
            insert(table("facilities")),
            [
                {
                    **t,
                    **stamps,
                    "id": i,
                    "name": f"事業所{i:05d}",
                    "kind": rng.choice(["type_a", "type_b", "type_b", "life_care", "manufacturer"]),
                    "status": "participating",
                    "municipality": f"市{i % 35}",
                    "workers": rng.randint(5, 40),
                    "hours_per_month": rng.randint(200, 2000),
                    "pc_experience": rng.random() < 0.4,
                    "avg_monthly_wage": rng.randint(12_000, 90_000),
                    "postal_code": "",
                    "prefecture_code": "22",
                    "address": "",
                    "contact_name": "",
                    "contact_phone": "",
                    "contact_email": "",
                    "equipment": "",
                    "certifications": "",
                    "notes": "",
                }
                for i in range(1, FACILITIES + 1)
            ],
        )
        c.execute(
            insert(table("facility_capabilities")),
            [
                {
                    **t,
                    "id": n + 1,
                    "facility_id": n // 3 + 1,
                    "capability_id": (n * 7) % CAPABILITIES + 1,
                    "proficiency": 1 + n % 3,
                }
                for n in range(FACILITIES * 3)
            ],
        )
        c.execute(
            insert(table("buyers")),
            [
                {
                    **t,
                    **stamps,
                    "id": i,
                    "name": f"株式会社ベンチ{i:04d}",
                    "name_kana": "",
                    "industry": rng.choice(["製造業", "印刷業", "食品", "物流"]),
                    "postal_code": "",
                    "prefecture_code": "22",
                    "address": "",
                    "website": "",
                    "contact_name": "",
                    "contact_email": "",
                    "contact_phone": "",
                    "notes": "",
                }
                for i in range(1, BUYERS + 1)
            ],
        )
        stages = ["lead", "hearing", "trial", "quote", "won", "lost"]
        start = date(2016, 4, 1)
        deals = []
        for i in range(1, DEALS + 1):
            stage = rng.choice(stages)
            opened = start + timedelta(days=rng.randint(0, 3650))
            decided = stage in ("won", "lost")
            deals.append(
                {
                    **t,
                    **stamps,
                    "id": i,
                    "buyer_id": rng.randint(1, BUYERS),
                    "title": f"案件{i:05d}",
                    "description": "",
                    "stage": stage,
                    "amount": rng.randint(1, 300) * 10_000,
                    "recurring": False,
                    "volume": "",
                    "next_action": "",
                    "lost_comment": "",
                    "opened_on": opened,
                    "closed_on": opened + timedelta(days=rng.randint(10, 120)) if decided else None,
                    "owner_id": 1,
                }
            )
        c.execute(insert(table("deals")), deals)
        c.execute(
            insert(table("orders")),
            [
                {
                    **t,
                    **stamps,
                    "id": i,
                    "buyer_id": rng.randint(1, BUYERS),
                    "title": f"受注{i:05d}",
                    "status": rng.choice(["confirmed", "in_progress", "delivered", "closed"]),
                    "confirmed_on": start + timedelta(days=rng.randint(0, 3650)),
                    "notes": "",
                }
                for i in range(1, ORDERS + 1)
            ],
        )
        months = [date(2026, m, 1) for m in (4, 5, 6)]
        c.execute(
            insert(table("order_months")),
            [
                {
                    **t,
                    "id": n + 1,
                    "order_id": n // 3 + 1,
                    "month": months[n % 3],
                    "forecast_amount": rng.randint(1, 50) * 10_000,
                    "actual_amount": rng.randint(1, 50) * 10_000,
                }
                for n in range(ORDERS * 3)
            ],
        )
        c.execute(
            insert(table("deliveries")),
            [
                {
                    **t,
                    **stamps,
                    "id": i,
                    "order_id": i,
                    "lot_no": "L-1",
                    "quantity": 100,
                    "original_due_on": start + timedelta(days=rng.randint(0, 3650)),
                    "status": "planned",
                }
                for i in range(1, ORDERS + 1)
            ],
        )
        counts = {
            "memberships": 1,
            "capabilities": CAPABILITIES,
            "facilities": FACILITIES,
            "facility_capabilities": FACILITIES * 3,
            "buyers": BUYERS,
            "deals": DEALS,
            "orders": ORDERS,
            "order_months": ORDERS * 3,
            "deliveries": ORDERS,
        }
        c.execute(insert(table("tenant_id_counters")),
                  [{**t, "table_name": k, "last_id": v} for k, v in counts.items()])  # fmt: skip


def hash_password_offline(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024).hash(password)


PAGES = (
    ("facilities", "/t/bench/facilities/"),
    ("facilities p.30", "/t/bench/facilities/?page=30"),
    ("facilities search", "/t/bench/facilities/?q=事業所01"),
    ("buyers", "/t/bench/buyers/"),
    ("agreements", "/t/bench/agreements/"),
    ("deals", "/t/bench/deals/"),
    ("deals p.90", "/t/bench/deals/?page=90"),
    ("deal board", "/t/bench/deals/board"),
    ("orders", "/t/bench/orders/"),
    ("orders p.300", "/t/bench/orders/?page=300"),
    ("facility detail", "/t/bench/facilities/1"),
    ("deal detail", "/t/bench/deals/1"),
    ("order detail", "/t/bench/orders/1"),
    ("members", "/t/bench/members"),
)


IMPORT_ROWS = 10_000


def bench_import(client: Any) -> None:
    """Upload, preview and confirm a CSV of 10,000 new facilities with two processes each."""
    lines = ["事業所名,種別,利用者数,能力"]
    lines += [f"取込事業所{i:05d},B型,{i % 40},工程1、工程2:2" for i in range(IMPORT_ROWS)]
    data = ("\n".join(lines) + "\n").encode()
    started = time.perf_counter()
    response = client.post(
        "/t/bench/data/facilities/upload",
        data={"facilities-file": (io.BytesIO(data), "facilities.csv")},
        content_type="multipart/form-data",
    )
    location = response.headers.get("Location", "")
    match = re.search(r"/data/facilities/([0-9a-f]{32})$", location)
    if response.status_code != 303 or match is None:
        print(f"import: upload failed ({response.status_code})")
        return
    client.get(location)
    checked = time.perf_counter()
    response = client.post(f"/t/bench/data/facilities/{match.group(1)}/confirm")
    done = time.perf_counter()
    print(
        f"import {IMPORT_ROWS:,} facilities (status {response.status_code}): upload + preview "
        f"{checked - started:.1f} s, confirm {done - checked:.1f} s, total {done - started:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    assert all_models  # every table registered
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database = stack.enter_context(provide_database(args.db, directory))
        owner = create_engine(database.owner_url)
        started = time.perf_counter()
        generate(owner, random.Random(7))
        if args.db == "postgresql":
            with owner.begin() as c:
                c.execute(text("ANALYZE"))
        owner.dispose()
        print(
            f"dataset: {FACILITIES} facilities, {BUYERS} buyers, {DEALS} deals, {ORDERS} orders"
            f" on {args.db}, generated in {time.perf_counter() - started:.1f} s"
        )
        app = create_app(make_settings(database, directory / "instance"))
        app.test_client_class = CsrfClient  # sends the CSRF token with the import's POSTs
        statements: list[int] = [0]
        with app.app_context():
            from app.extensions import db

            engine = db.engine

            @event.listens_for(engine, "before_cursor_execute")
            def _count(*_a: Any) -> None:
                statements[0] += 1

            from sqlalchemy import select

            from app.auth.models import User

            user = db.session.scalar(select(User))
            assert user is not None
            login_id = user.get_id()
            db.remove()
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = login_id
            session["_fresh"] = True
        print(f"{'page':<20}{'status':>7}{'median ms':>11}{'p95 ms':>9}{'queries':>9}")
        for name, url in PAGES:
            status = 0
            for _ in range(WARMUP):
                status = client.get(url).status_code
            timings = []
            statements[0] = 0
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - t0) * 1000)
                status = response.status_code
            queries = statements[0] / REPEATS
            timings.sort()
            p95 = timings[int(len(timings) * 0.95) - 1]
            print(
                f"{name:<20}{status:>7}{statistics.median(timings):>11.1f}{p95:>9.1f}"
                f"{queries:>9.1f}"
            )
        bench_import(client)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"process peak memory (ru_maxrss): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
