"""Property-based tests (Hypothesis) of the validator on text as read from CSV files: a row is
rejected exactly when one of its cells is bad, its reason names exactly those columns, counts
reconcile, a table validated in chunks gives the same result as at once, and a rejected row
written to CSV never starts a cell with a formula.

(tests/unit/test_schema_validation.py has the example-based cases, and
tests/unit/serving/test_serving_properties.py the properties of the prediction service.)
"""

from __future__ import annotations

import string

import pandas as pd
from bad_input_helpers import FORMULA_STARTS, formula_cells, read_text_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from machine_learning.schema import (
    CATEGORICAL_COLUMNS,
    FEATURE_COLUMNS,
    ID_COLUMN,
    MAX_PLAYER_ID,
    NUMERIC_COLUMNS,
)
from machine_learning.storage import LocalStorage, write_csv
from machine_learning.validation import (
    REASON_COLUMN,
    ROW_COLUMN,
    ChunkValidator,
    validate_frame,
)

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COLUMNS = (ID_COLUMN, *FEATURE_COLUMNS)
PURCHASE_SPELLINGS = ("0", "1", "0.0", "1.0", "true", "FALSE", "yes", "No")


def _padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Values with the blanks a hand-edited file may have around them."""
    return st.tuples(st.sampled_from(["", " ", "  "]), values, st.sampled_from(["", " "])).map(
        "".join
    )


MISSING = st.sampled_from(["", "   "])  # a missing value: valid, the model imputes it
WORDS = st.text(alphabet=string.ascii_letters + " _-", min_size=1, max_size=10).filter(
    lambda v: v.strip() != ""
)
FORMULA = st.tuples(
    st.sampled_from(FORMULA_STARTS), st.sampled_from(["cmd|' /C calc'!A0", "1+1", "SUM(A1)"])
).map("".join)
# A formula at the start, or after a line break, separator or quote inside the cell.
INJECTED = st.one_of(
    FORMULA,
    st.tuples(WORDS, st.sampled_from(["\r", "\n", "\r\n", ",", '"', '",']), FORMULA).map("".join),
)


def _numbers(column) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """(valid, bad) cells of a numeric column."""
    low, high = int(column.minimum), int(column.maximum)
    if column.integer:
        valid = st.integers(low, high).map(str)
        fractional = st.integers(low, high - 1).map(lambda v: f"{v}.5")
    else:
        valid = st.floats(column.minimum, column.maximum, allow_nan=False).map(repr)
        fractional = st.nothing()
    outside = st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1)).map(str)
    not_numbers = WORDS.filter(lambda v: not _is_number(v))
    return st.one_of(valid, MISSING), st.one_of(outside, fractional, not_numbers, INJECTED)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _categories(column) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """(valid, bad) cells of a categorical column (categories in any letter case)."""
    spellings = [c for value in column.categories for c in (value, value.lower(), value.upper())]
    if column.name == "InGamePurchases":
        spellings += PURCHASE_SPELLINGS
    known = {s.lower() for s in spellings}
    unknown = WORDS.filter(lambda v: v.strip().lower() not in known)
    return st.one_of(st.sampled_from(spellings), MISSING), st.one_of(unknown, INJECTED)


def _player_ids() -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """(valid, bad) PlayerIDs; valid ones come from a small range, so duplicates are frequent."""
    bad = st.sampled_from(["", "-1", "1.5", "x7", str(MAX_PLAYER_ID + 1), "=1+1"])
    return st.integers(0, 25).map(str), bad


CELLS = {
    ID_COLUMN: _player_ids(),
    **{c.name: _numbers(c) for c in NUMERIC_COLUMNS},
    **{c.name: _categories(c) for c in CATEGORICAL_COLUMNS},
}


def _cell(column: str) -> st.SearchStrategy[tuple[str, bool]]:
    """A cell and whether it is bad (bad cells are rarer than good ones)."""
    valid, bad = CELLS[column]
    return st.one_of(
        _padded(valid).map(lambda v: (v, False)),
        _padded(valid).map(lambda v: (v, False)),
        _padded(valid).map(lambda v: (v, False)),
        bad.map(lambda v: (v, True)),
    )


ROWS = st.lists(st.fixed_dictionaries({c: _cell(c) for c in COLUMNS}), min_size=0, max_size=20)


def _table(rows: list[dict]) -> tuple[pd.DataFrame, list[set[str]]]:
    """The text table and, per row, the columns that must be named in its reason."""
    frame = pd.DataFrame([{c: row[c][0] for c in COLUMNS} for row in rows], columns=list(COLUMNS))
    expected, seen = [], set()
    for row in rows:
        bad = {column for column, (_, is_bad) in row.items() if is_bad}
        if ID_COLUMN not in bad:
            player = int(row[ID_COLUMN][0])
            if player in seen:
                bad.add(ID_COLUMN)  # a duplicate of an earlier row's PlayerID
            seen.add(player)
        expected.append(bad)
    return frame, expected


def _named_columns(reason: str) -> set[str]:
    return {part.split(": ", 1)[0] for part in reason.split("; ")} & set(COLUMNS)


@SETTINGS
@given(rows=ROWS)
def test_a_row_is_rejected_exactly_when_a_cell_is_bad_and_its_reason_names_them(rows):
    frame, expected = _table(rows)
    result = validate_frame(frame)

    assert result.rows_in == len(frame) == len(result.valid) + len(result.rejected)
    rejected_rows = result.rejected[ROW_COLUMN].tolist()
    assert rejected_rows == [i + 1 for i, bad in enumerate(expected) if bad]
    for row, reason in zip(rejected_rows, result.rejected[REASON_COLUMN]):
        assert _named_columns(reason) == expected[row - 1], reason
    kept = [int(frame.loc[i, ID_COLUMN]) for i, bad in enumerate(expected) if not bad]
    assert result.valid[ID_COLUMN].tolist() == kept if kept else result.valid.empty


@SETTINGS
@given(rows=ROWS, cuts=st.lists(st.integers(0, 25), max_size=4))
def test_validating_in_chunks_gives_the_result_of_validating_at_once(rows, cuts):
    frame, _ = _table(rows)
    whole = validate_frame(frame)
    bounds = sorted({0, len(frame), *(c for c in cuts if c < len(frame))})
    validator = ChunkValidator()
    parts = [validator.validate(frame.iloc[a:b]) for a, b in zip(bounds, bounds[1:])]

    valid = [p.valid for p in parts if not p.valid.empty]
    rejected = [p.rejected for p in parts if not p.rejected.empty]
    if valid:
        pd.testing.assert_frame_equal(
            pd.concat(valid, ignore_index=True), whole.valid, check_dtype=False
        )
    else:
        assert whole.valid.empty
    if rejected:
        pd.testing.assert_frame_equal(pd.concat(rejected, ignore_index=True), whole.rejected)
    else:
        assert whole.rejected.empty
    assert validator.rows == len(frame)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS.filter(bool))
def test_written_rejects_hold_no_formula_and_keep_the_raw_text(tmp_path_factory, rows):
    frame, _ = _table(rows)
    rejected = validate_frame(frame).rejected
    storage = LocalStorage(tmp_path_factory.mktemp("rejects"))
    path = write_csv(storage, "rejected.csv", rejected)

    assert formula_cells(path) == []  # every cell, every line of the file
    if rejected.empty:
        return
    back = read_text_csv(path)
    assert len(back) == len(rejected)  # no cell broke out into a row of its own
    inputs = frame.iloc[rejected[ROW_COLUMN] - 1]
    for column in COLUMNS:
        original = inputs[column].str.replace("\r", "\\r", regex=False).tolist()
        written = back[column].tolist()
        restored = [w[1:] if w != o and w[1:] == o else w for w, o in zip(written, original)]
        assert restored == original, column
