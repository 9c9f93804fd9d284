"""The Evidently workspace with STORAGE=s3, against moto's S3 server: snapshots written land in
the bucket (``evidently/workspace/``), and a fresh folder pulled from the bucket shows the
project, its dashboard and its snapshots through a real Evidently UI, which keeps pulling."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from monitoring_history import day_snapshots

from machine_learning import layout, pipelines, services
from machine_learning.monitoring import (
    PROJECT_NAME,
    add_to_workspace,
    dashboard_panels,
    open_workspace,
    publish_to_workspace,
)
from machine_learning.monitoring.ui import start_ui
from machine_learning.monitoring.workspace_sync import QUARANTINE_PREFIX, WORKSPACE_PREFIX
from machine_learning.storage import S3Storage

pytestmark = pytest.mark.integration
PREFIX = "team-a"  # S3_PREFIX: the workspace lives under <prefix>/evidently/workspace/


@pytest.fixture(scope="module")
def days(history) -> list[list]:
    """Three more simulated days: each a drift suite and three reports."""
    scenarios = ("none", "none", "longer_sessions")
    return [
        day_snapshots(history.model, history.reference, history.days + 1 + index, scenario)[0]
        for index, scenario in enumerate(scenarios)
    ]


@pytest.fixture()
def storage(moto_server, s3_bucket) -> S3Storage:
    return S3Storage(s3_bucket, PREFIX, endpoint_url=moto_server.url)


def bucket_files(storage: S3Storage, prefix: str = WORKSPACE_PREFIX) -> set[str]:
    return {key[len(prefix) :] for key in storage.list_keys(prefix)}


def folder_files(folder: Path) -> set[str]:
    files = [*folder.glob("*/metadata.json"), *folder.glob("*/snapshots/*.json")]
    return {path.relative_to(folder).as_posix() for path in files}


def snapshot_ids(files: set[str]) -> set[str]:
    return {Path(name).stem for name in files if "/snapshots/" in name}


def test_snapshots_written_in_s3_mode_land_in_the_bucket(tmp_path, storage, days):
    folder = tmp_path / "writer"
    ids = add_to_workspace(folder, days[0], storage=storage)
    in_bucket = bucket_files(storage)
    assert in_bucket == folder_files(folder)
    assert snapshot_ids(in_bucket) == set(ids) and len(ids) == 4
    [metadata] = [name for name in in_bucket if name.endswith("/metadata.json")]
    project = json.loads(storage.read_bytes(WORKSPACE_PREFIX + metadata))
    assert project["name"] == PROJECT_NAME
    assert storage.uri(WORKSPACE_PREFIX + metadata).startswith(f"s3://{storage.bucket}/{PREFIX}/")


def test_a_rerun_day_replaces_its_snapshots_in_the_bucket(tmp_path, storage, history, days):
    folder = tmp_path / "writer"
    first = add_to_workspace(folder, days[0], storage=storage)
    index = history.days + 1  # the same day again: same kinds, tags and timestamps
    again = add_to_workspace(
        folder, day_snapshots(history.model, history.reference, index, "none")[0], storage=storage
    )
    assert snapshot_ids(bucket_files(storage)) == set(again)
    assert not set(first) & set(again)


def test_two_writers_share_the_workspace_through_the_bucket(tmp_path, storage, days):
    one, two = tmp_path / "one", tmp_path / "two"
    first = add_to_workspace(one, days[0], storage=storage)
    second = add_to_workspace(two, days[1], storage=storage)  # pulls the first writer's files
    third = add_to_workspace(one, days[2], storage=storage)
    assert snapshot_ids(bucket_files(storage)) == set(first + second + third)
    assert folder_files(one) == bucket_files(storage)
    [project] = open_workspace(two).list_projects()
    assert len(project.list_snapshots()) == len(first + second)


def get(server, path: str):
    with urllib.request.urlopen(server.url + path, timeout=30) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


def listed_ids(server, base: str) -> set[str]:
    listed = get(server, base + "/reports") + get(server, base + "/test_suites")
    return {snapshot["id"] for snapshot in listed}


def test_a_fresh_folder_serves_the_bucket_and_keeps_pulling(tmp_path, storage, days):
    writer = tmp_path / "writer"
    written = add_to_workspace(writer, days[0] + days[1], storage=storage)
    fresh = tmp_path / "ui-host" / "workspace"
    server = start_ui(fresh, log_path=tmp_path / "ui.log", storage=storage, sync_seconds=1)
    try:
        [project] = get(server, "/api/projects")
        assert project["name"] == PROJECT_NAME
        base = f"/api/projects/{project['id']}"
        panels = get(server, base + "/dashboard/panels")
        assert [p["title"] for p in panels] == [p.title for p in dashboard_panels()]
        assert listed_ids(server, base) == set(written)
        widgets = {w["title"]: w for w in get(server, base + "/dashboard")["widgets"]}
        rows = widgets["Rows scored per day"]["params"]["data"][0]["y"]
        assert len(rows) == 2  # both days' data-quality reports are on the dashboard
        later = add_to_workspace(writer, days[2], storage=storage)  # while the UI runs
        deadline = time.monotonic() + 30
        while listed_ids(server, base) != set(written + later):
            if time.monotonic() > deadline:
                pytest.fail("snapshots written to the bucket did not reach the running UI in 30 s")
            time.sleep(0.5)
    finally:
        server.stop()


def test_an_unreadable_object_is_moved_to_the_quarantine(tmp_path, storage, days):
    ids = add_to_workspace(tmp_path / "writer", days[0], storage=storage)
    [metadata] = [name for name in bucket_files(storage) if name.endswith("/metadata.json")]
    damaged = f"{metadata.split('/')[0]}/snapshots/{uuid.uuid4()}.json"
    storage.write_bytes(WORKSPACE_PREFIX + damaged, b'{"id": "cut sh')
    other = tmp_path / "other-writer"
    update = publish_to_workspace(other, days[1], storage)
    assert update.added and update.quarantined == [damaged]
    assert any("not valid JSON" in problem for problem in update.problems)
    assert damaged not in bucket_files(storage)
    assert bucket_files(storage, QUARANTINE_PREFIX) == {damaged}
    assert snapshot_ids(bucket_files(storage)) == set(ids + update.snapshot_ids)
    day = days[1][0].timestamp.date()
    [incident] = json.loads(storage.read_bytes(layout.report(day, "workspace_problems", "json")))
    assert incident["remote"] == storage.uri(WORKSPACE_PREFIX) + "/"


def test_snapshots_wait_for_an_unreachable_bucket(tmp_path, storage, days):
    closed = f"http://{services.HOST}:{services.free_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=closed,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    offline = S3Storage(storage.bucket, PREFIX, client=client)
    folder = tmp_path / "writer"
    update = publish_to_workspace(folder, days[0], offline)
    assert update.added and len(update.snapshot_ids) == 4
    assert update.problems and "could not pull the workspace" in update.problems[0]
    assert bucket_files(storage) == set()
    add_to_workspace(folder, days[1], storage=storage)  # back online: the pending files go too
    assert snapshot_ids(bucket_files(storage)) == snapshot_ids(folder_files(folder))
    assert len(snapshot_ids(folder_files(folder))) == 8


def test_the_monitoring_step_in_s3_mode(tmp_path, monkeypatch, moto_server, s3_bucket, history):
    monkeypatch.setenv("STORAGE", "s3")
    monkeypatch.setenv("S3_BUCKET", s3_bucket)
    monkeypatch.setenv("S3_PREFIX", PREFIX)
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("EVIDENTLY_WORKSPACE", str(tmp_path / "evidently"))
    _, current = day_snapshots(history.model, history.reference, history.days + 1, "none")
    decision = pipelines.run_drift_tests(history.reference, current, {"day": "2024-06-01"})
    storage = S3Storage(s3_bucket, PREFIX, endpoint_url=moto_server.url)
    assert storage.exists(layout.report("2024-06-01", "monitoring_decision", "json"))
    assert decision["retrain"] is False
    assert len(snapshot_ids(bucket_files(storage))) == 1
    assert not storage.exists(layout.report("2024-06-01", "workspace_problems", "json"))
