"""Catalogues: defaults for a new workspace, the page and its four sections (add, edit,
archive/restore, order), unique names as 422 at the field, who may do what, query count."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.catalogs import service
from app.catalogs.models import (
    DEFAULT_CAPABILITIES,
    DEFAULT_DIFFICULTY,
    DEFAULT_LOST_REASONS,
    Capability,
    DifficultyLevel,
    LostReason,
    PlanGoal,
)
from tests.catalogs.helpers import assert_error_at, count, htmx, rows, statements_for, workspace

URL = "/t/alpha/catalogs/"


@pytest.fixture
def admin(app, world):
    return app.test_client().login_as(world.admin)


@pytest.fixture
def viewer(app, world):
    return app.test_client().login_as(world.viewer)


def add(app, world, *objects):
    with workspace(app, world.alpha) as s:
        s.add_all(objects)
        s.flush()
        return [o.id for o in objects]


def names(app, world) -> list[str]:
    return [c.name for c in rows(app, world.alpha, Capability, Capability.sort_order)]


# --- defaults ------------------------------------------------------------------------------


def test_seed_defaults_fills_each_empty_catalogue_once(app, world):
    with workspace(app, world.alpha) as s:
        created = service.seed_defaults(s)
    assert created == {
        "capabilities": len(DEFAULT_CAPABILITIES),
        "difficulty_levels": len(DEFAULT_DIFFICULTY),
        "lost_reasons": len(DEFAULT_LOST_REASONS),
    }
    assert names(app, world) == list(DEFAULT_CAPABILITIES)
    levels = rows(app, world.alpha, DifficultyLevel, DifficultyLevel.level)
    assert [(lv.level, lv.name, lv.definition) for lv in levels] == list(DEFAULT_DIFFICULTY)
    reasons = rows(app, world.alpha, LostReason, LostReason.sort_order)
    assert [r.label for r in reasons] == list(DEFAULT_LOST_REASONS)
    assert count(app, world.alpha, PlanGoal) == 0  # goals are the municipality's own

    with workspace(app, world.alpha) as s:
        assert service.seed_defaults(s) == dict.fromkeys(created, 0)
    assert count(app, world.alpha, Capability) == len(DEFAULT_CAPABILITIES)
    # the other workspace is untouched
    assert count(app, world.beta, Capability) == 0


def test_seed_defaults_leaves_a_catalogue_the_workspace_already_has(app, world):
    (archived,) = add(app, world, Capability(name="塗装"))
    with workspace(app, world.alpha) as s:
        capability = s.get(Capability, (world.alpha.id, archived))
        assert capability is not None
        service.archive(capability)
        created = service.seed_defaults(s)
    assert created["capabilities"] == 0
    assert created["difficulty_levels"] == len(DEFAULT_DIFFICULTY)
    assert names(app, world) == ["塗装"]


# --- the page ------------------------------------------------------------------------------


def test_page_shows_the_four_sections_to_readers(app, world, admin, viewer):
    with workspace(app, world.alpha) as s:
        service.seed_defaults(s)
        s.add(PlanGoal(code="3-2-1", title="障害者の就労促進"))
    for client in (admin, viewer):
        page = client.get(URL).text
        for section in ("capabilities", "difficulty", "goals", "lost-reasons"):
            assert f'id="{section}"' in page
        assert "組立" in page
        assert "むずかしい" in page
        assert "3-2-1" in page
        assert "単価が低く工賃向上に繋がらない" in page
    assert 'name="capability-name"' in admin.get(URL).text
    viewer_page = viewer.get(URL).text
    assert 'name="capability-name"' not in viewer_page
    assert "/archive" not in viewer_page
    assert "/edit" not in viewer_page


def test_outsider_gets_404(app, world):
    outsider = app.test_client().login_as(world.outsider)
    (cap,) = add(app, world, Capability(name="組立"))
    assert outsider.get(URL).status_code == 404
    assert outsider.post(URL + "capabilities", data={"capability-name": "x"}).status_code == 404
    assert outsider.post(f"{URL}capabilities/{cap}/archive").status_code == 404
    assert count(app, world.alpha, Capability) == 1


def test_viewer_cannot_write_anything(app, world, viewer):
    cap, level, goal, reason = add(
        app,
        world,
        Capability(name="組立"),
        DifficultyLevel(level=1, name="やさしい", definition="d"),
        PlanGoal(code="G1", title="t"),
        LostReason(label="その他"),
    )
    posts = {
        URL + "capabilities": {"capability-name": "梱包"},
        f"{URL}capabilities/{cap}/edit": {"name": "改名"},
        f"{URL}capabilities/{cap}/archive": {},
        f"{URL}capabilities/{cap}/restore": {},
        f"{URL}capabilities/{cap}/move": {"direction": "down"},
        URL + "difficulty": {"level-level": "2", "level-name": "n", "level-definition": "d"},
        f"{URL}difficulty/{level}/edit": {"name": "n", "definition": "d"},
        URL + "goals": {"goal-code": "G2", "goal-title": "t"},
        f"{URL}goals/{goal}/edit": {"code": "G9", "title": "t"},
        f"{URL}goals/{goal}/archive": {},
        f"{URL}goals/{goal}/restore": {},
        URL + "lost-reasons": {"reason-label": "新しい理由"},
        f"{URL}lost-reasons/{reason}/edit": {"label": "改名"},
        f"{URL}lost-reasons/{reason}/archive": {},
        f"{URL}lost-reasons/{reason}/restore": {},
        f"{URL}lost-reasons/{reason}/move": {"direction": "up"},
    }
    for url, data in posts.items():
        assert viewer.post(url, data=data).status_code == 403, url
    for url in (f"{URL}capabilities/{cap}/edit", f"{URL}goals/{goal}/edit"):
        assert viewer.get(url).status_code == 403
    assert names(app, world) == ["組立"]
    assert [g.code for g in rows(app, world.alpha, PlanGoal)] == ["G1"]
    assert rows(app, world.alpha, Capability)[0].archived_at is None


# --- processes -----------------------------------------------------------------------------


def test_coordinator_adds_processes_at_the_end(app, world):
    coordinator = app.test_client().login_as(world.coordinator)
    add(app, world, Capability(name="組立", sort_order=5))
    response = coordinator.post(
        URL + "capabilities", data={"capability-name": " 梱包 ", "capability-description": "箱詰め"}
    )
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert (location.path, location.fragment) == (URL, "capabilities")
    new = rows(app, world.alpha, Capability)[-1]
    assert (new.name, new.description, new.sort_order) == ("梱包", "箱詰め", 6)


def test_htmx_add_returns_the_section_alone(app, world, admin):
    response = admin.post(
        URL + "capabilities", data={"capability-name": "検品"}, headers=htmx("capabilities")
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="capabilities"')
    assert "<html" not in response.text
    assert "検品" in response.text
    assert names(app, world) == ["検品"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "blank"), ("   ", "spaces"), ("あ" * 61, "too long"), ("組立", "duplicate")],
)
def test_bad_process_names_are_422_at_the_field(app, world, admin, name, reason):
    add(app, world, Capability(name="組立"))
    response = admin.post(URL + "capabilities", data={"capability-name": name})
    assert response.status_code == 422, reason
    assert_error_at(response.text, "capability-name")
    assert names(app, world) == ["組立"]
    # htmx gets the section with the error in place
    response = admin.post(
        URL + "capabilities", data={"capability-name": name}, headers=htmx("capabilities")
    )
    assert response.status_code == 422
    assert "<html" not in response.text
    assert_error_at(response.text, "capability-name")


def test_an_archived_duplicate_is_refused_too(app, world, admin):
    (cap,) = add(app, world, Capability(name="組立"))
    assert admin.post(f"{URL}capabilities/{cap}/archive").status_code == 303
    response = admin.post(URL + "capabilities", data={"capability-name": "組立"})
    assert response.status_code == 422
    assert_error_at(response.text, "capability-name")
    assert count(app, world.alpha, Capability) == 1


def test_duplicate_caught_by_the_constraint_is_422_not_500(app, world, admin, monkeypatch):
    """Two people adding the same name at once: the unique constraint answers, not a 500."""
    add(app, world, Capability(name="組立"), LostReason(label="その他"))
    monkeypatch.setattr(service, "_taken", lambda *args: None)
    response = admin.post(URL + "capabilities", data={"capability-name": "組立"})
    assert response.status_code == 422
    assert_error_at(response.text, "capability-name")
    response = admin.post(URL + "lost-reasons", data={"reason-label": "その他"})
    assert response.status_code == 422
    assert_error_at(response.text, "reason-label")
    assert count(app, world.alpha, Capability) == 1


def test_edit_process(app, world, admin):
    cap, _other = add(app, world, Capability(name="組立"), Capability(name="梱包"))
    url = f"{URL}capabilities/{cap}/edit"
    page = admin.get(url)
    assert page.status_code == 200
    assert 'value="組立"' in page.text

    response = admin.post(url, data={"name": "梱包"})
    assert response.status_code == 422
    assert_error_at(response.text, "name")
    response = admin.post(url, data={"name": ""})
    assert response.status_code == 422
    assert_error_at(response.text, "name")
    assert names(app, world) == ["組立", "梱包"]

    response = admin.post(url, data={"name": "部品組立", "description": "小物部品"})
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).fragment == "capabilities"
    edited = rows(app, world.alpha, Capability)[0]
    assert (edited.name, edited.description) == ("部品組立", "小物部品")
    # keeping its own name is not a duplicate
    assert admin.post(url, data={"name": "部品組立"}).status_code == 303
    assert admin.get(f"{URL}capabilities/99/edit").status_code == 404


def test_archive_hides_a_process_and_restore_brings_it_back(app, world, admin):
    cap, _ = add(app, world, Capability(name="組立"), Capability(name="梱包"))
    response = admin.post(f"{URL}capabilities/{cap}/archive", headers=htmx("capabilities"))
    assert response.status_code == 200
    section = response.text
    active, _, archived = section.partition("<details>")
    assert "組立" not in active
    assert "組立" in archived
    assert rows(app, world.alpha, Capability)[0].archived_at is not None
    assert f"capabilities/{cap}/restore" in archived

    assert admin.post(f"{URL}capabilities/{cap}/restore").status_code == 303
    assert rows(app, world.alpha, Capability)[0].archived_at is None
    assert "<details>" not in admin.get(URL).text


def test_processes_move_up_and_down_past_archived_ones(app, world, admin):
    a, b, c = add(
        app,
        world,
        Capability(name="A", sort_order=0),
        Capability(name="B", sort_order=0),
        Capability(name="C", sort_order=0),
    )
    assert admin.post(f"{URL}capabilities/{c}/move", data={"direction": "up"}).status_code == 303
    assert names(app, world) == ["A", "C", "B"]
    assert [x.sort_order for x in rows(app, world.alpha, Capability, Capability.sort_order)] == [
        1,
        2,
        3,
    ]
    admin.post(f"{URL}capabilities/{a}/move", data={"direction": "up"})  # already first
    assert names(app, world) == ["A", "C", "B"]
    admin.post(f"{URL}capabilities/{c}/archive")
    response = admin.post(
        f"{URL}capabilities/{a}/move", data={"direction": "down"}, headers=htmx("capabilities")
    )
    assert response.status_code == 200
    assert names(app, world) == ["B", "C", "A"]  # A jumped past the archived C
    assert admin.post(f"{URL}capabilities/{b}/move", data={"direction": "x"}).status_code == 400
    assert admin.post(f"{URL}capabilities/{b}/move").status_code == 400


# --- difficulty scale ----------------------------------------------------------------------


def test_add_and_edit_difficulty_levels(app, world, admin):
    response = admin.post(
        URL + "difficulty",
        data={"level-level": "５", "level-name": "特級", "level-definition": "熟練者のみ"},
    )
    assert response.status_code == 303
    (level,) = rows(app, world.alpha, DifficultyLevel)
    assert (level.level, level.name, level.definition) == (5, "特級", "熟練者のみ")

    url = f"{URL}difficulty/{level.id}/edit"
    assert admin.get(url).status_code == 200
    response = admin.post(url, data={"name": "最難関", "definition": "技術者の常駐が必要"})
    assert response.status_code == 303
    (level,) = rows(app, world.alpha, DifficultyLevel)
    assert (level.level, level.name, level.definition) == (5, "最難関", "技術者の常駐が必要")
    # the number of a level is not editable
    admin.post(url, data={"level": "7", "name": "最難関", "definition": "x"})
    assert rows(app, world.alpha, DifficultyLevel)[0].level == 5

    response = admin.post(url, data={"name": "最難関", "definition": ""})
    assert response.status_code == 422
    assert_error_at(response.text, "definition")


@pytest.mark.parametrize(
    ("value", "field"),
    [("", "level-level"), ("0", "level-level"), ("11", "level-level"), ("二", "level-level"),
     ("1.5", "level-level"), ("3", "level-level")],
)  # fmt: skip
def test_bad_levels_are_422_at_the_field(app, world, admin, value, field):
    add(app, world, DifficultyLevel(level=3, name="むずかしい", definition="d"))
    response = admin.post(
        URL + "difficulty",
        data={"level-level": value, "level-name": "n", "level-definition": "d"},
    )
    assert response.status_code == 422
    assert_error_at(response.text, field)
    assert response.text.count('class="field-error"') == 1
    assert count(app, world.alpha, DifficultyLevel) == 1


def test_level_needs_a_name_and_a_definition(app, world, admin):
    response = admin.post(URL + "difficulty", data={"level-level": "2", "level-name": "n"})
    assert response.status_code == 422
    assert_error_at(response.text, "level-definition")
    assert count(app, world.alpha, DifficultyLevel) == 0


# --- comprehensive-plan goals --------------------------------------------------------------


def test_goals_add_edit_archive(app, world, admin):
    response = admin.post(URL + "goals", data={"goal-code": "3-2-1", "goal-title": "就労支援"})
    assert response.status_code == 303
    response = admin.post(URL + "goals", data={"goal-code": "3-2-1", "goal-title": "別"})
    assert response.status_code == 422
    assert_error_at(response.text, "goal-code")
    response = admin.post(URL + "goals", data={"goal-code": "3-2-2", "goal-title": ""})
    assert response.status_code == 422
    assert_error_at(response.text, "goal-title")
    assert count(app, world.alpha, PlanGoal) == 1

    admin.post(URL + "goals", data={"goal-code": "4-1", "goal-title": "産業振興"})
    first, second = rows(app, world.alpha, PlanGoal)
    response = admin.post(f"{URL}goals/{second.id}/edit", data={"code": "3-2-1", "title": "x"})
    assert response.status_code == 422
    assert_error_at(response.text, "code")
    response = admin.post(
        f"{URL}goals/{first.id}/edit", data={"code": "3-2-1", "title": "工賃向上"}
    )
    assert response.status_code == 303
    assert rows(app, world.alpha, PlanGoal)[0].title == "工賃向上"

    response = admin.post(f"{URL}goals/{first.id}/archive", headers=htmx("goals"))
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="goals"')
    assert rows(app, world.alpha, PlanGoal)[0].archived_at is not None
    assert admin.get(f"{URL}goals/{first.id}/edit").status_code == 200  # archived stays viewable
    admin.post(f"{URL}goals/{first.id}/restore")
    assert rows(app, world.alpha, PlanGoal)[0].archived_at is None


# --- lost reasons --------------------------------------------------------------------------


def test_lost_reasons_add_rename_order_archive(app, world, admin):
    for label in ("顧客都合で白紙", "難易度が高い"):
        assert admin.post(URL + "lost-reasons", data={"reason-label": label}).status_code == 303
    response = admin.post(URL + "lost-reasons", data={"reason-label": "難易度が高い"})
    assert response.status_code == 422
    assert_error_at(response.text, "reason-label")
    first, second = rows(app, world.alpha, LostReason, LostReason.sort_order)
    assert (first.sort_order, second.sort_order) == (1, 2)

    response = admin.post(f"{URL}lost-reasons/{first.id}/edit", data={"label": "難易度が高い"})
    assert response.status_code == 422
    assert_error_at(response.text, "label")
    response = admin.post(f"{URL}lost-reasons/{first.id}/edit", data={"label": "顧客起因で白紙"})
    assert response.status_code == 303

    admin.post(f"{URL}lost-reasons/{second.id}/move", data={"direction": "up"})
    ordered = rows(app, world.alpha, LostReason, LostReason.sort_order)
    assert [r.label for r in ordered] == ["難易度が高い", "顧客起因で白紙"]

    admin.post(f"{URL}lost-reasons/{first.id}/archive")
    assert rows(app, world.alpha, LostReason, LostReason.id)[0].archived_at is not None
    admin.post(f"{URL}lost-reasons/{first.id}/restore")
    assert rows(app, world.alpha, LostReason, LostReason.id)[0].archived_at is None


def test_rows_of_another_workspace_are_not_found(app, world, admin):
    with workspace(app, world.beta) as s:
        s.add_all([Capability(name="A"), Capability(name="B")])
    assert count(app, world.alpha, Capability) == 0
    assert admin.post(f"{URL}capabilities/2/archive").status_code == 404
    assert admin.get(f"{URL}capabilities/1/edit").status_code == 404
    with workspace(app, world.beta) as s:
        assert all(c.archived_at is None for c in s.scalars(select(Capability)))


# --- cost ----------------------------------------------------------------------------------


def grow(app, world, n: int, start: int) -> None:
    with workspace(app, world.alpha) as s:
        for i in range(start, start + n):
            s.add_all(
                [
                    Capability(name=f"工程{i:03d}", sort_order=i),
                    PlanGoal(code=f"G{i:03d}", title="目標"),
                    LostReason(label=f"理由{i:03d}", sort_order=i),
                ]
            )
            if i <= 10:
                s.add(DifficultyLevel(level=i, name=f"L{i}", definition="d"))


def test_the_page_costs_the_same_queries_for_3_and_60_rows(app, world, admin, query_counter):
    grow(app, world, 3, 1)
    small = statements_for(admin, URL, query_counter)
    grow(app, world, 57, 4)
    assert count(app, world.alpha, Capability) == 60
    large = statements_for(admin, URL, query_counter)
    page = admin.get(URL).text
    assert "工程060" in page
    assert "理由060" in page
    assert large == small, query_counter
