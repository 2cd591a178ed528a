"""ISO 2859-1 single sampling plans for normal inspection (= ANSI/ASQ Z1.4, JIS Z 9015-1).

Pure: no Flask, no database. ``sampling_plan(lot_size, aql, level)`` reads the sample size
code letter from Table 1 (general inspection levels I, II and III), then the sample size and
the acceptance / rejection numbers from Table 2-A, following its arrows:

- "↓" use the first sampling plan below the arrow (a larger sample, same AQL column);
- "↑" use the first sampling plan above the arrow (a smaller sample);
- when the sample size reached equals or exceeds the lot size, inspect 100 %.

Table 2-A is written out below as printed, one string per code letter: ``v`` is ↓, ``^`` is
↑, and ``a/r`` an acceptance / rejection pair. Two cells point out of the table: A at AQL 10
points up (there is no row above A) and R at AQL 0.015 points down (R is the last row). There
the first plan the other way is used: C (n = 5, Ac 1) and P (n = 800, Ac 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

# Acceptance quality limits, the columns of Table 2-A (percent nonconforming up to 10,
# nonconformities per hundred units above).
AQL_VALUES: Final = (
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65",
    "1.0", "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65",
    "100", "150", "250", "400", "650", "1000",
)  # fmt: skip

LEVELS: Final = ("I", "II", "III")

# Table 1: upper bound of each lot-size band and its code letter per general level.
_TABLE_1: Final[tuple[tuple[int | None, str, str, str], ...]] = (
    (8, "A", "A", "B"),
    (15, "A", "B", "C"),
    (25, "B", "C", "D"),
    (50, "C", "D", "E"),
    (90, "C", "E", "F"),
    (150, "D", "F", "G"),
    (280, "E", "G", "H"),
    (500, "F", "H", "J"),
    (1_200, "G", "J", "K"),
    (3_200, "H", "K", "L"),
    (10_000, "J", "L", "M"),
    (35_000, "K", "M", "N"),
    (150_000, "L", "N", "P"),
    (500_000, "M", "P", "Q"),
    (None, "N", "Q", "R"),
)

SAMPLE_SIZES: Final = {
    "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50, "J": 80,
    "K": 125, "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000,
}  # fmt: skip
LETTERS: Final = tuple(SAMPLE_SIZES)

# Table 2-A, one row per code letter, one cell per AQL in AQL_VALUES order.
_TABLE_2A_ROWS: Final = {
    # 0.010 0.015 0.025 0.040 0.065 0.10 0.15 0.25 0.40 0.65 1.0 1.5 2.5 4.0 6.5 10 15 25 40 65
    # 100 150 250 400 650 1000
    "A": "v v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31",
    "B": "v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45",
    "C": "v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^",
    "D": "v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^",
    "E": "v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^ ^",
    "F": "v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^",
    "G": "v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^",
    "H": "v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^",
    "J": "v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "K": "v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "L": "v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "M": "v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "N": "v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "P": "v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "Q": "0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "R": "^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
}

Cell = tuple[int, int] | str  # (Ac, Re), or "v" / "^"


def _parse_row(row: str) -> tuple[Cell, ...]:
    cells: list[Cell] = []
    for token in row.split():
        if token in ("v", "^"):
            cells.append(token)
        else:
            accept, reject = token.split("/")
            cells.append((int(accept), int(reject)))
    if len(cells) != len(AQL_VALUES):
        raise ValueError(f"a row of Table 2-A has {len(cells)} cells")
    return tuple(cells)


TABLE_2A: Final = {letter: _parse_row(row) for letter, row in _TABLE_2A_ROWS.items()}


class SamplingError(ValueError):
    """A lot size, AQL or inspection level the standard's tables do not cover."""


@dataclass(frozen=True)
class SamplingPlan:
    """How to inspect one lot: draw ``sample_size`` items; accept the lot with at most
    ``accept`` nonconforming, reject it with ``reject`` or more."""

    lot_size: int
    aql: str
    level: str
    code_letter: str  # from Table 1
    plan_letter: str  # the row of Table 2-A used, after the arrows
    sample_size: int
    accept: int
    reject: int
    full_inspection: bool  # the sample is the whole lot

    def verdict(self, nonconforming: int) -> bool:
        """Whether the lot is accepted with this many nonconforming items in the sample."""
        if nonconforming < 0:
            raise ValueError("a count cannot be negative")
        return nonconforming <= self.accept


def normalise_aql(aql: str | float | Decimal) -> str:
    """The AQL as the table prints it ("1.0", "0.65", "10"); SamplingError if not a column."""
    try:
        wanted = Decimal(str(aql).strip())
    except InvalidOperation as exc:
        raise SamplingError(f"not an AQL: {aql!r}") from exc
    for value in AQL_VALUES:
        if Decimal(value) == wanted:
            return value
    raise SamplingError(f"AQL {aql} is not one of the standard's values")


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table 1: the sample size code letter of a lot of ``lot_size`` items (2 or more)."""
    if level not in LEVELS:
        raise SamplingError(f"unknown inspection level {level!r}")
    if lot_size < 2:
        raise SamplingError("Table 1 starts at lots of 2 items")
    column = LEVELS.index(level) + 1
    for upper, *letters in _TABLE_1:
        if upper is None or lot_size <= upper:
            return letters[column - 1]
    raise AssertionError("unreachable: the last band has no upper bound")


def table_2a(letter: str, aql: str) -> tuple[str, int, int]:
    """Follow the arrows of Table 2-A from (letter, aql): (letter used, Ac, Re)."""
    column = AQL_VALUES.index(normalise_aql(aql))
    start = LETTERS.index(letter)
    first = TABLE_2A[letter][column]
    if isinstance(first, tuple):
        return letter, first[0], first[1]
    step = 1 if first == "v" else -1
    for direction in (step, -step):  # the other way only when the arrow leaves the table
        row = start + direction
        while 0 <= row < len(LETTERS):
            cell = TABLE_2A[LETTERS[row]][column]
            if isinstance(cell, tuple):
                return LETTERS[row], cell[0], cell[1]
            row += direction
    raise AssertionError("a column of Table 2-A without a plan")


def sampling_plan(lot_size: int, aql: str | float | Decimal, level: str = "II") -> SamplingPlan:
    """The single sampling plan for normal inspection of one lot.

    A lot of one item, or a plan whose sample is at least the lot, is inspected 100 %
    (the sample is the lot; the acceptance and rejection numbers stay those of the plan).
    """
    if lot_size < 1:
        raise SamplingError("a lot has at least one item")
    value = normalise_aql(aql)
    if level not in LEVELS:
        raise SamplingError(f"unknown inspection level {level!r}")
    letter = "A" if lot_size == 1 else code_letter(lot_size, level)
    used, accept, reject = table_2a(letter, value)
    sample = SAMPLE_SIZES[used]
    full = sample >= lot_size
    return SamplingPlan(
        lot_size=lot_size,
        aql=value,
        level=level,
        code_letter=letter,
        plan_letter=used,
        sample_size=lot_size if full else sample,
        accept=accept,
        reject=reject,
        full_inspection=full,
    )
