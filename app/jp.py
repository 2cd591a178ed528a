"""Japanese locale helpers: JST time, fiscal years, eras (和暦) and yen formatting.

Pure standard-library module: no Flask, SQLAlchemy or Babel imports.
Naive datetimes are treated as UTC, as stored in the database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

__all__ = [
    "JST",
    "fiscal_year_label",
    "fiscal_year_months",
    "fiscal_year_of",
    "fiscal_year_range",
    "format_jst",
    "format_man_yen",
    "format_percent",
    "format_signed_yen",
    "format_yen",
    "to_jst",
    "wareki",
    "wareki_short",
]

JST: Final = ZoneInfo("Asia/Tokyo")

_MAN: Final = 10_000
_OKU: Final = 100_000_000


class _Era(NamedTuple):
    start: date
    name: str
    letter: str


# Newest first, so the first era whose start is <= the date wins.
_ERAS: Final[tuple[_Era, ...]] = (
    _Era(date(2019, 5, 1), "令和", "R"),
    _Era(date(1989, 1, 8), "平成", "H"),
    _Era(date(1926, 12, 25), "昭和", "S"),
)

# Fiscal-year labels: first fiscal year counted in each era (government usage).
_FY_ERAS: Final[tuple[tuple[int, _Era], ...]] = (
    (2019, _ERAS[0]),
    (1989, _ERAS[1]),
    (1926, _ERAS[2]),
)


# --- time -------------------------------------------------------------------


def to_jst(dt: datetime) -> datetime:
    """Convert an aware or naive (= UTC) datetime to an aware JST datetime."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(JST)


def today_jst() -> date:
    """Today's date in Japan: the calendar users work by, whatever the server's zone."""
    return datetime.now(JST).date()


def format_jst(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a datetime in JST with ``strftime``; ``""`` for None."""
    if dt is None:
        return ""
    return to_jst(dt).strftime(fmt)


def _local_date(d: date | datetime) -> date:
    """Return the JST calendar date of a datetime, or the date itself."""
    if isinstance(d, datetime):
        return to_jst(d).date()
    return d


# --- fiscal year (April → March) ----------------------------------------------


def fiscal_year_of(d: date | datetime) -> int:
    """Japanese fiscal year (April–March) of a date; datetimes are taken in JST."""
    day = _local_date(d)
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_range(fy: int) -> tuple[date, date]:
    """Inclusive (April 1 of fy, March 31 of fy + 1)."""
    return date(fy, 4, 1), date(fy + 1, 3, 31)


def fiscal_year_months(fy: int) -> list[tuple[int, int]]:
    """The 12 (year, month) pairs of a fiscal year, April to March."""
    return [(fy, m) for m in range(4, 13)] + [(fy + 1, m) for m in range(1, 4)]


def _era_year(n: int) -> str:
    """Era year number as written in full form: 1 is 元."""
    return "元" if n == 1 else str(n)


def fiscal_year_label(fy: int, style: str = "long") -> str:
    """Label a fiscal year: "令和4年度" (long), "R.4年度" (short) or "2022年度" (western).

    FY2019 is 令和元年度 and FY1989 平成元年度, following government usage.
    """
    if style == "western":
        return f"{fy}年度"
    if style not in ("long", "short"):
        raise ValueError(f"unknown fiscal year label style: {style!r}")
    for first_fy, era in _FY_ERAS:
        if fy >= first_fy:
            n = fy - first_fy + 1
            if style == "long":
                return f"{era.name}{_era_year(n)}年度"
            return f"{era.letter}.{n}年度"
    raise ValueError(f"fiscal year before the Showa era is not supported: {fy}")


# --- eras (和暦) ----------------------------------------------------------------


def _era_of(d: date) -> tuple[_Era, int]:
    """Return the era in force on a date and the era year (1-based)."""
    for era in _ERAS:
        if d >= era.start:
            return era, d.year - era.start.year + 1
    raise ValueError(f"date before the Showa era is not supported: {d.isoformat()}")


def wareki(d: date) -> str:
    """Long Japanese-era date, e.g. "令和5年4月1日" or "令和元年5月1日"."""
    day = _local_date(d)
    era, n = _era_of(day)
    return f"{era.name}{_era_year(n)}年{day.month}月{day.day}日"


def wareki_short(d: date) -> str:
    """Short Japanese-era date, e.g. "R5.4.1", "H31.4.30", "S64.1.7"."""
    day = _local_date(d)
    era, n = _era_of(day)
    return f"{era.letter}{n}.{day.month}.{day.day}"


# --- money (integer yen) --------------------------------------------------------


def _check_yen(n: object) -> int:
    """Reject anything but a real int (bool and float raise TypeError)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"yen amounts must be int, got {type(n).__name__}")
    return n


def format_yen(n: int) -> str:
    """Plain yen with thousands separators: "1,234円", "-8,854円", "0円"."""
    return f"{_check_yen(n):,}円"


def format_signed_yen(n: int) -> str:
    """Signed difference: "+18,919円", "-1,000円", "±0円"."""
    value = _check_yen(n)
    if value == 0:
        return "±0円"
    return f"{value:+,}円"


def format_man_yen(n: int) -> str:
    """Report-style amount rounded to 万円 (half away from zero), with 億 when ≥ 1億.

    87,900,000 → "8,790万円"; 100,280,000 → "1億28万円"; below 1万 in absolute
    value the amount is shown in plain yen ("5,000円").
    """
    value = _check_yen(n)
    magnitude = abs(value)
    if magnitude < _MAN:
        return format_yen(value)
    man = (magnitude + _MAN // 2) // _MAN
    oku, rest = divmod(man, _OKU // _MAN)
    sign = "-" if value < 0 else ""
    if oku == 0:
        return f"{sign}{man:,}万円"
    tail = f"{rest:,}万" if rest else ""
    return f"{sign}{oku:,}億{tail}円"


def format_percent(ratio: float | None, digits: int = 0) -> str:
    """Ratio as a percentage: 2.13 → "213%"; None → "—"."""
    if ratio is None:
        return "—"
    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    text = f"{ratio * 100:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "-0%" for tiny negative ratios
    return f"{text}%"
