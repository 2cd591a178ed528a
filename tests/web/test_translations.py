"""The Japanese catalogue: complete, placeholder-safe, not fuzzy, and used by the pages.

Messages are extracted afresh from the source with the project's own ``babel.cfg``, so a string
wrapped in ``_()`` / ``_l()`` but never translated fails here, naming the string, before anyone
sees English on a Japanese screen. Add translations with ``make extract-messages`` and edit
``app/translations/ja/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
BABEL_CFG = TRANSLATIONS / "babel.cfg"
JA_PO = TRANSLATIONS / "ja" / "LC_MESSAGES" / "messages.po"
# The same keywords as `pybabel extract -k _l` (Makefile): the defaults plus lazy_gettext as _l.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}
# printf-style conversions as Python's % operator reads them (Jinja's _() formats with % too).
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def compile_catalogues() -> None:
    """Compile each .po whose .mo is missing or older (the .mo is git-ignored, built by make).

    Runs when this module is imported, i.e. during collection and before any test renders a
    page: Flask-Babel caches a locale's translations for the whole process, so compiling later
    would be too late for tests that happen to run first.
    """
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        # Write beside the target, then rename: a concurrent reader never sees half a file.
        fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as mo_file:
                write_mo(mo_file, catalog)
            Path(tmp_name).chmod(0o644)  # as pybabel compile would leave it (mkstemp gives 0600)
            Path(tmp_name).replace(mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


compile_catalogues()


def _forms(value: object) -> list[str]:
    """A message id or string as a list: one item, or the plural forms."""
    if isinstance(value, list | tuple):
        return [str(item or "") for item in value]
    return [str(value or "")]


@pytest.fixture(scope="module")
def extracted() -> dict[tuple[str, str | None], list[str]]:
    """(msgid, context) -> where it is used, extracted from the source right now."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault((_forms(message)[0], context), []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def ja() -> Catalog:
    with JA_PO.open("rb") as po_file:
        return read_po(po_file, locale="ja")


def _translated(message: Message | None) -> bool:
    return message is not None and all(text.strip() for text in _forms(message.string))


def _translations(catalog: Catalog) -> list[tuple[str, str]]:
    """(msgid, msgstr) for every message with an id.

    Each plural form is checked against msgid_plural: Japanese has one form, written like the
    English plural ("%(n)d files"), while the English singular may leave the number out.
    """
    return [
        (_forms(message.id)[-1], text)
        for message in catalog
        if message.id
        for text in _forms(message.string)
    ]


def test_extraction_finds_python_and_templates(extracted):
    places = [place for where in extracted.values() for place in where]
    assert any(place.startswith("app/") and ".py:" in place for place in places)
    assert any(place.startswith("tenants/") and ".py:" in place for place in places)
    assert any(place.startswith("app/") and ".html:" in place for place in places)
    assert any(place.startswith("tenants/") and ".html:" in place for place in places)
    # _l() (lazy_gettext) is extracted too, e.g. the role labels in tenants/forms.py.
    assert ("Viewer (read-only)", None) in extracted


def test_every_message_has_a_japanese_translation(extracted, ja):
    missing = [
        f"{msgid!r}  ({', '.join(where)})"
        for (msgid, context), where in sorted(extracted.items(), key=lambda item: item[0][0])
        if not _translated(ja.get(msgid, context))
    ]
    assert not missing, (
        f"{len(missing)} message(s) without a Japanese translation in "
        f"{JA_PO.relative_to(ROOT)} (run `make extract-messages`, then translate):\n"
        + "\n".join(missing)
    )


def test_placeholders_match(ja):
    wrong = []
    for msgid, msgstr in _translations(ja):
        want, got = Counter(PLACEHOLDER.findall(msgid)), Counter(PLACEHOLDER.findall(msgstr))
        if msgstr and want != got:
            wrong.append(f"{msgid!r}: {sorted(want.elements())} != {sorted(got.elements())}")
    assert not wrong, "placeholders differ between msgid and translation:\n" + "\n".join(wrong)


def test_line_breaks_are_kept(ja):
    """Mail bodies: the link stays on a line of its own, paragraphs stay apart."""
    wrong = [
        f"{msgid!r} -> {msgstr!r}"
        for msgid, msgstr in _translations(ja)
        if msgstr and msgid.count("\n") != msgstr.count("\n")
    ]
    assert not wrong, "line breaks differ between msgid and translation:\n" + "\n".join(wrong)


def test_no_fuzzy_entries(ja):
    assert not ja.fuzzy, "the catalogue header is marked fuzzy"
    fuzzy = [message.id for message in ja if message.id and message.fuzzy]
    assert not fuzzy, "fuzzy entries are not used at run time; review them:\n" + "\n".join(
        map(repr, fuzzy)
    )


def test_pages_are_japanese_by_default(client):
    response = client.get("/login")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="ja">' in page
    assert "ログイン" in page
    assert "メールアドレス" in page  # a lazy form label from Python (_l)
    assert "Sign in" not in page


def test_validation_messages_are_japanese(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert "この項目は必須です。" in response.text


def test_english_on_request(client):
    response = client.get("/lang/en")
    assert response.status_code in (302, 303)
    response = client.get("/login")
    assert response.status_code == 200
    page = response.text
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert "E-mail address" in page
    assert "ログイン" not in page

    client.get("/lang/ja")
    assert "ログイン" in client.get("/login").text
