"""Bad records through the Mage API trigger of `online_inference`, on a real Mage server (one
start for the module, 127.0.0.1, authentication on): every record sent gets one result row,
a prediction or the reason it was rejected, and a request that cannot be read at all fails its
run with the reason in the block's log, readable through the API."""

from __future__ import annotations

import json
import secrets

import pytest
from bad_input_helpers import INJECTIONS, platform_env, register_production

from machine_learning import orchestration, simulator
from machine_learning.config import load_settings
from machine_learning.mage_api import ONLINE_BLOCK, MageApiError, MageClient
from machine_learning.schema import ID_COLUMN, MAX_PLAYER_ID, TARGET_COLUMN

pytestmark = pytest.mark.e2e

# (field, JSON value, what the record's rejection reason says); None: the record is predicted.
CASES = [
    ("Age", 30, None),
    ("Age", -3, "Age: -3 is below the minimum 0"),
    ("PlayTimeHours", 25, "PlayTimeHours: 25"),  # (a float column: '25.0 is above...')
    ("Age", "thirty", "Age: not a number ('thirty')"),
    ("Age", True, "Age: not a number ('True')"),
    ("Location", "Mars", "Location: unknown category 'Mars'"),
    ("GameGenre", ["Action"], "GameGenre: unknown category '['Action']'"),
    ("Gender", "Ma\ud800le", "Gender: unknown category 'Ma\\ud800le'"),
    ("Gender", None, None),  # a missing value: imputed, like an empty cell in a file
    ("PlayerID", MAX_PLAYER_ID + 2, f"PlayerID: {MAX_PLAYER_ID + 2} is above the maximum"),
    ("PlayerID", "duplicate", "PlayerID: duplicate of an earlier row"),
    *[
        (f, v, f"{f}: unknown category '{v.strip()}")
        for f, v in zip(("Gender", "GameDifficulty", "InGamePurchases"), INJECTIONS)
    ],
]


@pytest.fixture(scope="module")
def mage(tmp_path_factory, mlflow_server):
    """A Mage server (own process group) over an isolated platform with a production model."""
    root = tmp_path_factory.mktemp("mage-bad-input")
    name, version = register_production(mlflow_server.url)
    owner = orchestration.OwnerCredentials(
        email="owner@example.com", password=secrets.token_urlsafe(16), username="owner"
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in platform_env(root, mlflow_server.url, name).items():
            patch.setenv(key, value)
        settings = load_settings()
        server = orchestration.start_mage_server(
            owner,
            settings=settings,
            project=orchestration.project_copy(root),
            log_path=root / "mage.log",
        )
        try:
            client = MageClient(server.url)
            client.login(owner.email, owner.password)
            yield client, client.api_trigger("online_inference"), version
        finally:
            server.stop()


def _records() -> list[dict]:
    frame = simulator.simulate_players(len(CASES), seed=12).drop(columns=[TARGET_COLUMN])
    records = json.loads(frame.to_json(orient="records"))
    for record, (field, value, _) in zip(records, CASES):
        record[field] = records[0][ID_COLUMN] if value == "duplicate" else value
    return records


def test_every_record_gets_a_prediction_or_its_reason(mage):
    client, trigger, version = mage
    records = _records()
    results = client.predict(records, trigger)

    assert [row["row"] for row in results] == list(range(1, len(records) + 1))
    for row, (field, value, reason) in zip(results, CASES):
        assert row["model_version"] == version
        if reason is None:
            assert row["prediction"] in {"Low", "Medium", "High"}, (field, value, row)
            assert row["rejection_reason"] == ""
        else:
            assert row["prediction"] is None, (field, value, row)
            assert reason in row["rejection_reason"], (field, value, row["rejection_reason"])
    predicted = sum(row["prediction"] is not None for row in results)
    rejected = sum(bool(row["rejection_reason"]) for row in results)
    assert predicted + rejected == len(records)  # every record answered, exactly once


UNREADABLE = [
    pytest.param([], "records must be a non-empty list", id="no records"),
    pytest.param("{not json", "Expecting property name", id="not JSON"),
    pytest.param([1, 2], "every record must be an object", id="not objects"),
    pytest.param([{"Age": 30, "Score": 1}], "unknown columns: Score", id="unknown field"),
]


@pytest.mark.parametrize(("payload", "message"), UNREADABLE)
def test_an_unreadable_request_fails_its_run_with_the_reason_in_the_log(mage, payload, message):
    client, trigger, _ = mage
    run_id = client.trigger(trigger, {"records": payload})
    with pytest.raises(MageApiError, match="failed"):
        client.wait_for_run(run_id, timeout=180)
    block_runs = client.get("block_runs", pipeline_run_id=run_id)["block_runs"]
    (block,) = [b for b in block_runs if b["block_uuid"] == ONLINE_BLOCK]
    assert block["status"] == "failed"
    logs = client.get(
        "pipelines/online_inference/logs",
        **{"pipeline_run_id[]": str(run_id), "block_uuid[]": ONLINE_BLOCK},
    )["logs"]
    assert message in json.dumps(logs), json.dumps(logs)[:2000]


def test_the_api_wants_a_login_and_refuses_the_default_one(mage):
    client, _, _ = mage
    anonymous = MageClient(client.base_url)
    with pytest.raises(MageApiError):
        anonymous.pipelines()
    with pytest.raises(MageApiError):
        anonymous.login("admin@admin.com", "admin")
