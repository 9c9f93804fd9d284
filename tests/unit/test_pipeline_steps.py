"""The Mage pipelines' steps without servers: run variables, days in storage, data windows,
batch ingestion, the champion/challenger verdict, online records and Mage API outputs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from machine_learning import layout, online, pipelines, registry, sequence
from machine_learning.config import load_settings
from machine_learning.mage_api import decode_output
from machine_learning.storage import LocalStorage, StorageError, read_csv, write_csv

DAY = dt.date(2026, 11, 23)


@pytest.fixture()
def storage(clean_env) -> LocalStorage:
    """The local storage of the server-less environment."""
    assert load_settings().data_dir == clean_env / "data"
    return LocalStorage(clean_env / "data")


def _options(**variables) -> pipelines.RunOptions:
    return pipelines.run_options(variables, load_settings())


@pytest.mark.usefixtures("clean_env")
def test_run_options_defaults_and_types():
    options = _options(day="2026-11-23", players="500", simulate_missing_batch="false")
    assert options.day == DAY and options.day_given
    assert options.players == 500 and options.simulate_missing_batch is False
    assert options.model_kind == "gradient_boosting" and not options.model_params
    assert options.evaluation_days == 1 and options.selection_metric == "accuracy"


@pytest.mark.usefixtures("clean_env")
def test_run_options_day_from_the_trigger():
    options = _options(execution_date=dt.datetime(2026, 11, 24, 20, 0))
    assert options.day == dt.date(2026, 11, 24) and not options.day_given
    assert _options().day == dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"day": "yesterday"}, "ISO date"),
        ({"model_kind": "svm"}, "model kind"),
        ({"model_params": "[1]"}, "JSON object"),
        ({"evaluation_days": 0}, "evaluation_days"),
        ({"monitoring_sample_rows": 0}, "monitoring_sample_rows"),
    ],
)
@pytest.mark.usefixtures("clean_env")
def test_run_options_reject_bad_variables(variables, message):
    with pytest.raises(ValueError, match=message):
        _options(**variables)


def test_forwarded_variables_keep_ours_and_the_day():
    forwarded = pipelines.forwarded_variables(
        {"execution_date": dt.datetime(2026, 11, 24, 23), "model_kind": "x", "env": "prod"}
    )
    assert forwarded == {"model_kind": "x", "day": "2026-11-24"}


def test_days_in_storage_and_the_selection_window(storage):
    for day in (DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)):
        pipelines.simulate_day(storage, day, 5)
    storage.write_bytes(layout.batch_input(DAY + dt.timedelta(days=3)), b"PlayerID\n1\n")
    storage.write_bytes("labels/not-a-day/labels.csv", b"x")
    assert len(pipelines.labelled_days(storage)) == 3
    train, evaluate = pipelines.split_labelled_days(storage, evaluation_days=1)
    assert train == [DAY, DAY + dt.timedelta(days=1)] and evaluate == [DAY + dt.timedelta(days=2)]
    assert pipelines.split_labelled_days(storage, evaluation_days=5) == (
        [],
        pipelines.labelled_days(storage),
    )
    labelled = pipelines.labelled_players(storage, DAY)
    assert len(labelled) == 5 and labelled["EngagementLevel"].notna().all()


def test_monitoring_day_is_the_latest_scored_day(storage):
    with pytest.raises(StorageError, match="run batch_inference first"):
        pipelines.monitoring_day(storage, _options())
    for day in (DAY, DAY + dt.timedelta(days=2)):
        storage.write_bytes(layout.current(day), b"x")
    assert pipelines.monitoring_day(storage, _options(execution_date="2026-11-24")) == DAY
    assert pipelines.monitoring_day(storage, _options()) == DAY + dt.timedelta(days=2)
    assert pipelines.monitoring_day(storage, _options(day="2020-01-01")) == dt.date(2020, 1, 1)


def test_clean_players_saves_rejects_and_clears_them_on_a_clean_rerun(storage, text_players):
    broken = text_players.copy()
    broken.loc[0, "Age"] = "abc"
    variables = {"day": DAY.isoformat()}
    processed = pipelines.clean_players(broken, variables)
    rejected = read_csv(storage, layout.rejected("prepare", DAY))
    assert len(processed) == 19 and rejected["rejection_reason"].tolist() == [
        "Age: not a number ('abc')"
    ]
    pipelines.clean_players(text_players, variables)
    assert not storage.exists(layout.rejected("prepare", DAY))


def test_load_batch_simulates_or_says_where_the_batch_belongs(storage):
    with pytest.raises(StorageError, match="no batch for 2026-11-23"):
        pipelines.load_batch({"day": "2026-11-23", "simulate_missing_batch": False})
    batch = pipelines.load_batch({"day": "2026-11-23", "batch_players": 7})
    assert len(batch) == 7 and "EngagementLevel" not in batch
    assert len(read_csv(storage, layout.labels(DAY))) == 7
    again = pipelines.load_batch({"day": "2026-11-23", "batch_players": 99})
    pd.testing.assert_frame_equal(again, batch)  # an existing batch is never replaced


def test_training_data_leaves_out_the_selection_window(storage, players):
    write_csv(storage, layout.PROCESSED_PLAYERS, players.head(50))
    for day in (DAY, DAY + dt.timedelta(days=1)):
        pipelines.simulate_day(storage, day, 10)
    frame = pipelines.load_training_data({"day": "2026-11-25"})
    assert frame[pipelines.SOURCE_COLUMN].value_counts().to_dict() == {
        "processed": 50,
        layout.labels(DAY): 10,
    }
    evaluation = pipelines.load_evaluation_data({})
    assert set(evaluation[pipelines.SOURCE_COLUMN]) == {layout.labels(DAY + dt.timedelta(days=1))}


def test_evaluation_falls_back_to_the_holdout_split(storage, players):
    write_csv(storage, layout.PROCESSED_PLAYERS, players.head(100))
    evaluation = pipelines.load_evaluation_data({})
    assert len(evaluation) == 20 and set(evaluation[pipelines.SOURCE_COLUMN]) == {
        pipelines.HOLDOUT_SOURCE
    }


def _version(number: str) -> registry.VersionInfo:
    return registry.VersionInfo("m", number, "run", (), {})


@pytest.mark.parametrize(
    "production, candidate_score, production_score, margin, promoted",
    [
        (None, 0.5, None, 0.0, True),
        ("1", 0.91, 0.90, 0.0, True),
        ("1", 0.90, 0.90, 0.0, False),
        ("1", 0.89, 0.90, 0.0, False),
        ("1", 0.905, 0.90, 0.01, False),
        ("2", 0.5, 0.5, 0.0, False),  # the candidate already is production
    ],
)
def test_champion_challenger_verdict(
    production, candidate_score, production_score, margin, promoted
):
    promote, verdict = pipelines._verdict(
        _version("2"),
        _version(production) if production else None,
        {"accuracy": candidate_score},
        {} if production_score is None else {"accuracy": production_score},
        "accuracy",
        margin,
    )
    assert promote is promoted and verdict.startswith("promoted" if promoted else "kept")


def test_unknown_selection_metric_is_refused():
    with pytest.raises(ValueError, match="unknown selection metric 'auc'"):
        pipelines._verdict(_version("2"), _version("1"), {"accuracy": 1}, {"accuracy": 1}, "auc", 0)


def test_online_records_are_parsed_and_limited():
    assert len(online.parse_records('[{"Age": 20}, {"Age": 30}]')) == 2
    assert len(online.parse_records({"Age": 20})) == 1
    for bad in ([], "[1, 2]", None):
        with pytest.raises(ValueError):
            online.parse_records(bad)
    with pytest.raises(ValueError, match="at most 1000 records"):
        online.parse_records([{"Age": 1}] * 1001)


def test_mage_table_outputs_decode_to_rows():
    output = {
        "type": "table",
        "sample_data": {"columns": ["row", "prediction"], "rows": [[1, "Low"], [2, None]]},
    }
    assert decode_output(output) == [
        {"row": 1, "prediction": "Low"},
        {"row": 2, "prediction": None},
    ]
    assert decode_output({"type": "text", "text_data": "hello"}) == "hello"


def test_sequence_variables_and_pipeline_choice():
    assert sequence.parse_variables(["players=5", "name=abc", 'params={"a": 1}']) == {
        "players": 5,
        "name": "abc",
        "params": {"a": 1},
    }
    with pytest.raises(ValueError, match="key=value"):
        sequence.parse_variables(["players"])
    assert sequence._chosen(["performance_reports", "prepare_data"]) == [
        "prepare_data",
        "performance_reports",
    ]
    with pytest.raises(ValueError, match="unknown pipelines nope"):
        sequence._chosen(["nope"])
