"""The lifecycle in S3 mode against moto's S3 server: data, reports, the lifecycle's records,
MLflow's artifacts and the Evidently workspace all land in the bucket, nothing in local storage.
Headless `mage run`s here (no Mage server), which also covers the lifecycle without one."""

from __future__ import annotations

import os
import uuid

import boto3
import pytest
from platform_helpers import gaming_mlops, last_json

from machine_learning import local_platform, services
from machine_learning.config import load_settings

# The shared platform fixture (up + a lifecycle run) can take longer than the default timeout.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3000)]

PREFIX = "platform"
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_run(tmp_path_factory, moto_server):
    """MLflow started as `make run` starts it (artifacts in the bucket), a 2-day lifecycle."""
    s3_bucket = f"lifecycle-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1").create_bucket(
        Bucket=s3_bucket
    )
    root = tmp_path_factory.mktemp("s3-lifecycle")
    name = f"s3-{uuid.uuid4().hex[:8]}"
    env = {
        **MOTO_CREDENTIALS,
        "STORAGE": "s3",
        "S3_BUCKET": s3_bucket,
        "S3_PREFIX": PREFIX,
        "S3_ENDPOINT_URL": moto_server.url,
        "DATA_DIR": str(root / "data"),
        "RUNTIME_DIR": str(root / "runtime"),
        "MAGE_DATA_DIR": str(root / "mage_data"),
        "EVIDENTLY_WORKSPACE": str(root / "evidently"),
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{services.free_port()}",
        "MLFLOW_EXPERIMENT_NAME": name,
        "MODEL_NAME": name,
        "DATA_PATH": "",
        "BATCH_DATA_PATH": "",
        "OMP_NUM_THREADS": "1",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        settings = load_settings()
        local_platform.start_platform(settings, ("mlflow",))
        try:
            output = gaming_mlops(
                dict(os.environ),
                "lifecycle",
                *("--days", "2", "--drift-day", "3", "--players-per-day", "200"),
                *("--training-players", "2000", "--model", "hist_gradient_boosting"),
                *("--runner", "headless", "--json"),
            )
        finally:
            local_platform.stop_platform(settings)
    keys = [
        item["Key"]
        for page in boto3.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=s3_bucket, Prefix=f"{PREFIX}/")
        for item in page.get("Contents", [])
    ]
    return {"summary": last_json(output), "keys": keys, "root": root}


def test_the_lifecycle_ran_in_s3_mode(s3_run):
    days = s3_run["summary"]["days"]
    assert [day["rows"] for day in days] == [200, 200]
    assert all(day["production_version"] == "1" and not day["retrain"] for day in days)


@pytest.mark.parametrize(
    "expected",
    [
        "raw/players.csv",
        "processed/players.csv",
        "batch/2025-01-06/players.csv",
        "predictions/2025-01-07/predictions.csv",
        "truth/2025-01-07/labels.csv",
        "labels/2025-01-07/labels.csv",
        "monitoring/reference/reference.csv",
        "reports/2025-01-07/monitoring_decision.json",
        "reports/2025-01-07/classification_metrics.json",
        "reports/2025-01-05/model_selection.json",
    ],
)
def test_data_and_reports_are_in_the_bucket(s3_run, expected):
    assert f"{PREFIX}/{expected}" in s3_run["keys"]


def test_lifecycle_records_mlflow_artifacts_and_evidently_workspace_are_in_the_bucket(s3_run):
    keys = s3_run["keys"]
    assert any(key.startswith(f"{PREFIX}/lifecycle/") for key in keys)
    assert any(key.startswith(f"{PREFIX}/mlflow-artifacts/") for key in keys)
    assert any("MLmodel" in key for key in keys if key.startswith(f"{PREFIX}/mlflow-artifacts/"))
    assert any(key.startswith(f"{PREFIX}/evidently/") for key in keys), sorted(keys)[:20]


def test_nothing_was_written_to_local_storage(s3_run):
    data = s3_run["root"] / "data"
    assert not data.exists() or not any(path.is_file() for path in data.rglob("*"))
