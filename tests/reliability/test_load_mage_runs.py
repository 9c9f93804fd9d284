"""50 back-to-back API-triggered runs of the online_inference pipeline on a real Mage server
(started here on 127.0.0.1 with authentication, as in tests/e2e/test_mage_server.py): every run
completes and answers for the record it was sent. The wall time and the run times are printed."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import statistics
import time

import pytest

from machine_learning import orchestration, simulator
from machine_learning.config import load_settings
from machine_learning.mage_api import FINISHED, MageClient
from machine_learning.schema import ID_COLUMN, TARGET_COLUMN

pytestmark = pytest.mark.e2e

RUNS = 50


@pytest.fixture(scope="module")
def mage(module_platform, split, register):
    """A logged-in client of `mage start` (its own process group, stopped afterwards), with a
    production model in the registry."""
    register(module_platform.tracking_uri, module_platform.name, split, alias="production")
    owner = orchestration.OwnerCredentials(
        email="owner@example.com", password=secrets.token_urlsafe(16), username="owner"
    )
    server = orchestration.start_mage_server(
        owner,
        settings=load_settings(),
        project=orchestration.project_copy(module_platform.root),  # no catch-up runs
        log_path=module_platform.root / "mage.log",
    )
    try:
        client = MageClient(server.url)
        client.login(owner.email, owner.password)
        yield client
    finally:
        server.stop()


def wait_for_all(client: MageClient, run_ids: list[int], timeout: float) -> list[dict]:
    """Every run once all have finished (or the deadline passed), in order."""
    deadline = time.monotonic() + timeout
    runs = {run_id: client.pipeline_run(run_id) for run_id in run_ids}
    while time.monotonic() < deadline:
        pending = [i for i, run in runs.items() if run["status"] not in FINISHED]
        if not pending:
            break
        for run_id in pending:
            runs[run_id] = client.pipeline_run(run_id)
        time.sleep(0.5)
    return [runs[run_id] for run_id in run_ids]


def timestamps(runs: list[dict], key: str) -> list[dt.datetime]:
    """The runs' ``key`` times (created_at, started_at, completed_at), where set."""
    return sorted(dt.datetime.fromisoformat(run[key]) for run in runs if run.get(key))


def test_fifty_back_to_back_api_triggered_runs_all_complete(mage):
    players = simulator.simulate_players(5, seed=3).drop(columns=[TARGET_COLUMN])
    records = json.loads(players.to_json(orient="records"))
    schedule = mage.api_trigger("online_inference")
    started = time.monotonic()
    run_ids = [mage.trigger(schedule, {"records": [records[n % 5]]}) for n in range(RUNS)]
    runs = wait_for_all(mage, run_ids, timeout=900)
    wall = time.monotonic() - started
    statuses = [run["status"] for run in runs]
    created, completed = timestamps(runs, "created_at"), timestamps(runs, "completed_at")
    gaps = [(b - a).total_seconds() for a, b in zip(completed, completed[1:])]
    print(
        f"\n{RUNS} API-triggered runs: {statuses.count('completed')} completed, {wall:.0f} s from "
        f"the first trigger to the last completion; created over "
        f"{(created[-1] - created[0]).total_seconds():.1f} s, completed over "
        f"{(completed[-1] - completed[0]).total_seconds():.1f} s (median gap between "
        f"completions {statistics.median(gaps):.2f} s)"
    )
    assert statuses == ["completed"] * RUNS
    for number in range(0, RUNS, 10):
        (row,) = mage.block_output(run_ids[number], "predict_records")
        assert row[ID_COLUMN] == records[number % 5][ID_COLUMN]
        assert row["prediction"] in {"Low", "Medium", "High"}
