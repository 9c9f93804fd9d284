"""`gaming-mlops monitor` on files without predictions, scored by a model of a real registry."""

from __future__ import annotations

import json
import uuid

import pytest

from machine_learning import cli, jobs, simulator, training

pytestmark = pytest.mark.integration


def test_monitor_scores_raw_files_with_the_registered_model(
    mlflow_server, tmp_path, monkeypatch, capsys
):
    name = f"monitoring-{uuid.uuid4().hex[:8]}"
    processed = jobs.prepare_players(simulator.simulate_players(2000, seed=8)).processed
    jobs.train_model(
        processed,
        tracking_uri=mlflow_server.url,
        experiment_name=name,
        model_name=name,
        kind=training.HIST_GRADIENT_BOOSTING,
        params={"max_iter": 30},
    )
    reference, current = tmp_path / "reference.csv", tmp_path / "current.csv"
    simulator.simulate_players(2000, seed=8).to_csv(reference, index=False)
    simulator.split_labels(simulator.simulate_players(600, seed=9, drift="longer_sessions"))[
        0
    ].to_csv(current, index=False)
    for key, value in {
        "STORAGE": "local",
        "DATA_DIR": str(tmp_path / "data"),
        "EVIDENTLY_WORKSPACE": str(tmp_path / "ws"),
        "MLFLOW_TRACKING_URI": mlflow_server.url,
    }.items():
        monkeypatch.setenv(key, value)
    args = [
        "monitor",
        "--reference",
        str(reference),
        "--current",
        str(current),
        "--no-html",
        "--json",
    ]
    code = cli.main([*args, "--model-uri", f"models:/{name}@candidate"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert summary["current_rows"] == 600 and summary["reference_rows"] == 2000
    assert summary["retrain"] is True
    assert {"AvgSessionDurationMinutes", "SessionsPerWeek"} <= set(summary["drifted_columns"])
