"""Compiled trees: bit-identical to scikit-learn's predict_proba, or not used at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from machine_learning import fast_trees, preprocessing, simulator, training
from machine_learning.schema import CATEGORICAL_FEATURES, FEATURE_COLUMNS, NUMERIC_FEATURES


def _features(rows: int, seed: int, missing: float = 0.0) -> pd.DataFrame:
    """Model inputs as validation leaves them, with some missing values."""
    frame = simulator.simulate_players(rows, seed=seed)
    frame["InGamePurchases"] = preprocessing.purchases_to_text(frame["InGamePurchases"])
    frame = preprocessing.features(frame).astype({c: "float64" for c in NUMERIC_FEATURES})
    rng = np.random.default_rng(seed)
    for column in FEATURE_COLUMNS:
        frame.loc[rng.random(rows) < missing, column] = np.nan
    return frame


@pytest.fixture(scope="module")
def reference_gb(split):
    """The reference parameters (150 stages of depth-4 trees)."""
    return training.fit(split[0], training.GRADIENT_BOOSTING)


@pytest.fixture(scope="module", params=["gb_small", "gb_reference", "hist"])
def model(request, gb_model, hist_model):
    """Each supported kind."""
    if request.param == "gb_reference":
        return request.getfixturevalue("reference_gb")
    return gb_model if request.param == "gb_small" else hist_model


@pytest.mark.parametrize("repeated", [(), CATEGORICAL_FEATURES])
def test_probabilities_are_bit_identical_to_scikit_learn(model, repeated):
    sample = _features(3000, seed=11, missing=0.02)
    compiled = fast_trees.compile_pipeline(model, sample.head(500), repeated)
    assert compiled is not None
    expected = model.predict_proba(sample)
    assert np.array_equal(compiled.predict_proba(sample), expected)  # every bit
    assert list(compiled.classes_) == list(model.classes_)


@pytest.mark.parametrize("rows", [1, 2, 3, 1023, 1025, 2049])
def test_every_block_size_gives_the_same_bits(hist_model, rows):
    sample = _features(rows, seed=rows, missing=0.05)
    compiled = fast_trees.compile_pipeline(hist_model, _features(200, seed=1))
    assert np.array_equal(compiled.predict_proba(sample), hist_model.predict_proba(sample))


def test_no_rows_fail_as_in_scikit_learn(gb_model):
    compiled = fast_trees.compile_pipeline(gb_model, _features(50, seed=1))
    empty = _features(5, seed=1).head(0)
    with pytest.raises(ValueError, match="0 sample"):
        gb_model.predict_proba(empty)
    with pytest.raises(ValueError, match="0 sample"):
        compiled.predict_proba(empty)


@pytest.mark.parametrize("repeated", [(), CATEGORICAL_FEATURES])
def test_unknown_categories_and_all_missing_rows_follow_scikit_learn(
    hist_model, gb_model, repeated
):
    sample = _features(50, seed=3)
    sample.loc[:9, list(CATEGORICAL_FEATURES)] = "not-a-category"  # unknown to the encoders
    sample.loc[10:19, :] = np.nan
    for model in (hist_model, gb_model):
        compiled = fast_trees.compile_pipeline(model, _features(100, seed=2), repeated)
        assert np.array_equal(compiled.predict_proba(sample), model.predict_proba(sample))


def test_encoders_run_once_per_distinct_combination(gb_model, monkeypatch):
    compiled = fast_trees.compile_pipeline(gb_model, _features(100, seed=2), CATEGORICAL_FEATURES)
    encoder = gb_model[0].named_transformers_["cat"]  # imputer + one-hot encoder
    seen = []
    original = encoder.transform
    monkeypatch.setattr(encoder, "transform", lambda X: (seen.append(len(X)), original(X))[1])
    sample = _features(5000, seed=5)
    compiled.predict_proba(sample)
    combinations = len(sample[list(CATEGORICAL_FEATURES)].drop_duplicates())
    assert seen == [combinations] and combinations <= 240


def test_values_beyond_the_split_values_land_in_the_outer_bins(gb_model, hist_model):
    sample = _features(20, seed=4)
    sample.loc[:9, list(NUMERIC_FEATURES)] = 1e30
    sample.loc[10:, list(NUMERIC_FEATURES)] = -1e30
    for model in (gb_model, hist_model):
        compiled = fast_trees.compile_pipeline(model, _features(100, seed=2))
        assert np.array_equal(compiled.predict_proba(sample), model.predict_proba(sample))


def test_values_gradient_boosting_refuses_are_refused_alike(gb_model):
    sample = _features(5, seed=4)
    sample.loc[0, "Age"] = 1e300  # beyond float32
    compiled = fast_trees.compile_pipeline(gb_model, _features(100, seed=2))
    with pytest.raises(ValueError, match="too large"):
        gb_model.predict_proba(sample)
    with pytest.raises(ValueError, match="too large"):
        compiled.predict_proba(sample)


def test_raw_scores_equal_the_classifiers_own(split):
    train = split[0]
    classifier = GradientBoostingClassifier(n_estimators=12, max_depth=3, random_state=0)
    inputs = np.random.default_rng(0).normal(size=(len(train), 4))
    classifier.fit(inputs, preprocessing.target(train))
    trees = fast_trees.compile_classifier(classifier)
    rows = np.random.default_rng(1).normal(size=(777, 4))
    # pylint: disable-next=protected-access
    expected = classifier._raw_predict(rows.astype(np.float32))
    assert np.array_equal(trees.raw_scores(rows), expected)


def test_other_models_are_not_compiled(split):
    forest = RandomForestClassifier(n_estimators=3, random_state=0)
    inputs = np.random.default_rng(0).normal(size=(len(split[0]), 3))
    forest.fit(inputs, preprocessing.target(split[0]))
    with pytest.raises(fast_trees.UnsupportedModel, match="RandomForestClassifier"):
        fast_trees.compile_classifier(forest)
    pipeline = training.build_model(training.GRADIENT_BOOSTING)
    pipeline.steps[-1] = ("classifier", forest)
    assert fast_trees.compile_pipeline(pipeline, _features(10, seed=1)) is None


def test_a_model_whose_tables_disagree_is_not_used(gb_model, monkeypatch):
    original = fast_trees.CompiledTrees.raw_scores

    def off_by_one_bit(self, features, block_rows=fast_trees.BLOCK_ROWS):
        scores = original(self, features, block_rows)
        return np.nextafter(scores, np.inf)

    monkeypatch.setattr(fast_trees.CompiledTrees, "raw_scores", off_by_one_bit)
    assert fast_trees.compile_pipeline(gb_model, _features(50, seed=1)) is None


def test_category_codes_outside_a_byte_fall_back_to_scikit_learn(hist_model):
    trees = fast_trees.compile_classifier(hist_model[-1])
    with pytest.raises(fast_trees.UnsupportedInput, match="above 255"):
        bins = fast_trees.FeatureBins(0, None)
        bins.of(np.array([1.0, 300.0]))
    assert trees is not None


def test_leaf_layout_numbers_leaves_left_to_right():
    #        0
    #      1   2
    #     3 4
    tree = fast_trees.Tree(
        left=np.array([1, 3, -1, -1, -1]),
        right=np.array([2, 4, -1, -1, -1]),
        values=np.zeros(5),
        target=0,
    )
    order, masks = fast_trees.leaf_layout(tree)
    assert order == [3, 4, 2]
    assert masks == {0: 0b011, 1: 0b001}
