"""Drift tests, reports, storage and workspace on simulated players (Evidently runs, no servers)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from machine_learning import layout
from machine_learning.monitoring import (
    PROJECT_NAME,
    REPORT_NAMES,
    add_to_workspace,
    build_performance_report,
    build_reports,
    dashboard_panels,
    ensure_dashboard,
    join_truth,
    open_workspace,
    performance_summary,
    run_monitoring,
    save_monitoring_result,
    save_performance_summary,
    save_reports,
)
from machine_learning.monitoring.decision import RULE_KEY_COLUMN
from machine_learning.storage import LocalStorage

KEY = {"AvgSessionDurationMinutes", "SessionsPerWeek"}
DAY = dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def undrifted(scored_reference, scored_current):
    return run_monitoring(
        scored_reference, scored_current("none"), timestamp=dt.datetime(2024, 3, 1)
    )


@pytest.fixture(scope="module")
def reports(scored_reference, scored_current):
    return build_reports(
        scored_reference, scored_current("none"), timestamp=dt.datetime(2024, 3, 1)
    )


def test_undrifted_players_do_not_retrain(undrifted):
    assert not undrifted.retrain, undrifted.reasons
    assert undrifted.decision.share_of_drifted_columns <= 0.3
    assert not KEY & set(undrifted.decision.drifted_columns)
    assert undrifted.current_rows == 1000


def test_longer_sessions_retrain_naming_both_key_columns(scored_reference, scored_current):
    result = run_monitoring(scored_reference, scored_current("longer_sessions"))
    assert result.retrain
    named = {r.column for r in result.reasons if r.rule == RULE_KEY_COLUMN}
    assert named == KEY
    for reason in result.reasons:
        assert reason.value > reason.threshold and reason.statistic


def test_shorter_sessions_retrain_naming_the_duration(scored_reference, scored_current):
    result = run_monitoring(scored_reference, scored_current("shorter_sessions"))
    assert result.retrain
    assert "AvgSessionDurationMinutes" in {r.column for r in result.reasons}


def test_result_as_dict_is_json(undrifted):
    payload = json.loads(json.dumps(undrifted.as_dict()))
    assert payload["retrain"] is False
    assert payload["timestamp"] == "2024-03-01T00:00:00"
    assert payload["tests_total"] > 30


def test_reports_have_their_figures(reports):
    assert tuple(reports) == REPORT_NAMES
    drift = reports["data_drift"].as_dict()
    ids = [m["metric"] for m in drift["metrics"]]
    assert ids.count("ColumnDriftMetric") == 2 and "DatasetDriftMetric" in ids
    prediction = reports["prediction_drift"].as_dict()["metrics"]
    shares = [
        m["result"]["current"]["category_ratio"]
        for m in prediction
        if m["metric"] == "ColumnCategoryMetric"
    ]
    assert sum(shares) == pytest.approx(1.0)
    for name, report in reports.items():
        assert report.tags == [name]


def test_performance_report_against_truth(scored_current):
    scored = scored_current("none")
    labels = scored[["PlayerID", "EngagementLevel"]].sample(frac=1.0, random_state=1)
    labelled = join_truth(scored.drop(columns=["EngagementLevel"]), labels)
    assert len(labelled) == len(scored)
    summary = performance_summary(build_performance_report(labelled).as_dict())
    truth, predicted = scored["EngagementLevel"], scored["prediction"]
    assert summary["accuracy"] == pytest.approx((truth == predicted).mean())
    assert set(summary["f1_per_class"]) == {"Low", "Medium", "High"}
    assert summary["confusion_matrix"]["labels"] == ["Low", "Medium", "High"]
    matrix = summary["confusion_matrix"]["values"]
    assert matrix[0][0] == int(((truth == "Low") & (predicted == "Low")).sum())
    assert summary["rows"] == len(scored)
    assert 0.6 < summary["f1_macro"] <= 1.0


def test_performance_report_needs_labels(scored_current):
    with pytest.raises(ValueError, match="EngagementLevel"):
        build_performance_report(scored_current("none").drop(columns=["EngagementLevel"]))


def test_results_are_saved_as_json_and_html(tmp_path, undrifted, reports):
    storage = LocalStorage(tmp_path)
    saved = save_monitoring_result(storage, DAY, undrifted)
    saved.update(save_reports(storage, DAY, reports, html=False))
    saved.update(save_performance_summary(storage, DAY, {"accuracy": 0.9}))
    expected = {
        layout.report(DAY, "drift_tests", "json"),
        layout.report(DAY, "drift_tests", "html"),
        layout.report(DAY, "monitoring_decision", "json"),
        layout.report(DAY, "classification_metrics", "json"),
        *(layout.report(DAY, name, "json") for name in REPORT_NAMES),
    }
    assert set(storage.list_keys("reports/")) == expected
    decision = json.loads(storage.read_bytes(layout.report(DAY, "monitoring_decision", "json")))
    assert decision["retrain"] is False
    suite = json.loads(storage.read_bytes(layout.report(DAY, "drift_tests", "json")))
    assert suite["summary"]["total_tests"] == decision["tests_total"]
    html = storage.read_bytes(layout.report(DAY, "drift_tests", "html"))
    assert b"evidently_dashboard" in html  # Evidently's self-contained page (as save_html writes)


def test_dashboard_is_idempotent(tmp_path):
    first = ensure_dashboard(tmp_path / "ws")
    second = ensure_dashboard(tmp_path / "ws")
    workspace = open_workspace(tmp_path / "ws")
    assert [p.name for p in workspace.list_projects()] == [PROJECT_NAME]
    assert first.id == second.id
    titles = [p.title for p in second.dashboard.panels]
    assert titles == [p.title for p in dashboard_panels()]
    assert len(titles) == len(set(titles))
    assert [p.id for p in first.dashboard.panels] == [p.id for p in second.dashboard.panels]


def test_panels_added_by_hand_are_kept(tmp_path):
    project = ensure_dashboard(tmp_path)
    extra = dashboard_panels()[0].copy(update={"title": "my own panel"})
    project.dashboard.panels.append(extra)
    project.save()
    again = ensure_dashboard(tmp_path)
    assert [p.title for p in again.dashboard.panels][-1] == "my own panel"
    assert len(again.dashboard.panels) == len(dashboard_panels()) + 1


def test_rerunning_a_day_replaces_its_snapshots(tmp_path, scored_reference, scored_current):
    stamp = dt.datetime(2024, 3, 2)
    first = run_monitoring(scored_reference, scored_current("none"), timestamp=stamp)
    again = run_monitoring(scored_reference, scored_current("none"), timestamp=stamp)
    other_day = run_monitoring(scored_reference, scored_current("none"))
    add_to_workspace(tmp_path, [first.suite, other_day.suite])
    add_to_workspace(tmp_path, [again.suite])
    kept = add_to_workspace(tmp_path, [again.suite], replace=False)
    [project] = open_workspace(tmp_path).list_projects()
    assert {str(s.id) for s in project.list_snapshots()} == {str(other_day.suite.id), *kept}


def test_snapshots_land_in_the_project(tmp_path, undrifted, reports):
    ids = add_to_workspace(tmp_path, [undrifted.suite, *reports.values()])
    add_to_workspace(tmp_path, [undrifted.suite])  # same id again: replaces, no duplicate
    workspace = open_workspace(tmp_path)
    [project] = workspace.list_projects()
    snapshots = project.list_snapshots()
    assert {str(s.id) for s in snapshots} == set(ids)
    assert len(snapshots) == 1 + len(REPORT_NAMES)
    widgets = workspace.get_project(project.id).build_dashboard_info(None, None).widgets
    assert len(widgets) == len(dashboard_panels())
    errors = [
        w for w in widgets if w.type == "counter" and "Error" in json.dumps(w.params, default=str)
    ]
    assert not errors
