"""The retraining rule on crafted suite results (no Evidently run)."""

from __future__ import annotations

import json

import pytest
from monitoring_helpers import OUT_OF_RANGE, crafted_suite

from machine_learning.monitoring import MonitoringThresholds, SuiteResultError, decide
from machine_learning.monitoring.decision import RULE_KEY_COLUMN, RULE_PREDICTION, RULE_SHARE


def test_no_drift_means_no_retraining():
    decision = decide(crafted_suite())
    assert not decision.retrain
    assert not decision.reasons
    assert decision.share_of_drifted_columns == 0.0
    assert not decision.drifted_columns


def test_share_above_threshold_retrains_with_the_share_as_reason():
    # 4 of 12 columns (0.333 > 0.3), none of them a key column or the prediction
    decision = decide(crafted_suite(drifted=("Age", "PlayerLevel", "Gender", "Location")))
    assert decision.retrain
    [reason] = decision.reasons
    assert reason.rule == RULE_SHARE
    assert reason.column is None
    assert reason.value == pytest.approx(4 / 12)
    assert reason.threshold == 0.3
    assert "4 of 12 columns" in reason.message


def test_share_at_or_below_threshold_does_not_retrain():
    columns = tuple(f"c{i}" for i in range(10))
    decision = decide(crafted_suite(drifted=columns[:3], columns=columns))  # exactly 0.3
    assert decision.share_of_drifted_columns == pytest.approx(0.3)
    assert not decision.retrain


def test_prediction_drift_alone_retrains():
    decision = decide(crafted_suite(drifted=("prediction",)))
    assert decision.retrain
    [reason] = decision.reasons
    assert (reason.rule, reason.column) == (RULE_PREDICTION, "prediction")
    assert reason.statistic == "Wasserstein distance (normed)"
    assert reason.value == 0.5


@pytest.mark.parametrize("column", ["AvgSessionDurationMinutes", "SessionsPerWeek"])
def test_a_key_column_alone_retrains_and_is_named(column):
    decision = decide(crafted_suite(drifted=(column,)))
    assert decision.retrain
    [reason] = decision.reasons
    assert (reason.rule, reason.column) == (RULE_KEY_COLUMN, column)
    assert reason.value == 0.5 and reason.threshold == 0.1
    assert column in reason.message


def test_other_single_column_drift_does_not_retrain():
    decision = decide(crafted_suite(drifted=("GameGenre",)))
    assert not decision.retrain
    assert decision.drifted_columns == ("GameGenre",)
    assert [t.column for t in decision.failed_tests] == ["GameGenre"]


def test_other_failed_tests_are_reported_but_do_not_retrain():
    decision = decide(crafted_suite(extra_tests=(OUT_OF_RANGE,)))
    assert not decision.retrain
    [failed] = decision.failed_tests
    assert failed.name == "Share of Out-of-Range Values"
    assert failed.column == "PlayTimeHours"  # taken from the description
    assert decision.tests_failed == 1


def test_every_rule_contributes_its_reason():
    drifted = ("prediction", "AvgSessionDurationMinutes", "SessionsPerWeek", "Age")
    decision = decide(crafted_suite(drifted=drifted))
    assert [r.rule for r in decision.reasons] == [
        RULE_SHARE,
        RULE_PREDICTION,
        RULE_KEY_COLUMN,
        RULE_KEY_COLUMN,
    ]
    assert set(decision.drifted_columns) == set(drifted)


def test_thresholds_are_settings():
    suite = crafted_suite(drifted=("prediction", "AvgSessionDurationMinutes", "Age", "Gender"))
    lenient = MonitoringThresholds(
        drift_share=0.5, key_columns=(), retrain_on_prediction_drift=False
    )
    assert not decide(suite, lenient).retrain
    strict = MonitoringThresholds(key_columns=("Age",), retrain_on_prediction_drift=False)
    columns = [r.column for r in decide(suite, strict).reasons]
    assert columns == [None, "Age"]


def test_threshold_validation():
    with pytest.raises(ValueError, match="drift_share"):
        MonitoringThresholds(drift_share=1.5)
    with pytest.raises(ValueError, match="stattest_threshold"):
        MonitoringThresholds(stattest_threshold=-0.1)


def test_as_dict_is_json_with_the_stable_keys():
    payload = decide(crafted_suite(drifted=("SessionsPerWeek",))).as_dict()
    parsed = json.loads(json.dumps(payload))
    assert {"retrain", "reasons", "share_of_drifted_columns", "drifted_columns"} <= set(parsed)
    assert parsed["retrain"] is True
    assert parsed["reasons"][0]["column"] == "SessionsPerWeek"
    assert parsed["columns"]["SessionsPerWeek"]["detected"] is True
    assert parsed["thresholds"]["drift_share"] == 0.3


def test_a_result_without_the_share_test_is_an_error():
    with pytest.raises(SuiteResultError, match="Share of Drifted Columns"):
        decide({"tests": [OUT_OF_RANGE]})
    with pytest.raises(SuiteResultError, match="tests"):
        decide({"summary": {}})
    errored = {
        "tests": [{"name": "Share of Drifted Columns", "status": "ERROR", "parameters": None}]
    }
    with pytest.raises(SuiteResultError, match="ERROR"):
        decide(errored)
