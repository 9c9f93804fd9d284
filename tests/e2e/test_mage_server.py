"""The Mage server, started here on 127.0.0.1 with authentication: its API lists the eight
pipelines and their triggers, online inference through the API trigger answers for the records
sent, and 20 back-to-back API-triggered runs all complete."""

from __future__ import annotations

import json
import secrets

import pytest
import requests
from threadpoolctl import threadpool_limits

from machine_learning import jobs, orchestration, registry, simulator
from machine_learning.mage_api import MageApiError, MageClient
from machine_learning.schema import ID_COLUMN, TARGET_COLUMN

pytestmark = pytest.mark.e2e

SCHEDULES = {
    "prepare_data": "0 1 * * 6",
    "training_workflow": "0 3 * * 6",
    "select_best_model": "0 6 * * 1",
    "batch_inference": "0 20 * * *",
    "performance_monitor": "0 23 * * *",
    "performance_reports": "30 23 * * *",
}


@pytest.fixture(scope="module")
def owner() -> orchestration.OwnerCredentials:
    """A fresh owner account (never Mage's admin/admin default)."""
    return orchestration.OwnerCredentials(
        email="owner@example.com", password=secrets.token_urlsafe(16), username="owner"
    )


@pytest.fixture(scope="module")
def production_model(platform) -> str:
    """A production model in the registry (trained here: quicker than running the pipelines)."""
    prepared = jobs.prepare_players(simulator.simulate_players(2000, seed=11))
    with threadpool_limits(1):  # OMP_NUM_THREADS comes too late for this process
        result, _, _ = jobs.train_model(
            prepared.processed,
            tracking_uri=platform.settings.mlflow_tracking_uri,
            experiment_name=platform.settings.experiment_name,
            model_name=platform.model_name,
            kind="hist_gradient_boosting",
            alias=registry.PRODUCTION,
        )
    return result.model_version


@pytest.fixture(scope="module")
def mage_server(platform, owner, production_model):  # pylint: disable=unused-argument
    """`mage start` on 127.0.0.1 (its own process group, stopped afterwards)."""
    project = orchestration.project_copy(platform.root)  # no catch-up runs, see there
    server = orchestration.start_mage_server(
        owner, settings=platform.settings, project=project, log_path=platform.root / "mage.log"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(mage_server, owner) -> MageClient:
    """A client logged in as the owner."""
    api = MageClient(mage_server.url)
    api.login(owner.email, owner.password)
    return api


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """Five players to score, the third one invalid."""
    players = simulator.simulate_players(5, seed=3).drop(columns=[TARGET_COLUMN])
    payload = json.loads(players.to_json(orient="records"))
    payload[2]["Age"] = 300
    return payload


def test_authentication_is_required(mage_server, owner):
    anonymous = MageClient(mage_server.url)
    with pytest.raises(MageApiError, match="invalid scope"):
        anonymous.pipelines()
    with pytest.raises(MageApiError):
        anonymous.login(owner.email, "admin")
    assert mage_server.url.startswith("http://127.0.0.1:")


def test_pipelines_and_triggers_are_listed(client):
    pipelines = {pipeline["uuid"] for pipeline in client.pipelines()}
    assert pipelines == set(orchestration.PIPELINES)
    listed = client.pipeline_schedules()
    assert {s["pipeline_uuid"] for s in listed} == set(orchestration.PIPELINES)
    time_triggers = {s["pipeline_uuid"]: s for s in listed if s["schedule_type"] == "time"}
    api_triggers = {s["pipeline_uuid"]: s for s in listed if s["schedule_type"] == "api"}
    assert set(time_triggers) == set(SCHEDULES)
    for pipeline, interval in SCHEDULES.items():
        assert time_triggers[pipeline]["schedule_interval"] == interval
        assert time_triggers[pipeline]["status"] == "active"
    assert set(api_triggers) == set(orchestration.PIPELINES)  # every pipeline runs on demand
    for schedule in api_triggers.values():
        assert len(schedule["token"]) >= 32  # generated at start, never committed
    products = client.get("global_data_products")["global_data_products"]
    assert [p["uuid"] for p in products] == ["production_model"]


def test_online_inference_through_the_api_trigger(client, records, production_model):
    results = client.predict(records)
    assert [row["row"] for row in results] == [1, 2, 3, 4, 5]
    assert [row[ID_COLUMN] for row in results] == [record[ID_COLUMN] for record in records]
    for row in results:
        assert row["model_version"] == production_model
        if row["row"] == 3:
            assert row["prediction"] is None
            assert row["rejection_reason"] == "Age: 300 is above the maximum 120"
        else:
            assert row["prediction"] in {"Low", "Medium", "High"}
            probabilities = [row["prob_Low"], row["prob_Medium"], row["prob_High"]]
            assert sum(probabilities) == pytest.approx(1.0)


def test_api_trigger_token_is_checked(client, mage_server):
    schedule = client.api_trigger("online_inference")
    url = f"{mage_server.url}/api/pipeline_schedules/{schedule['id']}/pipeline_runs/wrong"
    response = requests.post(url, json={"pipeline_run": {"variables": {}}}, timeout=30)
    assert response.status_code >= 400 or "error" in response.json()


def test_twenty_back_to_back_runs_all_complete(client, records):
    schedule = client.api_trigger("online_inference")
    run_ids = [
        client.trigger(schedule, {"records": records[number % 5 : number % 5 + 1]})
        for number in range(20)
    ]
    finished = [client.wait_for_run(run_id, timeout=240) for run_id in run_ids]
    assert [run["status"] for run in finished] == ["completed"] * 20
    for number, run_id in enumerate(run_ids[:3]):
        (row,) = client.block_output(run_id, "predict_records")
        assert row[ID_COLUMN] == records[number % 5][ID_COLUMN]
