"""Composite steps that the CLI and the pipelines call: they take data and settings, return data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from machine_learning import preprocessing, registry, tracking, training
from machine_learning.validation import validate_frame


@dataclass(frozen=True)
class PreparedPlayers:
    """Labelled players ready for training, and the rows that were rejected (with reasons)."""

    processed: pd.DataFrame
    rejected: pd.DataFrame
    rows_in: int

    @property
    def summary(self) -> dict[str, int]:
        """rows_in = accepted + rejected."""
        return {
            "rows_in": self.rows_in,
            "accepted": len(self.processed),
            "rejected": len(self.rejected),
        }


def prepare_players(raw: pd.DataFrame) -> PreparedPlayers:
    """Validate labelled players (target required) and clean the valid ones."""
    result = validate_frame(raw, require_target=True)
    return PreparedPlayers(
        processed=preprocessing.clean_players(result.valid),
        rejected=result.rejected,
        rows_in=result.rows_in,
    )


def train_model(  # pylint: disable=too-many-arguments
    processed: pd.DataFrame,
    *,
    tracking_uri: str,
    experiment_name: str,
    model_name: str,
    kind: str = training.GRADIENT_BOOSTING,
    params: Mapping[str, Any] | None = None,
    alias: str | None = registry.CANDIDATE,
    tags: Mapping[str, str] | None = None,
    version_tags: Mapping[str, str] | None = None,
) -> tuple[tracking.TrainingResult, pd.DataFrame, pd.DataFrame]:
    """Split, train, track, register as ``alias``; returns the result and the train/test sets."""
    if processed.empty:
        raise ValueError("no valid labelled players to train on")
    train, test = preprocessing.split_train_test(processed)
    result = tracking.train_and_track(
        train,
        test,
        tracking_uri=tracking_uri,
        experiment_name=experiment_name,
        model_name=model_name,
        kind=kind,
        params=params,
        alias=alias,
        tags=tags,
        version_tags=version_tags,
    )
    return result, train, test


def evaluate_model(model, raw: pd.DataFrame) -> tuple[training.Evaluation, int]:
    """Metrics of ``model`` on the valid labelled rows of ``raw``, and the number rejected."""
    prepared = prepare_players(raw)
    if prepared.processed.empty:
        raise ValueError("no valid labelled players to evaluate on")
    return training.evaluate(model, prepared.processed), len(prepared.rejected)
