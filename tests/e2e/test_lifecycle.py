"""The main job, end to end: `gaming-mlops up` starts MLflow, the Mage server and the Evidently UI,
then a 15-day lifecycle runs through the Mage server's API triggers with drift from day 8.

The story asserted: before the drift no retraining; the monitor fires within two days of it; a
model retrained on the drifted players is promoted; its true accuracy beats the stale first model
on the same players. Running the same command again changes nothing.
"""

from __future__ import annotations

import pytest
from platform_helpers import gaming_mlops, last_json

from machine_learning import layout, pipelines

# The shared platform fixture (up + a lifecycle run) can take longer than the default timeout.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3000)]

DRIFT_DAY = 8
DAY_KEYS = {"day", "date", "rows", "retrain", "reasons", "production_version"}
WEEK_KEYS = {"week", "accuracy", "stale_accuracy", "retrains", "promotions"}


@pytest.fixture(scope="module")
def days(lifecycle_platform) -> list[dict]:
    return lifecycle_platform.summary["days"]


@pytest.fixture(scope="module")
def weeks(lifecycle_platform) -> list[dict]:
    return {week["week"]: week for week in lifecycle_platform.summary["weeks"]}


def test_json_has_one_record_per_day_and_per_week(days, weeks):
    assert [day["day"] for day in days] == list(range(1, 16))
    assert all(DAY_KEYS <= set(day) for day in days)
    assert sorted(weeks) == [1, 2, 3]
    assert all(WEEK_KEYS <= set(week) for week in weeks.values())
    assert all(day["rows"] == 500 for day in days)


def test_no_retraining_before_the_drift(days):
    before = [day for day in days if day["day"] < DRIFT_DAY]
    assert not [day["date"] for day in before if day["retrain"]]
    assert all(day["retraining"] == "not_needed" for day in before)


def test_monitor_fires_within_two_days_of_the_drift_and_says_why(days):
    fired = [day for day in days if DRIFT_DAY <= day["day"] <= DRIFT_DAY + 1 and day["retrain"]]
    assert fired, [day["reasons"] for day in days]
    assert any("AvgSessionDurationMinutes" in reason for reason in fired[0]["reasons"])
    assert any(day["retraining"] == "completed" for day in days if day["day"] >= DRIFT_DAY)


def test_a_model_trained_on_drifted_players_is_promoted(lifecycle_platform, days):
    platform = lifecycle_platform
    before = days[DRIFT_DAY - 2]["production_version"]
    promoted = [v for day in days if day["day"] > DRIFT_DAY for v in day["promotions"]]
    assert promoted, "no promotion after the drift"
    final = days[-1]["production_version"]
    assert final == promoted[-1] != before
    run = platform.client.get_run(
        platform.client.get_model_version(platform.model_name, final).run_id
    )
    sources = run.data.tags["training_sources"]
    drift_date = days[DRIFT_DAY - 1]["date"]
    trained_days = [
        part.split("/")[1] for part in sources.split(", ") if part.startswith("labels/")
    ]
    assert trained_days and min(trained_days) >= drift_date, sources


def test_true_accuracy_recovers_against_the_stale_model(weeks):
    assert weeks[1]["accuracy"] == weeks[1]["stale_accuracy"]  # the first model all week
    assert weeks[2]["drift_detected"] and not weeks[1]["drift_detected"]
    assert weeks[2]["stale_accuracy"] < weeks[1]["stale_accuracy"] - 0.05
    assert weeks[3]["accuracy"] > weeks[3]["stale_accuracy"] + 0.05, weeks[3]
    assert weeks[3]["promotions"] >= 1


def test_labels_are_revealed_at_each_week_end(lifecycle_platform, days):
    revealed = {day["day"]: len(day["labels_revealed"]) for day in days if day["labels_revealed"]}
    assert revealed == {7: 7, 14: 7, 15: 1}
    storage = lifecycle_platform.storage
    for day in days:
        assert storage.exists(layout.labels(day["date"]))
        key = layout.report(day["date"], "classification_metrics", "json")
        assert storage.exists(key), f"no performance report for {day['date']} once labelled"


def _without_skipped(days: list[dict]) -> list[dict]:
    return [{key: value for key, value in day.items() if key != "skipped"} for day in days]


def test_running_it_again_changes_nothing(lifecycle_platform):
    platform = lifecycle_platform
    first, again = platform.summary, platform.rerun
    assert all(day.get("skipped") for day in again["days"])
    assert _without_skipped(again["days"]) == _without_skipped(first["days"])
    assert again["weeks"] == first["weeks"]
    versions = [
        v.version for v in pipelines.registry.list_versions(platform.client, platform.model_name)
    ]
    assert versions == platform.versions_after_first_run


def test_up_prints_the_services_and_the_login_and_status_sees_them(lifecycle_platform):
    platform = lifecycle_platform
    for url in (platform.mlflow_url, platform.mage_url, platform.evidently_url):
        assert url in platform.up_output
    assert f"Mage login: {platform.mage_email}" in platform.up_output
    assert platform.mage_password not in platform.up_output
    states = last_json(gaming_mlops(platform.env, "status", "--json"))["services"]
    assert {s["name"]: s["running"] for s in states} == {
        "mlflow": True,
        "mage": True,
        "evidently": True,
    }
