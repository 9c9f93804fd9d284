"""The seeded player simulator: determinism, schema, calibration and drift scenarios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from machine_learning import simulator
from machine_learning.schema import (
    CLASS_LABELS,
    FEATURE_COLUMNS,
    ID_COLUMN,
    NUMERIC_FEATURES,
    RAW_COLUMNS,
    TARGET_COLUMN,
)
from machine_learning.validation import validate_frame

LARGE = 20_000
SHARE_TOLERANCE = 0.015  # > 4 standard errors of a share on 20,000 players
# Label shares of the calibrated rule with its 10 % label noise (those of the real data).
LABEL_SHARES = {"Low": 0.26, "Medium": 0.48, "High": 0.26}
DOCUMENTED_LABEL_NOISE = 0.10  # "10 % of labels are redrawn uniformly"


@pytest.fixture(scope="module")
def many() -> pd.DataFrame:
    return simulator.simulate_players(LARGE, seed=11)


@pytest.fixture(scope="module")
def drifted() -> dict[str, pd.DataFrame]:
    return {name: simulator.simulate_players(LARGE, seed=11, drift=name) for name in SCENARIOS}


SCENARIOS = tuple(simulator.SCENARIOS)


def _shares(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].value_counts(normalize=True)


def test_same_seed_same_players():
    pd.testing.assert_frame_equal(
        simulator.simulate_players(500, seed=5), simulator.simulate_players(500, seed=5)
    )


def test_other_seed_other_players():
    first = simulator.simulate_players(500, seed=5)
    second = simulator.simulate_players(500, seed=6)
    assert not first[list(FEATURE_COLUMNS)].equals(second[list(FEATURE_COLUMNS)])


def test_columns_and_dtypes_follow_the_kaggle_schema(players):
    assert list(players.columns) == list(RAW_COLUMNS)
    for column in ("PlayerID", "Age", "InGamePurchases", "SessionsPerWeek", "PlayerLevel"):
        assert str(players[column].dtype) == "int64", column
    assert str(players["PlayTimeHours"].dtype) == "float64"
    assert players[TARGET_COLUMN].dtype == object


@pytest.mark.real_data
def test_columns_and_dtypes_equal_the_real_file(players, real_training_file):
    real = pd.read_csv(real_training_file, nrows=500)
    assert list(players.columns) == list(real.columns)
    assert players.dtypes.to_dict() == real.dtypes.to_dict()


@pytest.mark.real_data
def test_marginals_are_close_to_the_real_file(many, real_training_file):
    real = pd.read_csv(real_training_file)
    for column in (*simulator.CATEGORY_SHARES, "InGamePurchases", TARGET_COLUMN):
        simulated, observed = _shares(many, column), _shares(real, column)
        assert set(simulated.index) == set(observed.index), column
        for value, share in observed.items():
            assert simulated[value] == pytest.approx(share, abs=0.02), (column, value)
    for column, (low, high) in simulator.INTEGER_RANGES.items():
        assert (real[column].min(), real[column].max()) == (low, high), column


def test_simulated_players_are_all_valid(players):
    result = validate_frame(players, require_target=True, require_id=True)
    assert result.rejected.empty
    assert len(result.valid) == len(players)


def test_ids_are_consecutive_from_first_id():
    frame = simulator.simulate_players(50, seed=1, first_id=7)
    assert frame[ID_COLUMN].tolist() == list(range(7, 57))


def test_zero_players_is_an_empty_table_and_negative_is_an_error():
    assert list(simulator.simulate_players(0).columns) == list(RAW_COLUMNS)
    assert simulator.simulate_players(0).empty
    with pytest.raises(ValueError, match="players"):
        simulator.simulate_players(-1)


def test_numbers_stay_within_the_calibrated_ranges(many):
    for column, (low, high) in simulator.INTEGER_RANGES.items():
        assert many[column].min() == low, column  # 20,000 draws reach both ends
        assert many[column].max() == high, column
    assert 0.0 <= many["PlayTimeHours"].min() and many["PlayTimeHours"].max() < 24.0
    # Uniform: the mean is the middle of the range.
    for column, (low, high) in simulator.INTEGER_RANGES.items():
        assert many[column].mean() == pytest.approx((low + high) / 2, rel=0.03), column


@pytest.mark.parametrize("column", list(simulator.CATEGORY_SHARES))
def test_category_shares_match_the_calibration(many, column):
    shares = _shares(many, column)
    expected = simulator.CATEGORY_SHARES[column]
    assert set(shares.index) == set(expected)
    for value, share in expected.items():
        assert shares[value] == pytest.approx(share, abs=SHARE_TOLERANCE), value


def test_purchase_share_matches_the_calibration(many):
    assert set(many["InGamePurchases"]) == {0, 1}
    assert many["InGamePurchases"].mean() == pytest.approx(
        simulator.PURCHASE_SHARE, abs=SHARE_TOLERANCE
    )


def test_label_shares_match_the_real_data(many):
    shares = _shares(many, TARGET_COLUMN)
    for label, share in LABEL_SHARES.items():
        assert shares[label] == pytest.approx(share, abs=SHARE_TOLERANCE), label


def test_labels_follow_weekly_play_minutes(many):
    minutes = many["SessionsPerWeek"] * many["AvgSessionDurationMinutes"]
    by_label = minutes.groupby(many[TARGET_COLUMN]).median()
    assert by_label["Low"] < by_label["Medium"] < by_label["High"]


def test_label_noise_is_about_ten_percent():
    frame = simulator.simulate_players(LARGE, seed=3)
    noiseless = simulator.engagement_labels(frame, _NoNoise())
    disagreement = (noiseless != frame[TARGET_COLUMN]).mean()
    # A redrawn label equals the rule's one time in three: 10 % x 2/3 disagree.
    assert disagreement == pytest.approx(DOCUMENTED_LABEL_NOISE * 2 / 3, abs=0.01)


class _NoNoise:
    """A stand-in random generator under which no label is redrawn."""

    @staticmethod
    def random(size: int) -> np.ndarray:
        return np.ones(size)

    @staticmethod
    def integers(low: int, _high: int, size: int) -> np.ndarray:
        return np.full(size, low)


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ValueError) as error:
        simulator.simulate_players(10, drift="meteor")
    assert "'meteor'" in str(error.value)
    for name in SCENARIOS:
        assert name in str(error.value)


@pytest.mark.parametrize("name", SCENARIOS)
def test_drifted_players_stay_valid(drifted, name):
    assert validate_frame(drifted[name].head(3000), require_target=True).rejected.empty


def test_no_drift_is_the_default(many, drifted):
    pd.testing.assert_frame_equal(drifted["none"], many)


def test_shorter_sessions_shorten_sessions_only(many, drifted):
    frame = drifted["shorter_sessions"]
    ratio = frame["AvgSessionDurationMinutes"].mean() / many["AvgSessionDurationMinutes"].mean()
    assert ratio == pytest.approx(0.6, abs=0.01)
    pd.testing.assert_series_equal(frame["SessionsPerWeek"], many["SessionsPerWeek"])
    assert (frame[TARGET_COLUMN] == "High").mean() < (many[TARGET_COLUMN] == "High").mean()


def test_fewer_sessions_lower_sessions_per_week(many, drifted):
    frame = drifted["fewer_sessions"]
    ratio = frame["SessionsPerWeek"].mean() / many["SessionsPerWeek"].mean()
    assert ratio == pytest.approx(0.6, abs=0.02)
    pd.testing.assert_series_equal(
        frame["AvgSessionDurationMinutes"], many["AvgSessionDurationMinutes"]
    )
    assert (frame[TARGET_COLUMN] == "Low").mean() > (many[TARGET_COLUMN] == "Low").mean()


def test_longer_sessions_lengthen_sessions_and_add_sessions(many, drifted):
    frame = drifted["longer_sessions"]
    ratio = frame["AvgSessionDurationMinutes"].mean() / many["AvgSessionDurationMinutes"].mean()
    assert ratio == pytest.approx(1.5, abs=0.01)
    assert (frame["SessionsPerWeek"] - many["SessionsPerWeek"]).eq(5).all()
    assert (frame[TARGET_COLUMN] == "High").mean() > (many[TARGET_COLUMN] == "High").mean()


def test_genre_mix_changes_genre_shares_only(many, drifted):
    frame = drifted["genre_mix"]
    expected = simulator.SCENARIOS["genre_mix"].category_shares["GameGenre"]
    shares = _shares(frame, "GameGenre")
    for genre, share in expected.items():
        assert shares[genre] == pytest.approx(share, abs=SHARE_TOLERANCE), genre
    pd.testing.assert_frame_equal(frame[list(NUMERIC_FEATURES)], many[list(NUMERIC_FEATURES)])
    for label in CLASS_LABELS:
        assert _shares(frame, TARGET_COLUMN)[label] == pytest.approx(
            _shares(many, TARGET_COLUMN)[label], abs=SHARE_TOLERANCE
        )


def test_concept_drift_keeps_features_and_changes_labels(many, drifted):
    frame = drifted["concept"]
    assert simulator.SCENARIOS["concept"].is_concept_drift
    pd.testing.assert_frame_equal(frame[list(FEATURE_COLUMNS)], many[list(FEATURE_COLUMNS)])
    # Higher thresholds: the same play means lower engagement.
    assert (frame[TARGET_COLUMN] == "High").mean() < (many[TARGET_COLUMN] == "High").mean() - 0.1
    assert (frame[TARGET_COLUMN] == "Low").mean() > (many[TARGET_COLUMN] == "Low").mean() + 0.1


def test_engagement_inflation_changes_sessions_and_thresholds(many, drifted):
    frame = drifted["engagement_inflation"]
    ratio = frame["AvgSessionDurationMinutes"].mean() / many["AvgSessionDurationMinutes"].mean()
    assert ratio == pytest.approx(1.5, abs=0.01)
    # Longer sessions alone would raise the High share far more.
    high = (frame[TARGET_COLUMN] == "High").mean()
    assert high < (drifted["longer_sessions"][TARGET_COLUMN] == "High").mean()


def test_only_concept_scenarios_are_concept_drift():
    concept = {name for name, s in simulator.SCENARIOS.items() if s.is_concept_drift}
    assert concept == {"concept", "engagement_inflation"}


def test_drifted_values_stay_whole_and_non_negative(players):
    shifted = simulator.Scenario("test", "test", multipliers={"SessionsPerWeek": -1.0})
    frame = simulator.apply_behaviour_drift(players, shifted)
    assert str(frame["SessionsPerWeek"].dtype) == "int64"
    assert (frame["SessionsPerWeek"] == 0).all()
    assert players["SessionsPerWeek"].gt(0).any()  # the input is not modified


def test_drift_real_players_none_changes_nothing(players):
    pd.testing.assert_frame_equal(simulator.drift_real_players(players, "none"), players)


def test_drift_real_players_concept_relabels_only(players):
    drifted = simulator.drift_real_players(players, "concept")
    pd.testing.assert_frame_equal(drifted[list(FEATURE_COLUMNS)], players[list(FEATURE_COLUMNS)])
    assert (drifted[TARGET_COLUMN] == "High").mean() < (players[TARGET_COLUMN] == "High").mean()


def test_drift_real_players_shorter_sessions(players):
    drifted = simulator.drift_real_players(players, "shorter_sessions")
    assert drifted["AvgSessionDurationMinutes"].mean() < players["AvgSessionDurationMinutes"].mean()
    assert drifted[ID_COLUMN].equals(players[ID_COLUMN])


def test_drift_real_players_genre_mix(players):
    drifted = simulator.drift_real_players(players, "genre_mix")
    assert _shares(drifted, "GameGenre")["Action"] > 0.35
    assert drifted[TARGET_COLUMN].equals(players[TARGET_COLUMN])


def test_daily_players_ids_never_collide_between_days():
    days = [simulator.daily_players(day, 2000, seed=42) for day in range(4)]
    ids = pd.concat([day[ID_COLUMN] for day in days])
    assert ids.is_unique
    training_ids = simulator.simulate_players(30_025, seed=42)[ID_COLUMN]
    assert not set(ids) & set(training_ids)


def test_daily_players_differ_between_days_and_repeat_per_day():
    first = simulator.daily_players(0, 300, seed=1)
    pd.testing.assert_frame_equal(first, simulator.daily_players(0, 300, seed=1))
    second = simulator.daily_players(1, 300, seed=1)
    assert not first[list(FEATURE_COLUMNS)].equals(second[list(FEATURE_COLUMNS)])


def test_daily_players_apply_the_drift():
    normal = simulator.daily_players(2, 3000, seed=1)
    shorter = simulator.daily_players(2, 3000, seed=1, drift="shorter_sessions")
    assert shorter["AvgSessionDurationMinutes"].mean() < normal["AvgSessionDurationMinutes"].mean()


def test_split_labels_hides_the_target_and_joins_back(players):
    inputs, labels = simulator.split_labels(players)
    assert TARGET_COLUMN not in inputs
    assert list(labels.columns) == [ID_COLUMN, TARGET_COLUMN]
    joined = inputs.merge(labels, on=ID_COLUMN)[list(RAW_COLUMNS)]
    pd.testing.assert_frame_equal(joined, players)
