"""Scoring players: a label and class probabilities per valid row, rejects kept with reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machine_learning import inference, simulator
from machine_learning.schema import CLASS_LABELS, FEATURE_COLUMNS, ID_COLUMN, PREDICTION_COLUMN
from machine_learning.validation import REASON_COLUMN, validate_frame

PROBABILITIES = list(inference.PROBABILITY_COLUMNS)


@pytest.fixture(scope="module")
def new_players() -> pd.DataFrame:
    """Unlabelled players of a later day."""
    return simulator.split_labels(simulator.daily_players(0, 200, seed=5))[0]


@pytest.fixture(params=["gb_model", "hist_model"])
def model(request):
    return request.getfixturevalue(request.param)


def test_probability_columns_follow_the_class_labels():
    assert PROBABILITIES == [f"prob_{label}" for label in CLASS_LABELS]


def test_predict_frame_gives_a_label_and_probabilities_summing_to_one(model, new_players):
    valid = validate_frame(new_players).valid
    predicted = inference.predict_frame(model, valid)
    assert list(predicted.columns) == [ID_COLUMN, PREDICTION_COLUMN, *PROBABILITIES]
    assert len(predicted) == len(valid)
    assert predicted[ID_COLUMN].tolist() == valid[ID_COLUMN].tolist()
    assert set(predicted[PREDICTION_COLUMN]) <= set(CLASS_LABELS)
    probabilities = predicted[PROBABILITIES].to_numpy()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)


def test_prediction_is_the_most_probable_class(model, new_players):
    predicted = inference.predict_frame(model, validate_frame(new_players).valid)
    most_probable = predicted[PROBABILITIES].idxmax(axis=1).str.removeprefix("prob_")
    assert predicted[PREDICTION_COLUMN].tolist() == most_probable.tolist()


def test_predict_frame_agrees_with_the_model(model, new_players):
    valid = validate_frame(new_players).valid
    predicted = inference.predict_frame(model, valid)
    codes = model.predict(valid[list(FEATURE_COLUMNS)])
    assert predicted[PREDICTION_COLUMN].tolist() == [CLASS_LABELS[c] for c in codes]


def test_predict_frame_without_player_id(model, new_players):
    valid = validate_frame(new_players.drop(columns=[ID_COLUMN])).valid
    predicted = inference.predict_frame(model, valid)
    assert list(predicted.columns) == [PREDICTION_COLUMN, *PROBABILITIES]
    assert len(predicted) == len(valid)


def test_predict_frame_of_no_rows_has_the_columns(model, new_players):
    predicted = inference.predict_frame(model, validate_frame(new_players.head(0)).valid)
    assert predicted.empty
    assert list(predicted.columns) == [ID_COLUMN, PREDICTION_COLUMN, *PROBABILITIES]


def test_unseen_category_and_missing_values_are_still_scored(model, new_players):
    valid = validate_frame(new_players.head(3)).valid
    valid.loc[0, "Location"] = "Antarctica"  # past validation, e.g. a newer schema
    valid.loc[1, "Age"] = np.nan
    valid.loc[2, "Gender"] = np.nan
    predicted = inference.predict_frame(model, valid)
    assert predicted[PREDICTION_COLUMN].notna().all()
    np.testing.assert_allclose(predicted[PROBABILITIES].sum(axis=1), 1.0)


def test_score_players_counts_reconcile_with_rejected_rows(model, new_players, as_text):
    raw = as_text(new_players)
    raw.loc[0, "Age"] = "-4"
    raw.loc[5, "Gender"] = "Robot"
    raw.loc[7, "SessionsPerWeek"] = "many"
    scored = inference.score_players(model, raw)
    assert scored.summary == {"rows_in": len(raw), "predicted": len(raw) - 3, "rejected": 3}
    assert len(scored.predictions) == len(scored.scored_inputs) == len(raw) - 3
    rejected_ids = set(scored.rejected[ID_COLUMN])
    assert rejected_ids == set(raw.loc[[0, 5, 7], ID_COLUMN])
    assert not rejected_ids & set(scored.predictions[ID_COLUMN].astype(str))
    assert scored.rejected[REASON_COLUMN].str.len().gt(0).all()


def test_scored_inputs_are_the_validated_inputs_with_predictions(model, new_players):
    scored = inference.score_players(model, new_players)
    inputs = scored.scored_inputs
    assert list(inputs.columns) == [
        ID_COLUMN,
        *FEATURE_COLUMNS,
        PREDICTION_COLUMN,
        *PROBABILITIES,
    ]
    assert set(inputs["InGamePurchases"]) <= {"No", "Yes"}  # normalised, like the training data
    pd.testing.assert_frame_equal(
        inputs[[ID_COLUMN, PREDICTION_COLUMN, *PROBABILITIES]], scored.predictions
    )


def test_score_players_when_every_row_is_rejected(model, new_players):
    raw = new_players.head(4).copy()
    raw["Age"] = -1
    scored = inference.score_players(model, raw)
    assert scored.summary == {"rows_in": 4, "predicted": 0, "rejected": 4}
    assert scored.predictions.empty and scored.scored_inputs.empty
    assert PREDICTION_COLUMN in scored.scored_inputs
