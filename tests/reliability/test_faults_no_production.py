"""A registry with no `production` model: batch inference says so and how to fix it, the
prediction service answers 503 and reports not ready (with the same advice) until a version is
promoted, then serves it without a restart. Real MLflow server, real `gaming-mlops serve`."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from machine_learning import online, pipelines, registry, services, simulator
from machine_learning.config import load_settings
from machine_learning.schema import FEATURE_COLUMNS, ID_COLUMN

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 5, 8)


def records(count: int) -> bytes:
    """A prediction request body of ``count`` simulated players."""
    frame = simulator.simulate_players(count, seed=9).loc[:, [ID_COLUMN, *FEATURE_COLUMNS]]
    return json.dumps({"records": json.loads(frame.to_json(orient="records"))}).encode()


def test_batch_inference_without_production_says_how_to_get_one(platform, split, register):
    candidate = register(platform.tracking_uri, platform.name, split, alias="candidate")
    variables = {"day": DAY.isoformat(), "batch_players": 50}
    raw = pipelines.load_batch(variables)
    with pytest.raises(registry.RegistryError) as failure:
        pipelines.predict_batch(raw, variables)
    message = str(failure.value)
    assert message.startswith(f"no production model: model '{platform.name}' at ")
    assert f"has no alias 'production' ('candidate' is version {candidate})" in message
    assert "run the select_best_model pipeline, or `gaming-mlops promote`" in message

    absent = load_settings().with_overrides(model_name=f"{platform.name}-absent")
    with pytest.raises(registry.RegistryError, match="has no model .*-absent'. Train one"):
        online.load_production_model(absent)

    down = load_settings().with_overrides(
        mlflow_tracking_uri=f"http://{services.HOST}:{services.free_port()}"
    )
    with pytest.raises(registry.RegistryUnavailableError, match="did not answer.*gaming-mlops up"):
        online.load_production_model(down)


def test_the_service_is_not_ready_until_a_version_is_promoted(
    platform, split, register, start_service, get_json, eventually
):
    candidate = register(platform.tracking_uri, platform.name, split, alias="candidate")
    service = start_service(platform.tracking_uri, platform.name, poll_seconds=0.5)
    eventually(
        lambda: get_json(f"{service.url}/ready")[1]["registry"]["last_checked"] is not None,
        30,
        "a first registry check",
    )
    status, ready = get_json(f"{service.url}/ready")
    assert status == 503 and ready["ready"] is False and ready["model"] is None
    assert ready["registry"]["reachable"] is True  # the registry answered: no such alias
    assert f"has no model '{platform.name}' with alias 'production'" in ready["detail"]
    assert "gaming-mlops promote --alias production" in ready["detail"]
    assert get_json(f"{service.url}/health")[0] == 200
    status, answer = get_json(f"{service.url}/v1/predictions", records(2))
    assert status == 503 and answer["detail"] == ready["detail"]

    client = registry.client_for(platform.tracking_uri)
    registry.set_alias(client, platform.name, registry.PRODUCTION, candidate)
    eventually(lambda: get_json(f"{service.url}/ready")[0] == 200, 60, "readiness after promotion")
    status, answer = get_json(f"{service.url}/v1/predictions", records(2))
    assert status == 200 and answer["model"]["version"] == candidate
    assert len(answer["predictions"]) == 2
