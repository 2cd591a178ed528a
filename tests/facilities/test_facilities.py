"""Facilities: the list (search, filters, sorting, pages, htmx rows, fixed query cost), the
profile page, new / edit with every validation at its field, archive / restore, capabilities
with proficiency, the wage history by fiscal year, and who may do what."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.catalogs.models import Capability, DifficultyLevel
from app.db import utcnow
from app.facilities import service
from app.facilities.models import (
    Facility,
    FacilityCapability,
    FacilityKind,
    FacilityStatus,
    FacilityWage,
)
from app.jp import fiscal_year_of
from tests.catalogs.helpers import assert_error_at, count, htmx, rows, statements_for, workspace

URL = "/t/alpha/facilities/"


@pytest.fixture
def admin(app, world):
    return app.test_client().login_as(world.admin)


@pytest.fixture
def coordinator(app, world):
    return app.test_client().login_as(world.coordinator)


@pytest.fixture
def viewer(app, world):
    return app.test_client().login_as(world.viewer)


@pytest.fixture
def scale(app, world):
    """Difficulty levels 1–3 and three processes in alpha."""
    with workspace(app, world.alpha) as s:
        s.add_all(
            [
                DifficultyLevel(
                    level=1, name="やさしい", definition="見本を見て当日から作業できる"
                ),
                DifficultyLevel(level=2, name="ふつう", definition="手順書に沿って数日で習熟"),
                DifficultyLevel(level=3, name="むずかしい", definition="治具と検査体制が必要"),
                Capability(name="組立", sort_order=1),
                Capability(name="梱包", sort_order=2),
                Capability(name="検品", sort_order=3),
            ]
        )


def add_facility(app, world, **values) -> int:
    values.setdefault("name", "さくら作業所")
    values.setdefault("kind", FacilityKind.TYPE_B)
    with workspace(app, world.alpha) as s:
        facility = Facility(**values)
        s.add(facility)
        s.flush()
        return facility.id


def facility(app, world, facility_id: int = 1) -> Facility:
    with workspace(app, world.alpha) as s:
        found = s.get(Facility, (world.alpha.id, facility_id))
        assert found is not None
        s.expunge_all()
        return found


VALID = {
    "name": "ひまわり工房",
    "kind": "type_a",
    "status": "participating",
    "postal_code": "４２００８５３",
    "prefecture_code": "22",
    "municipality": "静岡市葵区",
    "address": "追手町9-6",
    "latitude": "34.9756",
    "longitude": "138.3828",
    "contact_name": "山田 花子",
    "contact_phone": "054-221-1111",
    "contact_email": "info@himawari.example.jp",
    "equipment": "ボール盤、ノギス",
    "certifications": "ISO 9001",
    "max_difficulty": "2",
    "workers": "１５",
    "hours_per_month": "1,200",
    "pc_experience": "y",
    "participating_since": "2021-04-01",
    "notes": "月曜は休み",
}


def listed(html: str) -> list[str]:
    """Facility names in the order the rows show them."""
    return re.findall(r'<td><a href="/t/alpha/facilities/\d+">([^<]+)</a>', html)


# --- who may do what -----------------------------------------------------------------------


def test_outsider_gets_404(app, world):
    add_facility(app, world)
    outsider = app.test_client().login_as(world.outsider)
    assert outsider.get(URL).status_code == 404
    assert outsider.get(URL + "1").status_code == 404
    assert outsider.post(URL + "1/archive").status_code == 404
    assert facility(app, world).archived_at is None


def test_viewer_reads_but_cannot_write(app, world, viewer, scale):
    fid = add_facility(app, world, workers=3)
    with workspace(app, world.alpha) as s:
        s.add(FacilityCapability(facility_id=fid, capability_id=1, proficiency=2))
    assert viewer.get(URL).status_code == 200
    page = viewer.get(URL + "1")
    assert page.status_code == 200
    assert "/edit" not in page.text
    assert "/archive" not in page.text
    assert 'name="avg_monthly_wage"' not in page.text
    assert viewer.get(URL + "new").status_code == 403
    assert viewer.get(URL + "1/edit").status_code == 403
    posts = {
        URL + "new": VALID,
        URL + "1/edit": VALID,
        URL + "1/archive": {},
        URL + "1/restore": {},
        URL + "1/capabilities": {"capability_id": "2", "proficiency": "1"},
        URL + "1/capabilities/1/remove": {},
        URL + "1/wages": {"fiscal_year": "2024", "avg_monthly_wage": "100"},
    }
    for url, data in posts.items():
        assert viewer.post(url, data=data).status_code == 403, url
    assert count(app, world.alpha, Facility) == 1
    assert facility(app, world).name == "さくら作業所"
    assert count(app, world.alpha, FacilityCapability) == 1
    assert count(app, world.alpha, FacilityWage) == 0


def test_records_of_another_workspace_are_not_found(app, world, admin):
    with workspace(app, world.beta) as s:
        s.add_all([Facility(name="B1", kind=FacilityKind.OTHER)])
    assert admin.get(URL + "1").status_code == 404
    assert admin.post(URL + "1/archive").status_code == 404
    assert "B1" not in admin.get(URL).text


# --- new and edit --------------------------------------------------------------------------


def test_new_form_starts_with_the_workspace_prefecture(app, world, coordinator, scale):
    page = coordinator.get(URL + "new").text
    assert re.search(r'<option selected value="22">', page)
    assert "1 やさしい" in page
    assert '<option selected value="">' in page  # difficulty: not assessed yet


def test_coordinator_adds_a_facility(app, world, coordinator, scale):
    response = coordinator.post(URL + "new", data=VALID)
    assert response.status_code == 303, response.text
    assert urlsplit(response.headers["Location"]).path == URL + "1"
    saved = facility(app, world)
    assert saved.name == "ひまわり工房"
    assert saved.kind is FacilityKind.TYPE_A
    assert saved.status is FacilityStatus.PARTICIPATING
    assert saved.postal_code == "420-0853"
    assert (saved.latitude, saved.longitude) == (34.9756, 138.3828)
    assert (saved.workers, saved.hours_per_month) == (15, 1200)
    assert saved.max_difficulty == 2
    assert saved.pc_experience is True
    assert saved.participating_since == date(2021, 4, 1)
    assert saved.contact_email == "info@himawari.example.jp"


def test_a_minimal_facility_needs_only_name_and_kind(app, world, admin):
    response = admin.post(URL + "new", data={"name": "小さな作業所", "kind": "other"})
    assert response.status_code == 303
    saved = facility(app, world)
    assert (saved.workers, saved.hours_per_month, saved.avg_monthly_wage) == (0, 0, 0)
    assert saved.latitude is None
    assert saved.max_difficulty is None
    assert saved.participating_since is None
    assert saved.pc_experience is False
    assert saved.prefecture_code == ""


BAD_INPUT = [
    ("name", "", "name"),
    ("name", "あ" * 121, "name"),
    ("kind", "factory", "kind"),
    ("status", "gone", "status"),
    ("postal_code", "42-0853", "postal_code"),
    ("prefecture_code", "48", "prefecture_code"),
    ("latitude", "91", "latitude"),
    ("latitude", "north", "latitude"),
    ("latitude", "nan", "latitude"),
    ("longitude", "-180.5", "longitude"),
    ("contact_phone", "call me", "contact_phone"),
    ("contact_email", "not-an-address", "contact_email"),
    ("max_difficulty", "7", "max_difficulty"),
    ("max_difficulty", "x", "max_difficulty"),
    ("workers", "-1", "workers"),
    ("workers", "2.5", "workers"),
    ("hours_per_month", "many", "hours_per_month"),
    ("participating_since", "2021-13-01", "participating_since"),
    ("participating_since", "1800-01-01", "participating_since"),
]


@pytest.mark.parametrize(("name", "value", "field"), BAD_INPUT)
def test_bad_input_is_422_at_the_field_and_saves_nothing(
    app, world, admin, scale, name, value, field
):
    response = admin.post(URL + "new", data={**VALID, name: value})
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert response.text.count('class="field-error"') == 1
    assert count(app, world.alpha, Facility) == 0


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [("35.0", "", "longitude"), ("", "138.0", "latitude")],
)
def test_coordinates_come_in_pairs(app, world, admin, scale, latitude, longitude, field):
    data = {**VALID, "latitude": latitude, "longitude": longitude}
    response = admin.post(URL + "new", data=data)
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert count(app, world.alpha, Facility) == 0
    response = admin.post(URL + "new", data={**data, "latitude": "", "longitude": ""})
    assert response.status_code == 303


def test_edit_a_facility(app, world, admin, scale):
    fid = add_facility(app, world, workers=3, max_difficulty=1)
    page = admin.get(f"{URL}{fid}/edit")
    assert page.status_code == 200
    assert 'value="さくら作業所"' in page.text
    assert '<option selected value="1">' in page.text

    response = admin.post(f"{URL}{fid}/edit", data={**VALID, "max_difficulty": "9"})
    assert response.status_code == 422
    assert_error_at(response.text, "max_difficulty")
    assert facility(app, world).name == "さくら作業所"

    response = admin.post(f"{URL}{fid}/edit", data={**VALID, "max_difficulty": ""})
    assert response.status_code == 303
    saved = facility(app, world)
    assert saved.name == "ひまわり工房"
    assert saved.max_difficulty is None
    assert admin.get(URL + "99/edit").status_code == 404


# --- archive -------------------------------------------------------------------------------


def test_archive_hides_from_the_list_and_restore_brings_back(app, world, admin):
    fid = add_facility(app, world, name="休止する作業所")
    add_facility(app, world, name="続ける作業所")
    response = admin.post(f"{URL}{fid}/archive")
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == f"{URL}{fid}"
    assert facility(app, world, fid).archived_at is not None

    assert listed(admin.get(URL).text) == ["続ける作業所"]
    assert listed(admin.get(URL + "?archived=all").text) == ["休止する作業所", "続ける作業所"]
    assert listed(admin.get(URL + "?archived=only").text) == ["休止する作業所"]
    detail = admin.get(f"{URL}{fid}")
    assert detail.status_code == 200
    assert f"{fid}/restore" in detail.text

    assert admin.post(f"{URL}{fid}/restore").status_code == 303
    assert facility(app, world, fid).archived_at is None
    assert "休止する作業所" in listed(admin.get(URL).text)


# --- the list ------------------------------------------------------------------------------


def test_search_and_filters(app, world, admin, scale):
    a = add_facility(
        app, world, name="あおば工房", municipality="静岡市", kind=FacilityKind.TYPE_A,
        pc_experience=True,
    )  # fmt: skip
    b = add_facility(
        app, world, name="みどり作業所", address="清水区港町1-2", status=FacilityStatus.PAUSED
    )
    add_facility(app, world, name="金属加工 山本製作所", kind=FacilityKind.MANUFACTURER)
    with workspace(app, world.alpha) as s:
        s.add_all(
            [
                FacilityCapability(facility_id=a, capability_id=1, proficiency=3),
                FacilityCapability(facility_id=b, capability_id=1, proficiency=1),
                FacilityCapability(facility_id=b, capability_id=2, proficiency=2),
            ]
        )

    def names(query: str) -> list[str]:
        response = admin.get(URL + query)
        assert response.status_code == 200
        return listed(response.text)

    assert names("") == ["あおば工房", "みどり作業所", "金属加工 山本製作所"]
    assert names("?q=静岡") == ["あおば工房"]  # municipality
    assert names("?q=港町") == ["みどり作業所"]  # address
    assert names("?q=山本") == ["金属加工 山本製作所"]  # name
    assert names("?q=作業所　みどり") == ["みどり作業所"]  # every word (full-width space)
    assert names("?q=100%") == []
    assert names("?kind=type_a") == ["あおば工房"]
    assert names("?kind=bogus") == names("")
    assert names("?status=paused") == ["みどり作業所"]
    assert names("?capability=1") == ["あおば工房", "みどり作業所"]
    assert names("?capability=2") == ["みどり作業所"]
    assert names("?capability=1&status=participating") == ["あおば工房"]
    assert names("?pc_experience=yes") == ["あおば工房"]
    assert names("?pc_experience=no") == ["みどり作業所", "金属加工 山本製作所"]
    page = admin.get(URL).text
    assert "組立 3" in page  # capability with proficiency in the row


def test_sorting(app, world, admin):
    add_facility(
        app, world, name="A", kind=FacilityKind.TYPE_B, workers=5, hours_per_month=300,
        avg_monthly_wage=20_000, participating_since=date(2020, 4, 1),
    )  # fmt: skip
    add_facility(
        app, world, name="B", kind=FacilityKind.TYPE_A, workers=20, hours_per_month=100,
        avg_monthly_wage=90_000, participating_since=None,
    )  # fmt: skip
    add_facility(
        app, world, name="C", kind=FacilityKind.OTHER, workers=10, hours_per_month=200,
        avg_monthly_wage=15_000, participating_since=date(2023, 10, 1),
    )  # fmt: skip

    def order(query: str) -> str:
        return "".join(listed(admin.get(URL + query).text))

    assert order("") == "ABC"
    assert order("?sort=name&dir=desc") == "CBA"
    assert order("?sort=kind") == "CBA"  # other < type_a < type_b (stored values)
    assert order("?sort=workers") == "ACB"
    assert order("?sort=workers&dir=desc") == "BCA"
    assert order("?sort=hours_per_month") == "BCA"
    assert order("?sort=avg_monthly_wage&dir=desc") == "BAC"
    assert order("?sort=participating_since") == "ACB"  # unknown dates last, both ways
    assert order("?sort=participating_since&dir=desc") == "CAB"
    assert order("?sort=password") == "ABC"


def test_fifty_rows_a_page(app, world, admin):
    with workspace(app, world.alpha) as s:
        s.add_all(Facility(name=f"施設{i:03d}", kind=FacilityKind.TYPE_B) for i in range(1, 61))
    first = admin.get(URL).text
    assert len(listed(first)) == 50
    assert 'rel="next"' in first
    second = admin.get(URL + "?page=2").text
    assert listed(second) == [f"施設{i:03d}" for i in range(51, 61)]
    assert listed(admin.get(URL + "?page=9").text) == listed(second)


def test_htmx_search_returns_the_rows_alone(app, world, admin):
    add_facility(app, world, name="あおば工房")
    add_facility(app, world, name="みどり作業所")
    response = admin.get(URL + "?q=みどり", headers=htmx("rows"))
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'role="search"' not in response.text
    assert listed(response.text) == ["みどり作業所"]
    assert "HX-Request" in response.headers["Vary"]
    # every htmx link of the rows keeps a real href
    for tag in re.findall(r"<a [^>]*hx-get[^>]*>", response.text):
        assert 'href="/t/alpha/facilities/' in tag


def test_empty_list(app, world, admin):
    page = admin.get(URL).text
    assert 'class="empty"' in page
    assert 'id="rows"' in page


def grow(app, world, n: int) -> None:
    with workspace(app, world.alpha) as s:
        caps = list(s.scalars(select(Capability.id)))
        start = int(s.scalar(select(func.max(Facility.id))) or 0)
        facilities = [
            Facility(name=f"施設{start + i:03d}", kind=FacilityKind.TYPE_B, workers=i)
            for i in range(1, n + 1)
        ]
        s.add_all(facilities)
        s.flush()
        for f in facilities:
            s.add_all(
                FacilityCapability(facility_id=f.id, capability_id=c, proficiency=1) for c in caps
            )


def test_the_list_costs_the_same_queries_for_3_and_60_facilities(
    app, world, admin, scale, query_counter
):
    grow(app, world, 3)
    url = URL + "?sort=workers&capability=1"
    small = statements_for(admin, url, query_counter)
    grow(app, world, 57)
    assert count(app, world.alpha, Facility) == 60
    large = statements_for(admin, url, query_counter)
    assert len(listed(admin.get(url).text)) == 50
    assert large == small, query_counter
    # the htmx rows alone cost no more than the page
    query_counter.clear()
    admin.get(url, headers=htmx("rows"))
    assert len(query_counter) <= small


# --- detail --------------------------------------------------------------------------------


def test_detail_shows_the_profile(app, world, admin, scale):
    fid = add_facility(
        app, world, name="ひまわり工房", kind=FacilityKind.TYPE_A, max_difficulty=2,
        prefecture_code="22", municipality="静岡市葵区", address="追手町9-6",
        latitude=34.9756, longitude=138.3828, participating_since=date(2021, 4, 1),
    )  # fmt: skip
    with workspace(app, world.alpha) as s:
        s.add_all(
            [
                FacilityCapability(facility_id=fid, capability_id=2, proficiency=3),
                FacilityWage(facility_id=fid, fiscal_year=2022, avg_monthly_wage=16_000),
                FacilityWage(facility_id=fid, fiscal_year=2023, avg_monthly_wage=18_500),
            ]
        )
    page = admin.get(f"{URL}{fid}").text
    assert "ひまわり工房" in page
    assert "静岡県静岡市葵区追手町9-6" in page
    assert "令和3年4月1日" in page
    assert "2 ふつう" in page
    assert "手順書に沿って数日で習熟" in page  # the level's definition from the scale
    assert "梱包" in page
    assert '<option value="3" selected>' in page  # proficiency of 梱包
    assert "令和5年度" in page
    assert "令和4年度" in page
    assert "18,500円" in page
    assert "+2,500円" in page  # change from the year before
    assert "openstreetmap.org/?mlat=34.9756" in page
    assert admin.get(URL + "99").status_code == 404


def test_a_level_removed_from_the_scale_is_flagged(app, world, admin, scale):
    fid = add_facility(app, world, max_difficulty=8)
    page = admin.get(f"{URL}{fid}")
    assert page.status_code == 200
    assert re.search(r"<dd>\s*8 <span class=\"badge badge-muted\">", page.text)


def test_detail_costs_the_same_queries_for_few_and_many_records(
    app, world, admin, scale, query_counter
):
    fid = add_facility(app, world, max_difficulty=1)
    with workspace(app, world.alpha) as s:
        s.add(FacilityWage(facility_id=fid, fiscal_year=2020, avg_monthly_wage=1))
        s.add(FacilityCapability(facility_id=fid, capability_id=1, proficiency=1))
    small = statements_for(admin, f"{URL}{fid}", query_counter)
    with workspace(app, world.alpha) as s:
        caps = [Capability(name=f"工程{i}") for i in range(20)]
        s.add_all(caps)
        s.flush()
        s.add_all(FacilityCapability(facility_id=fid, capability_id=c.id) for c in caps)
        s.add_all(
            FacilityWage(facility_id=fid, fiscal_year=y, avg_monthly_wage=y)
            for y in range(2000, 2020)
        )
    large = statements_for(admin, f"{URL}{fid}", query_counter)
    assert large == small, query_counter


# --- capabilities --------------------------------------------------------------------------


def test_add_change_and_remove_capabilities(app, world, coordinator, scale):
    fid = add_facility(app, world)
    url = f"{URL}{fid}/capabilities"
    response = coordinator.post(url, data={"capability_id": "2", "proficiency": "3"})
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert (location.path, location.fragment) == (f"{URL}{fid}", "capabilities")
    (held,) = rows(app, world.alpha, FacilityCapability)
    assert (held.capability_id, held.proficiency) == (2, 3)

    # the same process again changes its proficiency (the row's select posts this)
    response = coordinator.post(
        url, data={"capability_id": "2", "proficiency": "1"}, headers=htmx("capabilities")
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="capabilities"')
    (held,) = rows(app, world.alpha, FacilityCapability)
    assert held.proficiency == 1

    response = coordinator.post(f"{url}/2/remove", headers=htmx("capabilities"))
    assert response.status_code == 200
    assert "梱包" in response.text  # offered again in the add form
    assert count(app, world.alpha, FacilityCapability) == 0
    assert coordinator.post(f"{url}/2/remove").status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"capability_id": "", "proficiency": "1"}, "capability_id"),
        ({"capability_id": "99", "proficiency": "1"}, "capability_id"),
        ({"capability_id": "3", "proficiency": "4"}, "proficiency"),
        ({"capability_id": "3", "proficiency": "0"}, "proficiency"),
        ({"capability_id": "4", "proficiency": "2"}, "capability_id"),  # archived
    ],
)
def test_bad_capability_input_is_422_at_the_field(app, world, admin, scale, data, field):
    fid = add_facility(app, world)
    with workspace(app, world.alpha) as s:
        s.add(Capability(name="塗装", archived_at=utcnow()))  # id 4
    for headers in ({}, htmx("capabilities")):
        response = admin.post(f"{URL}{fid}/capabilities", data=data, headers=headers)
        assert response.status_code == 422
        assert_error_at(response.text, field)
    assert count(app, world.alpha, FacilityCapability) == 0


def test_an_archived_capability_a_facility_has_stays_and_can_be_changed(app, world, admin, scale):
    fid = add_facility(app, world)
    with workspace(app, world.alpha) as s:
        s.add(FacilityCapability(facility_id=fid, capability_id=3, proficiency=1))
        s.get(Capability, (world.alpha.id, 3)).archived_at = utcnow()
    page = admin.get(f"{URL}{fid}").text
    assert "検品" in page
    response = admin.post(
        f"{URL}{fid}/capabilities", data={"capability_id": "3", "proficiency": "2"}
    )
    assert response.status_code == 303
    assert rows(app, world.alpha, FacilityCapability)[0].proficiency == 2


# --- wages ---------------------------------------------------------------------------------


def test_wage_history_and_the_current_wage(app, world, admin):
    fid = add_facility(app, world)
    url = f"{URL}{fid}/wages"
    response = admin.post(url, data={"fiscal_year": "2023", "avg_monthly_wage": "15,000"})
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).fragment == "wages"
    assert facility(app, world, fid).avg_monthly_wage == 15_000

    admin.post(url, data={"fiscal_year": "2024", "avg_monthly_wage": "17000", "workers": "12"})
    assert facility(app, world, fid).avg_monthly_wage == 17_000
    # correcting an older year leaves the current wage alone
    admin.post(url, data={"fiscal_year": "2023", "avg_monthly_wage": "14000"})
    assert facility(app, world, fid).avg_monthly_wage == 17_000
    # correcting the latest year changes it
    response = admin.post(
        url, data={"fiscal_year": "2024", "avg_monthly_wage": "18000"}, headers=htmx("wages")
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="wages"')
    assert facility(app, world, fid).avg_monthly_wage == 18_000
    wages = rows(app, world.alpha, FacilityWage, FacilityWage.fiscal_year)
    assert [(w.fiscal_year, w.avg_monthly_wage, w.workers) for w in wages] == [
        (2023, 14_000, None),
        (2024, 18_000, None),
    ]
    assert "令和6年度" in response.text
    assert "+4,000円" in response.text
    # zero is a wage, not a blank
    admin.post(url, data={"fiscal_year": "2024", "avg_monthly_wage": "0"})
    assert facility(app, world, fid).avg_monthly_wage == 0


def test_wage_history_change_needs_consecutive_years():
    assert service.fiscal_year_choices(date(2025, 3, 31))[:2] == [2025, 2024]
    assert service.fiscal_year_choices(date(2025, 4, 1))[:2] == [2026, 2025]


def test_the_wage_form_defaults_to_the_last_closed_fiscal_year(app, world, admin):
    fid = add_facility(app, world)
    last = fiscal_year_of(date.today()) - 1
    assert f'<option selected value="{last}">' in admin.get(f"{URL}{fid}").text


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fiscal_year": "2024", "avg_monthly_wage": ""}, "avg_monthly_wage"),
        ({"fiscal_year": "2024", "avg_monthly_wage": "-1"}, "avg_monthly_wage"),
        ({"fiscal_year": "2024", "avg_monthly_wage": "１万"}, "avg_monthly_wage"),
        ({"fiscal_year": "2024", "avg_monthly_wage": "99999999999"}, "avg_monthly_wage"),
        ({"fiscal_year": "1990", "avg_monthly_wage": "1000"}, "fiscal_year"),
        ({"fiscal_year": "R6", "avg_monthly_wage": "1000"}, "fiscal_year"),
        ({"fiscal_year": "2024", "avg_monthly_wage": "1000", "workers": "-3"}, "workers"),
    ],
)
def test_bad_wage_input_is_422_at_the_field(app, world, admin, data, field):
    fid = add_facility(app, world)
    for headers in ({}, htmx("wages")):
        response = admin.post(f"{URL}{fid}/wages", data=data, headers=headers)
        assert response.status_code == 422
        assert_error_at(response.text, field)
    assert count(app, world.alpha, FacilityWage) == 0
    assert facility(app, world, fid).avg_monthly_wage == 0
