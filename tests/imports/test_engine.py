"""The pure engine: bytes in, typed rows or row errors out. No app, no database."""

from __future__ import annotations

import codecs
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from app.imports import engine, specs
from app.imports.engine import EMPTY, Lookups, Problem
from app.imports.specs import BUYERS, DEALS, FACILITIES

RARE = "髙橋 ① ㈱ 﨑"  # in CP932, not in plain Shift_JIS


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def problem_of(call, *args, **kwargs) -> Problem:
    with pytest.raises(Problem) as info:
        call(*args, **kwargs)
    return info.value


# --- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_utf8_with_or_without_bom(bom):
    text, used = engine.decode_text(bom + f"事業所名\n{RARE}\n".encode())
    assert used == "utf-8"
    assert text == f"事業所名\n{RARE}\n"


def test_cp932_round_trips_the_characters_shift_jis_lacks():
    data = f"事業所名\n{RARE}\n".encode("cp932")
    with pytest.raises(UnicodeEncodeError):
        RARE.encode("shift_jis")
    text, used = engine.decode_text(data)
    assert used == "cp932"
    assert RARE in text


def test_unknown_encoding_is_reported_with_its_line():
    data = "事業所名\nabc\n".encode() + b"\x81\x20\xff\xfe\n"
    problem = problem_of(engine.decode_text, data)
    assert problem.message == engine.UNKNOWN_ENCODING
    assert problem.params == {"line": 3}


def test_the_user_can_choose_the_encoding():
    data = "名前\nアイウ\n".encode("cp932")
    assert engine.decode_text(data, "cp932") == ("名前\nアイウ\n", "cp932")
    problem = problem_of(engine.decode_text, data, "utf-8")
    assert problem.message == engine.WRONG_ENCODING
    assert problem.params["line"] == 1


def test_utf16_from_excel_unicode_text_is_read_tab_separated():
    data = "事業所名\t種別\r\nさくら\tB型\r\n".encode("utf-16")
    table = engine.read_table(data)
    assert table.headers == ["事業所名", "種別"]
    assert table.rows == [(2, ["さくら", "B型"])]


# --- what kind of file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,  # a PNG renamed .csv
        bytes(range(256)) * 8,  # any binary
        b"%PDF-1.7\n...",
        b"abc\x00def\x00" * 100,
    ],
)
def test_binary_files_are_refused(data):
    assert problem_of(engine.read_table, data).message == engine.NOT_A_TABLE


def test_old_excel_files_get_their_own_message():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert problem_of(engine.read_table, data).message == engine.OLD_EXCEL


def test_a_damaged_or_foreign_zip_is_not_an_excel_file():
    assert problem_of(engine.read_table, b"PK\x03\x04garbage" * 10).message == engine.BAD_XLSX


@pytest.mark.parametrize("data", [b"", b"  \r\n\r\n", b"\n\n"])
def test_empty_files(data):
    assert problem_of(engine.read_table, data).message == engine.EMPTY_FILE


def test_too_large():
    data = b"a,b\n" * (engine.MAX_BYTES // 4 + 1)
    problem = problem_of(engine.read_table, data)
    assert problem.message == engine.TOO_LARGE
    assert problem.params == {"limit": 10}


def test_too_many_rows():
    rows = "事業所名\n" + "x\n" * (engine.MAX_ROWS + 1)
    problem = problem_of(engine.read_table, rows.encode())
    assert problem.message == engine.TOO_MANY_ROWS
    ok = "事業所名\n" + "x\n" * engine.MAX_ROWS
    assert len(engine.read_table(ok.encode()).rows) == engine.MAX_ROWS


# --- tables ------------------------------------------------------------------------------------


def test_csv_row_numbers_are_the_spreadsheets():
    data = '事業所名,備考\r\nA,"two\r\nlines"\r\n,\r\nB,x\r\n'.encode()
    table = engine.read_table(data)
    assert table.format == "csv"
    assert table.rows == [(2, ["A", "two\r\nlines"]), (4, ["B", "x"])]


def test_short_rows_are_padded_and_extra_cells_dropped():
    table = engine.read_table(b"a,b,\n1\n1,2,3\n")
    assert table.headers == ["a", "b"]
    assert table.rows == [(2, ["1", ""]), (3, ["1", "2"])]


def test_xlsx_cells_become_text():
    data = xlsx(
        [
            ["事業所名", "利用者数", "参加開始日", "PC作業経験", "緯度"],
            [RARE, 12, datetime(2025, 4, 1), True, 34.5],
            [None, None, None, None, None],
            ["B", 12.0, date(2024, 1, 2), False, None],
        ]
    )
    table = engine.read_table(data)
    assert table.format == "xlsx"
    assert table.rows == [
        (2, [RARE, "12", "2025-04-01", "TRUE", "34.5"]),
        (4, ["B", "12", "2024-01-02", "FALSE", ""]),
    ]


def test_xlsx_row_limit():
    rows: list[list[object]] = [["事業所名"]]
    rows += [["x"]] * (engine.MAX_ROWS + 1)
    assert problem_of(engine.read_table, xlsx(rows)).message == engine.TOO_MANY_ROWS


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("1,200,000円", 1_200_000),
        ("1200000", 1_200_000),
        ("¥1,200,000", 1_200_000),
        ("１，２００，０００円", 1_200_000),
        ("0", 0),
        ("2400000.0", 2_400_000),
    ],
)
def test_yen(cell, amount):
    assert engine.parse_yen(cell) == amount


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("-5", engine.NEGATIVE_AMOUNT),
        ("▲1,000", engine.NEGATIVE_AMOUNT),
        ("12.5", engine.NOT_AN_AMOUNT),
        ("1,20,000", engine.NOT_AN_AMOUNT),
        ("百万円", engine.NOT_AN_AMOUNT),
        ("9999999999", engine.AMOUNT_TOO_LARGE),
    ],
)
def test_bad_amounts(cell, message):
    with pytest.raises(engine.CellError) as info:
        engine.parse_yen(cell)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2025-04-01", date(2025, 4, 1)),
        ("2025/4/1", date(2025, 4, 1)),
        ("2025年4月1日", date(2025, 4, 1)),
        ("２０２５／０４／０１", date(2025, 4, 1)),
        ("2025/04/01 0:00", date(2025, 4, 1)),
        ("令和7年4月1日", date(2025, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("R7.4.1", date(2025, 4, 1)),
        ("r5/10/2", date(2023, 10, 2)),
    ],
)
def test_dates(cell, day):
    assert engine.parse_date(cell) == day


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("2025-02-30", engine.NO_SUCH_DATE),
        ("令和元年4月30日", engine.OUTSIDE_ERA),  # still Heisei
        ("平成32年1月1日", engine.OUTSIDE_ERA),
        ("令和0年1月1日", engine.NO_SUCH_DATE),
        ("4/1", engine.NOT_A_DATE),
        ("来週", engine.NOT_A_DATE),
    ],
)
def test_bad_dates(cell, message):
    with pytest.raises(engine.CellError) as info:
        engine.parse_date(cell)
    assert info.value.message == message


def test_booleans_and_names():
    assert engine.parse_boolean("はい") is True
    assert engine.parse_boolean("○") is True
    assert engine.parse_boolean("TRUE") is True
    assert engine.parse_boolean("なし") is False
    with pytest.raises(engine.CellError):
        engine.parse_boolean("たぶん")
    assert engine.parse_names("組立、梱包:2, 組立") == (("組立", None), ("梱包", 2))
    with pytest.raises(engine.CellError):
        engine.parse_names("組立:5")


def test_csv_guard_round_trips_formula_like_text():
    lines = "".join(engine.csv_lines([["=1+1", "-", "@x", "普通", 5]]))
    assert lines == "'=1+1,'-,'@x,普通,5\r\n"
    table = engine.read_table(("a,b,c,d,e\r\n" + lines).encode())
    assert table.rows[0][1] == ["=1+1", "-", "@x", "普通", "5"]


# --- checking ----------------------------------------------------------------------------------


def facility_lookups() -> Lookups:
    return Lookups(
        records={engine.normalize("さくら作業所"): [(7, False)], "重複": [(1, False), (2, False)]},
        capabilities={"組立": 1, "梱包": 2},
        difficulty_levels=frozenset({1, 2, 3}),
    )


def check(spec, text: str, lookups: Lookups | None = None) -> engine.Outcome:
    return engine.check(spec, engine.read_table(text.encode()), lookups or Lookups())


def test_headers_in_japanese_english_or_full_width():
    outcome = check(
        FACILITIES, "name,ＰＣ作業経験,種別,謎の列\nさくら作業所,はい,B型,x\n", facility_lookups()
    )
    assert outcome.ok, outcome.errors
    assert [c.field if c else None for c in outcome.columns] == [
        "name",
        "pc_experience",
        "kind",
        None,
    ]
    assert outcome.ignored == ["謎の列"]


def test_missing_required_columns_are_listed():
    problem = problem_of(check, FACILITIES, "住所\nどこか\n")
    assert problem.message == engine.MISSING_COLUMNS
    assert problem.params == {"columns": "事業所名、種別"}


def test_duplicate_header():
    problem = problem_of(check, BUYERS, "企業名,会社名\na,b\n")
    assert problem.message == engine.DUPLICATE_HEADER


def test_header_only_has_no_rows():
    assert problem_of(check, BUYERS, "企業名\n").message == engine.NO_ROWS


def test_facility_rows_typed_and_matched():
    outcome = check(
        FACILITIES,
        "事業所名,種別,利用者数,平均工賃,参加開始日,能力,都道府県,状態\n"
        'さくら作業所,就労継続支援Ｂ型,12人,"18,000円",令和7年4月1日,組立、梱包:3,静岡,\n'
        "新しい作業所,A型,,,,,22,休止中\n",
        facility_lookups(),
    )
    assert outcome.ok, outcome.errors
    first, second = outcome.rows
    assert first.target_id == 7
    assert first.values["kind"] == "type_b"
    assert first.values["workers"] == 12
    assert first.values["avg_monthly_wage"] == 18_000
    assert first.values["participating_since"] == date(2025, 4, 1)
    assert first.values["capabilities"] == ((1, None), (2, 3))
    assert first.values["prefecture_code"] == "22"
    assert first.values["status"] is EMPTY
    assert second.target_id is None
    assert second.values["workers"] is EMPTY
    assert second.values["status"] == "paused"
    assert (outcome.new_count, outcome.update_count) == (1, 1)


def test_every_row_error_is_collected_with_row_and_column():
    outcome = check(
        FACILITIES,
        "事業所名,種別,利用者数,能力,メール,対応できる業務難易度\n"
        "A,B型,-1,組立,a@example.jp,2\n"
        ",B型,3,溶接、組立,bad,9\n"
        "重複,謎,3,,,\n"
        "a,B型,,,,\n",
        facility_lookups(),
    )
    found = {(e.row, e.column, e.message) for e in outcome.errors}
    assert found == {
        (2, "利用者数", engine.BELOW_MINIMUM),
        (3, "事業所名", engine.REQUIRED),
        (3, "能力", specs.UNKNOWN_CAPABILITIES),
        (3, "メール", engine.NOT_AN_EMAIL),
        (3, "対応できる業務難易度", specs.UNKNOWN_LEVEL),
        (4, "種別", engine.UNKNOWN_CHOICE),
        (4, "事業所名", specs.AMBIGUOUS_NAME),
        (5, "事業所名", engine.DUPLICATE_KEY),  # "a" is "A" again (names compare case-free)
    }
    unknown = next(e for e in outcome.errors if e.column == "能力")
    assert unknown.params == {"names": "溶接"}
    assert unknown.value == "溶接、組立"
    duplicate = next(e for e in outcome.errors if e.message == engine.DUPLICATE_KEY)
    assert duplicate.params == {"row": 2}


def deal_lookups() -> Lookups:
    return Lookups(
        record_ids=frozenset({1, 2}),
        capabilities={"組立": 1},
        buyers={
            "株式会社サンプル": [(1, False)],
            "(株)髙橋製作所": [(2, False)],
            "二社": [(3, False), (4, False)],
        },
        lost_reasons={"顧客都合で白紙": (1, "顧客都合で白紙")},
        members={"admin@example.jp": 5},
        difficulty_levels=frozenset({1, 2, 3, 4}),
    )


DEAL_HEADER = "番号,案件名,発注企業,段階,商談金額,商談開始日,受注・失注日,失注理由,担当者メール\n"


def test_deals_find_buyers_reasons_and_owners():
    outcome = check(
        DEALS,
        DEAL_HEADER
        + '1,部品の組立,株式会社サンプル,受注,"1,200,000円",2025/04/01,令和7年6月1日,,'
        + "ADMIN@example.jp\n"
        + ",封入,㈱髙橋製作所,リード,0,2025-05-01,,,\n"
        + ",失注した件,株式会社サンプル,失注,,2025-05-01,2025-06-01,顧客都合で白紙,\n",
        deal_lookups(),
    )
    assert outcome.ok, outcome.errors
    won, lead, lost = outcome.rows
    assert won.target_id == 1
    assert won.values["buyer"] == 1
    assert won.values["amount"] == 1_200_000
    assert won.values["closed_on"] == date(2025, 6, 1)
    assert won.values["owner"] == 5
    assert lead.target_id is None
    assert lead.values["buyer"] == 2  # ㈱ and (株) are the same name
    assert lost.values["lost_reason"] == 1


def test_deal_rules():
    outcome = check(
        DEALS,
        DEAL_HEADER
        + "9,番号違い,株式会社サンプル,,,2025-04-01,,,\n"
        + ",企業なし,存在しない会社,,,2025-04-01,,,\n"
        + ",二社,二社,,,2025-04-01,,,\n"
        + ",日付なし,株式会社サンプル,受注,,2025-04-01,,,\n"
        + ",開いている,株式会社サンプル,見積,,2025-04-01,2025-05-01,,\n"
        + ",逆順,株式会社サンプル,受注,,2025-04-01,2025-03-01,,\n"
        + ",理由,株式会社サンプル,受注,,2025-04-01,2025-05-01,顧客都合で白紙,\n"
        + ",知らない理由,株式会社サンプル,失注,,2025-04-01,2025-05-01,気分,\n"
        + ",担当,株式会社サンプル,,,2025-04-01,,,nobody@example.jp\n"
        + "1,重複1,株式会社サンプル,,,2025-04-01,,,\n"
        + "1,重複2,株式会社サンプル,,,2025-04-01,,,\n",
        deal_lookups(),
    )
    found = {(e.row, e.column) for e in outcome.errors}
    assert found == {
        (2, "番号"),
        (3, "発注企業"),
        (4, "発注企業"),
        (5, "受注・失注日"),
        (6, "受注・失注日"),
        (7, "受注・失注日"),
        (8, "失注理由"),
        (9, "失注理由"),
        (10, "担当者メール"),
        (12, "番号"),
    }


def test_recurring_amount_is_monthly_times_months():
    header = "案件名,発注企業,商談開始日,継続案件,月額,見込み月数,商談金額\n"
    outcome = check(
        DEALS,
        header
        + "a,株式会社サンプル,2025-04-01,はい,100000,12,\n"
        + "b,株式会社サンプル,2025-04-01,はい,100000,12,1000000\n",
        deal_lookups(),
    )
    assert outcome.rows[0].values["amount"] == 1_200_000
    assert [(e.row, e.column) for e in outcome.errors] == [(3, "商談金額")]


def test_export_rows_read_back_to_the_same_values():
    values = {
        "name": f"{RARE}作業所",
        "kind": "type_b",
        "status": "paused",
        "workers": 3,
        "pc_experience": True,
        "avg_monthly_wage": 18000,
        "participating_since": date(2025, 4, 1),
        "capabilities": (("組立", 1), ("梱包", 2)),
        "prefecture_code": "22",
        "notes": "=SUM(A1)",
    }
    lines = "".join(
        engine.csv_lines([engine.header_row(FACILITIES), engine.values_row(FACILITIES, values)])
    )
    outcome = check(FACILITIES, lines, facility_lookups())
    assert outcome.ok, outcome.errors
    row = outcome.rows[0].values
    assert row["name"] == f"{RARE}作業所"
    assert row["status"] == "paused"
    assert row["capabilities"] == ((1, None), (2, 2))
    assert row["notes"] == "=SUM(A1)"
    assert row["participating_since"] == date(2025, 4, 1)


def test_workbook_written_by_export_reads_back():
    from app.imports.service import xlsx_chunks

    data = b"".join(
        xlsx_chunks([["企業名", "備考"], [RARE, "=1+1"], ["株式会社サンプル", None]], "発注企業")
    )
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.title == "発注企業"
    assert sheet["B2"].data_type == "s"  # text, not a formula
    table = engine.read_table(data)
    assert table.rows == [(2, [RARE, "=1+1"]), (3, ["株式会社サンプル", ""])]


def test_a_former_member_stays_only_as_the_unchanged_owner():
    lookups = deal_lookups()
    lookups.former_members = {"left@example.jp": 9}
    lookups.deal_owners = {1: 9, 2: None}
    header = "番号,案件名,発注企業,商談開始日,担当者メール\n"
    outcome = check(
        DEALS,
        header
        + "1,そのまま,株式会社サンプル,2025-04-01,left@example.jp\n"
        + "2,付け替え,株式会社サンプル,2025-04-01,left@example.jp\n"
        + ",新規,株式会社サンプル,2025-04-01,left@example.jp\n",
        lookups,
    )
    assert outcome.rows[0].values["owner"] == 9
    assert [(e.row, e.column) for e in outcome.errors] == [(3, "担当者メール"), (4, "担当者メール")]
