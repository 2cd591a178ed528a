"""The seed report's two years (R.3 = FY2021, R.4 = FY2022) as spreadsheets, loaded through
the product's own import (upload → preview → confirm, for every kind of record).

The records are made so that the report must compute the seed's 対前年度推移 table:

| | R.3 | R.4 |
|---|---|---|
| リード顧客数 | 102 社 | 95 社 |
| 商談総額 | 1 億 28 万円 | 8,790 万円 |
| 失注総額 | -8,854 万円 | -6,641 万円 |
| 発注顧客数 | 27 社 | 32 社 |
| 発注総額 | 1,008 万円 | 2,149 万円 (213%) |
| ARR | 1,730 万円 | 2,872 万円 (the seed prints 160%; the arithmetic gives 166%) |
| 平均工賃増加額 | +18,919 円 | +19,878 円 |
| 参加事業所数 | 65 | 96 (稼働 61) |

R.3's lost amount: the seed defines it as deal amount − order total, which gives 9,020 万円,
yet prints 8,854 万円. Here, as DOMAIN.md reads it, the 166 万円 between them are two deals
still open on 2022-03-31 (closed as lost in R.4): the deal records say 8,854 万円 were lost and
deal = order total + lost + still open reconciles for both years.

Amounts of the headline are exact yen (ARR: March 2022 placed 1,441,700 yen → 17,300,400 yen,
"1,730万円"; March 2023 2,393,300 yen → 28,719,600 yen, "2,872万円").
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.catalogs.service import seed_defaults
from app.deals.models import Deal
from app.extensions import db
from tenants.isolation import tenant_scope

R3, R4 = 2021, 2022
BASE = "/t/alpha/data"
REASONS = ("顧客都合で白紙", "難易度が高い", "単価が低く工賃向上に繋がらない")
OPEN_STAGE_LABELS = ("リード", "ヒアリング", "見学・トライアル", "見積")

FACILITY = "事業所{:03d}"
BUYER = "発注企業{:03d}"
MUNICIPAL_BUYER = 103  # 発注企業103 is the municipality itself (its welfare department)
LEFT_FACILITY = 97  # left the program: counted in no year


def month(year: int, number: int) -> date:
    return date(year, number, 1)


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode("utf-8")


@dataclass
class OrderPlan:
    title: str
    buyer: int
    deal_title: str | None
    confirmed_on: date
    assigned_after: int | None  # days from confirmation to the first assignment
    months: dict[date, int] = field(default_factory=dict)  # month → actual amount


@dataclass
class SeedPlan:
    facilities: list[list[Any]] = field(default_factory=list)
    buyers: list[list[Any]] = field(default_factory=list)
    deals: list[list[Any]] = field(default_factory=list)
    orders: list[OrderPlan] = field(default_factory=list)
    wages: list[list[Any]] = field(default_factory=list)
    assignments: list[list[Any]] = field(default_factory=list)


def _split(total: int, count: int, each: int) -> list[int]:
    """``count`` amounts of ``each``, the last one taking the remainder of ``total``."""
    amounts = [each] * (count - 1)
    amounts.append(total - sum(amounts))
    assert amounts[-1] > 0
    return amounts


def _facilities(plan: SeedPlan) -> None:
    for n in range(1, 98):
        if n <= 65:  # enrolled before the end of R.3
            since = date(2019 + (n % 3), 4 + (n % 9), 1)
        else:  # enrolled during R.4 (F66..F76 at its start: they get work in R.4)
            since = date(2022, 4, 1) if n <= 76 else date(2022, 4 + (n - 77) % 12 // 2, 15)
        status = "参加中"
        kind = ("就労継続支援B型", "就労継続支援A型", "生活介護", "協力企業")[n % 4]
        if n == LEFT_FACILITY:
            status, since = "退会", date(2019, 4, 1)
        plan.facilities.append(
            [FACILITY.format(n), kind, status, since.isoformat(), 10, 160, "静岡県"]
        )


def _wages(plan: SeedPlan) -> None:
    # 12 facilities with 10 workers each record their average monthly wage for FY2020-2022:
    # a year's increase per worker is Σ monthly increase × 12 × 10 / 120 = Σ monthly increase.
    r3 = [1_577] * 11 + [18_919 - 1_577 * 11]
    r4 = [1_657] * 11 + [19_878 - 1_657 * 11]
    for i in range(12):
        name = FACILITY.format(i + 1)
        base = 15_000 + 500 * i
        plan.wages.append([name, "令和2年度", base, 10])
        plan.wages.append([name, "R3", base + r3[i], 10])
        plan.wages.append([name, "2022年度", base + r3[i] + r4[i], 10])
    # A facility with a wage for R.4 only does not count (no year before to compare with).
    plan.wages.append([FACILITY.format(13), "令和4年度", 30_000, 10])


def _deal(plan: SeedPlan, title: str, buyer: int, stage: str, amount: int, opened: date,
          closed: date | None, reason: str = "", furthest: str = "") -> None:  # fmt: skip
    plan.deals.append(
        [
            title,
            BUYER.format(buyer),
            stage,
            amount,
            opened.isoformat(),
            closed.isoformat() if closed else "",
            reason,
            furthest,
        ]
    )


def _r3(plan: SeedPlan) -> None:
    # Orders of R.3: five recurring orders (Jan-Jun 2022) and 22 one-off jobs; 27 buyers.
    recurring = [300_000, 300_000, 300_000, 300_000, 241_700]  # March 2022: 1,441,700
    one_offs = _split(10_080_000 - 3 * sum(recurring), 22, 260_000)
    won = [6 * r for r in recurring] + one_offs
    # The won deals' amounts are what was placed in R.3: 10,080,000 in all.
    won_r3 = [3 * r for r in recurring] + one_offs
    assert sum(won_r3) == 10_080_000
    for b in range(1, 28):
        opened = date(2021, 4 + (b % 6), 5)
        confirmed = opened + timedelta(days=30)
        title = f"R3案件{b:02d}"
        _deal(plan, title, b, "受注", won_r3[b - 1], opened, confirmed, furthest="見積")
        order = OrderPlan(f"R3受注{b:02d}", b, title, confirmed, (b % 4) * 5)
        if b <= 5:
            for m in (1, 2, 3, 4, 5, 6):
                order.months[month(2022, m)] = recurring[b - 1]
        else:
            order.months[month(2021 if b % 10 < 9 else 2022, 4 + b % 9 if b % 10 < 9 else 2)] = won[
                b - 1
            ]
        plan.orders.append(order)
    # Two deals still open on 2022-03-31 (166万円), lost in R.4.
    _deal(
        plan,
        "R3継続中28",
        28,
        "失注",
        1_000_000,
        date(2022, 1, 10),
        date(2022, 6, 1),
        REASONS[0],
        "見積",
    )
    _deal(
        plan,
        "R3継続中29",
        29,
        "失注",
        660_000,
        date(2022, 2, 10),
        date(2022, 7, 1),
        REASONS[1],
        "見学・トライアル",
    )
    # 73 deals lost in R.3: 88,540,000 yen.
    for i, amount in enumerate(_split(88_540_000, 73, 1_200_000)):
        b = 30 + i
        opened = date(2021, 4 + i % 9, 1)
        _deal(
            plan,
            f"R3失注{b:03d}",
            b,
            "失注",
            amount,
            opened,
            opened + timedelta(days=20),
            REASONS[i % 3],
            OPEN_STAGE_LABELS[i % 4],
        )


def _r4(plan: SeedPlan) -> None:
    # 27 deals won in R.4 (21,490,000 yen), from buyers 103-129.
    won = _split(21_490_000, 27, 800_000)
    recurring = _split(2_393_300, 10, 240_000)  # March 2023: 2,393,300
    # R.4's placed amounts: R.3's recurring orders Apr-Jun (3 × 1,441,700), ten new recurring
    # orders Oct 2022 - Sep 2023 (6 months in R.4) and 17 one-off jobs.
    one_offs = _split(21_490_000 - 3 * 1_441_700 - 6 * sum(recurring), 17, 165_000)
    for j in range(27):
        b = 103 + j
        opened = date(2022, 4 + j % 5, 1)
        confirmed = opened + timedelta(days=40)
        title = f"R4案件{b}"
        _deal(plan, title, b, "受注", won[j], opened, confirmed, furthest="見積")
        lead = None if j == 26 else (j % 5) * 7 - (3 if j == 0 else 0)
        order = OrderPlan(f"R4受注{b}", b, title, confirmed, lead)
        if j < 10:
            for m in range(10, 16):
                order.months[month(2022 + (m > 12), (m - 1) % 12 + 1)] = recurring[j]
            order.months[month(2023, 4)] = recurring[j]  # next year: not in R.4
        else:
            order.months[month(2022, 5 + (j - 10) % 7)] = one_offs[j - 10]
        plan.orders.append(order)
    # 66 deals lost in R.4 (64,750,000 yen), with buyers who also lost in R.3.
    for i, amount in enumerate(_split(64_750_000, 66, 980_000)):
        b = 30 + i
        opened = date(2022, 4 + i % 9, 3)
        _deal(
            plan,
            f"R4失注{b:03d}",
            b,
            "失注",
            amount,
            opened,
            opened + timedelta(days=50),
            REASONS[(i + 1) % 3],
            OPEN_STAGE_LABELS[i % 4],
        )
    # R.5 has begun: a deal opened after R.4 is in no R.4 figure.
    _deal(plan, "R5案件", 130, "リード", 5_000_000, date(2023, 4, 3), None)


def _assignments(plan: SeedPlan) -> None:
    """Two facilities on every order month: 40 facilities work in R.3 and 61 in R.4."""
    r3_workers = [FACILITY.format(n) for n in range(1, 41)]
    r4_workers = [FACILITY.format(n) for n in [*range(1, 51), *range(66, 77)]]
    slot = {R3: 0, R4: 0}
    for order in plan.orders:
        for day, amount in sorted(order.months.items()):
            fy = day.year if day.month >= 4 else day.year - 1
            if fy not in slot:
                continue
            workers = r3_workers if fy == R3 else r4_workers
            for _two in range(2):
                name = workers[slot[fy] % len(workers)]
                slot[fy] += 1
                plan.assignments.append(
                    [name, order.title, day.strftime("%Y-%m"), 100, round(amount / 2_000, 1)]
                )
    # The facility that left worked in R.3 but counts as neither participating nor active.
    plan.assignments.append([FACILITY.format(LEFT_FACILITY), "R3受注06", "2021-10", 10, 5.0])


def build_plan() -> SeedPlan:
    plan = SeedPlan()
    _facilities(plan)
    for b in range(1, 131):
        name = BUYER.format(b)
        plan.buyers.append([name, "はい" if b == MUNICIPAL_BUYER else "いいえ"])
    _wages(plan)
    _r3(plan)
    _r4(plan)
    _assignments(plan)
    return plan


# --- loading through the import ------------------------------------------------------------


def import_file(client: Any, kind: str, data: bytes) -> None:
    response = client.post(
        f"{BASE}/{kind}/upload",
        data={f"{kind}-file": (io.BytesIO(data), f"{kind}.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.text[:3000]
    token = re.search(r"/([0-9a-f]{32})$", response.headers["Location"]).group(1)
    preview = client.get(response.headers["Location"])
    assert preview.status_code == 200, preview.text[:3000]
    confirmed = client.post(f"{BASE}/{kind}/{token}/confirm", data={"encoding": ""})
    assert confirmed.status_code == 303, confirmed.text[:3000]
    progress = client.get(confirmed.headers["Location"])
    assert "flash-success" in progress.text, progress.text[:3000]


def load(app: Any, client: Any, tenant_id: int) -> SeedPlan:
    """Load the seed's years into workspace alpha (``client`` signed in as a writer)."""
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        seed_defaults(s)
        s.commit()
    plan = build_plan()
    import_file(
        client,
        "facilities",
        csv_bytes(
            ["事業所名", "種別", "状態", "参加開始日", "利用者数", "月間作業可能時間", "都道府県"],
            plan.facilities,
        ),
    )
    import_file(client, "buyers", csv_bytes(["企業名", "自治体"], plan.buyers))
    import_file(
        client,
        "deals",
        csv_bytes(
            [
                "案件名",
                "発注企業",
                "段階",
                "商談金額",
                "商談開始日",
                "受注・失注日",
                "失注理由",
                "到達段階",
            ],
            plan.deals,
        ),
    )
    with app.app_context(), db.new_session() as s, tenant_scope(s, tenant_id):
        deal_ids = dict(s.execute(select(Deal.title, Deal.id)).all())
    import_file(
        client,
        "orders",
        csv_bytes(
            ["件名", "発注企業", "商談番号", "受注確定日", "初回アサイン日"],
            [
                [
                    o.title,
                    BUYER.format(o.buyer),
                    deal_ids[o.deal_title] if o.deal_title else "",
                    o.confirmed_on.isoformat(),
                    (o.confirmed_on + timedelta(days=o.assigned_after)).isoformat()
                    if o.assigned_after is not None
                    else "",
                ]
                for o in plan.orders
            ],
        ),
    )
    month_rows = []
    for o in plan.orders:
        for day, amount in sorted(o.months.items()):
            # The buyers forecast their recurring work: 10% high in odd months.
            forecast = amount + amount // 10 if day.month % 2 else amount
            month_rows.append([o.title, f"{day.year}年{day.month}月", forecast, amount])
    import_file(
        client, "order_months", csv_bytes(["件名", "月", "発注予測額", "実績額"], month_rows)
    )
    import_file(
        client,
        "facility_wages",
        csv_bytes(["事業所名", "年度", "平均工賃(月額)", "利用者数"], plan.wages),
    )
    import_file(
        client,
        "assignments",
        csv_bytes(["事業所名", "件名", "月", "数量", "時間"], plan.assignments),
    )
    return plan
