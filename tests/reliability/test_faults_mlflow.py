"""MLflow server down, or stopped in the middle of a training run: the call fails saying so, no
version is left registered without its model (nor an alias to one), and the same call succeeds
once the server is back. A real MLflow server of the test's own is stopped and started again."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from machine_learning import preprocessing, registry, simulator, tracking

pytestmark = pytest.mark.integration

GAMING_MLOPS = str(Path(sys.executable).parent / "gaming-mlops")
GB_PARAMS = {"n_estimators": 150, "max_depth": 4}  # the reference model: seconds to fit


@pytest.fixture()
def short_retries(monkeypatch) -> None:
    """MLflow's client gives up after one retry (what `gaming-mlops` sets by default)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


def train(tracking_uri: str, name: str, split, kind: str = "gradient_boosting"):
    """The library call under test: fit, log, register as candidate (reference parameters by
    default: a fit of seconds; ``hist_gradient_boosting``: a small, quick one)."""
    params = GB_PARAMS if kind == "gradient_boosting" else {"max_iter": 30}
    with threadpool_limits(limits=1):
        return tracking.train_and_track(
            *split,
            tracking_uri=tracking_uri,
            experiment_name=name,
            model_name=name,
            kind=kind,
            params=params,
        )


def stop_when_a_run_starts(server, name: str, stopped: dict) -> None:
    """Stop ``server`` as soon as a run of experiment ``name`` exists (the fit is under way)."""
    client = registry.client_for(server.url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        experiment = client.get_experiment_by_name(name)
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        if runs:
            stopped["run_id"] = runs[0].info.run_id
            server.stop()
            stopped["at"] = time.monotonic()
            return
        time.sleep(0.1)


def assert_one_complete_candidate(tracking_uri: str, name: str, result, split, list_versions):
    (version,) = list_versions(tracking_uri, name)
    assert version.version == result.model_version
    assert version.aliases == (registry.CANDIDATE,)
    client = registry.client_for(tracking_uri)
    assert client.get_model_version(name, version.version).status == "READY"
    assert client.get_run(result.run_id).info.status == "FINISHED"
    assert version.metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])
    model = registry.load_model(tracking_uri, registry.model_uri(name, registry.CANDIDATE))
    test = split[1]
    assert len(model.predict(preprocessing.features(test))) == len(test)


def test_server_down_fails_clearly_and_the_rerun_succeeds(
    own_mlflow, split, short_retries, list_versions, tmp_path
):  # pylint: disable=unused-argument
    name = f"down-{uuid.uuid4().hex[:8]}"
    own_mlflow.stop()
    with pytest.raises(tracking.TrackingUnavailableError) as failure:
        train(own_mlflow.url, name, split, kind="hist_gradient_boosting")
    message = str(failure.value)
    assert f"the MLflow server at {own_mlflow.url} stopped answering while starting the run" in (
        message
    )
    assert "no model version was registered" in message and "gaming-mlops up" in message

    data = tmp_path / "players.csv"
    simulator.simulate_players(500, seed=1).to_csv(data, index=False)
    environment = {"MLFLOW_TRACKING_URI": own_mlflow.url, "MODEL_NAME": name}
    cli = subprocess.run(
        [GAMING_MLOPS, "train", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **environment, "MLFLOW_EXPERIMENT_NAME": name},
    )
    assert cli.returncode == 1
    assert cli.stderr.startswith(f"error: the MLflow server at {own_mlflow.url} stopped answering")

    own_mlflow.start()
    assert not list_versions(own_mlflow.url, name)
    result = train(own_mlflow.url, name, split, kind="hist_gradient_boosting")
    assert_one_complete_candidate(own_mlflow.url, name, result, split, list_versions)


def test_server_stopped_mid_training_leaves_no_version_and_the_rerun_registers_one(
    own_mlflow, split, short_retries, list_versions
):  # pylint: disable=unused-argument
    name = f"mid-{uuid.uuid4().hex[:8]}"
    stopped: dict = {}
    stopper = threading.Thread(target=stop_when_a_run_starts, args=(own_mlflow, name, stopped))
    stopper.start()
    try:
        with pytest.raises(tracking.TrackingUnavailableError) as failure:
            train(own_mlflow.url, name, split)
        failed_at = time.monotonic()
    finally:
        stopper.join()
    assert stopped, "the server was never stopped"
    print(f"\nserver stopped {failed_at - stopped['at']:.1f} s before the training call failed")
    assert "stopped answering while logging the run" in str(failure.value)

    own_mlflow.start()
    client = registry.client_for(own_mlflow.url)
    assert not list_versions(own_mlflow.url, name), "a version was left registered"
    # The run could not be told that it failed: it shows as RUNNING, never as FINISHED.
    assert client.get_run(stopped["run_id"]).info.status in {"RUNNING", "FAILED"}

    result = train(own_mlflow.url, name, split)
    assert result.run_id != stopped["run_id"]
    assert_one_complete_candidate(own_mlflow.url, name, result, split, list_versions)


def test_an_alias_that_cannot_be_set_takes_the_new_version_back(
    mlflow_server, split, list_versions
):
    name = f"alias-{uuid.uuid4().hex[:8]}"
    with pytest.raises(registry.RegistryError) as failure:
        with threadpool_limits(limits=1):
            tracking.train_and_track(
                *split,
                tracking_uri=mlflow_server.url,
                experiment_name=name,
                model_name=name,
                kind="hist_gradient_boosting",
                params={"max_iter": 20},
                alias="v1",  # reserved by MLflow: the registry refuses it
            )
    assert "could not point alias 'v1'" in str(failure.value)
    assert "version 1 was deleted again" in str(failure.value)
    assert not list_versions(mlflow_server.url, name)
