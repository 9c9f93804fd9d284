"""Evidently workspace missing or corrupt: monitoring still decides, and reports the problem.

A snapshot cut short by a crash, a file that is not JSON, a damaged project file, a deleted or
unusable workspace folder: the dashboard step moves what it cannot read aside, recreates what
is missing, records the problem in ``reports/<day>/workspace_problems.json`` and lets the
monitoring decision go on. ``evidently ui`` starts over such a folder too.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import urllib.request
import uuid
from pathlib import Path

import pytest
from evidently.ui.workspace import Workspace

from machine_learning import layout, pipelines, simulator
from machine_learning.monitoring import (
    PROJECT_NAME,
    WorkspaceError,
    add_to_workspace,
    dashboard_panels,
    monitoring_frame,
    open_workspace,
    publish_to_workspace,
    run_monitoring,
)
from machine_learning.monitoring.ui import start_ui
from machine_learning.monitoring.workspace_files import QUARANTINE
from machine_learning.storage import LocalStorage

DAY = dt.date(2024, 5, 7)
STAMP = dt.datetime.combine(DAY, dt.time(12))


def labelled_as_predicted(players: int, seed: int):
    """Simulated players whose 'prediction' is their true label (no model needed)."""
    frame = simulator.simulate_players(players, seed=seed)
    frame["prediction"] = frame["EngagementLevel"]
    return monitoring_frame(frame)


@pytest.fixture(scope="module")
def frames():
    return labelled_as_predicted(800, seed=1), labelled_as_predicted(300, seed=2)


@pytest.fixture(scope="module")
def suite(frames):
    """One day's drift test suite (a snapshot to add)."""
    return run_monitoring(*frames, timestamp=STAMP).suite


@pytest.fixture(scope="module")
def template(tmp_path_factory, frames) -> Path:
    """A workspace folder holding the project and one healthy snapshot of the previous day."""
    folder = tmp_path_factory.mktemp("template") / "evidently"
    add_to_workspace(folder, [run_monitoring(*frames, timestamp=STAMP - dt.timedelta(1)).suite])
    return folder


@pytest.fixture()
def workspace(tmp_path, template) -> Path:
    """A fresh copy of the template workspace."""
    return Path(shutil.copytree(template, tmp_path / "evidently"))


def snapshot_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/snapshots/*.json"))


def project_snapshot_ids(folder: Path) -> set[str]:
    [project] = [p for p in open_workspace(folder).list_projects() if p.name == PROJECT_NAME]
    return {str(s.id) for s in project.list_snapshots()}


def problems_report(storage: LocalStorage) -> list[dict]:
    return json.loads(storage.read_bytes(layout.report(DAY, "workspace_problems", "json")))


def corrupt(folder: Path, kind: str) -> Path:
    """Write a damaged file of ``kind`` into the project's snapshots; returns it."""
    healthy = snapshot_files(folder)[0]
    contents = {
        "cut_short": healthy.read_bytes()[: healthy.stat().st_size // 2],
        "not_text": b"\x00\xff\xfe binary",
        "not_a_snapshot": b'{"id": "not a snapshot"}',
        "empty": b"",
    }
    bad = healthy.parent / f"{uuid.uuid4()}.json"
    bad.write_bytes(contents[kind])
    return bad


@pytest.mark.parametrize("kind", ["cut_short", "not_text", "not_a_snapshot", "empty"])
def test_a_corrupt_snapshot_is_moved_aside_and_reported(workspace, suite, tmp_path, kind):
    bad = corrupt(workspace, kind)
    with pytest.raises(ValueError):  # what Evidently itself does with such a folder
        Workspace.create(str(workspace))
    storage = LocalStorage(tmp_path / "data")
    update = publish_to_workspace(workspace, [suite], storage)
    assert update.added and update.snapshot_ids == [str(suite.id)]
    relative = bad.relative_to(workspace).as_posix()
    assert update.quarantined == [relative]
    assert not bad.exists() and (workspace / QUARANTINE / relative).is_file()
    assert str(suite.id) in project_snapshot_ids(workspace)
    [incident] = problems_report(storage)
    assert incident["quarantined"] == [relative]
    assert any(relative in problem for problem in incident["problems"])


def test_the_problem_says_what_is_wrong(workspace, suite, tmp_path):
    corrupt(workspace, "cut_short")
    update = publish_to_workspace(workspace, [suite], LocalStorage(tmp_path / "data"))
    [problem] = update.problems
    assert "not valid JSON" in problem and "moved to" in problem


def test_a_damaged_project_file_is_moved_aside_and_the_project_recreated(workspace, suite):
    [metadata] = workspace.glob("*/metadata.json")
    metadata.write_text("{ truncated", encoding="utf-8")
    ids = add_to_workspace(workspace, [suite])
    assert project_snapshot_ids(workspace) == set(ids)
    assert (workspace / QUARANTINE / metadata.parent.name / "metadata.json").is_file()
    [project] = open_workspace(workspace).list_projects()
    assert [p.title for p in project.dashboard.panels] == [p.title for p in dashboard_panels()]


def test_a_missing_workspace_is_recreated(workspace, suite, tmp_path):
    shutil.rmtree(workspace)
    update = publish_to_workspace(workspace, [suite], LocalStorage(tmp_path / "data"))
    assert update.added and update.created and not update.problems
    assert project_snapshot_ids(workspace) == {str(suite.id)}
    assert not (tmp_path / "data").exists()  # nothing to report


def test_an_unusable_workspace_is_reported_not_raised(tmp_path, suite):
    folder = tmp_path / "evidently"
    folder.write_text("a file where the workspace folder should be", encoding="utf-8")
    storage = LocalStorage(tmp_path / "data")
    update = publish_to_workspace(folder, [suite], storage)
    assert not update.added and not update.snapshot_ids
    [incident] = problems_report(storage)
    assert str(folder) in incident["problems"][0]
    with pytest.raises(WorkspaceError, match=str(folder)):
        add_to_workspace(folder, [suite])


def test_incidents_of_a_day_accumulate(workspace, suite, tmp_path):
    storage = LocalStorage(tmp_path / "data")
    corrupt(workspace, "not_text")
    publish_to_workspace(workspace, [suite], storage)
    corrupt(workspace, "empty")
    publish_to_workspace(workspace, [suite], storage)
    assert len(problems_report(storage)) == 2


@pytest.fixture()
def pipeline_environment(tmp_path, monkeypatch) -> tuple[LocalStorage, Path]:
    """Local settings for the pipelines' steps: data and workspace under ``tmp_path``."""
    monkeypatch.setenv("STORAGE", "local")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EVIDENTLY_WORKSPACE", str(tmp_path / "evidently"))
    return LocalStorage(tmp_path / "data"), tmp_path / "evidently"


def test_monitoring_still_decides_with_a_corrupt_snapshot(pipeline_environment, frames, template):
    storage, folder = pipeline_environment
    shutil.copytree(template, folder)
    bad = corrupt(folder, "cut_short")
    decision = pipelines.run_drift_tests(*frames, {"day": DAY.isoformat()})
    assert decision["retrain"] is False and decision["day"] == DAY.isoformat()
    saved = json.loads(storage.read_bytes(layout.report(DAY, "monitoring_decision", "json")))
    assert saved["retrain"] is False
    [incident] = problems_report(storage)
    assert incident["quarantined"] == [bad.relative_to(folder).as_posix()]
    assert len(project_snapshot_ids(folder)) == 2  # yesterday's and today's suites


def test_monitoring_still_decides_without_a_usable_workspace(pipeline_environment, frames):
    storage, folder = pipeline_environment
    folder.write_text("not a folder", encoding="utf-8")
    decision = pipelines.run_drift_tests(*frames, {"day": DAY.isoformat()})
    assert decision["retrain"] is False
    assert storage.exists(layout.report(DAY, "monitoring_decision", "json"))
    [problem] = problems_report(storage)[0]["problems"]
    assert problem == f"the Evidently workspace {folder} is a file, not a folder"


@pytest.mark.integration
def test_the_ui_starts_over_a_corrupt_workspace(workspace, tmp_path):
    """Evidently alone refuses to start over such a folder; start_ui moves the file aside."""
    healthy = {p.stem for p in snapshot_files(workspace)}
    corrupt(workspace, "cut_short")
    server = start_ui(workspace, log_path=tmp_path / "ui.log")
    try:
        with urllib.request.urlopen(server.url + "/api/projects", timeout=30) as response:
            [project] = json.loads(response.read())
        path = f"/api/projects/{project['id']}/test_suites"
        with urllib.request.urlopen(server.url + path, timeout=30) as response:
            assert {s["id"] for s in json.loads(response.read())} == healthy
    finally:
        server.stop()
    assert "moved to" in (tmp_path / "ui.log").read_text(encoding="utf-8")
