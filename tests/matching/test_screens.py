"""Matching screens over a real database: work specs, proposals with reasons, adjusting and
re-solving, confirming (assignments, notifications, mail, lead time), the monthly plan,
weights, buyers' exclusions — and what bad input and outsiders get."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.catalogs.models import Capability
from app.deals.models import Deal, DealStage
from app.facilities.models import Facility, FacilityCapability, FacilityKind
from app.mail import outbox
from app.matching import service
from app.matching.models import Assignment, BuyerExclusion, MatchingSettings, WorkSpec
from app.notifications.models import Notification
from app.orders.models import Order
from app.timeline.models import TimelineEntry

MONTH = "2026-07"
JULY = date(2026, 7, 1)
BASE = "/t/alpha/matching"


def count(model):
    return lambda s: int(s.scalar(select(func.count()).select_from(model)) or 0)


def assignments(read):
    return read(
        lambda s: [
            (a.facility_id, a.quantity)
            for a in s.scalars(select(Assignment).order_by(Assignment.facility_id))
        ]
    )


# --- work specs -----------------------------------------------------------------------------


def test_spec_is_saved_with_its_processes(client, world, samples, read):
    client.login_as(world.coordinator)
    page = client.get(f"{BASE}/orders/1/spec")
    assert page.status_code == 200 and "組立" in page.text
    response = client.post(
        f"{BASE}/orders/1/spec",
        data={
            "unit": "pieces",
            "quantity": "５，０００",
            "hours_per_unit": "0.05",
            "min_lot": "500",
            f"cap-{samples['capabilities']}": "2",
            "needs_pc": "y",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/matching/orders/1")
    spec = read(lambda s: s.scalar(select(WorkSpec).where(WorkSpec.order_id == 1)))
    assert (spec.unit.value, spec.quantity, spec.hours_per_unit, spec.min_lot, spec.needs_pc) == (
        "pieces",
        5000,
        0.05,
        500,
        True,
    )
    levels = read(lambda s: service.spec_requirements(s, [spec.id])[spec.id])
    assert [(name, level) for _, name, level in levels] == [("組立", 2)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"unit": "pieces", "quantity": "100", "hours_per_unit": ""}, "1個あたりの作業時間を入力"),
        (
            {"unit": "hours", "quantity": "100", "min_lot": "200"},
            "最小ロットは数量より大きくできません",
        ),
        ({"unit": "hours", "quantity": "100", "on_site": "y"}, "最大距離"),
        ({"unit": "hours", "quantity": "abc"}, 'id="quantity-error"'),
        ({"unit": "hours", "quantity": ""}, 'id="quantity-error"'),
    ],
)
def test_spec_bad_input_is_refused_and_nothing_changes(client, world, samples, read, data, message):
    client.login_as(world.coordinator)
    response = client.post(f"{BASE}/orders/1/spec", data=data)
    assert response.status_code == 422
    assert message in response.text
    spec = read(lambda s: s.scalar(select(WorkSpec).where(WorkSpec.order_id == 1)))
    assert (spec.quantity, spec.unit.value) == (100, "hours")


def test_deal_trial_spec_needs_a_readable_month(client, world, samples, read):
    client.login_as(world.coordinator)
    bad = client.post(
        f"{BASE}/deals/1/spec", data={"unit": "hours", "quantity": "20", "trial_month": "7月"}
    )
    assert bad.status_code == 422 and "2026-05" in bad.text
    good = client.post(
        f"{BASE}/deals/1/spec", data={"unit": "hours", "quantity": "20", "trial_month": "2026/7"}
    )
    assert good.status_code == 303
    spec = read(lambda s: s.scalar(select(WorkSpec).where(WorkSpec.deal_id == 1)))
    assert spec.trial_month == JULY


# --- proposals ------------------------------------------------------------------------------


def test_proposal_splits_the_work_and_says_why(client, world, floor):
    client.login_as(world.viewer)
    page = client.get(f"{BASE}/orders/1?month={MONTH}")
    assert page.status_code == 200
    text = page.text
    # 120 h over 60 + 60 + 40 h free: the two lowest wages get work, quantities shown.
    for name in ("ひまわり作業所", "あおば工房"):
        assert name in text
    assert "工程・習熟度の不足" in text and "つばさ" in text
    assert "休止中" in text
    assert "最適" in text
    # A read-only member sees no confirm button.
    assert "確定して事業所に通知" not in text


def test_resolve_with_exclusion_and_lock(client, world, floor, read):
    himawari, aoba, midori, *_ = floor
    client.login_as(world.coordinator)
    response = client.post(
        f"{BASE}/orders/1/propose",
        data={"month": MONTH, f"q-{himawari}": "10", f"lock-{himawari}": "1", f"ex-{aoba}": "1"},
        headers={"HX-Request": "true", "HX-Target": "proposal"},
    )
    assert response.status_code == 200
    fragment = response.text
    assert fragment.lstrip().startswith('<section id="proposal"')
    quantities = dict(re.findall(r'name="q-(\d+)"[^>]*value="([\d.]+)"', fragment))
    assert quantities[str(himawari)] == "10"
    assert str(aoba) not in quantities
    assert quantities[str(midori)] == "40"
    # Excluded by the coordinator: listed, ticked, so the next re-solve keeps it out.
    assert re.search(rf'name="ex-{aoba}" value="1" checked', fragment)
    assert "対象外にした" in fragment or "除外" in fragment
    assert assignments(read) == []  # re-solving stores nothing


def test_confirm_records_notifies_and_stamps_lead_time(app, client, world, floor, read):
    himawari, aoba, *_ = floor
    client.login_as(world.coordinator)
    response = client.post(
        f"{BASE}/orders/1/confirm",
        data={"month": MONTH, f"q-{himawari}": "60", f"q-{aoba}": "60"},
    )
    assert response.status_code == 303, response.text
    assert assignments(read) == [(himawari, 60.0), (aoba, 60.0)]
    order = read(lambda s: s.get(Order, (s.info["tenant_id"], 1)))
    assert order.assigned_on is not None
    notes = read(lambda s: list(s.scalars(select(Notification).order_by(Notification.id))))
    assert {
        n.facility_id for n in notes if n.kind == "assignment" and n.title.startswith("作業の割当")
    } >= {
        himawari,
        aoba,
    }
    with app.app_context():
        mails = [m for m in outbox() if m.to == "himawari@example.jp"]
    assert mails and "60時間" in mails[-1].body
    entries = read(
        lambda s: s.scalars(select(TimelineEntry.body).where(TimelineEntry.order_id == 1)).all()
    )
    assert any("割当確定" in body for body in entries)
    first_day = order.assigned_on

    # Confirming again replaces the assignment; only changed facilities are notified.
    before = read(count(Notification))
    again = client.post(
        f"{BASE}/orders/1/confirm", data={"month": MONTH, f"q-{himawari}": "60", f"q-{aoba}": "30"}
    )
    assert again.status_code == 303
    assert assignments(read) == [(himawari, 60.0), (aoba, 30.0)]
    assert read(count(Notification)) == before + 1
    assert read(lambda s: s.get(Order, (s.info["tenant_id"], 1))).assigned_on == first_day


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ({"q-HIM": "61"}, "空きは 60 h"),
        ({"q-HIM": "30", "q-AOB": "61"}, "の空きは 60 h"),
        ({"q-HIM": "100", "q-AOB": "21"}, "を超えています"),
        ({"q-TSU": "10"}, "この仕事を受けられません"),
        ({"q-HIM": "十"}, "数量は 0 以上の数で"),
        ({"q-999": "10"}, "存在しないか"),
        ({}, "少なくとも 1 つ"),
    ],
)
def test_confirm_refuses_what_breaks_a_rule(client, world, floor, read, rows, message):
    himawari, aoba, _midori, tsubasa, _paused = floor
    names = {"HIM": himawari, "AOB": aoba, "TSU": tsubasa}
    data = {"month": MONTH}
    for key, value in rows.items():
        code = key.split("-")[1]
        data[f"q-{names.get(code, code)}"] = value
    client.login_as(world.coordinator)
    response = client.post(f"{BASE}/orders/1/confirm", data=data)
    assert response.status_code == 422
    assert message in response.text, response.text[:3000]
    assert assignments(read) == []
    assert read(count(Notification)) == 0


def test_shortage_names_what_is_short(client, world, floor, arrange):
    def more(s):
        s.scalar(select(WorkSpec).where(WorkSpec.order_id == 1)).quantity = 300

    arrange(more)
    client.login_as(world.coordinator)
    page = client.get(f"{BASE}/orders/1?month={MONTH}")
    assert page.status_code == 200
    assert "組立 の能力が 2026-07 に 140 h 不足" in page.text


def test_free_capacity_counts_confirmed_work_and_forecast(app, world, floor, arrange, read):
    himawari, aoba, *_ = floor

    def other_orders(s):
        boxes = Order(buyer_id=1, title="箱折り", confirmed_on=date(2026, 5, 1))
        bags = Order(buyer_id=1, title="袋詰め", confirmed_on=date(2026, 5, 1))
        s.add_all([boxes, bags])
        s.flush()
        # Boxes: confirmed in June at aoba only; July has no assignment yet, so aoba is
        # expected to keep its 25 h (forecast). Bags: confirmed in July at himawari.
        s.add(
            Assignment(
                order_id=boxes.id, facility_id=aoba, month=date(2026, 6, 1), quantity=25, hours=25
            )
        )
        s.add(Assignment(order_id=bags.id, facility_id=himawari, month=JULY, quantity=20, hours=20))
        return boxes.id

    boxes = arrange(other_orders)
    july = read(lambda s: service.committed_hours(s, JULY, [service.Subject("order", 1)]))
    assert july == {himawari: 20.0, aoba: 25.0}
    august = read(lambda s: service.committed_hours(s, date(2026, 8, 1), []))
    assert august == {himawari: 20.0, aoba: 25.0}
    # Planning the boxes themselves: their own forecast never counts against them.
    own = read(lambda s: service.committed_hours(s, JULY, [service.Subject("order", boxes)]))
    assert own == {himawari: 20.0}


def test_deal_trial_proposal_and_confirm(client, world, floor, arrange, read):
    himawari, *_ = floor

    def trial(s):
        deal = s.get(Deal, (s.info["tenant_id"], 1))
        deal.stage = DealStage.TRIAL
        s.add(WorkSpec(deal_id=1, quantity=8, trial_month=JULY))

    arrange(trial)
    client.login_as(world.coordinator)
    index = client.get(f"{BASE}/?month={MONTH}")
    assert "部品の組立" in index.text and "/matching/deals/1" in index.text
    assert client.get(f"{BASE}/deals/1").status_code == 200
    response = client.post(f"{BASE}/deals/1/confirm", data={f"q-{himawari}": "8"})
    assert response.status_code == 303
    rows = read(lambda s: [(a.deal_id, a.order_id, a.month) for a in s.scalars(select(Assignment))])
    assert rows == [(1, None, JULY)]


def test_monthly_plan_covers_every_open_order(client, world, floor, arrange, read):
    def second(s):
        order = Order(buyer_id=1, title="袋詰め", confirmed_on=date(2026, 6, 15))
        s.add(order)
        s.flush()
        s.add(WorkSpec(order_id=order.id, quantity=40))
        s.add(Order(buyer_id=1, title="仕様なしの受注", confirmed_on=date(2026, 6, 20)))

    arrange(second)
    client.login_as(world.coordinator)
    page = client.get(f"{BASE}/plan?month={MONTH}")
    assert "袋詰め" in page.text and "仕様なしの受注" in page.text
    planned = client.post(f"{BASE}/plan", data={"month": MONTH})
    assert planned.status_code == 200
    fields = dict(re.findall(r'name="(order-\d+:\d+)" value="([\d.]+)"', planned.text))
    assert sum(float(v) for k, v in fields.items() if k.startswith("order-1:")) == 120
    assert sum(float(v) for k, v in fields.items() if k.startswith("order-2:")) == 40
    confirmed = client.post(f"{BASE}/plan/confirm", data={"month": MONTH, **fields})
    assert confirmed.status_code == 303
    rows = read(lambda s: s.scalars(select(Assignment.order_id)).all())
    assert set(rows) == {1, 2}
    assert sum(q for _, q in assignments(read)) == 160
    # Planned again without re-planning: nothing left to plan.
    assert (
        "この月に計画するものはありません"
        in client.post(f"{BASE}/plan", data={"month": MONTH}).text
    )


def test_monthly_plan_confirm_is_all_or_nothing(client, world, floor, read):
    himawari, _aoba, _m, tsubasa, _p = floor
    client.login_as(world.coordinator)
    response = client.post(
        f"{BASE}/plan/confirm",
        data={"month": MONTH, f"order-1:{himawari}": "60", f"order-1:{tsubasa}": "10"},
    )
    assert response.status_code == 303
    assert assignments(read) == []
    assert "確定していません" in client.get(response.headers["Location"]).text


# --- weights and exclusions -----------------------------------------------------------------


def test_weights_are_saved_and_used(client, world, samples, read):
    client.login_as(world.admin)
    page = client.get(f"{BASE}/settings")
    assert page.status_code == 200 and 'value="1.0"' in page.text
    bad = client.post(
        f"{BASE}/settings",
        data={
            "distance": "-1",
            "quality": "1",
            "wage_uplift": "1",
            "idle_bonus": "5",
            "concentration": "0.25",
        },
    )
    assert bad.status_code == 422 and read(count(MatchingSettings)) == 1  # the sample's
    assert read(service.load_weights).distance == 1.0  # unchanged
    ok = client.post(
        f"{BASE}/settings",
        data={
            "distance": "2",
            "quality": "0",
            "wage_uplift": "3",
            "idle_bonus": "5",
            "concentration": "0.5",
        },
    )
    assert ok.status_code == 303
    weights = read(service.load_weights)
    assert (weights.distance, weights.quality, weights.wage_uplift) == (2.0, 0.0, 3.0)


def test_buyer_exclusion_keeps_a_facility_out(client, world, floor, read):
    himawari, *_ = floor
    client.login_as(world.coordinator)
    response = client.post(
        f"{BASE}/buyers/1/exclusions", data={"facility_id": str(himawari), "reason": "品質要件"}
    )
    assert response.status_code == 303
    page = client.get(f"{BASE}/orders/1?month={MONTH}")
    assert f'name="q-{himawari}"' not in page.text
    assert "取引先による除外" in page.text
    again = client.post(f"{BASE}/buyers/1/exclusions", data={"facility_id": str(himawari)})
    assert again.status_code == 422
    removed = client.post(f"{BASE}/buyers/1/exclusions/{himawari}/delete")
    assert removed.status_code == 303 and read(count(BuyerExclusion)) == 0


# --- outsiders and query counts -------------------------------------------------------------


def test_outsider_cannot_confirm_or_see_alpha_work(client, world, floor, read):
    himawari, *_ = floor
    client.login_as(world.outsider)
    for path in ("/orders/1", "/orders/1/spec", "/plan", "/buyers/1/exclusions", "/"):
        assert client.get(f"{BASE}{path}").status_code == 404
    response = client.post(f"{BASE}/orders/1/confirm", data={f"q-{himawari}": "10"})
    assert response.status_code == 404
    # Beta's own matching page does not know alpha's order.
    assert client.get("/t/beta/matching/orders/1").status_code == 404
    assert assignments(read) == []


def test_proposal_query_count_does_not_grow_with_facilities(
    client, world, floor, arrange, samples, query_counter
):
    client.login_as(world.coordinator)
    client.get(f"{BASE}/orders/1?month={MONTH}")
    query_counter.clear()
    client.get(f"{BASE}/orders/1?month={MONTH}")
    few = len(query_counter)

    def many(s):
        cap = s.scalar(select(Capability.id))
        for n in range(40):
            f = Facility(name=f"追加{n}", kind=FacilityKind.TYPE_B, hours_per_month=10)
            s.add(f)
            s.flush()
            s.add(FacilityCapability(facility_id=f.id, capability_id=cap, proficiency=1))

    arrange(many)
    query_counter.clear()
    client.get(f"{BASE}/orders/1?month={MONTH}")
    assert len(query_counter) == few
