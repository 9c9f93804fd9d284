"""Train, track and register through a real MLflow server; load by alias; registry errors."""

from __future__ import annotations

import uuid

import boto3
import mlflow
import pytest

from machine_learning import jobs, preprocessing, registry, training
from machine_learning.validation import validate_frame

pytestmark = pytest.mark.integration

FAST = {"n_estimators": 20}


@pytest.fixture(scope="module")
def processed(players):
    """Validated, cleaned simulated players."""
    return jobs.prepare_players(players.astype(str)).processed


def _train(server, processed, model_name, kind=training.GRADIENT_BOOSTING, params=None):
    return jobs.train_model(
        processed,
        tracking_uri=server.url,
        experiment_name=f"exp-{model_name}",
        model_name=model_name,
        kind=kind,
        params=FAST if params is None and kind == training.GRADIENT_BOOSTING else params,
    )


def test_training_is_tracked_registered_and_aliased(mlflow_server, processed):
    name = f"m-{uuid.uuid4().hex[:8]}"
    result, train, test = _train(mlflow_server, processed, name)
    client = registry.client_for(mlflow_server.url)
    run = client.get_run(result.run_id)
    for key in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_High"):
        assert run.data.metrics[key] == pytest.approx(result.metrics[key])
    assert run.data.params["model_kind"] == training.GRADIENT_BOOSTING
    assert run.data.params["n_estimators"] == "20"
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"confusion_matrix.png", "feature_importance.png"} <= artifacts
    assert len(train) + len(test) == len(processed)
    candidate = registry.version_by_alias(client, name, registry.CANDIDATE)
    assert candidate.version == result.model_version
    assert candidate.run_id == result.run_id


def test_logged_model_has_signature_and_explicit_requirements(mlflow_server, processed, tmp_path):
    name = f"m-{uuid.uuid4().hex[:8]}"
    result, _, _ = _train(mlflow_server, processed, name, kind=training.HIST_GRADIENT_BOOSTING)
    mlflow.set_tracking_uri(mlflow_server.url)
    info = mlflow.models.get_model_info(result.model_uri)
    assert info.signature is not None
    assert "PlayerID" not in info.signature.inputs.input_names()
    local = mlflow.artifacts.download_artifacts(result.model_uri, dst_path=str(tmp_path))
    requirements = (tmp_path / local.split("/")[-1] / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements


def test_best_version_promotion_and_load_by_alias(mlflow_server, processed, players):
    name = f"m-{uuid.uuid4().hex[:8]}"
    weak, _, _ = _train(mlflow_server, processed, name, params={"n_estimators": 1, "max_depth": 1})
    strong, _, _ = _train(mlflow_server, processed, name, params={"n_estimators": 30})
    client = registry.client_for(mlflow_server.url)
    best = registry.best_version(client, name, "accuracy")
    assert best.version == strong.model_version
    assert best.metrics["accuracy"] > weak.metrics["accuracy"]
    registry.set_alias(client, name, registry.PRODUCTION, best.version)
    model = registry.load_model(mlflow_server.url, registry.model_uri(name, registry.PRODUCTION))
    valid = validate_frame(players.head(50)).valid
    assert len(model.predict(preprocessing.features(valid))) == 50


def test_missing_model_or_alias_gives_clear_error(mlflow_server, processed):
    client = registry.client_for(mlflow_server.url)
    with pytest.raises(
        registry.RegistryError, match="no model 'absent-model' with alias 'production'"
    ):
        registry.version_by_alias(client, "absent-model", registry.PRODUCTION)
    name = f"m-{uuid.uuid4().hex[:8]}"
    _train(mlflow_server, processed, name, kind=training.HIST_GRADIENT_BOOSTING)
    with pytest.raises(registry.RegistryError, match="gaming-mlops promote"):
        registry.load_model(mlflow_server.url, registry.model_uri(name, registry.PRODUCTION))


def test_artifacts_are_stored_in_s3(mlflow_server_s3, moto_server, processed, players):
    name = f"m-{uuid.uuid4().hex[:8]}"
    result, _, _ = _train(mlflow_server_s3, processed, name, kind=training.HIST_GRADIENT_BOOSTING)
    s3 = boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=mlflow_server_s3.bucket)
        for item in page.get("Contents", [])
    ]
    assert any(key.endswith("confusion_matrix.png") for key in keys)
    assert any(key.endswith("model.pkl") for key in keys)
    client = registry.client_for(mlflow_server_s3.url)
    registry.set_alias(client, name, registry.PRODUCTION, result.model_version)
    model = registry.load_model(mlflow_server_s3.url, registry.model_uri(name, registry.PRODUCTION))
    valid = validate_frame(players.head(20)).valid
    assert set(model.predict(preprocessing.features(valid))) <= {0, 1, 2}
