"""The schema and the validation of player tables: every row accepted (normalised) or rejected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machine_learning import schema
from machine_learning.validation import (
    REASON_COLUMN,
    ROW_COLUMN,
    SchemaError,
    check_columns,
    validate_frame,
)


def test_schema_columns_are_consistent():
    assert len(schema.RAW_COLUMNS) == len(set(schema.RAW_COLUMNS)) == 13
    assert schema.RAW_COLUMNS[0] == schema.ID_COLUMN
    assert schema.RAW_COLUMNS[-1] == schema.TARGET_COLUMN
    assert set(schema.FEATURE_COLUMNS) == set(schema.NUMERIC_FEATURES) | set(
        schema.CATEGORICAL_FEATURES
    )
    assert set(schema.RAW_COLUMNS) == {
        schema.ID_COLUMN,
        schema.TARGET_COLUMN,
        *schema.FEATURE_COLUMNS,
    }
    assert set(schema.KEY_DRIFT_COLUMNS) <= set(schema.NUMERIC_FEATURES)


def test_label_codes_round_trip():
    assert sorted(schema.LABEL_TO_CODE.values()) == list(range(len(schema.CLASS_LABELS)))
    for label, code in schema.LABEL_TO_CODE.items():
        assert schema.CODE_TO_LABEL[code] == label


def _reject_one(text_players: pd.DataFrame, column: str, value: str, **options) -> str:
    """Set one cell of row 3 and return its rejection reason (the other rows must pass)."""
    text_players.loc[2, column] = value
    result = validate_frame(text_players, **options)
    assert len(result.valid) == len(text_players) - 1
    assert result.rejected[ROW_COLUMN].tolist() == [3]
    return result.rejected.loc[0, REASON_COLUMN]


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("Age", "-1", "below the minimum 0"),
        ("Age", "121", "above the maximum 120"),
        ("PlayTimeHours", "25", "above the maximum 24"),
        ("Age", "abc", "not a number"),
        ("AvgSessionDurationMinutes", "1e9", "above the maximum"),
        ("SessionsPerWeek", "2.5", "not a whole number"),
        ("Gender", "Robot", "unknown category 'Robot'"),
        ("Location", "Mars", "unknown category 'Mars'"),
        ("InGamePurchases", "2", "unknown category '2'"),
        ("PlayerID", "-5", "not a non-negative whole number"),
        ("PlayerID", "1.5", "not a non-negative whole number"),
    ],
)
def test_bad_value_is_rejected_with_column_and_problem(text_players, column, value, problem):
    reason = _reject_one(text_players, column, value)
    assert reason.startswith(f"{column}: ")
    assert problem in reason
    assert value in reason


def test_unknown_engagement_level_is_rejected(text_players):
    reason = _reject_one(text_players, schema.TARGET_COLUMN, "Extreme")
    assert reason.startswith(f"{schema.TARGET_COLUMN}: unknown level 'Extreme'")
    for label in schema.CLASS_LABELS:
        assert label in reason


def test_missing_target_is_rejected_only_when_required(text_players):
    text_players.loc[2, schema.TARGET_COLUMN] = ""
    assert len(validate_frame(text_players).valid) == len(text_players)
    reason = _reject_one(text_players, schema.TARGET_COLUMN, "", require_target=True)
    assert reason == f"{schema.TARGET_COLUMN}: missing value"


def test_duplicate_player_id_rejects_the_later_row(text_players):
    first_id = text_players.loc[0, schema.ID_COLUMN]
    reason = _reject_one(text_players, schema.ID_COLUMN, first_id)
    assert reason.startswith(f"{schema.ID_COLUMN}: duplicate")
    assert first_id in reason


def test_missing_player_id_is_rejected(text_players):
    assert _reject_one(text_players, schema.ID_COLUMN, "") == f"{schema.ID_COLUMN}: missing value"


def test_every_problem_of_a_row_is_reported(text_players):
    text_players.loc[0, "Age"] = "-1"
    text_players.loc[0, "Gender"] = "Robot"
    reason = validate_frame(text_players).rejected.loc[0, REASON_COLUMN]
    assert "Age: " in reason and "Gender: " in reason
    assert reason.count("; ") == 1


def test_rejected_rows_keep_their_raw_values_and_source_row(text_players):
    text_players.loc[4, "Age"] = " 999 "
    rejected = validate_frame(text_players).rejected
    assert rejected.loc[0, ROW_COLUMN] == 5  # 1-based position in the input
    assert rejected.loc[0, "Age"] == " 999 "
    assert list(rejected.columns) == [ROW_COLUMN, *text_players.columns, REASON_COLUMN]


def test_source_row_is_the_position_not_the_index(players):
    frame = players.head(5).copy()
    frame.index = [10, 20, 30, 40, 50]
    frame.loc[30, "Age"] = 500
    assert validate_frame(frame).rejected[ROW_COLUMN].tolist() == [3]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Age", "50"),  # older than every Kaggle player, still a real player
        ("Age", "0"),
        ("Age", "120"),
        ("PlayTimeHours", "24"),
        ("AvgSessionDurationMinutes", "300"),  # drifted sessions, beyond the observed 179
        ("SessionsPerWeek", "40"),
        ("PlayerLevel", "500"),
    ],
)
def test_plausible_values_outside_the_observed_range_are_accepted(text_players, column, value):
    text_players.loc[2, column] = value
    result = validate_frame(text_players, require_target=True)
    assert result.rejected.empty
    assert result.valid.loc[2, column] == float(value)


def test_categories_are_case_insensitive_and_normalised(text_players):
    text_players.loc[0, "Gender"] = "fEmAlE"
    text_players.loc[1, "Location"] = "  usa "
    text_players.loc[2, "GameDifficulty"] = "HARD"
    text_players.loc[3, schema.TARGET_COLUMN] = "high"
    valid = validate_frame(text_players).valid
    assert valid.loc[0, "Gender"] == "Female"
    assert valid.loc[1, "Location"] == "USA"
    assert valid.loc[2, "GameDifficulty"] == "Hard"
    assert valid.loc[3, schema.TARGET_COLUMN] == "High"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", "No"), ("1", "Yes"), ("1.0", "Yes"), ("no", "No"), ("YES", "Yes"), ("true", "Yes")],
)
def test_purchases_spellings_become_no_or_yes(text_players, raw, expected):
    text_players.loc[0, "InGamePurchases"] = raw
    valid = validate_frame(text_players).valid
    assert valid.loc[0, "InGamePurchases"] == expected


def test_typed_purchases_zero_one_become_no_yes(players):
    frame = players.head(200)
    valid = validate_frame(frame).valid
    expected = frame["InGamePurchases"].map({0: "No", 1: "Yes"})
    assert valid["InGamePurchases"].tolist() == expected.tolist()


def test_every_category_of_the_schema_is_accepted(text_players):
    for column in schema.CATEGORICAL_COLUMNS:
        frame = text_players.head(len(column.categories)).copy()
        frame[column.name] = list(column.categories)
        result = validate_frame(frame)
        assert result.rejected.empty, column.name
        assert result.valid[column.name].tolist() == list(column.categories)


def test_text_and_typed_input_give_the_same_valid_rows(players, as_text):
    frame = players.head(300)
    typed = validate_frame(frame, require_target=True)
    text = validate_frame(as_text(frame), require_target=True)
    assert typed.rejected.empty and text.rejected.empty
    pd.testing.assert_frame_equal(typed.valid, text.valid)


def test_valid_rows_are_typed(text_players):
    valid = validate_frame(text_players).valid
    assert list(valid.columns) == list(schema.RAW_COLUMNS)
    for column in schema.NUMERIC_COLUMNS:
        expected = "int64" if column.integer else "float64"
        assert str(valid[column.name].dtype) == expected, column.name
    assert str(valid[schema.ID_COLUMN].dtype) == "int64"


def test_missing_feature_values_are_valid_and_left_for_imputation(text_players):
    text_players.loc[0, "Age"] = ""
    text_players.loc[1, "Gender"] = ""
    result = validate_frame(text_players)
    assert result.rejected.empty
    assert np.isnan(result.valid.loc[0, "Age"])
    assert pd.isna(result.valid.loc[1, "Gender"])
    assert str(result.valid["Age"].dtype) == "float64"  # a gap keeps the column float


def test_features_only_frame_is_valid(players):
    frame = players.head(10).drop(columns=[schema.ID_COLUMN, schema.TARGET_COLUMN])
    result = validate_frame(frame)
    assert len(result.valid) == 10
    assert list(result.valid.columns) == list(schema.FEATURE_COLUMNS)


def test_missing_and_unknown_columns_raise_schema_error_naming_them(players):
    frame = players.head(5).drop(columns=["Age", "Gender"]).assign(Score=1)
    with pytest.raises(SchemaError) as error:
        validate_frame(frame)
    message = str(error.value)
    assert "missing columns: Age, Gender" in message
    assert "unknown columns: Score" in message


def test_target_column_is_required_only_on_request(players):
    frame = players.head(5).drop(columns=[schema.TARGET_COLUMN])
    assert len(validate_frame(frame).valid) == 5
    with pytest.raises(SchemaError, match=f"missing columns: {schema.TARGET_COLUMN}"):
        validate_frame(frame, require_target=True)


def test_id_column_is_required_only_on_request():
    features = list(schema.FEATURE_COLUMNS)
    check_columns(features)
    with pytest.raises(SchemaError, match=f"missing columns: {schema.ID_COLUMN}"):
        check_columns(features, require_id=True)


def test_duplicated_columns_raise_schema_error():
    with pytest.raises(SchemaError, match="duplicated columns: Age"):
        check_columns([*schema.RAW_COLUMNS, "Age"])


def test_rows_in_is_valid_plus_rejected(players, as_text):
    frame = as_text(players.head(200))
    rng = np.random.default_rng(0)
    broken = rng.choice(len(frame), size=37, replace=False)
    frame.loc[broken[:20], "Age"] = "-1"
    frame.loc[broken[10:], "Gender"] = "Robot"  # some rows have two problems
    result = validate_frame(frame)
    assert result.rows_in == len(frame) == len(result.valid) + len(result.rejected)
    assert sorted(result.rejected[ROW_COLUMN]) == sorted(broken + 1)


def test_empty_frame_is_valid_and_empty(players):
    result = validate_frame(players.head(0))
    assert result.rows_in == 0
    assert result.valid.empty and result.rejected.empty


def test_input_frame_is_not_modified(text_players):
    text_players.loc[0, "Gender"] = "male"
    before = text_players.copy()
    validate_frame(text_players)
    pd.testing.assert_frame_equal(text_players, before)
