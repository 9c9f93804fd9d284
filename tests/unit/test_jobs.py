"""Composite steps that need no MLflow server: preparing players and evaluating a model."""

from __future__ import annotations

import pandas as pd
import pytest

from machine_learning import jobs, training
from machine_learning.schema import TARGET_COLUMN


def test_prepare_players_validates_and_cleans(players, as_text):
    raw = as_text(players.head(100))
    raw.loc[3, TARGET_COLUMN] = ""  # training needs the target
    raw.loc[4, "Age"] = "-1"
    prepared = jobs.prepare_players(raw)
    assert prepared.summary == {"rows_in": 100, "accepted": 98, "rejected": 2}
    assert prepared.processed[TARGET_COLUMN].notna().all()
    assert set(prepared.processed["InGamePurchases"]) <= {"No", "Yes"}


def test_prepared_rows_reconcile(players):
    prepared = jobs.prepare_players(players.head(100))
    summary = prepared.summary
    assert summary["rows_in"] == summary["accepted"] + summary["rejected"] == 100


def test_evaluate_model_scores_valid_rows_and_counts_rejects(gb_model, split, as_text):
    test = split[1]
    raw = as_text(test)
    raw.loc[0, TARGET_COLUMN] = "Unknown"
    evaluation, rejected = jobs.evaluate_model(gb_model, raw)
    assert rejected == 1
    assert evaluation.confusion.sum() == len(test) - 1
    expected = training.evaluate(gb_model, test.iloc[1:])
    assert evaluation.metrics == pytest.approx(expected.metrics)


def test_evaluate_model_needs_valid_rows(gb_model, players):
    raw = players.head(3).copy()
    raw[TARGET_COLUMN] = "Unknown"
    with pytest.raises(ValueError, match="no valid labelled players"):
        jobs.evaluate_model(gb_model, raw)


def test_train_model_refuses_an_empty_table():
    with pytest.raises(ValueError, match="no valid labelled players"):
        jobs.train_model(
            pd.DataFrame(),
            tracking_uri="http://127.0.0.1:9",
            experiment_name="unused",
            model_name="unused",
        )
