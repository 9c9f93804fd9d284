"""Evidently column mapping built from the schema, and monitoring frames with predictions."""

from __future__ import annotations

import pandas as pd
from evidently import ColumnMapping

from machine_learning.inference import PROBABILITY_COLUMNS
from machine_learning.schema import (
    CATEGORICAL_FEATURES,
    CLASS_LABELS,
    ID_COLUMN,
    NUMERIC_FEATURES,
    PREDICTION_COLUMN,
    RAW_COLUMNS,
    TARGET_COLUMN,
)
from machine_learning.validation import ROW_COLUMN, validate_frame


def column_mapping(*frames: pd.DataFrame, with_target: bool = True) -> ColumnMapping:
    """Mapping for ``frames``: features, and prediction / target / id when every frame has them.

    The prediction is the label column ``prediction`` (Low/Medium/High). ``with_target=False``
    leaves ``EngagementLevel`` out (the drift tests: labels are not known at scoring time).
    """

    def in_all(column: str) -> bool:
        return bool(frames) and all(column in frame.columns for frame in frames)

    return ColumnMapping(
        numerical_features=list(NUMERIC_FEATURES),
        categorical_features=list(CATEGORICAL_FEATURES),
        prediction=PREDICTION_COLUMN if in_all(PREDICTION_COLUMN) else None,
        target=TARGET_COLUMN if with_target and in_all(TARGET_COLUMN) else None,
        id=ID_COLUMN if in_all(ID_COLUMN) else None,
        task="classification",
    )


def mapped_columns(mapping: ColumnMapping) -> list[str]:
    """Every column that ``mapping`` names (id, features, target, prediction)."""
    named = [mapping.id, *mapping.numerical_features, *mapping.categorical_features]
    named += [mapping.target, mapping.prediction]
    return [column for column in named if isinstance(column, str)]


def restrict(frame: pd.DataFrame, mapping: ColumnMapping) -> pd.DataFrame:
    """Only the columns of ``mapping`` (others would cost time and appear in data-quality tests)."""
    return frame.loc[:, [c for c in mapped_columns(mapping) if c in frame.columns]]


def has_predictions(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` carries the model's predicted label."""
    return PREDICTION_COLUMN in frame.columns


def monitoring_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Validated player rows (typed, categories normalised) with their prediction columns.

    ``raw`` holds schema columns plus ``prediction`` (and optionally ``prob_*``); rows that fail
    validation are dropped. Without a ``prediction`` column this is plain validation.
    """
    extra = [c for c in (PREDICTION_COLUMN, *PROBABILITY_COLUMNS) if c in raw.columns]
    schema_part = raw.loc[:, [c for c in raw.columns if c in RAW_COLUMNS]].reset_index(drop=True)
    result = validate_frame(schema_part)
    rejected_rows = set((result.rejected[ROW_COLUMN].astype(int) - 1).tolist())
    keep = [i for i in range(len(schema_part)) if i not in rejected_rows]
    frame = result.valid.copy()
    attached = raw.loc[:, extra].reset_index(drop=True).iloc[keep].reset_index(drop=True)
    for column in extra:
        values = attached[column]
        frame[column] = values.astype(str) if column == PREDICTION_COLUMN else pd.to_numeric(values)
    if PREDICTION_COLUMN in frame.columns:
        unknown = sorted(set(frame[PREDICTION_COLUMN]) - set(CLASS_LABELS))
        if unknown:
            allowed = ", ".join(CLASS_LABELS)
            raise ValueError(f"{PREDICTION_COLUMN}: unknown labels {unknown} (allowed: {allowed})")
    return frame
