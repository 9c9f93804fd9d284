"""A week of the platform, every pipeline run through Mage (`mage run`) against a real MLflow
server and local storage; each step asserts what the pipelines left behind.

Monday 2026-11-23: the one-command sequence (prepare, train, select, batch inference, monitor,
reports) on a fresh platform. Saturday: weekend training; Monday: model selection keeps
production when the candidate is no better. Tuesday 2026-12-01: a drifted batch makes the
monitor run ml_retraining, whose candidate beats production on the newest labelled day and is
promoted. The steps build on each other and run in file order.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from machine_learning import layout, orchestration, pipelines, simulator
from machine_learning.cli import main
from machine_learning.inference import PROBABILITY_COLUMNS
from machine_learning.schema import ID_COLUMN, PREDICTION_COLUMN
from machine_learning.storage import read_csv, write_csv

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_tree_check")]

MONDAY = dt.date(2026, 11, 23)
SATURDAY = dt.date(2026, 11, 28)
NEXT_MONDAY = dt.date(2026, 11, 30)
TUESDAY = dt.date(2026, 12, 1)
TRAINING_PLAYERS = 3000
BATCH_PLAYERS = 2000
DRIFT = "engagement_inflation"  # sessions 1.5x longer and engagement judged against them
BAD_ROWS = [
    {"Age": "abc"},
    {"Gender": "Robot"},
    {"EngagementLevel": ""},
]


def _run(pipeline: str, **variables) -> orchestration.PipelineRunResult:
    return orchestration.run_pipeline(pipeline, variables)


def _seed_raw_players(platform) -> None:
    """Raw labelled players as they arrive: simulated, with three broken rows."""
    players = simulator.simulate_players(TRAINING_PLAYERS, seed=42).astype(object)
    broken = []
    for number, change in enumerate(BAD_ROWS):
        row = players.iloc[number].to_dict()
        row.update(change, PlayerID=9_000_000 + number)
        broken.append(row)
    write_csv(platform.storage, layout.RAW_PLAYERS, pd.concat([players, pd.DataFrame(broken)]))


def _selection_runs(platform) -> pd.DataFrame:
    experiment = platform.client.get_experiment_by_name(
        platform.settings.experiment_name + pipelines.SELECTION_EXPERIMENT_SUFFIX
    )
    runs = platform.client.search_runs([experiment.experiment_id], order_by=["start_time ASC"])
    return pd.DataFrame([{**run.data.tags, **run.data.params, **run.data.metrics} for run in runs])


def test_monday_one_command_reaches_production_and_monitoring(platform, capsys):
    _seed_raw_players(platform)
    code = main(
        [
            "pipelines",
            "--day",
            MONDAY.isoformat(),
            "--var",
            f"batch_players={BATCH_PLAYERS}",
            "--json",
        ]
    )
    output = capsys.readouterr().out
    assert code == 0, output
    summary = json.loads(output.strip().splitlines()[-1])
    assert [run["pipeline"] for run in summary["runs"]] == list(orchestration.SEQUENCE)
    storage = platform.storage

    # prepare_data: processed data and features saved, broken rows rejected with reasons.
    rejected = read_csv(storage, layout.rejected("prepare", MONDAY))
    assert len(rejected) == len(BAD_ROWS)
    assert rejected["rejection_reason"].str.contains("Age|Gender|EngagementLevel").all()
    processed = read_csv(storage, layout.PROCESSED_PLAYERS)
    assert len(processed) == TRAINING_PLAYERS
    assert list(read_csv(storage, layout.PLAYER_FEATURES).columns)[0] == ID_COLUMN

    # training_workflow + select_best_model: version 1 is candidate, production and best.
    assert [v.version for v in platform.versions()] == ["1"]
    assert {platform.alias(a) for a in ("candidate", "production", "best")} == {"1"}
    assert summary["production_version"] == "1"
    assert summary["selection"]["verdict"] == "promoted: there was no production model"
    assert _selection_runs(platform)["decision"].tolist() == ["promote"]
    reference = read_csv(storage, layout.REFERENCE)
    assert len(reference) == TRAINING_PLAYERS and PREDICTION_COLUMN in reference

    # batch_inference: the day's batch (simulated: none was delivered) scored.
    predictions = read_csv(storage, layout.predictions(MONDAY))
    assert len(predictions) == BATCH_PLAYERS and predictions[ID_COLUMN].is_unique
    assert set(predictions[PREDICTION_COLUMN]) <= {"Low", "Medium", "High"}
    assert set(PROBABILITY_COLUMNS) <= set(predictions.columns)
    assert (predictions["model_version"] == 1).all()
    assert len(read_csv(storage, layout.current(MONDAY))) == BATCH_PLAYERS

    # performance_monitor: undrifted data, nothing retrains.
    decision = pipelines.read_json_report(storage, MONDAY, "monitoring_decision")
    assert decision["retrain"] is False and decision["reasons"] == []
    assert summary["retrain"] is False and summary["retraining"] is None
    assert len(platform.versions()) == 1

    # performance_reports: JSON and HTML per report, plus true performance (labels known).
    for name in ("data_quality", "data_drift", "prediction_drift", "classification_performance"):
        for extension in ("json", "html"):
            assert storage.exists(layout.report(MONDAY, name, extension)), (name, extension)
    performance = pipelines.read_json_report(storage, MONDAY, "classification_metrics")
    assert performance["rows"] == BATCH_PLAYERS and performance["accuracy"] > 0.8
    assert any(platform.settings.evidently_workspace.rglob("snapshots/*.json"))


def test_batch_inference_rerun_replaces_the_day(platform):
    before = read_csv(platform.storage, layout.predictions(MONDAY))
    keys = platform.storage.list_keys()
    _run("batch_inference", day=MONDAY.isoformat())
    after = read_csv(platform.storage, layout.predictions(MONDAY))
    assert platform.storage.list_keys() == keys
    assert len(after) == len(before) and after[ID_COLUMN].is_unique
    pd.testing.assert_frame_equal(after, before)


def test_weekend_training_on_the_same_data_reuses_the_version_and_selection_keeps_it(platform):
    _run("training_workflow", day=SATURDAY.isoformat())
    # No labelled day is older than the selection window yet: the same data as Monday's
    # training, so that version becomes the candidate again (no duplicate version).
    assert [v.version for v in platform.versions()] == ["1"]
    assert platform.alias("candidate") == "1" and platform.alias("production") == "1"

    _run("select_best_model", day=NEXT_MONDAY.isoformat())
    decision = pipelines.read_json_report(platform.storage, NEXT_MONDAY, "model_selection")
    assert decision["promoted"] is False
    assert decision["verdict"] == "kept: the candidate already is the production model"
    assert decision["evaluation_source"] == layout.labels(MONDAY)
    assert platform.alias("production") == "1" and platform.alias("best") == "1"
    runs = _selection_runs(platform)
    assert runs["decision"].tolist() == ["promote", "keep"]
    assert runs["candidate_version"].tolist()[-1] == "1"


def test_drifted_batch_retrains_and_promotes_a_better_candidate(platform):
    for day in (NEXT_MONDAY, TUESDAY):  # drifted players arrive, with their labels
        pipelines.simulate_day(platform.storage, day, BATCH_PLAYERS, seed=42, drift=DRIFT)
    _run("batch_inference", day=TUESDAY.isoformat())
    _run("performance_monitor", day=TUESDAY.isoformat())

    decision = pipelines.read_json_report(platform.storage, TUESDAY, "monitoring_decision")
    assert decision["retrain"] is True
    assert "AvgSessionDurationMinutes" in {reason["column"] for reason in decision["reasons"]}
    retraining = pipelines.read_json_report(platform.storage, TUESDAY, "retraining")
    assert retraining["status"] == "completed"
    assert retraining["reasons"] == [reason["message"] for reason in decision["reasons"]]

    # ml_retraining ran training_workflow (version 2, trained with the older drifted day) and
    # select_best_model, which compared both models on the newest labelled day.
    versions = platform.versions()
    assert [v.version for v in versions] == ["1", "2"]
    run = platform.client.get_run(versions[-1].run_id)
    assert run.data.tags["trigger"] == "performance_monitor"
    assert "AvgSessionDurationMinutes" in run.data.tags["trigger_reason"]
    assert layout.labels(NEXT_MONDAY) in run.data.tags["training_sources"]
    assert layout.labels(TUESDAY) not in run.data.tags["training_sources"]
    selection = retraining["selection"]
    assert selection["evaluation_source"] == layout.labels(TUESDAY)
    assert selection["candidate_version"] == "2" and selection["production_version_before"] == "1"
    assert selection["candidate_metrics"]["accuracy"] > selection["production_metrics"]["accuracy"]
    assert selection["promoted"] is True
    assert platform.alias("production") == "2" and platform.alias("best") == "2"
    # The monitoring reference now belongs to the new production model.
    reference = read_csv(platform.storage, layout.REFERENCE)
    saved = read_csv(platform.storage, pipelines.version_reference("2"))
    pd.testing.assert_frame_equal(reference, saved)


def test_online_inference_headless(platform):
    records = simulator.simulate_players(5, seed=5).drop(columns=["EngagementLevel"])
    payload = json.loads(records.to_json(orient="records"))
    payload[2]["Age"] = 300
    _run("online_inference", records=payload)
    output = pd.read_parquet(
        platform.settings.mage_data_dir
        / "mlops/pipelines/online_inference/.variables/predict_records/output_0/data.parquet"
    )
    assert output["row"].tolist() == [1, 2, 3, 4, 5]
    assert output["PlayerID"].tolist() == records[ID_COLUMN].tolist()
    assert output["prediction"].isna().tolist() == [False, False, True, False, False]
    assert "Age: 300 is above the maximum 120" in output.loc[2, "rejection_reason"]
    assert set(output["model_version"]) == {"2"}


@pytest.mark.usefixtures("platform")
def test_failed_run_fails_loudly():
    with pytest.raises(orchestration.PipelineRunError, match="performance_monitor failed"):
        _run("performance_monitor", day="2020-01-01")  # nothing was scored that day
