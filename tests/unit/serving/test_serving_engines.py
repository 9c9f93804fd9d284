"""The fast path gives scikit-learn's labels and probabilities within 1e-5, or falls back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from machine_learning import preprocessing
from machine_learning.schema import FEATURE_COLUMNS
from machine_learning.serving import engines
from machine_learning.validation import validate_frame


def _sklearn_reference(model, columns):
    frame = pd.DataFrame({name: columns[name] for name in FEATURE_COLUMNS})
    return model.predict(frame), model.predict_proba(frame)


def _assert_agrees(engine, model, columns):
    labels, probabilities = _sklearn_reference(model, columns)
    result = engine.predict(columns)
    assert np.array_equal(result.codes, labels)
    assert np.abs(result.probabilities - probabilities).max() <= engines.TOLERANCE


def test_gradient_boosting_runs_on_onnxruntime(serving_model, sample):
    choice = engines.choose_engine(serving_model, sample)
    assert choice.engine.name == engines.ONNX
    assert choice.verification.passed and choice.fallback_reason is None
    _assert_agrees(choice.engine, serving_model, sample)


@pytest.mark.real_data
def test_fast_path_agrees_on_the_whole_real_batch_file(serving_model, sample, real_batch_file):
    batch = validate_frame(pd.read_csv(real_batch_file)).valid
    columns = engines.frame_columns(batch)
    engine = engines.choose_engine(serving_model, sample).engine
    assert engine.name == engines.ONNX
    _assert_agrees(engine, serving_model, columns)
    check = engines.verify(engine, engines.SklearnEngine(serving_model), columns)
    assert check.rows == len(batch) and check.passed


def test_fast_path_agrees_on_simulated_players(serving_model, sample, players):
    columns = engines.frame_columns(players)
    _assert_agrees(engines.choose_engine(serving_model, sample).engine, serving_model, columns)


def test_native_categorical_model_fails_verification_and_falls_back(hist_model, sample):
    # skl2onnx converts HistGradientBoosting's categorical splits as numeric ones: wrong answers.
    choice = engines.choose_engine(hist_model, sample)
    assert choice.engine.name == engines.SKLEARN
    assert not choice.verification.passed
    assert choice.fallback_reason.startswith("verification failed")
    _assert_agrees(choice.engine, hist_model, sample)


def test_a_model_that_does_not_convert_falls_back(split, sample):
    bare = GradientBoostingClassifier(n_estimators=5).fit(
        pd.get_dummies(preprocessing.features(split[0])), preprocessing.target(split[0])
    )
    choice = engines.choose_engine(bare, sample)
    assert choice.engine.name == engines.SKLEARN
    assert choice.fallback_reason.startswith("conversion failed: TypeError")


def test_an_unsupported_step_falls_back(split, sample):
    model = Pipeline(
        [("preprocessor", preprocessing.build_preprocessor()), ("classifier", LogisticRegression())]
    )
    model.steps.insert(1, ("custom", _Doubler()))
    model.fit(preprocessing.features(split[0]), preprocessing.target(split[0]))
    choice = engines.choose_engine(model, sample)
    assert choice.engine.name == engines.SKLEARN
    assert "conversion failed" in choice.fallback_reason


def test_the_fast_path_can_be_switched_off(serving_model, sample):
    choice = engines.choose_engine(serving_model, sample, fast=False)
    assert choice.engine.name == engines.SKLEARN
    assert choice.fallback_reason == "fast path disabled"


def test_probabilities_are_in_label_order_and_sum_to_one(serving_model, sample):
    result = engines.choose_engine(serving_model, sample).engine.predict(sample)
    assert result.probabilities.shape == (len(result.codes), 3)
    assert np.allclose(result.probabilities.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(result.probabilities.argmax(axis=1), result.codes)


def test_verification_sample_covers_every_category(sample):
    for values in sample.values():
        assert len(values) == 1000
        if values.dtype == object:
            assert len(set(values)) >= 2


class _Doubler:
    """A transformer skl2onnx knows nothing about."""

    def fit(self, features, labels=None):  # pylint: disable=unused-argument
        return self

    def transform(self, features):
        return features * 2

    def fit_transform(self, features, labels=None):
        return self.fit(features, labels).transform(features)
