"""The buyer portal's quality pages: the company's delivered lots and their traceability (page
and PDF), its nonconformances (and reporting one), its support requests (with the scope shown
before sending), photos — and nothing of another company, of another workspace, or of a lot
not delivered yet."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jp import fiscal_year_of
from app.notifications.models import Notification
from app.orders.models import Delivery
from app.portal.shared_quality import LotVerdict, Share, lot_verdict
from app.quality.models import (
    InspectionPhoto,
    InspectionResult,
    Nonconformance,
    NonconformanceFile,
    NonconformanceSource,
    SupportMode,
    SupportRequest,
    SupportStatus,
)
from app.storage.checks import IMAGES
from app.storage.models import StoredFile
from app.storage.service import save_upload
from tenants.isolation import tenant_scope
from tenants.models import Role
from tests.conftest import add_member
from tests.quality.conftest import count, error_fields
from tests.support.people import add_person
from tests.support.quality_shop import WORKERS_OF_X
from tests.support.samples import add_sample_records
from tests.support.shop import SECRET_NOTE
from tests.support.storage import jpeg_bytes, object_keys

PORTAL = "/t/alpha/portal"
NEW_NC = f"{PORTAL}/nonconformances/new"
NEW_SUPPORT = f"{PORTAL}/support/new"


@pytest.fixture
def buyer(client, qshop):
    return client.login_as(qshop.shop.buyer_a)


def section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


# --- the verdict of a lot (pure) -----------------------------------------------------------


def test_a_lots_verdict_adds_up_its_shares():
    accepted = Share(InspectionResult.ACCEPTED, 600, 600)
    partial = Share(InspectionResult.PARTIAL, 400, 380)
    rejected = Share(InspectionResult.REJECTED, 100, 0)
    pending = Share(InspectionResult.PENDING, 50, None)
    assert lot_verdict([]) == LotVerdict(None)
    assert lot_verdict([accepted]) == LotVerdict(InspectionResult.ACCEPTED, 600, 600)
    assert lot_verdict([accepted, partial]) == LotVerdict(InspectionResult.PARTIAL, 1000, 980)
    assert lot_verdict([accepted, rejected]) == LotVerdict(InspectionResult.PARTIAL, 700, 600)
    assert lot_verdict([rejected, rejected]) == LotVerdict(InspectionResult.REJECTED, 200, 0)
    assert lot_verdict([accepted, pending]).result == InspectionResult.PENDING
    assert lot_verdict([accepted, pending]).accepted is None


# --- lots and traceability -----------------------------------------------------------------


def test_the_quality_page_lists_delivered_lots_with_the_central_verdict(buyer, qshop):
    page = buyer.get(f"{PORTAL}/quality").text
    row = page.split('id="lot-1"', 1)[1].split("</tr>", 1)[0]
    assert "L-001" in row and "980" in row and "1,000" in row  # partly accepted
    assert "L-002" not in page  # not delivered yet
    assert "B-001" not in page  # company B's


def test_the_nav_has_the_quality_pages(buyer, qshop):
    page = buyer.get(f"{PORTAL}/").text
    nav = page.split('class="main-nav"', 1)[1].split("</nav>", 1)[0]
    for path in ("/quality", "/nonconformances", "/support"):
        assert f'href="{PORTAL}{path}"' in nav


def test_the_traceability_page_shares_the_record_without_internal_data(buyer, qshop):
    page = buyer.get(f"{PORTAL}/lots/1").text
    works = section(page, "works")
    for shared in ("さくら作業所", "みどり工房", "作業 一郎", "緑 花子", "作業マニュアル v1"):
        assert shared in works
    assert f">{WORKERS_OF_X}<" not in works  # the facility's staffing stays internal
    inspections = section(page, "inspections")
    assert "品質 花子" in inspections and "380" in inspections  # the partial acceptance
    assert "治具の摩耗" not in page  # root causes are on the nonconformance's page
    assert "外観キズ" in section(page, "nonconformances")
    assert SECRET_NOTE not in page
    assert 'href="/t/alpha/portal/lots/1/trace.pdf"' in page
    # The order page links the delivered lot to it, not the one still in production.
    order = buyer.get(f"{PORTAL}/orders/1").text
    assert 'href="/t/alpha/portal/lots/1"' in order
    assert f'href="/t/alpha/portal/lots/{qshop.lot_a2}"' not in order


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_the_printed_record_is_the_quality_modules_pdf_as_shared(buyer, qshop):
    response = buyer.get(f"{PORTAL}/lots/1/trace.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Cache-Control"] == "private, no-store"
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    for shared in ("L-001", "さくら作業所", "みどり工房", "作業 一郎", "外観キズ", "全数再検品"):
        assert shared in text
    assert "品質チーム" not in text  # the owner of the action
    assert SECRET_NOTE not in text


def test_an_undelivered_lot_is_not_shared_yet(buyer, qshop):
    assert buyer.get(f"{PORTAL}/lots/{qshop.lot_a2}").status_code == 404
    assert buyer.get(f"{PORTAL}/lots/{qshop.lot_a2}/trace.pdf").status_code == 404


def test_buyer_b_sees_nothing_of_company_as_quality(client, qshop):
    other = client.login_as(qshop.shop.buyer_b)
    for path in (
        "/lots/1",
        "/lots/1/trace.pdf",
        "/nonconformances/1",
        "/support/1",
        "/files/1/preview",
    ):
        assert other.get(PORTAL + path).status_code == 404, path
    assert "L-001" not in other.get(f"{PORTAL}/quality").text
    assert "B-001" in other.get(f"{PORTAL}/quality").text  # its own
    ncs = other.get(f"{PORTAL}/nonconformances").text
    assert "外観キズ" not in ncs and "ビー商事ロットの印字かすれ" in ncs
    support = other.get(f"{PORTAL}/support").text
    assert "組立不良の原因調査" not in support and "ビー商事の技術相談" in support


def test_outsiders_and_staff_cannot_reach_the_buyers_quality_pages(client, world, qshop):
    outsider = client.login_as(world.outsider)
    for path in ("/quality", "/lots/1", "/nonconformances/1", "/support/1", "/files/1/preview"):
        assert outsider.get(PORTAL + path).status_code == 404, path
    assert outsider.post(NEW_NC).status_code == 404
    staff = client.login_as(world.admin)
    assert staff.get(f"{PORTAL}/lots/1").status_code == 403


# --- photos --------------------------------------------------------------------------------


def add_inspection_photo(app, world, storage, inspection_id: int) -> int:
    with app.app_context(), db.new_session() as s, tenant_scope(s, world.alpha.id):
        stored = save_upload(
            s, storage, data=jpeg_bytes(), filename="検品.jpg", allowed=IMAGES, max_bytes=10**7
        )
        s.add(InspectionPhoto(inspection_id=inspection_id, file_id=stored.id))
        s.commit()
        return stored.id


def test_inspection_photos_of_a_shared_lot_are_shown(app, world, buyer, client, qshop, storage):
    file_id = add_inspection_photo(app, world, storage, inspection_id=2)  # X's central check
    page = buyer.get(f"{PORTAL}/lots/1").text
    assert f'src="/t/alpha/portal/files/{file_id}/preview"' in page
    # Streamed responses hold the file open until the server closes them: so do we.
    with buyer.get(f"{PORTAL}/files/{file_id}/preview") as response:
        assert response.status_code == 200 and response.data.startswith(b"\xff\xd8\xff")
    assert (
        client.login_as(qshop.shop.buyer_b).get(f"{PORTAL}/files/{file_id}/preview").status_code
        == 404
    )


# --- reporting a nonconformance ------------------------------------------------------------


def nc_form(qshop, **changes):
    data = {
        "delivery_id": "1",
        "severity": "major",
        "title": "前面パネルにキズ",
        "description": "10箱中3箱で確認。",
        "quantity_affected": "30",
        "found_on": qshop.today.isoformat(),
    }
    data.update(changes)
    return data


def test_the_buyer_reports_a_nonconformance_with_photos(buyer, client, world, qshop, read, storage):
    form = buyer.get(f"{NEW_NC}?delivery_id=1").text
    assert '<option selected value="1">' in form or 'value="1" selected' in form
    assert f'value="{qshop.lot_a2}"' not in form and f'value="{qshop.lot_b}"' not in form
    photo = (io.BytesIO(jpeg_bytes()), "キズ.jpg")
    response = buyer.post(
        NEW_NC, data={**nc_form(qshop), "photos": [photo]}, content_type="multipart/form-data"
    )
    assert response.status_code == 303, error_fields(response.text)
    nc_id = int(response.headers["Location"].rsplit("/", 1)[1])
    nc = read(lambda s: s.get(Nonconformance, (world.alpha.id, nc_id)))
    assert nc.source == NonconformanceSource.BUYER and nc.delivery_id == 1
    assert nc.facility_id is None and nc.raised_by_user_id == qshop.shop.buyer_a.id
    files = read(
        lambda s: s.scalars(
            select(NonconformanceFile).where(NonconformanceFile.nonconformance_id == nc_id)
        ).all()
    )
    assert len(files) == 1 and len(object_keys(storage)) == 2  # the photo and its preview
    # The staff handling the order are told (the deal's owner: alpha's admin).
    notes = read(
        lambda s: s.scalars(
            select(Notification).where(Notification.kind == "buyer_nonconformance")
        ).all()
    )
    assert [n.membership_id for n in notes] == [world.memberships["admin"].id]
    assert notes[0].link == f"/t/alpha/quality/nonconformances/{nc_id}"
    assert "前面パネルにキズ" in notes[0].title
    # The buyer reads it back with its words and its photo; company B cannot.
    page = buyer.get(f"{PORTAL}/nonconformances/{nc_id}").text
    assert "10箱中3箱で確認。" in page
    photo_url = f"{PORTAL}/files/{files[0].file_id}/preview"
    assert photo_url in page
    with buyer.get(photo_url) as response:
        assert response.data.startswith(b"\xff\xd8\xff")
    other = client.login_as(qshop.shop.buyer_b)
    assert other.get(f"{PORTAL}/nonconformances/{nc_id}").status_code == 404
    assert other.get(photo_url).status_code == 404


def test_the_quality_team_hears_of_it_too(buyer, app, world, qshop, read):
    with app.app_context(), db.new_session() as s:
        quality_user = add_person(s, "quality@example.jp")
        member = add_member(s, world.alpha, quality_user, Role.QUALITY)
        s.commit()
    assert buyer.post(NEW_NC, data=nc_form(qshop)).status_code == 303
    told = read(
        lambda s: set(
            s.scalars(
                select(Notification.membership_id).where(
                    Notification.kind == "buyer_nonconformance"
                )
            )
        )
    )
    assert told == {world.memberships["admin"].id, member.id}


def test_an_internal_nonconformance_is_shared_without_its_description(buyer, qshop):
    page = buyer.get(f"{PORTAL}/nonconformances/1").text
    assert "外観キズ" in page and "治具の摩耗" in page  # the root cause
    actions = section(page, "actions")
    assert "全数再検品" in actions and "品質チーム" not in actions  # the action, not its owner
    assert SECRET_NOTE not in page


def stored_nothing(read, storage=None, ncs=2):
    assert read(count(Nonconformance)) == ncs  # the sample's and company B's
    assert read(count(StoredFile)) == 1  # the sample's
    assert read(count(Notification)) == 2  # the shop's facility notifications
    if storage is not None:
        assert object_keys(storage) == []


def test_a_photo_that_is_not_an_image_is_refused(buyer, qshop, read, storage):
    fake = (io.BytesIO(b"%PDF-1.4 not a photo"), "写真.jpg")
    response = buyer.post(
        NEW_NC, data={**nc_form(qshop), "photos": [fake]}, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and error_fields(response.text) == {"photos"}
    assert "写真.jpg" in response.text
    stored_nothing(read, storage)


def test_a_good_photo_with_a_bad_one_stores_neither(buyer, qshop, read, storage):
    good = (io.BytesIO(jpeg_bytes()), "良い.jpg")
    bad = (io.BytesIO(b"GIF89a"), "悪い.gif")
    response = buyer.post(
        NEW_NC, data={**nc_form(qshop), "photos": [good, bad]}, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and error_fields(response.text) == {"photos"}
    stored_nothing(read, storage)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"delivery_id": "B"}, "delivery_id"),  # company B's lot (filled in below)
        ({"delivery_id": "A2"}, "delivery_id"),  # its own lot, not delivered yet
        ({"delivery_id": "99"}, "delivery_id"),  # a lot of another workspace (below)
        ({"found_on": "yesterday-1"}, "found_on"),  # before the delivery
        ({"found_on": "tomorrow"}, "found_on"),
        ({"quantity_affected": "1001"}, "quantity_affected"),  # more than the lot
        ({"title": ""}, "title"),
        ({"severity": "apocalyptic"}, "severity"),
    ],
)
def test_bad_reports_are_refused_and_nothing_is_stored(
    buyer, app, world, qshop, read, changes, field
):
    with app.app_context(), db.new_session() as s:
        add_sample_records(s, world.memberships["outsider"], label="β")
        with tenant_scope(s, world.beta.id):
            for n in range(2, 100):
                s.add(Delivery(order_id=1, lot_no=f"β-{n}", original_due_on=qshop.today))
            s.commit()
    values = {
        "B": str(qshop.lot_b),
        "A2": str(qshop.lot_a2),
        "yesterday-1": (qshop.delivered_on - timedelta(days=1)).isoformat(),
        "tomorrow": (qshop.today + timedelta(days=1)).isoformat(),
    }
    data = nc_form(qshop, **{k: values.get(v, v) for k, v in changes.items()})
    response = buyer.post(NEW_NC, data=data)
    assert response.status_code == 422
    assert error_fields(response.text) == {field}
    stored_nothing(read)
    assert read(count(Nonconformance), world.beta.id) == 1  # beta's sample, untouched


# --- technical support ---------------------------------------------------------------------


@pytest.fixture
def terms(arrange):
    """Agreement 1: remote first, 2 free visits a year, 30,000 yen a paid visit, 24 hours."""

    def set_terms(s):
        from app.agreements.models import Agreement

        agreement = s.get(Agreement, (s.info["tenant_id"], 1))
        agreement.remote_support_first = True
        agreement.onsite_support_included = True
        agreement.free_onsite_visits_per_year = 2
        agreement.onsite_rate_yen = 30_000
        agreement.response_time_hours = 24

    arrange(set_terms)


def support_form(**changes):
    data = {
        "order_id": "1",
        "nonconformance_id": "",
        "subject": "組立手順の相談",
        "description": "キズの出ない置き方を教えてほしい",
        "mode": "remote",
        "checked": "1:remote:0",
        "step": "send",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_scope_is_shown_before_sending(buyer, qshop, terms):
    page = buyer.get(NEW_SUPPORT).text
    scope = section(page, "scope")
    assert "30,000" in scope  # the paid rate
    assert "2" in section(page, "scope").split('id="scope-visits"', 1)[1].split("</dd>")[0]
    assert 'id="scope-due"' in scope and "24" in scope.split('id="scope-due"', 1)[1]
    assert 'id="scope-flag"' not in scope  # remote: within the scope
    assert 'name="checked" value="1:remote:0"' in scope


def test_checking_an_onsite_request_flags_it_when_remote_was_not_tried(buyer, qshop, terms):
    response = buyer.post(NEW_SUPPORT, data=support_form(mode="onsite", step="check"))
    assert response.status_code == 200
    scope = section(response.text, "scope")
    assert 'id="scope-flag"' in scope and 'name="accept_outside_scope"' in scope
    assert 'value="1:onsite:0"' in scope
    # htmx asks for the panel alone when a choice changes.
    fragment = buyer.post(
        NEW_SUPPORT,
        data=support_form(mode="onsite", remote_tried="y", step="check"),
        headers={"HX-Request": "true", "HX-Target": "scope"},
    )
    assert fragment.text.lstrip().startswith('<section id="scope"')
    assert 'id="scope-flag"' not in fragment.text  # remote tried, a free visit left
    assert 'value="1:onsite:1"' in fragment.text


def test_sending_needs_the_scope_of_these_choices_to_have_been_shown(buyer, qshop, terms, read):
    response = buyer.post(NEW_SUPPORT, data=support_form(mode="onsite", checked="1:remote:0"))
    assert response.status_code == 422
    assert 'id="scope-flag"' in response.text  # now shown
    assert read(count(SupportRequest)) == 2


def test_a_request_outside_the_scope_needs_the_buyers_understanding(
    buyer, world, qshop, terms, read
):
    outside = support_form(mode="onsite", checked="1:onsite:0")
    refused = buyer.post(NEW_SUPPORT, data=outside)
    assert refused.status_code == 422
    assert error_fields(refused.text) == {"accept_outside_scope"}
    assert read(count(SupportRequest)) == 2
    sent = buyer.post(NEW_SUPPORT, data={**outside, "accept_outside_scope": "y"})
    assert sent.status_code == 303, error_fields(sent.text)
    request_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    stored = read(lambda s: s.get(SupportRequest, (world.alpha.id, request_id)))
    assert stored.mode == SupportMode.ONSITE and stored.status == SupportStatus.OPEN
    assert stored.requested_by == "株式会社サンプル Buyer_A"
    assert stored.response_due_at - stored.requested_at == timedelta(hours=24)
    note = read(
        lambda s: s.scalars(
            select(Notification).where(Notification.kind == "buyer_support_request")
        ).one()
    )
    assert note.membership_id == world.memberships["admin"].id
    assert note.link == f"/t/alpha/quality/support/{request_id}"
    page = buyer.get(f"{PORTAL}/support/{request_id}").text
    assert "組立手順の相談" in page


def test_a_remote_request_within_the_scope_is_sent_at_once(buyer, world, qshop, terms, read):
    sent = buyer.post(NEW_SUPPORT, data=support_form(nonconformance_id="1"))
    assert sent.status_code == 303, error_fields(sent.text)
    stored = read(lambda s: s.scalars(select(SupportRequest).order_by(SupportRequest.id)).all())
    assert stored[-1].nonconformance_id == 1 and stored[-1].facility_id == 1
    assert stored[-1].mode == SupportMode.REMOTE


def test_free_visits_used_this_year_are_counted(buyer, qshop, terms, arrange):
    def used(s):
        s.add(
            SupportRequest(
                order_id=1,
                agreement_id=1,
                subject="先月の訪問",
                mode=SupportMode.ONSITE,
                status=SupportStatus.DONE,
                uses_free_visit=True,
                fiscal_year=fiscal_year_of(utcnow()),
            )
        )

    arrange(used)
    scope = section(buyer.get(NEW_SUPPORT).text, "scope")
    visits = scope.split('id="scope-visits"', 1)[1].split("</dd>")[0]
    assert "1" in visits and "2" in visits


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"order_id": "B"}, "order_id"),  # company B's order
        ({"nonconformance_id": "B"}, "nonconformance_id"),  # company B's nonconformance
        ({"subject": ""}, "subject"),
    ],
)
def test_bad_support_requests_store_nothing(buyer, qshop, terms, read, changes, field):
    values = {"order_id": str(qshop.shop.order_b), "nonconformance_id": str(qshop.nc_b)}
    data = support_form(**{k: values[k] if v == "B" else v for k, v in changes.items()})
    if "order_id" in changes:
        data["checked"] = f"{data['order_id']}:remote:0"
    response = buyer.post(NEW_SUPPORT, data=data)
    assert response.status_code == 422 and field in error_fields(response.text)
    assert read(count(SupportRequest)) == 2
    assert read(count(Notification)) == 2


def test_a_nonconformance_of_another_order_is_refused(buyer, qshop, terms, read, arrange):
    def second_order(s):
        from app.orders.models import Order

        order = Order(buyer_id=1, title="別の受注", confirmed_on=qshop.today)
        s.add(order)
        s.flush()
        return order.id

    other = arrange(second_order)
    data = support_form(order_id=str(other), nonconformance_id="1", checked=f"{other}:remote:0")
    response = buyer.post(NEW_SUPPORT, data=data)
    assert response.status_code == 422
    assert error_fields(response.text) == {"nonconformance_id"}
    assert read(count(SupportRequest)) == 2


# --- cost ----------------------------------------------------------------------------------

# Per page, whatever the rows: the request's own three (user, the person's workspaces, which
# the switcher shows too, and the company) plus the page's: count and rows, then for lots
# their verdicts and open nonconformances, for nonconformances the company's people (whose
# reports they are), for support requests the agreements and the free visits used (open
# ones' scope).
LIST_QUERIES = {
    "/quality": 7,
    "/nonconformances": 6,
    "/support": 7,
}


def test_list_pages_cost_a_pinned_number_of_queries(buyer, qshop, arrange, query_counter):
    def cost(path):
        buyer.get(PORTAL + path)
        query_counter.clear()
        assert buyer.get(PORTAL + path).status_code == 200
        # PostgreSQL also sets the tenant per transaction: not a query of the page.
        return len([q for q in query_counter if "set_config" not in q])

    few = {path: cost(path) for path in LIST_QUERIES}

    def grow(s):
        for n in range(40):
            lot = Delivery(
                order_id=1,
                lot_no=f"X-{n}",
                quantity=10,
                original_due_on=qshop.delivered_on,
                delivered_on=qshop.delivered_on,
            )
            s.add(lot)
            s.flush()
            s.add(
                Nonconformance(
                    delivery_id=lot.id,
                    source=NonconformanceSource.INTERNAL,
                    severity="minor",
                    title=f"不具合{n}",
                    found_on=qshop.delivered_on,
                )
            )
            s.add(
                SupportRequest(
                    order_id=1, agreement_id=1, subject=f"相談{n}", mode=SupportMode.REMOTE
                )
            )

    arrange(grow)
    many = {path: cost(path) for path in LIST_QUERIES}
    assert many == few, query_counter
    assert few == LIST_QUERIES
