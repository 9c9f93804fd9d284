"""Endpoints, hot swaps, an unreachable registry, metrics and the OpenAPI document."""

from __future__ import annotations

import json
import logging
import os
import threading

import pytest
from fastapi.testclient import TestClient
from serving_helpers import body, make_holder, record

from machine_learning import registry
from machine_learning.config import PROJECT_ROOT
from machine_learning.serving.app import create_app, openapi_document
from machine_learning.serving.holder import ModelHolder

PATH = "/v1/predictions"


def _client(holder: ModelHolder) -> TestClient:
    return TestClient(create_app(holder, poll=False))


def test_health_ready_and_model(client):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] and ready["registry"]["reachable"] is True
    info = client.get("/v1/model").json()
    assert (info["name"], info["version"], info["alias"]) == ("unit-model", "1", "production")
    assert info["engine"] == "onnxruntime" and info["verification"]["passed"]
    assert info["metrics"] == {"accuracy": 0.9} and info["loaded_at"]


def test_prediction_names_the_model_and_gives_probabilities(client):
    response = client.post(PATH, json=body(record(), record(Age=15, SessionsPerWeek=1)))
    assert response.status_code == 200
    payload = response.json()
    assert payload["model"] == {
        "name": "unit-model",
        "version": "1",
        "alias": "production",
        "engine": "onnxruntime",
    }
    assert len(payload["predictions"]) == 2
    for prediction in payload["predictions"]:
        probabilities = prediction["probabilities"]
        assert set(probabilities) == {"Low", "Medium", "High"}
        assert sum(probabilities.values()) == pytest.approx(1, abs=1e-5)
        assert prediction["engagement_level"] == max(probabilities, key=probabilities.get)


def test_no_model_yet_means_not_ready_and_503(serving_model, sample):
    holder = make_holder({"1": serving_model}, version=None, sample_columns=sample)
    with _client(holder) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "no model" in ready.json()["detail"] and "alias" in ready.json()["detail"]
        assert ready.json()["registry"]["reachable"] is True
        assert client.post(PATH, json=body()).status_code == 503
        assert client.get("/v1/model").status_code == 503
        assert client.get("/health").status_code == 200


def test_alias_move_swaps_the_model(serving_model, hist_model, sample):
    holder = make_holder({"1": serving_model, "2": hist_model}, sample_columns=sample)
    with _client(holder) as client:
        assert client.post(PATH, json=body()).json()["model"]["version"] == "1"
        assert holder.refresh() is False  # unchanged alias: nothing to do
        holder.source.version = "2"
        assert holder.refresh() is True
        served = client.post(PATH, json=body()).json()["model"]
        assert (served["version"], served["engine"]) == ("2", "sklearn")
        assert client.get("/v1/model").json()["fallback_reason"].startswith("verification")
    assert holder.source.loads == ["1", "2"]


def test_unreachable_registry_keeps_serving_and_says_so(serving_model, sample, caplog):
    holder = make_holder({"1": serving_model}, sample_columns=sample)
    holder.source.unreachable = True
    with caplog.at_level(logging.WARNING, logger="machine_learning.serving.holder"):
        assert holder.refresh() is False
    assert "keeping version 1 in service" in caplog.text
    with _client(holder) as client:
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["registry"]["reachable"] is False
        assert "registry unreachable" in ready.json()["detail"]
        assert "connection refused" in ready.json()["registry"]["last_error"]
        assert client.post(PATH, json=body()).json()["model"]["version"] == "1"
        assert "serving_registry_reachable 0.0" in client.get("/metrics").text
        holder.source.unreachable = False
        holder.refresh()
        assert client.get("/ready").json()["registry"]["reachable"] is True


def test_the_registry_module_s_unavailable_error_counts_as_unreachable(serving_model, sample):
    unavailable = getattr(registry, "RegistryUnavailableError", ConnectionError)
    holder = make_holder({"1": serving_model}, sample_columns=sample)
    holder.source.unreachable = True
    holder.source.unreachable_error = unavailable("the MLflow server does not answer")
    holder.refresh()
    assert holder.state.reachable is False
    assert holder.current.info.version == "1"


def test_a_version_that_fails_to_load_is_not_swapped_in(serving_model, sample):
    holder = make_holder({"1": serving_model, "2": OSError("artifact gone")}, sample_columns=sample)
    holder.source.version = "2"
    assert holder.refresh() is False
    assert holder.current.info.version == "1"
    assert "loading version 2" in holder.state.last_error


def test_a_model_that_cannot_predict_is_not_swapped_in(serving_model, sample):
    holder = make_holder({"1": serving_model, "2": _Broken()}, sample_columns=sample)
    holder.source.version = "2"
    assert holder.refresh() is False
    assert holder.current.info.version == "1"


def test_a_failing_prediction_is_a_500_and_the_worker_goes_on(serving_model, sample):
    holder = make_holder({"1": serving_model}, sample_columns=sample)
    with _client(holder) as client:
        real = holder.current.choice.engine
        object.__setattr__(holder.current.choice, "engine", _Broken())
        response = client.post(PATH, json=body())
        assert response.status_code == 500 and "log" in response.json()["detail"]
        object.__setattr__(holder.current.choice, "engine", real)
        assert client.post(PATH, json=body()).status_code == 200
        assert 'serving_errors_total{endpoint="/v1/predictions"} 1.0' in client.get("/metrics").text


def test_requests_during_repeated_swaps_all_succeed(serving_model, hist_model, sample):
    # Without the fast path a swap is quick, so that many happen while requests go on.
    holder = make_holder(
        {"1": serving_model, "2": hist_model}, sample_columns=sample, fast_path=False
    )
    done = threading.Event()

    def flip():
        while not done.is_set():
            holder.source.version = "2" if holder.source.version == "1" else "1"
            holder.refresh()

    flipper = threading.Thread(target=flip)
    with _client(holder) as client:
        flipper.start()
        try:
            responses = []
            while len(holder.source.loads) < 8 and len(responses) < 2000:
                responses.append(client.post(PATH, json=body()))
        finally:
            done.set()
            flipper.join()
    assert {r.status_code for r in responses} == {200}
    assert {r.json()["model"]["version"] for r in responses} <= {"1", "2"}
    assert len(holder.source.loads) >= 8


def test_background_polling_picks_up_a_moved_alias(serving_model, hist_model, sample):
    models = {"1": serving_model, "2": hist_model}
    holder = make_holder(models, sample_columns=sample, fast_path=False)
    holder.poll_seconds = 0.02
    event = threading.Event()
    with TestClient(create_app(holder, poll=True)) as client:
        holder.source.version = "2"
        for _ in range(500):  # wait for the condition, at most about 10 s
            if client.post(PATH, json=body()).json()["model"]["version"] == "2":
                break
            event.wait(0.02)
        assert client.post(PATH, json=body()).json()["model"]["version"] == "2"
    assert holder._thread is None  # stopped with the app


def test_metrics_are_prometheus_text(client):
    client.post(PATH, json=body())
    client.get("/no-such-page")
    text = client.get("/metrics").text
    for name in (
        'serving_requests_total{endpoint="/v1/predictions",method="POST",status="200"}',
        'serving_request_duration_seconds_bucket{endpoint="/v1/predictions",le="0.001"}',
        'serving_requests_total{endpoint="other",method="GET",status="404"}',
        'serving_model_info{alias="production",engine="onnxruntime",name="unit-model",'
        'version="1"} 1.0',
        "serving_model_version 1.0",
        "serving_predicted_records_total",
        f'serving_worker_info{{pid="{os.getpid()}"}} 1.0',
    ):
        assert name in text


def test_the_served_openapi_document_is_the_one_in_docs(client):
    served = client.get("/openapi.json").json()
    assert served == openapi_document()
    committed = json.loads((PROJECT_ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == served, "docs/openapi.json is stale: gaming-mlops serve --export-openapi"


def test_openapi_describes_the_request_and_the_errors():
    document = openapi_document()
    operation = document["paths"][PATH]["post"]
    assert set(operation["responses"]) == {"200", "413", "422", "500", "503"}
    record_schema = document["components"]["schemas"]["PlayerRecord"]
    assert record_schema["additionalProperties"] is False
    assert record_schema["properties"]["Age"]["maximum"] == 120
    assert record_schema["properties"]["Gender"]["enum"] == ["Male", "Female"]


class _Broken:
    """A model or engine that cannot predict."""

    name = "broken"
    classes_ = [0, 1, 2]

    def predict(self, columns):
        raise RuntimeError("cannot predict")

    def predict_proba(self, frame):
        raise RuntimeError("cannot predict")
