"""Validate player tables: every row is either accepted (normalised) or rejected with a reason.

The reason of a rejected row names the column and the problem, e.g.
``Age: 130 is above the maximum 120``. Rows in = accepted + rejected, always.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from machine_learning.schema import (
    CATEGORICAL_COLUMNS,
    CLASS_LABELS,
    FEATURE_COLUMNS,
    ID_COLUMN,
    NUMERIC_COLUMNS,
    RAW_COLUMNS,
    TARGET_COLUMN,
)

REASON_COLUMN = "rejection_reason"
ROW_COLUMN = "source_row"

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
    if problems:
        raise SchemaError("; ".join(problems) + f" (expected: {', '.join(RAW_COLUMNS)})")


def _as_text(values: pd.Series) -> pd.Series:
    """Raw values as stripped text; missing values become ''."""
    text = values.astype("string").str.strip()
    return text.fillna("")


def _append(reasons: pd.Series, mask: pd.Series, message: pd.Series | str) -> pd.Series:
    if not mask.any():
        return reasons
    addition = message[mask] if isinstance(message, pd.Series) else message
    separator = np.where(reasons[mask] == "", "", "; ")
    reasons.loc[mask] = reasons[mask] + separator + addition
    return reasons


def _validate_numeric(frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series) -> pd.Series:
    for column in NUMERIC_COLUMNS:
        raw = _as_text(frame[column.name])
        number = pd.to_numeric(raw.where(raw != ""), errors="coerce")
        not_number = (raw != "") & number.isna()
        reasons = _append(reasons, not_number, column.name + ": not a number ('" + raw + "')")
        if column.integer:
            fractional = number.notna() & (number != np.floor(number))
            reasons = _append(
                reasons, fractional, column.name + ": not a whole number (" + raw + ")"
            )
        below = number < column.minimum
        above = number > column.maximum
        reasons = _append(
            reasons, below, column.name + ": " + raw + f" is below the minimum {column.minimum:g}"
        )
        reasons = _append(
            reasons, above, column.name + ": " + raw + f" is above the maximum {column.maximum:g}"
        )
        out[column.name] = number.astype("float64")
    return reasons


def _canonical_category(
    raw: pd.Series, allowed: tuple[str, ...], extra: dict[str, str]
) -> pd.Series:
    lookup = {value.lower(): value for value in allowed}
    lookup.update(extra)
    return raw.str.lower().map(lookup)


def _validate_categories(frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series) -> pd.Series:
    for column in CATEGORICAL_COLUMNS:
        raw = _as_text(frame[column.name])
        extra = _PURCHASE_SPELLINGS if column.name == "InGamePurchases" else {}
        value = _canonical_category(raw, column.categories, extra)
        unknown = (raw != "") & value.isna()
        allowed = ", ".join(column.categories)
        reasons = _append(
            reasons,
            unknown,
            column.name + ": unknown category '" + raw + f"' (allowed: {allowed})",
        )
        out[column.name] = value.astype("object").where(value.notna(), np.nan)
    return reasons


def _validate_id(frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series) -> pd.Series:
    raw = _as_text(frame[ID_COLUMN])
    number = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    reasons = _append(reasons, raw == "", f"{ID_COLUMN}: missing value")
    bad = (raw != "") & (number.isna() | (number < 0) | (number != np.floor(number)))
    reasons = _append(reasons, bad, ID_COLUMN + ": not a non-negative whole number ('" + raw + "')")
    duplicate = number.notna() & number.duplicated(keep="first") & ~bad
    reasons = _append(reasons, duplicate, ID_COLUMN + ": duplicate of an earlier row (" + raw + ")")
    out[ID_COLUMN] = number
    return reasons


def _validate_target(
    frame: pd.DataFrame, out: pd.DataFrame, reasons: pd.Series, require_target: bool
) -> pd.Series:
    raw = _as_text(frame[TARGET_COLUMN])
    value = _canonical_category(raw, CLASS_LABELS, {})
    unknown = (raw != "") & value.isna()
    reasons = _append(
        reasons,
        unknown,
        TARGET_COLUMN + ": unknown level '" + raw + f"' (allowed: {', '.join(CLASS_LABELS)})",
    )
    if require_target:
        reasons = _append(reasons, raw == "", f"{TARGET_COLUMN}: missing value")
    out[TARGET_COLUMN] = value.astype("object").where(value.notna(), np.nan)
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


def validate_frame(
    frame: pd.DataFrame, require_target: bool = False, require_id: bool = False
) -> ValidationResult:
    """Split ``frame`` into valid rows and rejected rows (with a reason naming column and problem).

    Missing feature values are valid (the model pipeline imputes them); a missing target is
    rejected only when ``require_target``. Unknown or missing columns raise :class:`SchemaError`.
    """
    check_columns(frame.columns, require_target=require_target, require_id=require_id)
    frame = frame.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    reasons = pd.Series("", index=frame.index, dtype="object")
    if ID_COLUMN in frame:
        reasons = _validate_id(frame, out, reasons)
    reasons = _validate_numeric(frame, out, reasons)
    reasons = _validate_categories(frame, out, reasons)
    if TARGET_COLUMN in frame:
        reasons = _validate_target(frame, out, reasons, require_target)
    out = out[[c for c in RAW_COLUMNS if c in out.columns]]

    bad = reasons != ""
    valid = _finish_types(out[~bad].reset_index(drop=True))
    rejected = frame[bad].astype("string").copy()
    rejected.insert(0, ROW_COLUMN, frame.index[bad] + 1)
    rejected[REASON_COLUMN] = reasons[bad]
    return ValidationResult(valid=valid, rejected=rejected.reset_index(drop=True))
