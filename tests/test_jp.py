"""Tests for app.jp: JST, fiscal years, eras and yen formatting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.jp import (
    JST,
    fiscal_year_label,
    fiscal_year_months,
    fiscal_year_of,
    fiscal_year_range,
    format_jst,
    format_man_yen,
    format_percent,
    format_signed_yen,
    format_yen,
    to_jst,
    wareki,
    wareki_short,
)

# --- time -----------------------------------------------------------------------


def test_jst_key() -> None:
    assert str(JST) == "Asia/Tokyo"


def test_to_jst_naive_is_utc() -> None:
    result = to_jst(datetime(2024, 1, 1, 15, 30))
    assert result.tzinfo is JST
    assert result.replace(tzinfo=None) == datetime(2024, 1, 2, 0, 30)
    assert result.utcoffset() == timedelta(hours=9)


def test_to_jst_aware_utc() -> None:
    result = to_jst(datetime(2024, 6, 30, 23, 0, tzinfo=UTC))
    assert result.isoformat() == "2024-07-01T08:00:00+09:00"


def test_to_jst_other_offset() -> None:
    est = timezone(timedelta(hours=-5))
    result = to_jst(datetime(2024, 3, 10, 12, 0, tzinfo=est))
    assert result.isoformat() == "2024-03-11T02:00:00+09:00"


def test_to_jst_already_jst_unchanged() -> None:
    dt = datetime(2024, 3, 10, 12, 0, tzinfo=JST)
    assert to_jst(dt) == dt
    assert to_jst(dt).isoformat() == "2024-03-10T12:00:00+09:00"


def test_format_jst_default() -> None:
    assert format_jst(datetime(2023, 3, 31, 15, 30)) == "2023-04-01 00:30"


def test_format_jst_custom_fmt() -> None:
    dt = datetime(2023, 12, 31, 14, 59, 59, tzinfo=UTC)
    assert format_jst(dt, "%Y/%m/%d %H:%M:%S") == "2023/12/31 23:59:59"


def test_format_jst_none() -> None:
    assert format_jst(None) == ""
    assert format_jst(None, "%Y") == ""


# --- fiscal year ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "fy"),
    [
        (date(2023, 3, 31), 2022),
        (date(2023, 4, 1), 2023),
        (date(2023, 12, 31), 2023),
        (date(2024, 1, 1), 2023),
        (date(2024, 2, 29), 2023),
        (date(2024, 3, 31), 2023),
        (date(2024, 4, 1), 2024),
    ],
)
def test_fiscal_year_of_date(d: date, fy: int) -> None:
    assert fiscal_year_of(d) == fy


@pytest.mark.parametrize(
    ("dt", "fy"),
    [
        # 2023-03-31T15:30Z is 2023-04-01 00:30 JST.
        (datetime(2023, 3, 31, 15, 30, tzinfo=UTC), 2023),
        (datetime(2023, 3, 31, 15, 30), 2023),  # naive = UTC
        (datetime(2023, 3, 31, 14, 59, 59), 2022),  # 23:59:59 JST on March 31
        (datetime(2023, 3, 31, 15, 0), 2023),  # exactly midnight JST
        (datetime(2023, 4, 1, 0, 0, tzinfo=JST), 2023),
        (datetime(2023, 3, 31, 23, 59, tzinfo=JST), 2022),
    ],
)
def test_fiscal_year_of_datetime_uses_jst(dt: datetime, fy: int) -> None:
    assert fiscal_year_of(dt) == fy


def test_fiscal_year_range() -> None:
    assert fiscal_year_range(2023) == (date(2023, 4, 1), date(2024, 3, 31))
    assert fiscal_year_range(2019) == (date(2019, 4, 1), date(2020, 3, 31))


def test_fiscal_year_range_bounds_belong_to_fy() -> None:
    start, end = fiscal_year_range(2022)
    assert fiscal_year_of(start) == 2022
    assert fiscal_year_of(end) == 2022
    assert fiscal_year_of(start - timedelta(days=1)) == 2021
    assert fiscal_year_of(end + timedelta(days=1)) == 2023


def test_fiscal_year_months() -> None:
    months = fiscal_year_months(2023)
    assert len(months) == 12
    assert months == [
        (2023, 4),
        (2023, 5),
        (2023, 6),
        (2023, 7),
        (2023, 8),
        (2023, 9),
        (2023, 10),
        (2023, 11),
        (2023, 12),
        (2024, 1),
        (2024, 2),
        (2024, 3),
    ]


# --- fiscal year labels ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fy", "long", "short"),
    [
        (2022, "令和4年度", "R.4年度"),
        (2023, "令和5年度", "R.5年度"),
        (2020, "令和2年度", "R.2年度"),
        (2019, "令和元年度", "R.1年度"),  # April 2019 was still Heisei, but FY2019 = 令和元年度
        (2018, "平成30年度", "H.30年度"),
        (1990, "平成2年度", "H.2年度"),
        (1989, "平成元年度", "H.1年度"),
        (1988, "昭和63年度", "S.63年度"),
        (1927, "昭和2年度", "S.2年度"),
        (1926, "昭和元年度", "S.1年度"),
    ],
)
def test_fiscal_year_label(fy: int, long: str, short: str) -> None:
    assert fiscal_year_label(fy) == long
    assert fiscal_year_label(fy, "long") == long
    assert fiscal_year_label(fy, style="short") == short


def test_fiscal_year_label_western() -> None:
    assert fiscal_year_label(2022, "western") == "2022年度"
    assert fiscal_year_label(2019, style="western") == "2019年度"


@pytest.mark.parametrize("style", ["", "Long", "wareki", "R"])
def test_fiscal_year_label_unknown_style(style: str) -> None:
    with pytest.raises(ValueError, match="style"):
        fiscal_year_label(2022, style)


def test_fiscal_year_label_before_showa() -> None:
    with pytest.raises(ValueError):
        fiscal_year_label(1925)


# --- wareki ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "long", "short"),
    [
        (date(2023, 4, 1), "令和5年4月1日", "R5.4.1"),
        (date(2020, 1, 1), "令和2年1月1日", "R2.1.1"),
        (date(2019, 12, 31), "令和元年12月31日", "R1.12.31"),
        (date(2019, 5, 1), "令和元年5月1日", "R1.5.1"),
        (date(2019, 4, 30), "平成31年4月30日", "H31.4.30"),
        (date(1990, 1, 1), "平成2年1月1日", "H2.1.1"),
        (date(1989, 1, 8), "平成元年1月8日", "H1.1.8"),
        (date(1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
        (date(1927, 1, 1), "昭和2年1月1日", "S2.1.1"),
        (date(1926, 12, 25), "昭和元年12月25日", "S1.12.25"),
    ],
)
def test_wareki(d: date, long: str, short: str) -> None:
    assert wareki(d) == long
    assert wareki_short(d) == short


@pytest.mark.parametrize("d", [date(1926, 12, 24), date(1900, 1, 1), date(1, 1, 1)])
def test_wareki_before_showa_raises(d: date) -> None:
    with pytest.raises(ValueError):
        wareki(d)
    with pytest.raises(ValueError):
        wareki_short(d)


def test_wareki_datetime_uses_jst() -> None:
    # 2019-04-30T15:00Z is 2019-05-01 00:00 JST: the first day of Reiwa.
    assert wareki(datetime(2019, 4, 30, 15, 0)) == "令和元年5月1日"
    assert wareki_short(datetime(2019, 4, 30, 14, 59, tzinfo=UTC)) == "H31.4.30"


# --- yen -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0円"),
        (1, "1円"),
        (999, "999円"),
        (1000, "1,000円"),
        (1234, "1,234円"),
        (-8854, "-8,854円"),
        (1_234_567_890, "1,234,567,890円"),
    ],
)
def test_format_yen(n: int, expected: str) -> None:
    assert format_yen(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (18919, "+18,919円"),
        (1, "+1円"),
        (-1000, "-1,000円"),
        (0, "±0円"),
        (1_000_000, "+1,000,000円"),
    ],
)
def test_format_signed_yen(n: int, expected: str) -> None:
    assert format_signed_yen(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (87_900_000, "8,790万円"),
        (87_895_000, "8,790万円"),  # half rounds away from zero
        (87_894_999, "8,789万円"),
        (100_280_000, "1億28万円"),
        (100_000_000, "1億円"),
        (123_456_789_000, "1,234億5,679万円"),
        (99_995_000, "1億円"),  # rounding carries into 億
        (99_994_999, "9,999万円"),
        (100_004_999, "1億円"),
        (100_005_000, "1億1万円"),
        (10_000, "1万円"),
        (14_999, "1万円"),
        (15_000, "2万円"),
        (9_999, "9,999円"),  # below 1万: plain yen
        (5_000, "5,000円"),
        (0, "0円"),
        (-66_410_000, "-6,641万円"),
        (-15_000, "-2万円"),
        (-14_999, "-1万円"),
        (-10_000, "-1万円"),
        (-9_999, "-9,999円"),
        (-100_280_000, "-1億28万円"),
        (-123_456_789_000, "-1,234億5,679万円"),
    ],
)
def test_format_man_yen(n: int, expected: str) -> None:
    assert format_man_yen(n) == expected


@pytest.mark.parametrize("func", [format_yen, format_signed_yen, format_man_yen])
@pytest.mark.parametrize("bad", [1.0, 1234.5, True, False, "1000", None])
def test_yen_rejects_non_int(func: object, bad: object) -> None:
    assert callable(func)
    with pytest.raises(TypeError):
        func(bad)


# --- percent --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "digits", "expected"),
    [
        (2.13, 0, "213%"),
        (0.5, 0, "50%"),
        (1.0, 0, "100%"),
        (0.0, 0, "0%"),
        (0.1234, 1, "12.3%"),
        (0.12345, 2, "12.35%"),
        (1, 0, "100%"),
        (-0.25, 0, "-25%"),
        (-0.001, 0, "0%"),  # no negative zero
        (0.0, 1, "0.0%"),
    ],
)
def test_format_percent(ratio: float, digits: int, expected: str) -> None:
    assert format_percent(ratio, digits) == expected


def test_format_percent_default_digits() -> None:
    assert format_percent(2.13) == "213%"


def test_format_percent_none() -> None:
    assert format_percent(None) == "—"
    assert format_percent(None, 2) == "—"


def test_format_percent_negative_digits() -> None:
    with pytest.raises(ValueError):
        format_percent(0.5, -1)
