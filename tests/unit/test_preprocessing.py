"""The reference preprocessing recipe: encodings, feature selection, transformer and split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machine_learning import preprocessing
from machine_learning.schema import (
    CATEGORICAL_FEATURES,
    CLASS_LABELS,
    FEATURE_COLUMNS,
    ID_COLUMN,
    NUMERIC_FEATURES,
    TARGET_COLUMN,
)


def test_engagement_levels_encode_as_0_1_2():
    codes = preprocessing.engagement_to_code(pd.Series(["Low", "Medium", "High", "Low"]))
    assert codes.tolist() == [0, 1, 2, 0]
    assert str(codes.dtype) == "int64"


def test_engagement_codes_decode_back():
    labels = pd.Series(list(CLASS_LABELS) * 2)
    decoded = preprocessing.code_to_engagement(preprocessing.engagement_to_code(labels))
    assert decoded.tolist() == labels.tolist()


def test_unknown_engagement_level_raises_naming_it():
    with pytest.raises(ValueError, match=f"{TARGET_COLUMN}.*Extreme"):
        preprocessing.engagement_to_code(pd.Series(["Low", "Extreme"]))


def test_purchases_zero_one_become_text_and_text_is_kept():
    values = pd.Series([0, 1, "0", "1", "No", "Yes"], dtype=object)
    assert preprocessing.purchases_to_text(values).tolist() == ["No", "Yes"] * 3


def test_clean_players_drops_exact_duplicates_and_converts_purchases(players):
    frame = pd.concat([players.head(10), players.head(3)], ignore_index=True)
    cleaned = preprocessing.clean_players(frame)
    assert len(cleaned) == 10
    assert set(cleaned["InGamePurchases"]) <= {"No", "Yes"}
    assert cleaned.index.tolist() == list(range(10))
    assert set(frame["InGamePurchases"]) <= {0, 1}  # the input is not modified


def test_features_drop_id_and_target_and_keep_schema_order(players):
    shuffled = players.head(5)[list(reversed(players.columns))]
    chosen = preprocessing.features(shuffled)
    assert list(chosen.columns) == list(FEATURE_COLUMNS)
    assert ID_COLUMN not in chosen and TARGET_COLUMN not in chosen


def test_target_is_the_encoded_engagement_level(players):
    frame = players.head(50)
    assert preprocessing.target(frame).map(dict(enumerate(CLASS_LABELS))).tolist() == (
        frame[TARGET_COLUMN].tolist()
    )


def test_player_features_keep_the_id_when_present(players):
    with_id = preprocessing.player_features(players.head(5))
    assert list(with_id.columns) == [ID_COLUMN, *FEATURE_COLUMNS]
    without_id = preprocessing.player_features(players.head(5).drop(columns=[ID_COLUMN]))
    assert list(without_id.columns) == list(FEATURE_COLUMNS)


def test_split_is_stratified_and_sized(processed):
    train, test = preprocessing.split_train_test(processed)
    assert len(train) + len(test) == len(processed)
    assert len(test) == pytest.approx(preprocessing.TEST_SIZE * len(processed), abs=1)
    assert not set(train[ID_COLUMN]) & set(test[ID_COLUMN])
    shares = processed[TARGET_COLUMN].value_counts(normalize=True)
    for part in (train, test):
        part_shares = part[TARGET_COLUMN].value_counts(normalize=True)
        for label in CLASS_LABELS:
            assert part_shares[label] == pytest.approx(shares[label], abs=0.01)


def test_split_is_reproducible_with_its_seed(processed):
    first_train, first_test = preprocessing.split_train_test(processed)
    second_train, second_test = preprocessing.split_train_test(processed)
    pd.testing.assert_frame_equal(first_train, second_train)
    pd.testing.assert_frame_equal(first_test, second_test)
    other_test = preprocessing.split_train_test(processed, seed=preprocessing.SPLIT_SEED + 1)[1]
    assert set(other_test[ID_COLUMN]) != set(first_test[ID_COLUMN])


def test_preprocessor_scales_numbers_and_one_hot_encodes_categories(processed):
    train = processed.head(500)
    transformer = preprocessing.build_preprocessor().fit(preprocessing.features(train))
    out = transformer.transform(preprocessing.features(train))
    n_categories = sum(train[c].nunique() for c in CATEGORICAL_FEATURES)
    assert out.shape == (len(train), len(NUMERIC_FEATURES) + n_categories)
    numeric = np.asarray(out[:, : len(NUMERIC_FEATURES)])
    assert np.allclose(numeric.mean(axis=0), 0.0, atol=1e-9)
    one_hot = np.asarray(out[:, len(NUMERIC_FEATURES) :])
    # Exactly one category is on per categorical column and row.
    assert np.allclose(one_hot.sum(axis=1), len(CATEGORICAL_FEATURES))


def test_preprocessor_tolerates_unseen_categories_and_missing_values(processed):
    train = preprocessing.features(processed.head(500))
    transformer = preprocessing.build_preprocessor().fit(train)
    new = train.head(3).copy()
    new.loc[new.index[0], "Location"] = "Mars"
    new.loc[new.index[1], "Age"] = np.nan
    new.loc[new.index[2], "Gender"] = np.nan
    out = np.asarray(transformer.transform(new))
    assert out.shape[0] == 3 and np.isfinite(out).all()
    one_hot = out[:, len(NUMERIC_FEATURES) :]
    # The unseen category switches no Location column on; an imputed one switches one on.
    assert one_hot[0].sum() == len(CATEGORICAL_FEATURES) - 1
    assert one_hot[2].sum() == len(CATEGORICAL_FEATURES)
