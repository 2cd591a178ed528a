"""ISO 2859-1 single sampling for normal inspection, against values read from the standard's
Table 1 and Table 2-A (identical in ANSI/ASQ Z1.4 and JIS Z 9015-1)."""

from __future__ import annotations

import pytest

from app.quality.sampling import (
    AQL_VALUES,
    LETTERS,
    SAMPLE_SIZES,
    TABLE_2A,
    SamplingError,
    code_letter,
    normalise_aql,
    sampling_plan,
)

# (lot size, AQL, level) → (Table 1 letter, letter used, n, Ac, Re, 100 %)
KNOWN = [
    # Plans read straight off the table.
    (1_000, "1.0", "II", "J", "J", 80, 2, 3, False),
    (5_000, "2.5", "II", "L", "L", 200, 10, 11, False),
    (3_000, "0.65", "II", "K", "K", 125, 2, 3, False),
    (100, "0.65", "II", "F", "F", 20, 0, 1, False),
    (500, "4.0", "II", "H", "H", 50, 5, 6, False),
    (1_200, "6.5", "II", "J", "J", 80, 10, 11, False),
    (20_000, "0.40", "II", "M", "M", 315, 3, 4, False),
    (40, "6.5", "II", "D", "D", 8, 1, 2, False),
    (281, "1.0", "II", "H", "H", 50, 1, 2, False),
    # Down arrows: a larger sample.
    (50, "1.0", "II", "D", "E", 13, 0, 1, False),
    (150, "1.5", "II", "F", "G", 32, 1, 2, False),
    (8, "2.5", "II", "A", "C", 5, 0, 1, False),
    # Up arrows: a smaller sample with a higher acceptance number.
    (200, "100", "II", "G", "E", 13, 21, 22, False),
    (10_000, "10", "II", "L", "K", 125, 21, 22, False),
    # The sample reaches the lot: inspect every item.
    (4, "2.5", "II", "A", "C", 4, 0, 1, True),
    (91, "0.10", "II", "F", "K", 91, 0, 1, True),
    # Other general levels.
    (1_000, "1.0", "I", "G", "H", 50, 1, 2, False),
    (1_000, "1.0", "III", "K", "K", 125, 3, 4, False),
    # The last rows.
    (600_000, "0.025", "II", "Q", "R", 2000, 1, 2, False),
    (600_000, "0.010", "II", "Q", "Q", 1250, 0, 1, False),
    # The two arrows that point out of the table turn back.
    (5, "10", "II", "A", "C", 5, 1, 2, True),
    (8, "10", "II", "A", "C", 5, 1, 2, False),
    (600_000, "0.015", "III", "R", "P", 800, 0, 1, False),
]


@pytest.mark.parametrize(("lot", "aql", "level", "letter", "used", "n", "ac", "re", "full"), KNOWN)
def test_known_plans(lot, aql, level, letter, used, n, ac, re, full):
    plan = sampling_plan(lot, aql, level)
    assert plan.code_letter == letter
    assert plan.plan_letter == used
    assert (plan.sample_size, plan.accept, plan.reject) == (n, ac, re)
    assert plan.full_inspection is full


@pytest.mark.parametrize(
    ("lot", "letter"),
    [(2, "A"), (8, "A"), (9, "B"), (15, "B"), (16, "C"), (25, "C"), (26, "D"), (50, "D"),
     (51, "E"), (90, "E"), (91, "F"), (150, "F"), (151, "G"), (280, "G"), (281, "H"),
     (500, "H"), (501, "J"), (1200, "J"), (1201, "K"), (3200, "K"), (3201, "L"),
     (10_000, "L"), (10_001, "M"), (35_000, "M"), (35_001, "N"), (150_000, "N"),
     (150_001, "P"), (500_000, "P"), (500_001, "Q"), (10**9, "Q")],
)  # fmt: skip
def test_table_1_level_ii_band_edges(lot, letter):
    assert code_letter(lot, "II") == letter


def test_table_2a_follows_the_standards_diagonals():
    """Catches a typo in the table: along a row the plans step through the same sequence
    (0/1, ↑, ↓, 1/2, 2/3, 3/4, 5/6, 7/8, 10/11, 14/15, 21/22, then 30/31 and 44/45 in rows A–E
    only), each row one AQL column to the left of the row above."""
    sequence = [(0, 1), "^", "v", (1, 2), (2, 3), (3, 4), (5, 6), (7, 8), (10, 11), (14, 15),
                (21, 22), (30, 31), (44, 45)]  # fmt: skip
    for row, letter in enumerate(LETTERS):
        first = 14 - row  # the column of the row's 0/1 (6.5 for A, 4.0 for B, ...)
        limit = 12 if letter in "ABCDE" else 10
        for column in range(len(AQL_VALUES)):
            step = column - first
            expected: object
            if step < 0:
                expected = "v"
            elif step <= limit:
                expected = sequence[step]
            else:
                expected = "^"
            assert TABLE_2A[letter][column] == expected, (letter, AQL_VALUES[column])


def test_every_lot_and_aql_has_a_sound_plan():
    lots = [1, 2, 3, 7, 8, 9, 20, 49, 90, 151, 499, 1_000, 3_201, 35_000, 200_000, 10**6]
    for level in ("I", "II", "III"):
        for aql in AQL_VALUES:
            for lot in lots:
                plan = sampling_plan(lot, aql, level)
                assert 1 <= plan.sample_size <= lot
                assert plan.reject == plan.accept + 1
                assert plan.full_inspection == (SAMPLE_SIZES[plan.plan_letter] >= lot)
                assert plan.sample_size == min(lot, SAMPLE_SIZES[plan.plan_letter])


def test_verdict_uses_the_acceptance_number():
    plan = sampling_plan(1_000, "1.0")  # n 80, Ac 2, Re 3
    assert plan.verdict(0) and plan.verdict(2)
    assert not plan.verdict(3)
    with pytest.raises(ValueError):
        plan.verdict(-1)


def test_aql_is_read_as_the_table_prints_it():
    assert normalise_aql("1") == "1.0"
    assert normalise_aql(0.65) == "0.65"
    assert normalise_aql("10.0") == "10"
    for bad in ("0.5", "abc", "", "2"):
        with pytest.raises(SamplingError):
            normalise_aql(bad)


def test_out_of_range_input_is_refused():
    with pytest.raises(SamplingError):
        sampling_plan(0, "1.0")
    with pytest.raises(SamplingError):
        sampling_plan(100, "1.0", "IV")
    with pytest.raises(SamplingError):
        code_letter(1)
    assert sampling_plan(1, "1.0").sample_size == 1
