"""Validate player tables: every row is either accepted (normalised) or rejected with a reason.

The reason of a rejected row names the column and the problem, e.g.
``Age: 130 is above the maximum 120``. Rows in = accepted + rejected, always. A rejected row
keeps its raw text (a carriage return shown as ``\\r``, see :func:`_escape_carriage_returns`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from machine_learning.schema import (
    CATEGORICAL_COLUMNS,
    CLASS_LABELS,
    FEATURE_COLUMNS,
    ID_COLUMN,
    MAX_PLAYER_ID,
    NUMERIC_COLUMNS,
    RAW_COLUMNS,
    TARGET_COLUMN,
)

REASON_COLUMN = "rejection_reason"
ROW_COLUMN = "source_row"
# A raw value quoted in a reason is cut to this many characters (the full value stays in its
# column of the rejected row).
SHOWN_CHARACTERS = 60

# Spellings accepted for InGamePurchases (the Kaggle files use 0/1).
_PURCHASE_SPELLINGS = {
    "0": "No",
    "1": "Yes",
    "0.0": "No",
    "1.0": "Yes",
    "false": "No",
    "true": "Yes",
}


class SchemaError(ValueError):
    """A table whose columns do not match the schema (missing or unknown columns)."""


@dataclass(frozen=True)
class ValidationResult:
    """Accepted rows (normalised types and categories) and rejected rows (raw, with reasons)."""

    valid: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def rows_in(self) -> int:
        """Number of rows that were validated."""
        return len(self.valid) + len(self.rejected)


def check_columns(
    columns: Iterable[str], require_target: bool = False, require_id: bool = False
) -> None:
    """Raise :class:`SchemaError` naming every missing and unknown column."""
    present = [str(c) for c in columns]
    required = list(FEATURE_COLUMNS)
    if require_id:
        required.insert(0, ID_COLUMN)
    if require_target:
        required.append(TARGET_COLUMN)
    missing = [c for c in required if c not in present]
    unknown = [c for c in present if c not in RAW_COLUMNS]
    duplicated = sorted({c for c in present if present.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(unknown)}")
    if duplicated:
        problems.append(f"duplicated columns: {', '.join(duplicated)}")
    separators = sorted({s for s in ";\t|" for column in unknown if s in column})
    if separators and not [c for c in present if c in RAW_COLUMNS]:
        problems.append(f"the file must be comma-separated, not {separators[0]!r}-separated")
    if problems:
        raise SchemaError("; ".join(problems) + f" (expected: {', '.join(RAW_COLUMNS)})")


def _as_text(values: pd.Series) -> pd.Series:
    """Raw values as stripped text; missing values become ''."""
    cells = values.to_numpy(dtype=object)
    missing = pd.isna(cells)
    text = ["" if gone else str(cell).strip() for cell, gone in zip(cells, missing)]
    return pd.Series(text, index=values.index, dtype=object)


def _shown(raw: pd.Series) -> pd.Series:
    """Raw values as quoted in a reason: stripped, control characters and lone surrogates (from
    JSON escapes) escaped, long values cut."""
    text = _as_text(raw).str.replace(
        r"[\x00-\x1f\x7f\ud800-\udfff]", lambda m: ascii(m.group())[1:-1], regex=True
    )
    cut = text.str.len() > SHOWN_CHARACTERS
    return text.where(~cut, text.str.slice(0, SHOWN_CHARACTERS - 3) + "...")


# A reason: fixed text, or a function of the failing rows' mask (built only for those rows).
Message = Union[str, Callable[[pd.Series], pd.Series]]


def _append(reasons: pd.Series, mask: pd.Series, message: Message) -> pd.Series:
    if not mask.any():
        return reasons
    addition = message(mask) if callable(message) else message
    separator = np.where(reasons[mask] == "", "", "; ")
    reasons.loc[mask] = reasons[mask] + separator + addition
    return reasons


def _quoting(raw: pd.Series, before: str, after: str = "") -> Callable[[pd.Series], pd.Series]:
    """A message quoting each failing row's raw value: ``before + value + after``."""
    return lambda mask: before + _shown(raw[mask]) + after


@dataclass(frozen=True)
class _Parsed:
    """A raw column read as numbers or categories."""

    value: pd.Series  # the number or canonical category; NaN when absent or unreadable
    present: pd.Series  # the cell holds something other than blanks
    unreadable: pd.Series  # present, but not a number / not a known category


def _only_text_or_numbers(values: pd.Series) -> bool:
    """Whether every cell is text, a number or missing (no booleans, lists, objects...)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    return kind in {"string", "empty", "integer", "floating", "mixed-integer-float"}


def _parse_numbers(values: pd.Series) -> _Parsed:
    """Numbers of a raw column (text or typed); blank text is a missing value."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        number = values.astype("float64")
        return _Parsed(number, number.notna(), pd.Series(False, index=values.index))
    number = _plain_numbers(values) if values.dtype == object else None
    if number is None and values.dtype == object and _only_text_or_numbers(values):
        number = pd.to_numeric(values, errors="coerce")  # reads each cell; ignores blanks
    elif number is None:  # booleans, lists...: read their text, as a file would show them
        number = pd.to_numeric(_as_text(values).replace("", np.nan), errors="coerce")
    number = number.astype("float64")
    unread = number.isna()
    if unread.any():
        unread[unread] = (_as_text(values[unread]) != "").to_numpy()
    return _Parsed(number, number.notna() | unread, unread)


def _plain_numbers(values: pd.Series) -> pd.Series | None:
    """Text cells that are all plain numbers or empty, read fast (Arrow); None otherwise."""
    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
        empty = pc.equal(text, "")  # pylint: disable=no-member  # generated at import
        text = pc.if_else(empty, pa.scalar(None, pa.string()), text)  # pylint: disable=no-member
        number = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return pd.Series(number, index=values.index, dtype="float64")


def _parse_category(values: pd.Series, lookup: dict[str, str]) -> _Parsed:
    """Canonical categories of a raw column: ``lookup`` maps lower-case spellings to them."""
    usual = {**lookup, **{canonical: canonical for canonical in lookup.values()}}
    spellings = list(usual)
    canonical = np.array([usual[spelling] for spelling in spellings] + [np.nan], dtype=object)
    try:  # the usual spellings, without building text
        codes = pd.Categorical(values, categories=spellings).codes
    except TypeError:  # unhashable cells (lists from JSON records)
        codes = np.full(len(values), -1)
    value = canonical[codes]  # code -1: NaN
    miss = codes == -1
    present, unreadable = ~miss, np.zeros(len(values), dtype=bool)
    if miss.any():
        text = _as_text(values[miss])
        found = text.str.lower().map(lookup)
        value[miss] = found.to_numpy()
        present[miss] = (text != "").to_numpy()
        unreadable[miss] = present[miss] & found.isna().to_numpy()
    index = values.index
    return _Parsed(
        pd.Series(value, index=index, dtype=object),
        pd.Series(present, index=index),
        pd.Series(unreadable, index=index),
    )


def _validate_numeric(frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series) -> pd.Series:
    for column in NUMERIC_COLUMNS:
        raw = frame[column.name]
        parsed = _parse_numbers(raw)
        number = parsed.value
        reasons = _append(
            reasons, parsed.unreadable, _quoting(raw, f"{column.name}: not a number ('", "')")
        )
        if column.integer:
            fractional = number.notna() & (number != np.floor(number))
            reasons = _append(
                reasons, fractional, _quoting(raw, f"{column.name}: not a whole number (", ")")
            )
        below = number < column.minimum
        above = number > column.maximum
        reasons = _append(
            reasons,
            below,
            _quoting(raw, f"{column.name}: ", f" is below the minimum {column.minimum:g}"),
        )
        reasons = _append(
            reasons,
            above,
            _quoting(raw, f"{column.name}: ", f" is above the maximum {column.maximum:g}"),
        )
        out[column.name] = number
    return reasons


def _lookup(allowed: tuple[str, ...], extra: dict[str, str]) -> dict[str, str]:
    return {**{value.lower(): value for value in allowed}, **extra}


def _validate_categories(frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series) -> pd.Series:
    for column in CATEGORICAL_COLUMNS:
        raw = frame[column.name]
        extra = _PURCHASE_SPELLINGS if column.name == "InGamePurchases" else {}
        parsed = _parse_category(raw, _lookup(column.categories, extra))
        allowed = ", ".join(column.categories)
        reasons = _append(
            reasons,
            parsed.unreadable,
            _quoting(raw, f"{column.name}: unknown category '", f"' (allowed: {allowed})"),
        )
        out[column.name] = parsed.value
    return reasons


def _validate_id(
    frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series, earlier_ids: np.ndarray
) -> pd.Series:
    """PlayerID: present, a whole number from 0 to MAX_PLAYER_ID, not seen in an earlier row
    (of this frame, or ``earlier_ids``: sorted ids of the chunks before it)."""
    raw = frame[ID_COLUMN]
    parsed = _parse_numbers(raw)
    number = parsed.value
    reasons = _append(reasons, ~parsed.present, f"{ID_COLUMN}: missing value")
    fractional = number.notna() & (number != np.floor(number))
    bad = parsed.unreadable | (number < 0) | fractional
    reasons = _append(
        reasons, bad, _quoting(raw, f"{ID_COLUMN}: not a non-negative whole number ('", "')")
    )
    too_large = ~bad & (number > MAX_PLAYER_ID)
    reasons = _append(
        reasons,
        too_large,
        _quoting(raw, f"{ID_COLUMN}: ", f" is above the maximum {MAX_PLAYER_ID}"),
    )
    usable = number.notna() & ~bad & ~too_large
    duplicate = usable & (number.duplicated(keep="first") | _seen_before(number, earlier_ids))
    reasons = _append(
        reasons, duplicate, _quoting(raw, f"{ID_COLUMN}: duplicate of an earlier row (", ")")
    )
    out[ID_COLUMN] = number.where(usable)
    return reasons


def _seen_before(number: pd.Series, earlier_ids: np.ndarray) -> pd.Series:
    """Which values of ``number`` are among the sorted ``earlier_ids``."""
    if earlier_ids.size == 0:
        return pd.Series(False, index=number.index)
    values = number.to_numpy(dtype="float64", na_value=np.nan)
    at = np.searchsorted(earlier_ids, values).clip(max=len(earlier_ids) - 1)
    return pd.Series(earlier_ids[at] == values, index=number.index)


def _validate_target(
    frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series, require_target: bool
) -> pd.Series:
    raw = frame[TARGET_COLUMN]
    parsed = _parse_category(raw, _lookup(CLASS_LABELS, {}))
    allowed = ", ".join(CLASS_LABELS)
    reasons = _append(
        reasons,
        parsed.unreadable,
        _quoting(raw, f"{TARGET_COLUMN}: unknown level '", f"' (allowed: {allowed})"),
    )
    if require_target:
        reasons = _append(reasons, ~parsed.present, f"{TARGET_COLUMN}: missing value")
    out[TARGET_COLUMN] = parsed.value
    return reasons


def _finish_types(valid: pd.DataFrame) -> pd.DataFrame:
    """Whole-number columns without gaps become int64 again."""
    for column in NUMERIC_COLUMNS:
        series = valid[column.name]
        if column.integer and series.notna().all():
            valid[column.name] = series.astype("int64")
    if ID_COLUMN in valid and valid[ID_COLUMN].notna().all():
        valid[ID_COLUMN] = valid[ID_COLUMN].astype("int64")
    return valid


def _escape_carriage_returns(rejected: pd.DataFrame) -> pd.DataFrame:
    """Raw text with a carriage return written as ``\\r``: CSV writers leave a lone CR
    unquoted, and a reader (or spreadsheet) would start a new row there, whose first cell
    could be a formula that escaped neutralisation."""
    rejected = rejected.copy()
    for column in rejected.columns:
        if rejected[column].str.contains("\r", regex=False).any():
            rejected[column] = rejected[column].str.replace("\r", "\\r", regex=False)
    return rejected


def validate_frame(
    frame: pd.DataFrame, require_target: bool = False, require_id: bool = False
) -> ValidationResult:
    """Split ``frame`` into valid rows and rejected rows (with a reason naming column and problem).

    Missing feature values are valid (the model pipeline imputes them); a missing target is
    rejected only when ``require_target``. Unknown or missing columns raise :class:`SchemaError`.
    """
    return _validate(frame, require_target, require_id, first_row=1, earlier_ids=_NO_IDS)[0]


_NO_IDS = np.empty(0, dtype="float64")


class ChunkValidator:
    """Validates a table that arrives in chunks (a large file read piece by piece): source rows
    count from the first chunk, and a PlayerID seen in an earlier chunk is a duplicate."""

    def __init__(self, require_target: bool = False, require_id: bool = False) -> None:
        self.require_target = require_target
        self.require_id = require_id
        self.rows = 0
        self._ids = _NO_IDS

    def validate(self, chunk: pd.DataFrame) -> ValidationResult:
        """The next chunk's valid and rejected rows (``source_row`` continues the count)."""
        result, ids = _validate(
            chunk, self.require_target, self.require_id, self.rows + 1, self._ids
        )
        self.rows += len(chunk)
        if len(ids):
            self._ids = np.union1d(self._ids, ids)
        return result


def _validate(
    frame: pd.DataFrame,
    require_target: bool,
    require_id: bool,
    first_row: int,
    earlier_ids: np.ndarray,
) -> tuple[ValidationResult, np.ndarray]:
    """The result, and the PlayerIDs of ``frame`` that later rows must not repeat."""
    check_columns(frame.columns, require_target=require_target, require_id=require_id)
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    reasons = pd.Series("", index=frame.index, dtype="object")
    if ID_COLUMN in frame:
        reasons = _validate_id(frame, out, reasons, earlier_ids)
    reasons = _validate_numeric(frame, out, reasons)
    reasons = _validate_categories(frame, out, reasons)
    if TARGET_COLUMN in frame:
        reasons = _validate_target(frame, out, reasons, require_target)
    out = out[[c for c in RAW_COLUMNS if c in out.columns]]

    bad = reasons != ""
    ids = out[ID_COLUMN].dropna().to_numpy(dtype="float64") if ID_COLUMN in out else _NO_IDS
    valid = _finish_types(out[~bad].reset_index(drop=True))
    rejected = _escape_carriage_returns(frame[bad].astype("string"))
    rejected.insert(0, ROW_COLUMN, frame.index[bad] + first_row)
    rejected[REASON_COLUMN] = reasons[bad]
    return ValidationResult(valid=valid, rejected=rejected.reset_index(drop=True)), ids
