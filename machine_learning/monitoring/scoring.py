"""Monitoring data with predictions: kept when present, else scored with a model."""

from __future__ import annotations

import pandas as pd

from machine_learning import inference
from machine_learning.monitoring.columns import has_predictions, monitoring_frame


def with_predictions(raw: pd.DataFrame, model=None) -> pd.DataFrame:
    """Validated rows with ``prediction`` (+ ``prob_*``): kept from ``raw``, else from ``model``."""
    if has_predictions(raw):
        return monitoring_frame(raw)
    if model is None:
        raise ValueError("the data has no 'prediction' column and no model was given to score it")
    return inference.score_players(model, raw).scored_inputs
