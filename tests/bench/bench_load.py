"""Load benchmark of the whole deployment. Prints figures; asserts nothing (not a test).

    make load                                   # the full run (about 12 minutes)
    python -m tests.bench.bench_load --small-workspaces 100 --duration 10 --rounds 1

What it does:

1. A throwaway PostgreSQL cluster (or TEST_DATABASE_URL) with two migrated databases, the
   app's role held by row-level security, as in production.
2. In both, the same largest workspace ("big"): 2,000 facilities and ten fiscal years of
   records — 20,000 wage rows, 300 buyers, 150 agreements, 6,000 deals, 20,000 orders with
   120,000 monthly amounts and 40,000 delivery lots, 38,000 timeline entries and 250,000
   audit events — about 0.5 M rows, written with COPY. The second database also holds 1,787
   more workspaces, sized like Japan's municipalities: a log-normal spread of facilities
   (median 20, from 3 to 600) with the same ten years of records in proportion — about 6 M
   rows in all.
3. One gunicorn per database with infra/gunicorn.conf.py (production settings, JSON logs to
   a file), and from a second process on loopback, 20 signed-in people clicking through the
   main list and detail pages of "big": as people do (a pause of 0.5–1.5 s between clicks),
   and with no pause at all (the most the machine serves). The two databases are measured
   in alternation (``--rounds`` runs of ``--duration`` seconds each, after 15 s of
   unmeasured warm-up), so that whatever else the machine does weighs on both alike: does
   the number of workspaces slow a workspace down? Then the same people in small workspaces.
4. Per page: p50, p95, p99, errors; throughput; the time spent inside the app per endpoint
   (from its JSON request lines, so without queueing and network); each gunicorn worker's
   peak memory (VmHWM); the machine's load average around each run.

Sizing: ten years of every record type are generated in full for every workspace; only the
small workspaces' sizes are drawn (``--small-workspaces`` and ``--scale`` shrink the run).
"""

from __future__ import annotations

import argparse
import enum
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from sqlalchemy import Column, Table, create_engine
from sqlalchemy.engine import make_url

from app import models as all_models
from app.agreements.models import ActionStatus, AgreementKind
from app.config import PROJECT_ROOT
from app.db import Base
from app.deals.models import DealStage
from app.facilities.models import FacilityKind, FacilityStatus
from app.orders.models import DeliveryStatus, OrderStatus
from app.reports import summaries
from app.timeline.models import EntryKind
from tests.support.database import (
    create_postgres_database,
    drop_postgres_database,
    provide_database,
    unique_name,
)
from tests.support.live_server import Browser, Gunicorn

PASSWORD = "bench-password-1"
START = date(2016, 4, 1)  # ten fiscal years: FY2016 (平成28年度) to FY2025 (令和7年度)
DAYS = (date(2026, 3, 31) - START).days
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Size:
    facilities: int
    buyers: int
    agreements: int
    deals: int
    orders: int
    members: int
    audit_events: int
    months_per_order: int = 6
    lots_per_order: int = 2
    notes_per_deal: int = 5
    wage_years: int = 10

    @property
    def rows(self) -> int:
        return (
            self.facilities * (1 + 3 + self.wage_years)
            + self.buyers
            + self.agreements * 7
            + self.deals * (1 + 2 + self.notes_per_deal)
            + self.orders * (1 + self.months_per_order + self.lots_per_order)
            + self.audit_events
        )


BIG = Size(
    facilities=2_000,
    buyers=300,
    agreements=150,
    deals=6_000,
    orders=20_000,
    members=20,
    audit_events=250_000,
    notes_per_deal=5,
)


def small_size(rng: random.Random, scale: float) -> Size:
    """A municipality's program: most are small, a few large (log-normal, median 20)."""
    facilities = max(3, min(600, round(rng.lognormvariate(math.log(20), 0.9) * scale)))
    return Size(
        facilities=facilities,
        buyers=max(2, facilities // 3),
        agreements=max(1, facilities // 10),
        deals=facilities * 3,
        orders=facilities * 6,
        members=rng.randint(2, 6),
        audit_events=facilities * 25,
        lots_per_order=1,
        notes_per_deal=1,
    )


# --- writing rows with COPY ------------------------------------------------------------------


def python_default(column: Column[Any]) -> tuple[bool, Any]:
    """The value SQLAlchemy would fill in for a column left out (COPY does not)."""
    default: Any = column.default
    if default is None:
        return False, None
    if default.is_callable:
        return True, default.arg(None)
    if default.is_scalar:
        return True, default.arg
    return False, None


class Copier:
    """Buffers rows per table and writes them with COPY; columns left out get the model's
    Python default, so columns added to the models later are filled in too."""

    FLUSH_AT = 50_000

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self.buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.written: dict[str, int] = defaultdict(int)
        self.defaults: dict[str, dict[str, Any]] = {}

    def _defaults(self, table: Table) -> dict[str, Any]:
        if table.name not in self.defaults:
            found = {}
            for column in table.columns:
                known, value = python_default(column)
                if known:
                    found[column.name] = value
            self.defaults[table.name] = found
        return self.defaults[table.name]

    def add(self, table_name: str, row: dict[str, Any]) -> None:
        buffer = self.buffers[table_name]
        buffer.append(row)
        if len(buffer) >= self.FLUSH_AT:
            self.flush_all()  # in foreign-key order: what this table points at goes first

    def flush(self, table_name: str) -> None:
        rows = self.buffers.pop(table_name, [])
        if not rows:
            return
        table = Base.metadata.tables[table_name]
        defaults = self._defaults(table)
        given = set().union(*(row.keys() for row in rows))
        names = [c.name for c in table.columns if c.name in given or c.name in defaults]
        quoted = ", ".join(f'"{name}"' for name in names)
        statement = f"COPY {table_name} ({quoted}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([_plain(row.get(name, defaults.get(name))) for name in names])
        self.written[table_name] += len(rows)

    def flush_all(self) -> None:
        for table in Base.metadata.sorted_tables:  # referenced tables first
            self.flush(table.name)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, enum.Enum):
        return value.value  # what the models store (str_enum keeps values, not names)
    return value


def stamp(rng: random.Random) -> datetime:
    return datetime.combine(START, datetime.min.time(), UTC) + timedelta(
        seconds=rng.randint(0, DAYS * 86400)
    )


def day(rng: random.Random, start: date = START, days: int = DAYS) -> date:
    return start + timedelta(days=rng.randint(0, days))


PREFECTURES = [f"{n:02d}" for n in range(1, 48)]
KINDS = [
    FacilityKind.TYPE_A,
    FacilityKind.TYPE_B,
    FacilityKind.TYPE_B,
    FacilityKind.LIFE_CARE,
    FacilityKind.MANUFACTURER,
]
STAGES = list(DealStage)
INDUSTRIES = ["製造業", "印刷業", "食品", "物流", "小売", "自治体"]


@dataclass
class Workspace:
    """Writes one workspace's rows; ``last`` counts the ids used per table."""

    out: Copier
    rng: random.Random
    tenant_id: int
    size: Size
    members: int
    last: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    won: list[int] = field(default_factory=list)

    def add(self, table: str, **values: Any) -> int:
        self.last[table] += 1
        row_id = self.last[table]
        self.out.add(table, {"tenant_id": self.tenant_id, "id": row_id, **values})
        return row_id


CAPABILITIES = 12
STAMPS = {"created_at": NOW, "updated_at": NOW}


def write_workspace(
    out: Copier,
    rng: random.Random,
    tenant_id: int,
    slug: str,
    name: str,
    size: Size,
    member_user_ids: list[int],
) -> None:
    prefecture = PREFECTURES[tenant_id % 47]
    out.add(
        "tenants",
        {
            "id": tenant_id,
            "slug": slug,
            "name": name,
            "kind": "municipality",
            "prefecture_code": prefecture,
            "min_annual_volume": 2_000_000,
            "created_at": NOW,
        },
    )
    w = Workspace(out, rng, tenant_id, size, len(member_user_ids))
    for n, user_id in enumerate(member_user_ids, start=1):
        role = "admin" if n == 1 else "coordinator"
        w.add("memberships", user_id=user_id, role=role, status="active", created_at=NOW)
    for n in range(1, CAPABILITIES + 1):
        w.add("capabilities", name=f"工程{n}", sort_order=n)
    for n in range(1, 6):
        w.add("difficulty_levels", level=n, name=f"レベル{n}")
    for n in range(1, 7):
        w.add("lost_reasons", label=f"失注理由{n}", sort_order=n)
    for n in range(1, 9):
        w.add("plan_goals", code=f"G{n}", title=f"総合計画の目標{n}")
    write_facilities(w, name, prefecture)
    write_agreements(w)
    write_deals(w)
    write_orders(w)
    objects = ["facilities", "deals", "orders", "buyers", "order_months", "deliveries"]
    for _ in range(size.audit_events):
        w.add(
            "audit_events",
            at=stamp(rng),
            actor_user_id=rng.choice(member_user_ids),
            action="update",
            object_type=rng.choice(objects),
            object_id=str(rng.randint(1, 2000)),
            changes={"stage": ["quote", "won"]},
        )
    for table_name, last in w.last.items():
        out.add(
            "tenant_id_counters",
            {"tenant_id": tenant_id, "table_name": table_name, "last_id": last},
        )


def write_facilities(w: Workspace, name: str, prefecture: str) -> None:
    rng = w.rng
    for f in range(1, w.size.facilities + 1):
        w.add(
            "facilities",
            **STAMPS,
            name=f"事業所{f:05d}",
            kind=rng.choice(KINDS),
            status=FacilityStatus.PARTICIPATING,
            prefecture_code=prefecture,
            municipality=f"{name[:3]}{f % 20}丁目",
            workers=rng.randint(5, 40),
            hours_per_month=rng.randint(200, 2000),
            pc_experience=rng.random() < 0.4,
            avg_monthly_wage=rng.randint(12_000, 90_000),
            max_difficulty=rng.randint(1, 5),
        )
        for capability in rng.sample(range(1, CAPABILITIES + 1), 3):
            w.add(
                "facility_capabilities",
                facility_id=f,
                capability_id=capability,
                proficiency=rng.randint(1, 3),
            )
        for year in range(2016, 2016 + w.size.wage_years):
            w.add(
                "facility_wages",
                facility_id=f,
                fiscal_year=year,
                avg_monthly_wage=rng.randint(12_000, 90_000),
            )


def write_agreements(w: Workspace) -> None:
    rng = w.rng
    for _ in range(w.size.buyers):
        w.add(
            "buyers",
            **STAMPS,
            name=f"株式会社発注{w.last['buyers'] + 1:04d}",
            industry=rng.choice(INDUSTRIES),
        )
    for a in range(1, w.size.agreements + 1):
        signed = day(rng)
        w.add(
            "agreements",
            **STAMPS,
            buyer_id=rng.randint(1, w.size.buyers),
            title=f"連携協定{a:04d}",
            kind=rng.choice(list(AgreementKind)),
            signed_on=signed,
            starts_on=signed,
            ends_on=signed + timedelta(days=365 * 3),
        )
        for goal in rng.sample(range(1, 9), 2):
            w.add("agreement_goals", agreement_id=a, goal_id=goal)
        for n in range(4):
            w.add(
                "action_items",
                **STAMPS,
                agreement_id=a,
                title=f"行動計画{n + 1}",
                status=rng.choice(list(ActionStatus)),
            )


def write_deals(w: Workspace) -> None:
    rng = w.rng
    for d in range(1, w.size.deals + 1):
        stage = rng.choice(STAGES)
        opened = day(rng)
        decided = stage in (DealStage.WON, DealStage.LOST)
        if stage == DealStage.WON:
            w.won.append(d)
        w.add(
            "deals",
            **STAMPS,
            buyer_id=rng.randint(1, w.size.buyers),
            title=f"案件{d:05d}",
            stage=stage,
            amount=rng.randint(1, 300) * 10_000,
            opened_on=opened,
            closed_on=opened + timedelta(days=rng.randint(10, 120)) if decided else None,
            lost_reason_id=rng.randint(1, 6) if stage == DealStage.LOST else None,
            owner_id=rng.randint(1, w.members),
        )
        for capability in rng.sample(range(1, CAPABILITIES + 1), 2):
            w.add("deal_capabilities", deal_id=d, capability_id=capability)
        for _ in range(w.size.notes_per_deal):
            w.add(
                "timeline_entries",
                deal_id=d,
                kind=EntryKind.NOTE,
                body="打合せの記録",
                at=stamp(rng),
            )


def write_orders(w: Workspace) -> None:
    rng = w.rng
    for o in range(1, w.size.orders + 1):
        confirmed = day(rng)
        w.add(
            "orders",
            **STAMPS,
            buyer_id=rng.randint(1, w.size.buyers),
            deal_id=w.won[o - 1] if o <= len(w.won) else None,
            agreement_id=rng.randint(1, w.size.agreements) if rng.random() < 0.5 else None,
            title=f"受注{o:05d}",
            status=rng.choice(list(OrderStatus)),
            confirmed_on=confirmed,
        )
        for m in range(w.size.months_per_order):
            year, month = divmod(confirmed.month - 1 + m, 12)
            w.add(
                "order_months",
                order_id=o,
                month=date(confirmed.year + year, month + 1, 1),
                forecast_amount=rng.randint(1, 50) * 10_000,
                actual_amount=rng.randint(1, 50) * 10_000,
            )
        for n in range(w.size.lots_per_order):
            w.add(
                "deliveries",
                **STAMPS,
                order_id=o,
                lot_no=f"L-{n + 1}",
                quantity=100,
                original_due_on=confirmed + timedelta(days=30 * (n + 1)),
                status=rng.choice(list(DeliveryStatus)),
            )
        w.add(
            "timeline_entries", order_id=o, kind=EntryKind.DECISION, body="受注確定", at=stamp(rng)
        )


def password_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024).hash(PASSWORD)


def add_users(out: Copier, first_id: int, emails: list[str], hashed: str) -> list[int]:
    ids = []
    for n, email in enumerate(emails):
        user_id = first_id + n
        out.add(
            "users",
            {
                "id": user_id,
                "email": email,
                "name": f"利用者{user_id}",
                "password_hash": hashed,
                "created_at": NOW,
            },
        )
        ids.append(user_id)
    return ids


@dataclass
class Dataset:
    owner_url: str
    admin_url: str | None
    hashed: str
    rng: random.Random
    next_user: int = 1
    next_tenant: int = 1
    load_users: list[int] = field(default_factory=list)
    workspaces: dict[str, Size] = field(default_factory=dict)
    homes: dict[int, str] = field(default_factory=dict)  # load user → small workspace slug

    def connect(self) -> psycopg.Connection[Any]:
        """As a superuser when there is one: the rows are consistent by construction, so the
        per-row foreign-key triggers are skipped (``session_replication_role``), which makes
        writing millions of rows several times faster."""
        owner = make_url(self.owner_url).set(drivername="postgresql")
        if self.admin_url:
            admin = make_url(self.admin_url).set(drivername="postgresql", database=owner.database)
            connection = psycopg.connect(admin.render_as_string(hide_password=False))
            try:
                connection.execute("SET session_replication_role = replica")
                return connection
            except psycopg.Error:
                connection.close()
        return psycopg.connect(owner.render_as_string(hide_password=False))

    def add_big(self, users: int) -> None:
        with self.connect() as connection:
            out = Copier(connection)
            emails = [f"load{n:02d}@bench.example" for n in range(users)]
            self.load_users = add_users(out, self.next_user, emails, self.hashed)
            self.next_user += users
            write_workspace(
                out, self.rng, self.next_tenant, "big", "連携市 共同受注窓口", BIG, self.load_users
            )
            self.workspaces["big"] = BIG
            self.next_tenant += 1
            out.flush_all()
            self._finish(connection)

    def add_small(self, count: int, scale: float) -> None:
        homes = self.rng.sample(range(count), min(count, len(self.load_users)))
        with self.connect() as connection:
            out = Copier(connection)
            for n in range(count):
                size = small_size(self.rng, scale)
                emails = [
                    f"staff{self.next_user + k}@w{n:04d}.example" for k in range(size.members)
                ]
                members = add_users(out, self.next_user, emails, self.hashed)
                self.next_user += size.members
                slug = f"w{n + 1:04d}"
                if n in homes:  # one of the load users also works here
                    user = self.load_users[homes.index(n)]
                    members.append(user)
                    self.homes[user] = slug
                    size = Size(**{**asdict(size), "members": len(members)})
                write_workspace(
                    out, self.rng, self.next_tenant, slug, f"自治体{n + 1:04d}", size, members
                )
                self.workspaces[slug] = size
                self.next_tenant += 1
            out.flush_all()
            self._finish(connection)

    def _finish(self, connection: psycopg.Connection[Any]) -> None:
        for table in ("users", "tenants"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")  # the steady state of a database in use
        # Written around the ORM, so the report's monthly summaries are built here (after
        # ANALYZE: the planner needs the tables' sizes for the rebuild's joins).
        owner = create_engine(self.owner_url)
        with owner.begin() as summary_connection:
            summaries.rebuild(summary_connection)
        owner.dispose()
        connection.execute("ANALYZE")

    def rows(self) -> int:
        with self.connect() as connection:
            total = 0
            for table in Base.metadata.sorted_tables:
                row = connection.execute(f"SELECT count(*) FROM {table.name}").fetchone()  # noqa: S608
                total += int(row[0]) if row else 0
            return total


# --- the people clicking ---------------------------------------------------------------------

PAGES = {
    "home": "/t/{slug}/",
    "facilities": "/t/{slug}/facilities/",
    "facilities page n": "/t/{slug}/facilities/?page={facility_page}",
    "facilities search": "/t/{slug}/facilities/?q={search}",
    "buyers": "/t/{slug}/buyers/",
    "agreements": "/t/{slug}/agreements/",
    "deals": "/t/{slug}/deals/",
    "deal board": "/t/{slug}/deals/board",
    "orders": "/t/{slug}/orders/",
    "orders page n": "/t/{slug}/orders/?page={order_page}",
    "members": "/t/{slug}/members",
    "facility": "/t/{slug}/facilities/{facility}",
    "buyer": "/t/{slug}/buyers/{buyer}",
    "agreement": "/t/{slug}/agreements/{agreement}",
    "deal": "/t/{slug}/deals/{deal}",
    "order": "/t/{slug}/orders/{order}",
}


def page_url(kind: str, slug: str, size: dict[str, int], rng: random.Random) -> str:
    return PAGES[kind].format(
        slug=slug,
        facility_page=rng.randint(1, max(1, size["facilities"] // 50)),
        order_page=rng.randint(1, max(1, size["orders"] // 50)),
        search=quote(f"事業所{rng.randint(0, size['facilities'] // 100):03d}"),
        facility=rng.randint(1, size["facilities"]),
        buyer=rng.randint(1, size["buyers"]),
        agreement=rng.randint(1, size["agreements"]),
        deal=rng.randint(1, size["deals"]),
        order=rng.randint(1, size["orders"]),
    )


def drive(config: dict[str, Any]) -> dict[str, Any]:
    """The second process: each person signs in, opens every kind of page once (warm-up),
    then clicks for ``duration`` seconds. Returns every timed request."""
    samples: list[tuple[str, float, int]] = []
    failures: list[str] = []
    lock = threading.Lock()
    start_at: list[float] = []
    # Everyone signs in and warms up first; the clock starts when the last one is ready, in
    # this process and in the other driver processes.
    ready = threading.Barrier(
        len(config["people"]), action=lambda: start_at.append(all_drivers_ready(config))
    )

    def person(n: int, email: str, slug: str, size: dict[str, int]) -> None:
        rng = random.Random(config["seed"] * 1000 + n)
        browser = Browser(config["url"])
        try:
            browser.sign_in(email, PASSWORD)
            browser.keep_csrf = False  # only GETs from here: no need to read every page
            for kind in PAGES:
                browser.get(page_url(kind, slug, size, rng))
        except Exception as exc:
            failures.append(f"{email}: {exc!r}")
        ready.wait()
        deadline = start_at[0] + config["duration"]
        if config["think"] > 0:
            # People arrive at their own moments, not all on the same instant: the first
            # click, too, comes after a pause. (A start in step put 20 requests at once on
            # the two cores: the last waited ~200 ms, a p99 of the benchmark, not of use.)
            time.sleep(rng.uniform(0.0, 1.5) * config["think"])
        while time.monotonic() < deadline:
            kind = rng.choice(list(PAGES))
            url = page_url(kind, slug, size, rng)
            began = time.perf_counter()
            try:
                status = browser.get(url).status
            except Exception as exc:
                status = 0
                failures.append(f"{url}: {exc!r}")
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                samples.append((kind, elapsed, status))
            if config["think"] > 0:
                time.sleep(rng.uniform(0.5, 1.5) * config["think"])
        browser.close()

    threads = [
        threading.Thread(target=person, args=(n, *p), daemon=True)
        for n, p in enumerate(config["people"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - start_at[0]
    return {
        "samples": samples,
        "seconds": seconds,
        "wall": [time.time() - seconds, time.time()],
        "failures": failures[:20],
    }


def all_drivers_ready(config: dict[str, Any]) -> float:
    """Say this driver process is ready, wait for the others; the common start time."""
    folder = Path(config["meeting_place"])
    (folder / f"ready-{os.getpid()}").touch()
    while len(list(folder.glob("ready-*"))) < config["processes"]:
        time.sleep(0.01)
    return time.monotonic()


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def merged(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of one condition as one (their samples together)."""
    server: dict[str, list[float]] = defaultdict(list)
    for result in results:
        for endpoint, values in result["server"].items():
            server[endpoint] += values
    return {
        "samples": [sample for result in results for sample in result["samples"]],
        "seconds": sum(result["seconds"] for result in results),
        "failures": [failure for result in results for failure in result["failures"]],
        "server": server,
        "load_average": [result["load_average"] for result in results],
    }


def summarise(title: str, result: dict[str, Any]) -> dict[str, Any]:
    by_page: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for kind, ms, status in result["samples"]:
        by_page[kind].append(ms)
        if status != 200:
            errors[kind] += 1
    total = len(result["samples"])
    everything = sorted(ms for _k, ms, _s in result["samples"])
    print(
        f"\n== {title}: {total:,} requests in {result['seconds']:.0f} s = "
        f"{total / result['seconds']:.1f} req/s, errors {sum(errors.values())}; "
        f"machine load average (1 min) before/after each run: {result['load_average']}"
    )
    print(f"{'page':<20}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    rows = {}
    for kind in PAGES:
        values = sorted(by_page.get(kind, []))
        rows[kind] = {
            "n": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
            "errors": errors.get(kind, 0),
        }
        r = rows[kind]
        print(
            f"{kind:<20}{r['n']:>6}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}{r['errors']:>8}"
        )
    print(
        f"{'all pages':<20}{total:>6}{percentile(everything, 50):>9.1f}"
        f"{percentile(everything, 95):>9.1f}{percentile(everything, 99):>9.1f}"
        f"{sum(errors.values()):>8}"
    )
    inside = {}
    print(f"   {'in the app, per endpoint':<26}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}")
    for endpoint, durations in sorted(result["server"].items()):
        values = sorted(durations)
        inside[endpoint] = {
            "n": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
        }
        print(
            f"   {endpoint:<26}{len(values):>6}{inside[endpoint]['p50']:>9.1f}"
            f"{inside[endpoint]['p95']:>9.1f}"
        )
    for failure in result["failures"]:
        print(f"   failure: {failure}")
    return {
        "title": title,
        "requests": total,
        "seconds": result["seconds"],
        "per_second": total / result["seconds"],
        "errors": sum(errors.values()),
        "p50": percentile(everything, 50),
        "p95": percentile(everything, 95),
        "p99": percentile(everything, 99),
        "pages": rows,
        "in_app": inside,
        "load_average": result["load_average"],
    }


def run_driver(config: dict[str, Any], processes: int) -> dict[str, Any]:
    """The people, dealt out to ``processes`` driver processes (one Python process's threads
    would queue behind one another for its interpreter lock, and that wait would be counted
    as the server's); their samples merged."""
    people = config["people"]
    processes = max(1, min(processes, len(people)))
    with tempfile.TemporaryDirectory(prefix="renkei-drivers-") as meeting_place:
        drivers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.bench.bench_load", "--drive"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=PROJECT_ROOT,
            )
            for _ in range(processes)
        ]
        outputs = []
        for n, driver in enumerate(drivers):
            part = {
                **config,
                "people": people[n::processes],
                "seed": config["seed"] * 100 + n,
                "meeting_place": meeting_place,
                "processes": processes,
            }
            assert driver.stdin is not None
            driver.stdin.write(json.dumps(part))
            driver.stdin.close()
        for driver in drivers:
            assert driver.stdout is not None and driver.stderr is not None
            out, err = driver.stdout.read(), driver.stderr.read()
            if driver.wait() != 0:
                raise RuntimeError(f"driver failed:\n{err}")
            outputs.append(json.loads(out))
    return {
        "samples": [sample for output in outputs for sample in output["samples"]],
        "seconds": max(output["seconds"] for output in outputs),
        "wall": [
            min(output["wall"][0] for output in outputs),
            max(output["wall"][1] for output in outputs),
        ],
        "failures": [failure for output in outputs for failure in output["failures"]][:20],
    }


def peak_memory(pids: list[int]) -> dict[int, float]:
    """Peak resident memory (VmHWM) of each process, in MB."""
    found = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    found[pid] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return found


def remember_peaks(peaks: dict[int, float], result: dict[str, Any]) -> dict[str, Any]:
    """Keep each worker's highest peak seen so far (workers replaced midway included)."""
    for pid, mb in result["memory"].items():
        peaks[pid] = max(mb, peaks.get(pid, 0.0))
    return result


def server_times(server: Gunicorn, start: float, end: float) -> dict[str, list[float]]:
    """Time spent inside the app per endpoint (from its JSON request lines): the latency the
    people saw minus waiting for a free worker and the network."""
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    for line in server.json_lines():
        if line.get("message") != "request" or line.get("method") != "GET":
            continue
        at = datetime.fromisoformat(str(line["ts"])).timestamp()
        if start <= at <= end:
            by_endpoint[str(line["endpoint"])].append(float(str(line["duration_ms"])))
    return by_endpoint


def load_average() -> str:
    """The machine's 1-minute load average: other work on a shared machine shows here."""
    return Path("/proc/loadavg").read_text().split()[0]


def start_server(
    stack: ExitStack, label: str, database: Any, folder: Path, args: argparse.Namespace
) -> Gunicorn:
    env = {
        "DATABASE_URL": database.app_url,
        "RENKEI_ENV": "production",
        "SECRET_KEY": "bench-secret",
        "RENKEI_INSTANCE_PATH": str(folder / f"instance-{label}"),
        "LOG_FORMAT": "json",
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return stack.enter_context(Gunicorn(env, folder / f"gunicorn-{label}.log"))


def measure(
    server: Gunicorn,
    people: list[Any],
    think: float,
    seconds: float,
    seed: int,
    processes: int = 4,
) -> dict[str, Any]:
    before = load_average()
    config = {"url": server.url, "people": people, "duration": seconds, "think": think}
    result = run_driver({**config, "seed": seed}, processes)
    result["server"] = server_times(server, *result["wall"])
    result["load_average"] = f"{before}/{load_average()}"
    # Read after every run: gunicorn replaces a worker after max_requests, and a replaced
    # worker's peak can only be read while it lives.
    result["memory"] = peak_memory(server.worker_pids())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--small-workspaces", type=int, default=1_787)
    parser.add_argument("--scale", type=float, default=1.0, help="size of small workspaces")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per condition, alternated")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between clicks")
    parser.add_argument("--workers", type=int, default=0, help="WEB_CONCURRENCY (default: conf)")
    parser.add_argument("--threads", type=int, default=0, help="GUNICORN_THREADS")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--driver-processes", type=int, default=4, help="processes the people are spread over"
    )
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    if args.drive:
        json.dump(drive(json.load(sys.stdin)), sys.stdout)
        return
    assert all_models  # every table registered

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # unwinds: gunicorn and the database cluster are stopped

    signal.signal(signal.SIGTERM, stop)

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="renkei-load-")))
        one = stack.enter_context(provide_database("postgresql", folder))
        assert one.admin_url is not None
        name = unique_name("renkei_load")
        many = create_postgres_database(one.admin_url, name)
        stack.callback(drop_postgres_database, one.admin_url, name)

        # The same largest workspace (same seed) in both databases; the second one also
        # holds every other municipality.
        started = time.perf_counter()
        alone = Dataset(one.owner_url, one.admin_url, password_hash(), random.Random(args.seed))
        alone.add_big(args.users)
        print(
            f"database 1: the largest workspace alone ({BIG.facilities:,} facilities, ten "
            f"years): {alone.rows():,} rows, written in {time.perf_counter() - started:.0f} s"
        )
        started = time.perf_counter()
        crowd = Dataset(many.owner_url, many.admin_url, password_hash(), random.Random(args.seed))
        crowd.add_big(args.users)
        crowd.add_small(args.small_workspaces, args.scale)
        count = len(crowd.workspaces)
        print(
            f"database 2: the same and {count - 1:,} more workspaces: {crowd.rows():,} rows, "
            f"written in {time.perf_counter() - started:.0f} s"
        )

        servers = {
            "1": start_server(stack, "1-workspace", one, folder, args),
            "all": start_server(stack, f"{count}-workspaces", many, folder, args),
        }
        peaks: dict[str, dict[int, float]] = {key: {} for key in servers}
        big = asdict(BIG)
        in_big = [[f"load{n:02d}@bench.example", "big", big] for n in range(args.users)]
        homes = [
            [f"load{n:02d}@bench.example", crowd.homes[user], asdict(crowd.workspaces[slug])]
            for n, user in enumerate(crowd.load_users)
            if (slug := crowd.homes.get(user))
        ]
        for key, server in servers.items():  # warm-up, not measured
            remember_peaks(
                peaks[key],
                measure(server, in_big, 0.0, 15.0, args.seed + 1, args.driver_processes),
            )

        # Alternate the two databases, so that what else the machine is doing weighs on both.
        runs: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
        for round_ in range(args.rounds):
            for think in (args.think, 0.0):
                order = ("1", "all") if round_ % 2 == 0 else ("all", "1")
                for key in order:
                    runs[(key, think)].append(
                        remember_peaks(
                            peaks[key],
                            measure(
                                servers[key],
                                in_big,
                                think,
                                args.duration,
                                args.seed + round_,
                                args.driver_processes,
                            ),
                        )
                    )
        small = [
            remember_peaks(
                peaks["all"],
                measure(
                    servers["all"],
                    homes,
                    args.think,
                    args.duration * args.rounds,
                    3,
                    args.driver_processes,
                ),
            )
        ]

        titles = {"1": "1 workspace", "all": f"{count:,} workspaces"}
        results = []
        for (key, think), found in runs.items():
            how = f"{args.users} people clicking" if think else f"{args.users} people, no pause"
            results.append(summarise(f"{titles[key]}, the largest, {how}", merged(found)))
        results.append(
            summarise(f"{titles['all']}, {len(homes)} people in small ones", merged(small))
        )
        for key, server in servers.items():
            memory = peaks[key]
            alive = set(server.worker_pids())
            results.append({"title": f"memory {titles[key]}", "workers_mb": memory})
            print(
                f"\npeak memory per gunicorn worker ({titles[key]}): "
                + ", ".join(
                    f"{pid}: {mb:.0f} MB" + ("" if pid in alive else " (replaced)")
                    for pid, mb in sorted(memory.items())
                )
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(
        f"\ncores: {os.cpu_count()}; gunicorn: infra/gunicorn.conf.py "
        f"(workers {args.workers or 'default'}, threads {args.threads or 'default'}); "
        f"people driven from {args.driver_processes} processes; "
        f"{args.rounds} alternated runs of {args.duration:.0f} s per condition"
    )


if __name__ == "__main__":
    main()
