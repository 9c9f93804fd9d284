"""The Evidently UI over the workspace: project, dashboard and snapshots read back over HTTP."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from monitoring_history import day_snapshots

from machine_learning.monitoring import (
    PROJECT_NAME,
    add_to_workspace,
    dashboard_panels,
    ensure_dashboard,
)

pytestmark = pytest.mark.integration


def get(server, path: str):
    with urllib.request.urlopen(server.url + path, timeout=30) as response:  # noqa: S310 (loopback)
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture(scope="module")
def project_id(evidently_ui) -> str:
    projects = [p for p in get(evidently_ui, "/api/projects") if p["name"] == PROJECT_NAME]
    assert len(projects) == 1
    return projects[0]["id"]


def test_the_ui_serves_on_loopback(evidently_ui):
    assert evidently_ui.url.startswith("http://127.0.0.1:")


def test_one_project_with_the_dashboard_panels(evidently_ui, project_id):
    panels = get(evidently_ui, f"/api/projects/{project_id}/dashboard/panels")
    assert [p["title"] for p in panels] == [p.title for p in dashboard_panels()]


def test_snapshots_are_listed(evidently_ui, project_id, history):
    reports = get(evidently_ui, f"/api/projects/{project_id}/reports")
    suites = get(evidently_ui, f"/api/projects/{project_id}/test_suites")
    assert len(suites) == history.suites
    assert len(reports) == history.reports
    tags = {tag for report in reports for tag in report["tags"]}
    assert tags == {"data_quality", "data_drift", "prediction_drift", "classification_performance"}


def _widgets(server, project_id) -> dict[str, dict]:
    dashboard = get(server, f"/api/projects/{project_id}/dashboard")
    return {w["title"]: w for w in dashboard["widgets"] if w["title"]}


def _trace_values(widget: dict, axis: str = "y") -> list:
    return [value for trace in widget["params"]["data"] for value in trace[axis]]


def test_dashboard_panels_carry_the_history(evidently_ui, project_id, history):
    widgets = _widgets(evidently_ui, project_id)
    assert _trace_values(widgets["Rows scored per day"])[: history.days] == [500] * history.days
    shares = _trace_values(widgets["Share of drifted columns"])
    assert len(shares) >= history.days and max(shares) > min(shares)
    scores = widgets["Drift score: AvgSessionDurationMinutes and SessionsPerWeek"]["params"]["data"]
    assert {t["name"] for t in scores} == {"AvgSessionDurationMinutes", "SessionsPerWeek"}
    assert all(max(t["y"]) > 0.1 > min(t["y"]) for t in scores)  # quiet days, then drift
    classes = widgets["Prediction class shares"]["params"]["data"]
    assert {t["name"] for t in classes} == {"Low", "Medium", "High"}
    quality = widgets["True accuracy and macro F1 per week"]["params"]["data"]
    assert {t["name"] for t in quality} == {"accuracy", "macro F1"}
    assert all(len(t["y"]) == 2 and all(0.3 < v <= 1 for v in t["y"]) for t in quality)
    tests = widgets["Drift tests per day: passed and failed"]["params"]["data"]
    assert sum(sum(t["y"]) for t in tests if t["name"] == "FAIL") > 0
    assert sum(sum(t["y"]) for t in tests if t["name"] == "SUCCESS") > 0


def test_a_snapshot_added_while_running_appears(evidently_ui, project_id, history):
    before = len(get(evidently_ui, f"/api/projects/{project_id}/test_suites"))
    items, _ = day_snapshots(history.model, history.reference, history.days, "none")
    add_to_workspace(history.workspace, items)
    ensure_dashboard(history.workspace)  # again: nothing duplicates
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(get(evidently_ui, f"/api/projects/{project_id}/test_suites")) == before + 1:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the new snapshot did not appear in the running UI within 30 s")
    assert len(get(evidently_ui, "/api/projects")) == 1
    panels = get(evidently_ui, f"/api/projects/{project_id}/dashboard/panels")
    assert len(panels) == len(dashboard_panels())
