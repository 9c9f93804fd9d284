"""Score players with a fitted model: labels and class probabilities, valid rows only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from machine_learning import preprocessing
from machine_learning.schema import CLASS_LABELS, ID_COLUMN, PREDICTION_COLUMN
from machine_learning.validation import ChunkValidator, validate_frame

PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"prob_{label}" for label in CLASS_LABELS)


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
