"""Every form and upload endpoint, fed generated bad input (hypothesis).

The routes come from the URL map (every route that takes a POST, in workspaces and outside),
their fields from the forms the app itself shows (crawled), plus fields nobody asked for.
For every request:

- never a 500;
- a refusal (4xx) changes nothing at all: every table is compared row by row;
- a change to a workspace's data is always audited (no write that skipped the audit);
- a redirect stays on this site.

``FUZZ_EXAMPLES`` (default 10 per route) and ``FUZZ_SEED`` turn it up for a long run.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy import inspect as sa_inspect

from app import create_app
from app.auth.models import User
from app.config import Settings
from app.db import Base
from app.extensions import db
from tests.security.crawl import Crawl, FieldSpec, is_same_site, post_rules
from tests.test_access_matrix import build

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
SEED = os.environ.get("FUZZ_SEED")
# Bookkeeping tables that change together with the data they count or record.
BOOKKEEPING = {"audit_events", "tenant_id_counters"}


def _route_names() -> list[str]:
    """The POST endpoints, read from a throwaway app (no database is touched)."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="renkei-routes-"))
    try:
        throwaway = create_app(
            Settings(
                instance_path=folder,
                secret_key="x",
                database_url=f"sqlite:///{folder / 'unused.db'}",
                log_format="off",
            )
        )
        return sorted(rule.endpoint for rule in post_rules(throwaway))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


ENDPOINTS = _route_names()

NASTY_TEXT = [
    "", " ", "\u3000", "0", "-1", "1e309", "NaN", "-inf", "9" * 40, "１２３", "一二三",
    "2026-02-30", "２０２６-１３-４５", "令和99年99月99日", "R8.13.1", "0000-00-00", "25:61",
    "\x00", "a\x00b", "\r\n", "\ufeff", "\u202e\u202d", "𠮷野家", "ｱｲｳｴｵ", "①②", "髙﨑",
    "<script>alert(1)</script>", "' OR '1'='1", "\"; DROP TABLE users; --", "=cmd|'/C calc'!A0",
    "../../etc/passwd", "%00", "%s%s%s", "{{7*7}}", "${7*7}", "true", "null", "[]", "{}",
    "x" * 5_000, "あ" * 3_000, "admin@example.jp", "@", "a@b", "http://evil.example/",
    "//evil.example", "/\\evil.example",
]  # fmt: skip
NASTY_FILES = [
    b"",
    b"\x00" * 64,
    b"PK\x03\x04" + b"\x00" * 60,
    '事業所名,種別\n=HYPERLINK("http://evil"),B型\n'.encode(),
    "事業所名,種別\n髙﨑作業所,B型\n".encode("cp932"),
    "\ufeff事業所名\n".encode("utf-16"),
    b"a,b,c\n" + b"1,2,3\n" * 2_000,
    b'"unterminated,quote\n',
    b"\xff\xfe\xfd" * 100,
]
FILENAMES = ["data.csv", "../../etc/passwd", "a\x00.csv", "x" * 300 + ".xlsx", "", "名簿.CSV"]

junk = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(lambda d: d.isoformat()),
)
files = st.tuples(
    st.one_of(st.sampled_from(NASTY_FILES), st.binary(max_size=400)),
    st.sampled_from(FILENAMES),
)


def value_for(field: FieldSpec) -> st.SearchStrategy[Any]:
    """Mostly bad input; now and then a valid choice, so the fuzz gets past the first check."""
    if field.kind == "file":
        return files
    valid = [option for option in field.options if option]
    if valid:
        return st.one_of(st.sampled_from(valid), junk, st.lists(junk, min_size=2, max_size=3))
    return st.one_of(junk, st.lists(junk, min_size=2, max_size=3))


@st.composite
def submissions(draw: st.DrawFn, fields: dict[str, FieldSpec], names_elsewhere: list[str]):
    data: dict[str, Any] = {}
    for name, field in fields.items():
        if draw(st.booleans()):
            data[name] = draw(value_for(field))
    for name in draw(st.lists(st.sampled_from(names_elsewhere), max_size=3)):
        data.setdefault(name, draw(junk))
    if draw(st.booleans()):
        data["next"] = draw(st.sampled_from(["//evil.example/", "/\\evil.example", "/t/"]))
    headers = {}
    if draw(st.booleans()):
        headers["HX-Request"] = "true"
        headers["HX-Target"] = draw(st.sampled_from(["rows", "board", "timeline", "x", ""]))
    # Now and then without the CSRF token: refused, nothing saved. (Hypothesis leans towards
    # small integers, so "9" is the rare case.)
    csrf = draw(st.integers(0, 9)) != 9
    return data, headers, csrf


def as_form(data: dict[str, Any]) -> dict[str, Any]:
    """Werkzeug's test client: file tuples become uploads, lists become repeated fields."""
    form: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, tuple):
            content, filename = value
            form[name] = (io.BytesIO(content), filename)
        else:
            form[name] = value
    return form


class Snapshot:
    """Every table's rows, to tell "nothing changed" from "something changed"."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tables = list(Base.metadata.sorted_tables)

    def take(self) -> dict[str, str]:
        digests = {}
        with self.engine.connect() as connection:
            for table in self.tables:
                order = list(table.primary_key.columns) or list(table.columns)
                rows = connection.execute(select(table).order_by(*order)).all()
                digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
                digests[f"{table.name}#count"] = str(len(rows))
        return digests


@pytest.fixture
def snapshot(database) -> Iterator[Snapshot]:
    engine = create_engine(database.owner_url)  # the owner sees every workspace's rows
    yield Snapshot(engine)
    engine.dispose()


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {key.split("#")[0] for key in before if before[key] != after[key]}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_input_never_breaks_or_half_writes(
    endpoint, app, world, targets, crawled: Crawl, snapshot
):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    url = build(rule, "alpha", targets)
    # The CSRF token (of any form prefix) is the client's job; junk in it is the CSRF test.
    fields = {
        name: spec
        for name, spec in crawled.fields_for(endpoint).items()
        if not name.endswith("csrf_token")
    }
    elsewhere = sorted(
        name for name in set(crawled.all_fields()) - set(fields) if not name.endswith("csrf_token")
    )
    tenant_tables = {t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c}
    with app.app_context():
        user_id = world.admin.id

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(submission=submissions(fields, elsewhere))
    def check(submission) -> None:
        data, headers, csrf = submission
        client = app.test_client()
        with app.app_context(), db.new_session() as session:
            client.login_as(session.get(User, user_id))  # its session token may have rotated
        before = snapshot.take()
        response = client.post(url, data=as_form(data), headers=headers, csrf=csrf)
        after = snapshot.take()
        what = f"POST {url} {sorted(data)} -> {response.status_code}"
        assert response.status_code < 500, what
        for header in ("Location", "HX-Redirect"):
            if header in response.headers:
                assert is_same_site(response.headers[header]), f"{what}: {header}"
        changed = changed_tables(before, after)
        if response.status_code >= 400:
            assert not changed, f"{what} was refused but changed {sorted(changed)}"
        data_changed = (changed & tenant_tables) - BOOKKEEPING
        if data_changed:
            assert "audit_events" in changed, f"{what} changed {sorted(data_changed)} unaudited"

    if SEED is not None:
        check = seed(int(SEED))(check)
    check()


def test_every_route_that_takes_a_post_is_fuzzed(app, crawled):
    """The list is read from the URL map; forms are found for the routes that show one."""
    assert {rule.endpoint for rule in post_rules(app)} == set(ENDPOINTS)
    assert len(ENDPOINTS) >= 50
    with_forms = [endpoint for endpoint in ENDPOINTS if crawled.fields_for(endpoint)]
    assert len(with_forms) >= 30, with_forms
    uploads = [
        endpoint
        for endpoint in ENDPOINTS
        if any(f.kind == "file" for f in crawled.fields_for(endpoint).values())
    ]
    assert "imports.upload" in uploads


def test_the_snapshot_sees_a_change(app, world, snapshot, read):
    """The "nothing changed" check would notice an update of one column."""
    before = snapshot.take()
    with app.app_context(), db.new_session() as session:
        session.execute(text("UPDATE users SET name = 'x' WHERE id = :id"), {"id": world.admin.id})
        session.commit()
    assert changed_tables(before, snapshot.take()) == {"users"}
    assert sa_inspect(User).primary_key  # rows are ordered by key, so the digest is stable
