"""Score players with a fitted model: labels and class probabilities, valid rows only."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from machine_learning import data_sources, preprocessing
from machine_learning.schema import CLASS_LABELS, ID_COLUMN, PREDICTION_COLUMN
from machine_learning.validation import (
    ChunkValidator,
    SchemaError,
    check_columns,
    validate_frame,
)

PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"prob_{label}" for label in CLASS_LABELS)
# The label column as written to a streamed predictions file: a closed set of values, which no
# spreadsheet would execute (so the formula check can skip it).
_LABELS = pd.CategoricalDtype(list(CLASS_LABELS))


@dataclass(frozen=True)
class ScoredBatch:
    """Predictions for the valid rows and the rejected rows with reasons."""

    predictions: pd.DataFrame
    scored_inputs: pd.DataFrame  # validated inputs + prediction columns (monitoring 'current')
    rejected: pd.DataFrame

    @property
    def summary(self) -> dict[str, int]:
        """rows_in = predicted + rejected."""
        predicted, rejected = len(self.predictions), len(self.rejected)
        return {"rows_in": predicted + rejected, "predicted": predicted, "rejected": rejected}


def predict_frame(model, valid: pd.DataFrame) -> pd.DataFrame:
    """Prediction label and class probabilities for validated rows (PlayerID kept when present)."""
    if valid.empty:
        columns = ([ID_COLUMN] if ID_COLUMN in valid else []) + [
            PREDICTION_COLUMN,
            *PROBABILITY_COLUMNS,
        ]
        return pd.DataFrame(columns=columns)
    inputs = preprocessing.features(valid)
    probabilities = model.predict_proba(inputs)
    classes = list(model.classes_)
    result = pd.DataFrame(index=valid.index)
    if ID_COLUMN in valid:
        result[ID_COLUMN] = valid[ID_COLUMN]
    codes = pd.Series(np.asarray(classes)[probabilities.argmax(axis=1)], index=valid.index)
    result[PREDICTION_COLUMN] = preprocessing.code_to_engagement(codes)
    for code, label in enumerate(CLASS_LABELS):
        result[f"prob_{label}"] = probabilities[:, classes.index(code)] if code in classes else 0.0
    return result.reset_index(drop=True)


def score_players(model, raw: pd.DataFrame, validator: ChunkValidator | None = None) -> ScoredBatch:
    """Validate ``raw`` (text or typed), predict every valid row, keep the rejects with reasons.

    ``validator``: ``raw`` is the next chunk of a larger table (row numbers and duplicate
    PlayerIDs span the chunks). A table without rows is an error, not an empty result.
    """
    if raw.empty:
        raise ValueError("no player rows to score: the input has no data rows")
    result = validator.validate(raw) if validator else validate_frame(raw)
    predictions = predict_frame(model, result.valid)
    scored = result.valid.reset_index(drop=True).copy()
    scored[PREDICTION_COLUMN] = predictions[PREDICTION_COLUMN].to_numpy()
    for column in PROBABILITY_COLUMNS:
        scored[column] = predictions[column].to_numpy()
    return ScoredBatch(predictions=predictions, scored_inputs=scored, rejected=result.rejected)


def score_file(
    load_model: Callable[[], Any],
    input_path: Path,
    output: Path,
    rejects: Path,
    chunk_bytes: int = data_sources.CHUNK_BYTES,
) -> dict[str, int]:
    """Score a players CSV of any size, chunk by chunk: predictions to ``output``, rejected rows
    with their reasons to ``rejects``; each file appears complete or not at all.

    ``load_model`` is called once the first chunk has been read and its columns checked (a bad
    file fails before the model is fetched). Returns ``rows_in``, ``predicted``, ``rejected``.
    """
    chunks = data_sources.iter_players_csv(input_path, chunk_bytes)
    first = next(chunks)
    try:
        check_columns(first.columns)
    except SchemaError as error:
        raise SchemaError(f"{input_path}: {error}") from error
    model = load_model()
    validator = ChunkValidator()
    with (
        data_sources.CsvFileWriter(output) as predicted,
        data_sources.CsvFileWriter(rejects) as rejected,
    ):
        for chunk in itertools.chain([first], chunks):
            scored = score_players(model, chunk, validator)
            predicted.write(scored.predictions.astype({PREDICTION_COLUMN: _LABELS}))
            rejected.write(scored.rejected)
    return {
        "rows_in": predicted.rows + rejected.rows,
        "predicted": predicted.rows,
        "rejected": rejected.rows,
    }
