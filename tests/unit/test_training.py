"""Model kinds, fitting, evaluation and feature importances (small data and small models)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

from machine_learning import training
from machine_learning.schema import CLASS_LABELS, FEATURE_COLUMNS, TARGET_COLUMN

METRIC_KEYS = {
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    *(f"f1_{label}" for label in CLASS_LABELS),
}


def test_both_kinds_are_known():
    assert set(training.MODEL_KINDS) == {
        training.GRADIENT_BOOSTING,
        training.HIST_GRADIENT_BOOSTING,
    }


def test_model_params_apply_overrides_without_changing_defaults():
    before = dict(training.DEFAULT_PARAMS[training.GRADIENT_BOOSTING])
    params = training.model_params(training.GRADIENT_BOOSTING, {"n_estimators": 10})
    assert params["n_estimators"] == 10
    assert params["learning_rate"] == before["learning_rate"]
    assert training.DEFAULT_PARAMS[training.GRADIENT_BOOSTING] == before


def test_unknown_kind_raises_listing_the_known_ones():
    with pytest.raises(ValueError) as error:
        training.model_params("random_forest")
    assert "'random_forest'" in str(error.value)
    for kind in training.MODEL_KINDS:
        assert kind in str(error.value)
    with pytest.raises(ValueError, match="random_forest"):
        training.build_model("random_forest")


@pytest.mark.parametrize(
    ("kind", "classifier"),
    [
        (training.GRADIENT_BOOSTING, GradientBoostingClassifier),
        (training.HIST_GRADIENT_BOOSTING, HistGradientBoostingClassifier),
    ],
)
def test_build_model_selects_the_kind_with_its_params(kind, classifier):
    model = training.build_model(kind, {"random_state": 3})
    step = model.named_steps["classifier"]
    assert isinstance(step, classifier)
    assert step.get_params()["random_state"] == 3
    assert step.get_params()["learning_rate"] == training.DEFAULT_PARAMS[kind]["learning_rate"]


@pytest.mark.parametrize("model_fixture", ["gb_model", "hist_model"])
def test_evaluation_has_every_metric_in_range(request, model_fixture, split):
    evaluation = training.evaluate(request.getfixturevalue(model_fixture), split[1])
    assert set(evaluation.metrics) == METRIC_KEYS
    for name, value in evaluation.metrics.items():
        assert isinstance(value, float), name
        assert 0.0 <= value <= 1.0, name
    # Simulated labels follow play time closely: even small models beat the majority class.
    majority = split[1][TARGET_COLUMN].value_counts(normalize=True).max()
    assert evaluation.metrics["accuracy"] > majority + 0.2


@pytest.mark.parametrize("model_fixture", ["gb_model", "hist_model"])
def test_confusion_matrix_is_3x3_and_counts_every_row(request, model_fixture, split):
    test = split[1]
    evaluation = training.evaluate(request.getfixturevalue(model_fixture), test)
    assert evaluation.confusion.shape == (3, 3)
    assert evaluation.confusion.sum() == len(test)
    # Rows are the true classes in CLASS_LABELS order.
    true_counts = test[TARGET_COLUMN].value_counts()
    assert evaluation.confusion.sum(axis=1).tolist() == [true_counts[c] for c in CLASS_LABELS]
    accuracy = np.trace(evaluation.confusion) / len(test)
    assert evaluation.metrics["accuracy"] == pytest.approx(accuracy)


class _AlwaysLow:
    """A model that predicts Low for every player."""

    @staticmethod
    def predict(features):
        return np.zeros(len(features), dtype=int)


def test_metrics_and_confusion_keep_every_class_when_one_is_never_seen(split):
    test = split[1]
    without_high = test[test[TARGET_COLUMN] != "High"]
    evaluation = training.evaluate(_AlwaysLow(), without_high)
    assert evaluation.confusion.shape == (3, 3)
    assert evaluation.confusion[:, 1:].sum() == 0  # nothing predicted Medium or High
    assert evaluation.confusion[2].sum() == 0  # no true High
    assert evaluation.confusion.sum() == len(without_high)
    assert set(evaluation.metrics) == METRIC_KEYS
    assert evaluation.metrics["f1_High"] == 0.0
    low_share = (without_high[TARGET_COLUMN] == "Low").mean()
    assert evaluation.metrics["accuracy"] == pytest.approx(low_share)


def test_fit_is_deterministic(split):
    train, test = split
    params = {"n_estimators": 5}
    first = training.fit(train, training.GRADIENT_BOOSTING, params)
    second = training.fit(train, training.GRADIENT_BOOSTING, params)
    features = test.drop(columns=[TARGET_COLUMN])
    np.testing.assert_array_equal(first.predict_proba(features), second.predict_proba(features))


def test_params_override_reaches_the_fitted_model(gb_model, hist_model):
    assert gb_model.named_steps["classifier"].n_estimators_ == 10
    assert hist_model.named_steps["classifier"].n_iter_ <= 30


@pytest.mark.parametrize("model_fixture", ["gb_model", "hist_model"])
def test_feature_importances_cover_the_input_columns(request, model_fixture, split):
    importances = training.feature_importances(request.getfixturevalue(model_fixture), split[1])
    assert sorted(importances.index) == sorted(FEATURE_COLUMNS)
    assert importances.is_monotonic_decreasing
    # Weekly play time drives the label: its two factors are the most important columns.
    assert set(importances.index[:4]) >= {"SessionsPerWeek", "AvgSessionDurationMinutes"}


def test_impurity_importances_of_one_hot_columns_are_summed(gb_model, split):
    importances = training.feature_importances(gb_model, split[1])
    raw = gb_model.named_steps["classifier"].feature_importances_
    assert importances.sum() == pytest.approx(raw.sum())
    assert (importances >= 0).all()
