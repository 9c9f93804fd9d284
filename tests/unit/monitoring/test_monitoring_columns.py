"""Column mapping from the schema; monitoring frames with predictions; thresholds from settings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from machine_learning.config import Settings
from machine_learning.monitoring import (
    MonitoringThresholds,
    column_mapping,
    default_workspace,
    monitoring_frame,
    thresholds_from_settings,
    with_predictions,
)
from machine_learning.schema import CATEGORICAL_FEATURES, NUMERIC_FEATURES


def test_mapping_names_schema_columns(scored_reference):
    mapping = column_mapping(scored_reference, scored_reference)
    assert mapping.numerical_features == list(NUMERIC_FEATURES)
    assert mapping.categorical_features == list(CATEGORICAL_FEATURES)
    assert (mapping.prediction, mapping.target, mapping.id) == (
        "prediction",
        "EngagementLevel",
        "PlayerID",
    )
    assert mapping.task == "classification"


def test_target_and_prediction_only_when_every_frame_has_them(scored_reference):
    unlabelled = scored_reference.drop(columns=["EngagementLevel"])
    assert column_mapping(scored_reference, unlabelled).target is None
    assert column_mapping(scored_reference, with_target=False).target is None
    assert column_mapping(scored_reference.drop(columns=["prediction"])).prediction is None


def test_monitoring_frame_keeps_predictions_of_valid_rows(scored_reference, as_text):
    raw = as_text(scored_reference.head(5))
    raw.loc[1, "Age"] = "130"  # rejected by validation
    frame = monitoring_frame(raw)
    assert len(frame) == 4
    expected = scored_reference.head(5).drop(index=1).reset_index(drop=True)
    assert frame["prediction"].tolist() == expected["prediction"].tolist()
    assert frame["prob_High"].to_numpy() == pytest.approx(expected["prob_High"].to_numpy())
    assert frame["InGamePurchases"].isin(["No", "Yes"]).all()
    assert frame["Age"].dtype.kind == "i"


def test_unknown_prediction_labels_are_refused(scored_reference, as_text):
    raw = as_text(scored_reference.head(3))
    raw.loc[0, "prediction"] = "Extreme"
    with pytest.raises(ValueError, match=r"prediction: unknown labels \['Extreme'\]"):
        monitoring_frame(raw)


def test_with_predictions_scores_only_when_needed(scored_reference, hist_model, as_text):
    raw = as_text(
        scored_reference.head(10).drop(
            columns=["prediction", "prob_Low", "prob_Medium", "prob_High"]
        )
    )
    scored = with_predictions(raw, hist_model)
    assert scored["prediction"].tolist() == scored_reference.head(10)["prediction"].tolist()
    with pytest.raises(ValueError, match="no 'prediction' column"):
        with_predictions(raw)
    kept = with_predictions(as_text(scored_reference.head(3)))  # no model needed
    assert list(kept["prediction"]) == list(scored_reference.head(3)["prediction"])


def test_thresholds_from_settings_defaults_and_overrides():
    assert thresholds_from_settings(Settings()) == MonitoringThresholds()
    custom = SimpleNamespace(monitoring_drift_share=0.5, monitoring_stattest="psi")
    assert thresholds_from_settings(custom) == MonitoringThresholds(drift_share=0.5, stattest="psi")


def test_default_workspace_is_the_setting_else_next_to_the_data_folder(tmp_path):
    configured = SimpleNamespace(evidently_workspace=str(tmp_path / "ws"), data_dir=tmp_path)
    assert default_workspace(configured) == Path(tmp_path / "ws")
    unset = SimpleNamespace(data_dir=tmp_path / "data")
    assert default_workspace(unset) == tmp_path / "evidently"


def test_empty_frames_are_refused(scored_reference):
    from machine_learning.monitoring import run_monitoring

    with pytest.raises(ValueError, match="current data is empty"):
        run_monitoring(scored_reference, pd.DataFrame(columns=scored_reference.columns))
