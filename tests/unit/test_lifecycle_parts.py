"""The lifecycle's parts without servers: the plan's calendar, arriving players, labels held
back and revealed, the drift window of training, skipped retraining and the day line."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from machine_learning import layout, lifecycle, lifecycle_cli, pipelines, simulator
from machine_learning.config import load_settings
from machine_learning.schema import ID_COLUMN, TARGET_COLUMN
from machine_learning.storage import LocalStorage, read_csv, write_json


@pytest.fixture()
def storage(clean_env) -> LocalStorage:
    return LocalStorage(clean_env / "data")


def _plan(**changes) -> lifecycle.LifecyclePlan:
    return lifecycle.LifecyclePlan(**{"days": 15, "drift_day": 8, "players_per_day": 50, **changes})


def test_plan_calendar_weeks_and_drift():
    plan = _plan()
    assert plan.date(1) == dt.date(2025, 1, 6) and plan.date(1).weekday() == 0
    assert plan.date(0) == dt.date(2025, 1, 5)
    assert [plan.week(d) for d in (1, 7, 8, 14, 15)] == [1, 1, 2, 2, 3]
    assert [d for d in range(1, 16) if plan.ends_week(d)] == [7, 14, 15]
    assert not plan.drifted(7) and plan.drifted(8)
    assert not _plan(scenario="none").drifted(9)
    assert plan.variables(3)["day"] == "2025-01-08"
    assert plan.variables(3)["simulate_missing_batch"] is False


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"days": 0}, "days"),
        ({"drift_day": 0}, "drift_day"),
        ({"players_per_day": 0}, "players_per_day"),
        ({"scenario": "meteor"}, "unknown drift scenario 'meteor'"),
    ],
)
def test_plan_rejects_bad_values_naming_them(changes, message):
    with pytest.raises(ValueError, match=message):
        _plan(**changes)


def test_the_run_name_ignores_the_length_so_a_longer_run_continues():
    assert _plan(days=7).run_name("simulated") == _plan(days=28).run_name("simulated")
    assert _plan().run_name("simulated") != _plan(drift_day=9).run_name("simulated")


def test_simulated_arrivals_are_seeded_unique_and_drift_on_time():
    plan, source = _plan(players_per_day=400), lifecycle.SimulatedPlayers()
    day7, day8 = source.players(plan, 7), source.players(plan, 8)
    pd.testing.assert_frame_equal(day7, source.players(plan, 7))
    assert not set(day7[ID_COLUMN]) & set(day8[ID_COLUMN])
    assert day8["AvgSessionDurationMinutes"].mean() > 1.3 * day7["AvgSessionDurationMinutes"].mean()


def test_real_arrivals_sample_the_pool_with_fresh_ids_and_drift(players):
    plan, source = _plan(players_per_day=300), lifecycle.RealPlayers(pool=players)
    day1, day8 = source.players(plan, 1), source.players(plan, 8)
    assert len(day1) == 300 and day1[ID_COLUMN].is_unique
    assert not set(day1[ID_COLUMN]) & set(players[ID_COLUMN])
    assert day8["AvgSessionDurationMinutes"].mean() > 1.3 * day1["AvgSessionDurationMinutes"].mean()


def test_labels_are_held_back_until_the_week_ends(storage):
    plan, source = _plan(), lifecycle.SimulatedPlayers()
    for day in range(1, 8):
        assert lifecycle.arrive(storage, plan, day, source) == 50
        assert not storage.exists(layout.labels(plan.date(day)))
        batch = read_csv(storage, layout.batch_input(plan.date(day)))
        assert TARGET_COLUMN not in batch.columns
    revealed = lifecycle.reveal_week(storage, plan, 7)
    assert revealed == [plan.date(day).isoformat() for day in range(1, 8)]
    labels = read_csv(storage, layout.labels(plan.date(3)))
    assert list(labels.columns) == [ID_COLUMN, TARGET_COLUMN] and len(labels) == 50


def _decide(storage, day: str, retrain: bool) -> None:
    key = layout.report(day, pipelines.DECISION_REPORT, "json")
    write_json(storage, key, json.dumps({"retrain": retrain, "reasons": []}))


def test_drift_window_starts_where_the_current_run_of_drift_decisions_began(storage):
    for day, retrain in [("2025-01-10", True), ("2025-01-11", False), ("2025-01-12", True)]:
        _decide(storage, day, retrain)
    _decide(storage, "2025-01-13", True)
    assert pipelines.drift_window_start(storage, dt.date(2025, 1, 13)) == dt.date(2025, 1, 12)
    assert pipelines.drift_window_start(storage, dt.date(2025, 1, 11)) is None
    assert pipelines.drift_window_start(storage, dt.date(2025, 1, 10)) == dt.date(2025, 1, 10)


def _labelled_day(storage, day: dt.date, players: int, drift: str) -> None:
    frame = simulator.daily_players(pipelines.simulation_day_index(day), players, drift=drift)
    batch, labels = simulator.split_labels(frame)
    pipelines.write_csv(storage, layout.batch_input(day), batch)
    pipelines.write_csv(storage, layout.labels(day), labels)


def test_training_uses_the_drifted_days_alone_once_they_are_enough(storage):
    pipelines.write_csv(storage, layout.PROCESSED_PLAYERS, simulator.simulate_players(300))
    start = dt.date(2025, 1, 6)
    for offset in range(6):
        day = start + dt.timedelta(days=offset)
        _labelled_day(storage, day, 100, "none" if offset < 2 else "engagement_inflation")
        _decide(storage, day.isoformat(), offset >= 2)
    variables = {"day": "2025-01-11", "evaluation_days": 1}
    enough = pipelines.load_training_data({**variables, "drift_window_min_rows": 300})
    assert set(enough[pipelines.SOURCE_COLUMN]) == {
        layout.labels(start + dt.timedelta(days=offset)) for offset in (2, 3, 4)
    }
    too_few = pipelines.load_training_data({**variables, "drift_window_min_rows": 301})
    assert pipelines.PROCESSED_SOURCE in set(too_few[pipelines.SOURCE_COLUMN])
    assert len(too_few) == 300 + 5 * 100


def test_training_fingerprint_changes_with_data_kind_and_params(players):
    settings = load_settings()
    options = pipelines.run_options({}, settings)
    frame = players.head(100)
    same = pipelines.training_fingerprint(frame.copy(), options)
    assert pipelines.training_fingerprint(frame, options) == same
    assert pipelines.training_fingerprint(players.head(101), options) != same
    other = pipelines.run_options({"model_kind": "hist_gradient_boosting"}, settings)
    assert pipelines.training_fingerprint(frame, other) != same
    tuned = pipelines.run_options({"model_params": {"max_depth": 2}}, settings)
    assert pipelines.training_fingerprint(frame, tuned) != same


def test_retraining_is_skipped_when_no_labels_arrived_since_the_last(storage):
    _labelled_day(storage, dt.date(2025, 1, 6), 20, "none")
    done = {"day": "2025-01-08", "status": "completed", "labelled_days": ["2025-01-06"]}
    write_json(storage, layout.report("2025-01-08", "retraining", "json"), json.dumps(done))
    decision = {"day": "2025-01-09", "retrain": True, "reasons": [{"message": "drift"}]}
    record = pipelines.trigger_retraining(decision, {"day": "2025-01-09"})
    assert record["status"] == "skipped" and "2025-01-08" in record["why"]
    saved = pipelines.read_json_report(storage, "2025-01-09", "retraining")
    assert saved["status"] == "skipped"
    assert pipelines.last_retraining(storage, dt.date(2025, 1, 9))["day"] == "2025-01-08"
    assert pipelines.last_retraining(storage, dt.date(2025, 1, 8)) is None


def test_day_line_and_week_table_show_the_decisions():
    record = {
        "day": 8,
        "date": "2025-01-13",
        "rows": 500,
        "production_version": "2",
        "retrain": True,
        "reasons": ["key column SessionsPerWeek drifted"],
        "retraining": "completed",
        "promotions": ["3"],
        "labels_revealed": [],
    }
    line = lifecycle_cli.day_line(record, 16)
    assert line.startswith("[##########----------] day  8/16 2025-01-13 Mon rows    500 model v2")
    assert "DRIFT, retraining completed: key column SessionsPerWeek drifted" in line
    assert "promoted v3" in line
    week = {
        "week": 2,
        "first_day": "2025-01-13",
        "last_day": "2025-01-19",
        "accuracy": 0.9,
        "stale_accuracy": 0.7,
        "drift_detected": True,
        "why": ["key column SessionsPerWeek drifted"],
        "retrains": 1,
        "promotions": 1,
    }
    table = lifecycle_cli.week_table([week])
    assert " 90.0%   70.0%  yes" in table[1] and "SessionsPerWeek" in table[1]
