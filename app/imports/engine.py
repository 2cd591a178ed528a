"""Reading and checking uploaded tables. Pure: no Flask, no database session.

    bytes ──read_table()──▶ Table (header + rows of text, with spreadsheet row numbers)
          ──check()──────▶ Outcome (typed values per row, or the list of row errors)

``check`` takes a ``Spec`` (the columns of one kind of record, see ``specs.py``) and the
``Lookups`` the service loaded from the workspace (existing names, capabilities, ...), so the
whole validation runs on plain values and is tested with plain bytes.

Messages are English msgids marked with ``N_`` (a no-op that ``pybabel extract`` knows) and
carried with their parameters; the screens translate them with ``gettext`` where they are shown.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final


def N_(message: str) -> str:  # noqa: N802  (the gettext convention for "translate later")
    """Mark a message for extraction; it is translated where it is shown."""
    return message


MAX_BYTES: Final = 10 * 1024 * 1024
MAX_ROWS: Final = 50_000
# PostgreSQL INTEGER: amounts and counts must fit the column.
MAX_INT: Final = 2_147_483_647
# Columns read from a sheet (the widest file format has about 20; the rest is ignored).
MAX_COLUMNS: Final = 200
# A spreadsheet often carries formatted but empty rows far below the table: stop after these.
BLANK_ROWS_ENDING_TABLE: Final = 1_000
ENCODINGS: Final = ("utf-8", "cp932")
ENCODING_LABELS: Final = {"utf-8": "UTF-8", "cp932": "Shift_JIS (CP932)", "utf-16": "UTF-16"}

# --- messages (English msgids; translated where shown) --------------------------------------

TOO_LARGE = N_("The file is larger than %(limit)d MB. Split it into smaller files.")
TOO_MANY_ROWS = N_("The file has more than %(limit)s data rows. Split it into smaller files.")
EMPTY_FILE = N_("The file is empty.")
NOT_A_TABLE = N_("This is not a CSV or Excel (.xlsx) file. Save the table as CSV or .xlsx.")
OLD_EXCEL = N_("Excel 97–2003 files (.xls) cannot be read. Save the file as .xlsx or CSV.")
BAD_XLSX = N_("The Excel file could not be read. Open it in Excel and save it again as .xlsx.")
BAD_CSV = N_("The CSV file could not be read near line %(line)d.")
UNKNOWN_ENCODING = N_(
    "The character encoding of the file could not be recognised (line %(line)d). "
    "Save it as CSV in UTF-8 or Shift_JIS (CP932)."
)
WRONG_ENCODING = N_("The file cannot be read as %(encoding)s (line %(line)d).")
DUPLICATE_HEADER = N_("The column %(column)s appears twice in the header row.")
MISSING_COLUMNS = N_("Required columns are missing: %(columns)s.")
NO_ROWS = N_("The file has no data rows.")

REQUIRED = N_("This field is required.")
TOO_LONG = N_("Enter at most %(max)d characters.")
NOT_AN_INTEGER = N_("Enter a whole number.")
BELOW_MINIMUM = N_("Enter a number of %(min)s or more.")
ABOVE_MAXIMUM = N_("Enter a number of %(max)s or less.")
NOT_A_NUMBER = N_("Enter a number.")
NOT_AN_AMOUNT = N_("Enter an amount in whole yen, e.g. 1,200,000円.")
NEGATIVE_AMOUNT = N_("The amount cannot be negative.")
AMOUNT_TOO_LARGE = N_("The amount is too large.")
NOT_A_DATE = N_("Enter a date like 2025-04-01, 2025/04/01 or 令和7年4月1日.")
NO_SUCH_DATE = N_("This date does not exist.")
OUTSIDE_ERA = N_("This date is outside the %(era)s era.")
NOT_A_BOOLEAN = N_("Enter はい or いいえ.")
UNKNOWN_CHOICE = N_("Unknown value. Use one of: %(choices)s.")
UNKNOWN_PREFECTURE = N_("Unknown prefecture. Enter its name (e.g. 静岡県) or its code (01–47).")
NOT_AN_EMAIL = N_("Enter a valid e-mail address.")
NOT_A_POSTAL_CODE = N_("Enter a postal code like 123-4567.")
BAD_PROFICIENCY = N_("The level after the name must be 1, 2 or 3 (e.g. 組立:2).")
DUPLICATE_KEY = N_("The same value already appears in row %(row)d.")

# Hints shown beside each column on the import page.
HINT_TEXT = N_("Text, up to %(max)d characters.")
HINT_INTEGER = N_("Whole number.")
HINT_AMOUNT = N_("Whole yen; 1,200,000円 and 1200000 both work.")
HINT_DATE = N_("2025-04-01, 2025/04/01 or 令和7年4月1日.")
HINT_BOOLEAN = N_("はい or いいえ (also あり/なし, ○/×, 1/0).")
HINT_CHOICE = N_("One of: %(choices)s.")
HINT_PREFECTURE = N_("Name (静岡県) or code (22).")
HINT_EMAIL = N_("E-mail address.")
HINT_POSTAL = N_("123-4567.")
HINT_NUMBER = N_("Number between %(min)s and %(max)s.")
OUT_OF_RANGE = N_("Enter a number between %(min)s and %(max)s.")
HINT_NAMES = N_("Names from the catalogue, separated by 、 or commas; a level can follow (組立:2).")


class Problem(Exception):
    """Something about the whole file: nothing in it is imported."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class CellError(ValueError):
    """One cell cannot be read as its column's type."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


class _Empty:
    """A blank cell (distinct from a value that happens to be falsy)."""

    _instance: _Empty | None = None

    def __new__(cls) -> _Empty:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EMPTY"

    def __bool__(self) -> bool:
        return False


EMPTY: Final = _Empty()


# --- reading files ---------------------------------------------------------------------------


@dataclass
class Table:
    """A sheet as text: the header row and the data rows with their row numbers (1-based,
    as the spreadsheet shows them; the header is usually row 1)."""

    format: str  # "csv" | "xlsx"
    encoding: str | None  # for CSV: the encoding it was read with
    headers: list[str]
    rows: list[tuple[int, list[str]]]


_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"\x1f\x8b",  # gzip
    b"BM",
    b"7z\xbc\xaf",
    b"Rar!",
    b"MZ",  # Windows executable
    b"\x7fELF",
    b"RIFF",
    b"II*\x00",  # TIFF
    b"MM\x00*",
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97–2003 (and other Office binaries)
_ZIP = b"PK\x03\x04"
_CONTROL_BYTES = frozenset(range(32)) - {9, 10, 13, 26} | {127}


def sniff(data: bytes) -> str:
    """Which reader the bytes need: "csv" or "xlsx". Raises ``Problem`` for anything else."""
    if len(data) > MAX_BYTES:
        raise Problem(TOO_LARGE, limit=MAX_BYTES // (1024 * 1024))
    if not data.strip():
        raise Problem(EMPTY_FILE)
    if data.startswith(_ZIP):
        return "xlsx"
    if data.startswith(_OLE):
        raise Problem(OLD_EXCEL)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"  # Excel's "Unicode text": UTF-16, tab separated
    if data.startswith(_BINARY_MAGIC):
        raise Problem(NOT_A_TABLE)
    head = data[:8192]
    # UTF-8 and CP932 never use control bytes inside characters: a text table has almost none.
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    if b"\x00" in head or controls > max(2, len(head) // 100):
        raise Problem(NOT_A_TABLE)
    return "csv"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (with or without BOM), else CP932 — or the encoding the user
    chose. CP932 and not Shift_JIS: 髙, ①, ㈱ and 﨑 exist only in Microsoft's variant."""
    if encoding is None:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            try:
                return data.decode("utf-16"), "utf-16"
            except UnicodeDecodeError as exc:
                raise Problem(UNKNOWN_ENCODING, line=_line_of(data, exc.start)) from exc
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            utf8_failed_at = exc.start
        try:
            return data.decode("cp932"), "cp932"
        except UnicodeDecodeError as exc:
            # The encoding that read further is the likelier one: point at where it stopped.
            where = max(utf8_failed_at, exc.start)
            raise Problem(UNKNOWN_ENCODING, line=_line_of(data, where)) from exc
    if encoding not in ENCODINGS:
        raise ValueError(f"unsupported encoding {encoding!r}")
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding), encoding
    except UnicodeDecodeError as exc:
        raise Problem(
            WRONG_ENCODING, encoding=ENCODING_LABELS[encoding], line=_line_of(data, exc.start)
        ) from exc


def read_table(data: bytes, encoding: str | None = None) -> Table:
    """Read an uploaded CSV or XLSX file (the format is recognised from the bytes)."""
    if sniff(data) == "xlsx":
        return read_xlsx(data)
    return read_csv(data, encoding)


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(cells)


def _collect(records: Iterable[tuple[int, list[str]]], fmt: str, encoding: str | None) -> Table:
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    blank_run = 0
    for number, cells in records:
        if _is_blank(cells):
            blank_run += 1
            if header is not None and blank_run >= BLANK_ROWS_ENDING_TABLE:
                break
            continue
        blank_run = 0
        if header is None:
            header = cells
            continue
        if len(rows) >= MAX_ROWS:
            raise Problem(TOO_MANY_ROWS, limit=f"{MAX_ROWS:,}")
        rows.append((number, cells))
    if header is None:
        raise Problem(EMPTY_FILE)
    # Cells past the last named column are ignored; short rows are padded.
    while header and not header[-1]:
        header.pop()
    width = len(header)
    rows = [(n, (cells + [""] * width)[:width]) for n, cells in rows]
    return Table(format=fmt, encoding=encoding, headers=header, rows=rows)


def read_csv(data: bytes, encoding: str | None = None) -> Table:
    text, used = decode_text(data, encoding)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def records() -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for record in reader:
                number += 1
                yield number, [_unquote(cell.strip()) for cell in record]
        except csv.Error as exc:
            raise Problem(BAD_CSV, line=reader.line_num) from exc

    return _collect(records(), "csv", used)


def _unquote(cell: str) -> str:
    """Undo the export's guard against spreadsheet formulas ('=... → =...)."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell


FORMULA_STARTS: Final = frozenset("=+-@\t\r")


def cell_text(value: Any) -> str:  # noqa: PLR0911  (one return per cell type)
    """A spreadsheet cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = float(value)
        if math.isfinite(number) and number.is_integer() and abs(number) < 10**15:
            return str(int(number))
        return str(value)
    return str(value).strip()


def read_xlsx(data: bytes) -> Table:
    """The first sheet of a workbook, streamed (openpyxl read-only mode)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign zip: openpyxl raises many kinds
        raise Problem(BAD_XLSX) from exc
    try:
        if not workbook.worksheets:
            raise Problem(EMPTY_FILE)
        sheet = workbook.worksheets[0]

        def records() -> Iterator[tuple[int, list[str]]]:
            cells = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
            for number, values in enumerate(cells, start=1):
                yield number, [cell_text(value) for value in values]

        try:
            return _collect(records(), "xlsx", None)
        except Problem:
            raise
        except Exception as exc:
            raise Problem(BAD_XLSX) from exc
    finally:
        workbook.close()


# --- values ----------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """For comparing names and labels: NFKC (full-width → half-width), spaces collapsed,
    case folded. ㈱ and (株) compare equal; 髙 and 高 do not."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _compact(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


Cell = str | int | float | date | None


@dataclass(frozen=True)
class ValueType:
    """How one column reads a cell and writes a value back."""

    parse: Callable[[str], Any]
    write: Callable[[Any], Cell]
    hint: str
    hint_params: Mapping[str, Any] = field(default_factory=dict)


def _write_text(value: Any) -> Cell:
    return "" if value is None else str(value)


def text(max_length: int) -> ValueType:
    def parse(cell: str) -> str:
        if len(cell) > max_length:
            raise CellError(TOO_LONG, max=max_length)
        return cell

    return ValueType(parse, _write_text, HINT_TEXT, {"max": max_length})


_INTEGER = re.compile(r"[+-]?\d+")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+")


def _integer_text(cell: str, units: Sequence[str] = ()) -> str:
    value = _compact(cell)
    for unit in units:
        if value.endswith(unit):
            value = value[: -len(unit)]
            break
    if "," in value:
        if not _GROUPED.fullmatch(value):
            raise CellError(NOT_AN_INTEGER)
        value = value.replace(",", "")
    if value.endswith(".0"):  # 12.0 from a spreadsheet that stored a whole number as a float
        value = value[:-2]
    return value


def integer(minimum: int = 0, maximum: int = MAX_INT, units: Sequence[str] = ()) -> ValueType:
    def parse(cell: str) -> int:
        value = _integer_text(cell, units)
        if not _INTEGER.fullmatch(value):
            raise CellError(NOT_AN_INTEGER)
        number = int(value)
        if number < minimum:
            raise CellError(BELOW_MINIMUM, min=minimum)
        if number > maximum:
            raise CellError(ABOVE_MAXIMUM, max=maximum)
        return number

    def write(value: Any) -> Cell:
        return None if value is None else int(value)

    return ValueType(parse, write, HINT_INTEGER)


def parse_yen(cell: str) -> int:
    """Integer yen from "1,200,000円", "¥1200000", "１２０万" is not accepted (write it out)."""
    value = _compact(cell)
    for sign in ("¥", "\\"):
        value = value.replace(sign, "")
    value = value.removesuffix("円")
    negative = value.startswith(("-", "−", "▲", "△"))
    if negative:
        value = value[1:]
    try:
        digits = _integer_text(value)
    except CellError:
        raise CellError(NOT_AN_AMOUNT) from None
    if not digits.isdigit() or not digits.isascii():
        raise CellError(NOT_AN_AMOUNT)
    if negative and int(digits) != 0:
        raise CellError(NEGATIVE_AMOUNT)
    amount = int(digits)
    if amount > MAX_INT:
        raise CellError(AMOUNT_TOO_LARGE)
    return amount


def yen() -> ValueType:
    def write(value: Any) -> Cell:
        return None if value is None else int(value)

    return ValueType(parse_yen, write, HINT_AMOUNT)


def decimal(minimum: float, maximum: float) -> ValueType:
    def parse(cell: str) -> float:
        try:
            number = float(_compact(cell).replace(",", ""))
        except ValueError:
            raise CellError(NOT_A_NUMBER) from None
        if math.isnan(number) or not minimum <= number <= maximum:
            raise CellError(OUT_OF_RANGE, min=minimum, max=maximum)
        return number

    def write(value: Any) -> Cell:
        return None if value is None else float(value)

    return ValueType(parse, write, HINT_NUMBER, {"min": minimum, "max": maximum})


_TRUE = frozenset({"はい", "あり", "有", "有り", "○", "〇", "◯", "yes", "y", "true", "1", "済"})
_FALSE = frozenset({"いいえ", "なし", "無", "無し", "×", "✕", "no", "n", "false", "0", "-", "ー"})


def parse_boolean(cell: str) -> bool:
    value = normalize(cell)
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise CellError(NOT_A_BOOLEAN)


def boolean() -> ValueType:
    def write(value: Any) -> Cell:
        return "はい" if value else "いいえ"

    return ValueType(parse_boolean, write, HINT_BOOLEAN)


# Eras: name, letter, first day, first day of the next era.
_ERAS: Final = (
    ("令和", "R", date(2019, 5, 1), None),
    ("平成", "H", date(1989, 1, 8), date(2019, 5, 1)),
    ("昭和", "S", date(1926, 12, 25), date(1989, 1, 8)),
)
_WESTERN_DATE = re.compile(
    r"(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|年(\d{1,2})月(\d{1,2})日)"
    r"(?:(?:T|\s*)\d{1,2}:\d{2}(?::\d{2})?)?"
)
_ERA_DATE = re.compile(
    r"(令和|平成|昭和|[RHS]\.?)(元|\d{1,2})(?:年(\d{1,2})月(\d{1,2})日|[./-](\d{1,2})[./-](\d{1,2}))"
)


def parse_date(cell: str) -> date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY年M月D日, 令和N年M月D日 (元年 too) or R5.4.1."""
    value = _compact(cell)
    western = _WESTERN_DATE.fullmatch(value)
    if western:
        year, month, day = western.group(1), western.group(2), western.group(3)
        if month is None:
            month, day = western.group(4), western.group(5)
        return _make_date(int(year), int(month), int(day))
    era_match = _ERA_DATE.fullmatch(value.upper() if value[:1].isascii() else value)
    if era_match:
        era_text, n_text = era_match.group(1).rstrip("."), era_match.group(2)
        month = era_match.group(3) or era_match.group(5)
        day = era_match.group(4) or era_match.group(6)
        for name, letter, start, end in _ERAS:
            if era_text in (name, letter):
                n = 1 if n_text == "元" else int(n_text)
                if n < 1:
                    raise CellError(NO_SUCH_DATE)
                result = _make_date(start.year + n - 1, int(month), int(day))
                if result < start or (end is not None and result >= end):
                    raise CellError(OUTSIDE_ERA, era=name)
                return result
    raise CellError(NOT_A_DATE)


def _make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(NO_SUCH_DATE) from None


def day() -> ValueType:
    def write(value: Any) -> Cell:
        return value if isinstance(value, date) else None

    return ValueType(parse_date, write, HINT_DATE)


def choice(labels: Mapping[str, Sequence[str]], convert: Callable[[str], Any] = str) -> ValueType:
    """A fixed vocabulary: stored value → accepted labels (the first is written on export).
    The stored value itself (e.g. ``type_b``) is accepted too; ``convert`` makes it an enum."""
    lookup: dict[str, str] = {}
    for value, names in labels.items():
        lookup[normalize(value)] = value
        for name in names:
            lookup[normalize(name)] = value
            lookup[_compact(name).casefold()] = value
    shown = "、".join(names[0] for names in labels.values())

    def parse(cell: str) -> str:
        found = lookup.get(normalize(cell)) or lookup.get(_compact(cell).casefold())
        if found is None:
            raise CellError(UNKNOWN_CHOICE, choices=shown)
        return convert(found)

    def write(value: Any) -> Cell:
        if value is None:
            return ""
        key = getattr(value, "value", value)
        return labels[key][0] if key in labels else str(key)

    return ValueType(parse, write, HINT_CHOICE, {"choices": shown})


def prefecture(names: Mapping[str, str]) -> ValueType:
    """A prefecture by name (静岡県, 静岡) or JIS code (22, 1 → 01); stored as the code."""
    lookup: dict[str, str] = {}
    for code, name in names.items():
        lookup[name] = code
        lookup[code] = code
        lookup[str(int(code))] = code
        short = name[:-1] if name[-1] in "都府県" else name
        lookup.setdefault(short, code)

    def parse(cell: str) -> str:
        code = lookup.get(_compact(cell))
        if code is None:
            raise CellError(UNKNOWN_PREFECTURE)
        return code

    def write(value: Any) -> Cell:
        return names.get(value, value or "")

    return ValueType(parse, write, HINT_PREFECTURE)


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def email(max_length: int = 254) -> ValueType:
    def parse(cell: str) -> str:
        value = cell.strip()
        if len(value) > max_length or not _EMAIL.fullmatch(value):
            raise CellError(NOT_AN_EMAIL)
        return value

    return ValueType(parse, _write_text, HINT_EMAIL)


_POSTAL = re.compile(r"〒?(\d{3})-?(\d{4})")


def postal_code() -> ValueType:
    def parse(cell: str) -> str:
        match = _POSTAL.fullmatch(_compact(cell).replace("ー", "-").replace("−", "-"))
        if match is None:
            raise CellError(NOT_A_POSTAL_CODE)
        return f"{match.group(1)}-{match.group(2)}"

    return ValueType(parse, _write_text, HINT_POSTAL)


_NAME_SEPARATORS = re.compile(r"[,、，;；\n]")
_LEVEL_SUFFIX = re.compile(r"^(.*?)[:：]\s*(\S+)$")


def parse_names(cell: str) -> tuple[tuple[str, int | None], ...]:
    """ "組立、梱包:2" → (("組立", None), ("梱包", 2)); duplicates keep the first."""
    found: dict[str, tuple[str, int | None]] = {}
    for part in _NAME_SEPARATORS.split(cell):
        item = part.strip()
        if not item:
            continue
        level: int | None = None
        match = _LEVEL_SUFFIX.match(item)
        if match:
            item, level_text = match.group(1).strip(), _compact(match.group(2))
            if level_text not in ("1", "2", "3"):
                raise CellError(BAD_PROFICIENCY)
            level = int(level_text)
        found.setdefault(normalize(item), (item, level))
    return tuple(found.values())


def names() -> ValueType:
    def write(value: Any) -> Cell:
        parts = [name if level in (None, 1) else f"{name}:{level}" for name, level in value or ()]
        return "、".join(parts)

    return ValueType(parse_names, write, HINT_NAMES)


# --- specs and checking ----------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of an import/export file."""

    field: str  # English name; also accepted as the header
    header: str  # the Japanese header written on export
    type: ValueType
    required: bool = False  # the column must be in the file and the cell filled
    aliases: tuple[str, ...] = ()  # other accepted headers
    # Where the value goes on the model; None for columns the spec handles itself.
    attr: str | None = ""
    # What a blank cell means: the value to store, or EMPTY to leave the field as it is
    # (the model's default for a new record).
    blank: Any = ""

    @property
    def target(self) -> str | None:
        return self.field if self.attr == "" else self.attr


@dataclass
class Lookups:
    """What the check needs to know about the workspace, loaded once by the service."""

    # normalized name → [(id, archived)] of the records being imported (facilities, buyers)
    records: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    record_ids: frozenset[int] = frozenset()  # deals: the existing numbers
    capabilities: dict[str, int] = field(default_factory=dict)  # normalized name → id
    buyers: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    lost_reasons: dict[str, tuple[int, str]] = field(default_factory=dict)  # → (id, label)
    members: dict[str, int] = field(default_factory=dict)  # lower-case e-mail → membership id
    # Staff who left: kept only as the unchanged owner of an existing deal.
    former_members: dict[str, int] = field(default_factory=dict)
    deal_owners: dict[int, int | None] = field(default_factory=dict)  # deal id → owner id
    difficulty_levels: frozenset[int] = frozenset()
    # Orders, order months, wages and assignments (the report's history).
    facilities: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)  # by name
    orders: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)  # by title
    order_ids: frozenset[int] = frozenset()
    deal_ids: frozenset[int] = frozenset()
    deal_orders: dict[int, int] = field(default_factory=dict)  # deal id → its order's id


@dataclass(frozen=True)
class RowError:
    row: int  # as numbered in the spreadsheet
    column: str  # the header as written in the file ("" for the row as a whole)
    message: str  # English msgid
    params: Mapping[str, Any] = field(default_factory=dict)
    value: str = ""


@dataclass
class ImportRow:
    row: int
    values: dict[str, Any]  # field → typed value (EMPTY for a blank cell), present columns only
    target_id: int | None  # the existing record this row updates, None for a new one
    cells: list[str]
    # Model attributes the rules worked out (e.g. order_id from an order's title).
    resolved: dict[str, Any] = field(default_factory=dict)


class RowCheck:
    """What a spec's rule sees of one row, and where it reports problems."""

    def __init__(self, row: ImportRow, headers: Mapping[str, str]) -> None:
        self.row = row
        self.values = row.values
        self.headers = headers
        self.errors: list[RowError] = []

    def has(self, name: str) -> bool:
        """The column is in the file and its cell is filled (and was readable)."""
        return self.values.get(name, EMPTY) is not EMPTY

    def present(self, name: str) -> bool:
        return name in self.headers

    def error(self, field_name: str, message: str, /, **params: Any) -> None:
        self.errors.append(
            RowError(self.row.row, self.headers.get(field_name, ""), message, params)
        )


@dataclass(frozen=True)
class Spec:
    kind: str
    columns: tuple[Column, ...]
    # The field that identifies a row within the file (duplicates are errors).
    key: str
    # Row rules and references (match the existing record, names → ids); may set target_id.
    rules: Callable[[RowCheck, Lookups], None]
    # What identifies a row when one field does not (e.g. order and month); duplicates within
    # the file are reported on the ``key`` column. None: the ``key`` field's value.
    identity: Callable[[ImportRow], Any] | None = None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.field == name)


@dataclass
class Outcome:
    spec: Spec
    table: Table
    columns: list[Column | None]  # per file column: what it maps to (None: ignored)
    rows: list[ImportRow]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def present(self) -> list[Column]:
        return [c for c in self.columns if c is not None]

    @property
    def ignored(self) -> list[str]:
        return [h for h, c in zip(self.table.headers, self.columns, strict=True) if c is None and h]

    @property
    def new_count(self) -> int:
        return sum(1 for row in self.rows if row.target_id is None)

    @property
    def update_count(self) -> int:
        return sum(1 for row in self.rows if row.target_id is not None)


def map_headers(spec: Spec, headers: Sequence[str]) -> list[Column | None]:
    """Each header → its column (Japanese header, alias or English field name)."""
    known: dict[str, Column] = {}
    for column in spec.columns:
        for name in (column.header, column.field, *column.aliases):
            known[normalize(name)] = column
            known[_compact(name).casefold()] = column
    mapped: list[Column | None] = []
    seen: set[str] = set()
    for header in headers:
        found = known.get(normalize(header)) or known.get(_compact(header).casefold())
        if found is not None:
            if found.field in seen:
                raise Problem(DUPLICATE_HEADER, column=header)
            seen.add(found.field)
        mapped.append(found)
    missing = [c.header for c in spec.columns if c.required and c.field not in seen]
    if missing:
        raise Problem(MISSING_COLUMNS, columns="、".join(missing))
    return mapped


def check(spec: Spec, table: Table, lookups: Lookups) -> Outcome:
    """Type every cell, apply the spec's rules, find duplicates. Collects every error."""
    columns = map_headers(spec, table.headers)
    if not table.rows:
        raise Problem(NO_ROWS)
    headers = {
        column.field: header
        for header, column in zip(table.headers, columns, strict=True)
        if column is not None
    }
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    first_seen: dict[Any, int] = {}
    for number, cells in table.rows:
        row = ImportRow(row=number, values={}, target_id=None, cells=cells)
        row_errors: list[RowError] = []
        for header, column, cell in zip(table.headers, columns, cells, strict=True):
            if column is None:
                continue
            if not cell:
                if column.required:
                    row_errors.append(RowError(number, header, REQUIRED))
                row.values[column.field] = EMPTY
                continue
            try:
                row.values[column.field] = column.type.parse(cell)
            except CellError as exc:
                row_errors.append(RowError(number, header, exc.message, exc.params, cell))
                row.values[column.field] = EMPTY
        # Rules see only readable values; a cell that failed above counts as absent.
        rule_check = RowCheck(row, headers)
        spec.rules(rule_check, lookups)
        row_errors.extend(rule_check.errors)
        key = spec.identity(row) if spec.identity else row.values.get(spec.key, EMPTY)
        if key is not EMPTY and key is not None:
            dedupe = normalize(key) if isinstance(key, str) else key
            if dedupe in first_seen:
                row_errors.append(
                    RowError(
                        number,
                        headers.get(spec.key, ""),
                        DUPLICATE_KEY,
                        {"row": first_seen[dedupe]},
                    )
                )
            else:
                first_seen[dedupe] = number
        _attach_values(row_errors, table.headers, cells)
        errors.extend(row_errors)
        rows.append(row)
    return Outcome(spec=spec, table=table, columns=columns, rows=rows, errors=errors)


def _attach_values(errors: list[RowError], headers: Sequence[str], cells: Sequence[str]) -> None:
    by_header = dict(zip(headers, cells, strict=True))
    for index, error in enumerate(errors):
        if not error.value and error.column in by_header:
            errors[index] = RowError(
                error.row, error.column, error.message, error.params, by_header[error.column]
            )


def match_name(candidates: Sequence[tuple[int, bool]]) -> int | None:
    """The one record a name points to: the only active one, else the only archived one.
    Returns None if there is none; raises ``LookupError`` if the name is ambiguous."""
    active = [record_id for record_id, archived in candidates if not archived]
    if len(active) == 1:
        return active[0]
    if len(active) > 1 or len(candidates) > 1:
        raise LookupError("ambiguous")
    return candidates[0][0] if candidates else None


# --- writing files ---------------------------------------------------------------------------


def header_row(spec: Spec) -> list[str]:
    return [column.header for column in spec.columns]


def values_row(spec: Spec, values: Mapping[str, Any]) -> list[Cell]:
    return [column.type.write(values.get(column.field)) for column in spec.columns]


def csv_guard(value: Cell) -> str:
    """A cell for CSV: text a spreadsheet would run as a formula gets a leading quote (which
    ``read_csv`` removes again, so exports re-import unchanged)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    result = str(value)
    if isinstance(value, str) and result[:1] in FORMULA_STARTS:
        return "'" + result
    return result


def csv_lines(rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """CSV text, one record at a time (CRLF, as Excel writes it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_guard(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
