"""Real Kaggle files: training file as reference, batch file as current (skipped if absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from machine_learning import data_sources, inference, jobs, simulator, training
from machine_learning.monitoring import run_monitoring
from machine_learning.monitoring.decision import RULE_KEY_COLUMN
from machine_learning.validation import validate_frame

pytestmark = pytest.mark.real_data

KEY = {"AvgSessionDurationMinutes", "SessionsPerWeek"}


@pytest.fixture(scope="module")
def real(real_training_file, real_batch_file) -> dict[str, pd.DataFrame]:
    """Both files scored by a model fitted on the training file; a drifted copy of the batch."""
    training_raw = data_sources.read_players_csv(real_training_file)
    batch_raw = data_sources.read_players_csv(real_batch_file)
    model = training.fit(
        jobs.prepare_players(training_raw).processed, training.HIST_GRADIENT_BOOSTING
    )
    drifted = simulator.drift_real_players(validate_frame(batch_raw).valid, "longer_sessions")
    return {
        "reference": inference.score_players(model, training_raw).scored_inputs,
        "current": inference.score_players(model, batch_raw).scored_inputs,
        "drifted": inference.score_players(model, drifted).scored_inputs,
    }


def test_real_batch_needs_no_retraining(real):
    result = run_monitoring(real["reference"], real["current"])
    assert not result.retrain, [r.message for r in result.reasons]
    assert not result.decision.drifted_columns
    # What fails by chance on healthy data is reported, not acted on (2 PlayTimeHours values).
    assert all(t.name != "Drift per Column" for t in result.decision.failed_tests)


def test_real_batch_with_longer_sessions_needs_retraining(real):
    assert (
        real["drifted"]["AvgSessionDurationMinutes"] >= real["current"]["AvgSessionDurationMinutes"]
    ).all()
    result = run_monitoring(real["reference"], real["drifted"])
    assert result.retrain
    assert {r.column for r in result.reasons if r.rule == RULE_KEY_COLUMN} == KEY
