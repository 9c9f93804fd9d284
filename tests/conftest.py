"""Shared fixtures: simulated data, and real servers (MLflow, moto S3) started and stopped here."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pandas as pd
import pytest

from machine_learning import services, simulator
from machine_learning.config import PROJECT_ROOT

REAL_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
REAL_TRAINING_FILE = REAL_DATA_DIR / "online_gaming_behavior_dataset.csv"
REAL_BATCH_FILE = REAL_DATA_DIR / "online_gaming_batch_dataset.csv"

# Credentials for moto's local S3 server only (it accepts any); never real ones.
MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def players() -> pd.DataFrame:
    """3,000 simulated labelled players (typed, InGamePurchases 0/1 like the real files)."""
    return simulator.simulate_players(3000, seed=7)


@pytest.fixture(scope="session")
def real_training_file() -> Path:
    """The real Kaggle training file; tests using it skip where it is absent."""
    if not REAL_TRAINING_FILE.is_file():
        pytest.skip(f"real data not available: {REAL_TRAINING_FILE} is absent")
    return REAL_TRAINING_FILE


@pytest.fixture(scope="session")
def real_batch_file() -> Path:
    """The real Kaggle batch file; tests using it skip where it is absent."""
    if not REAL_BATCH_FILE.is_file():
        pytest.skip(f"real data not available: {REAL_BATCH_FILE} is absent")
    return REAL_BATCH_FILE


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory, monkeypatch_session):
    """moto's S3 server on 127.0.0.1 for the whole session (stopped afterwards)."""
    for key, value in MOTO_ENV.items():
        monkeypatch_session.setenv(key, value)
    server = services.start_moto_server(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def monkeypatch_session():
    """A session-scoped monkeypatch."""
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


@pytest.fixture()
def s3_bucket(moto_server) -> str:
    """A fresh bucket on the moto server."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1").create_bucket(
        Bucket=name
    )
    return name


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server: SQLite backend, artifacts served from a local folder."""
    server = services.start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_server_s3(tmp_path_factory, moto_server):
    """A real MLflow tracking server whose artifacts live in a bucket of the moto S3 server."""
    bucket = f"mlflow-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    server = services.start_mlflow_server(
        tmp_path_factory.mktemp("mlflow-s3"),
        artifacts_destination=f"s3://{bucket}/artifacts",
        env={**MOTO_ENV, "MLFLOW_S3_ENDPOINT_URL": moto_server.url},
    )
    server.bucket = bucket  # type: ignore[attr-defined]
    yield server
    server.stop()
