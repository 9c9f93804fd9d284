"""`gaming-mlops serve`: settings, the OpenAPI export, and the app it builds (no server started)."""

from __future__ import annotations

import json
import os

import pytest
import uvicorn
from fastapi.testclient import TestClient

from machine_learning import cli
from machine_learning.config import load_settings, service_environment
from machine_learning.serving import cli as serving_cli
from machine_learning.serving import workers as serving_workers
from machine_learning.serving.app import openapi_document
from machine_learning.serving.cli import app_from_settings, build_app
from machine_learning.serving.protocol import PROTOCOL


def test_export_openapi_writes_the_document(tmp_path):
    target = tmp_path / "docs" / "openapi.json"
    assert cli.main(["serve", "--export-openapi", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == openapi_document()


def test_service_settings_defaults_and_environment():
    defaults = load_settings({})
    assert (defaults.service_host, defaults.service_port) == ("127.0.0.1", 8080)
    assert defaults.service_model_alias == "production"
    assert defaults.service_poll_seconds == 10.0
    custom = load_settings(
        {
            "SERVICE_PORT": "9123",
            "SERVICE_POLL_SECONDS": "0.5",
            "SERVICE_MODEL_ALIAS": "best",
            "SERVICE_MAX_BODY_BYTES": "2048",
        }
    )
    assert (custom.service_port, custom.service_poll_seconds) == (9123, 0.5)
    assert (custom.service_model_alias, custom.service_max_body_bytes) == ("best", 2048)


@pytest.mark.parametrize("name,value", [("SERVICE_POLL_SECONDS", "0"), ("SERVICE_PORT", "x")])
def test_bad_service_settings_are_refused(name, value):
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})


@pytest.mark.usefixtures("clean_env")
def test_the_built_app_is_wired_to_the_settings():
    settings = load_settings(env_file=None).with_overrides(service_max_body_bytes=100)
    client = TestClient(build_app(settings))  # no lifespan: the registry is never asked
    assert client.get("/health").status_code == 200
    assert client.post("/v1/predictions", content=b" " * 101).status_code == 413
    assert client.post("/v1/predictions", json={"records": []}).status_code == 422
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["registry"]["tracking_uri"] == "http://127.0.0.1:9"
    assert ready.json()["registry"]["alias"] == "production"


def test_workers_and_fast_path_settings():
    defaults = load_settings({})
    assert (defaults.service_workers, defaults.service_fast_path) == (1, True)
    custom = load_settings({"SERVICE_WORKERS": "2", "SERVICE_FAST_PATH": "no"})
    assert (custom.service_workers, custom.service_fast_path) == (2, False)
    for name, value in (("SERVICE_WORKERS", "0"), ("SERVICE_FAST_PATH", "maybe")):
        with pytest.raises(ValueError, match=name):
            load_settings({name: value})


def test_the_settings_handed_to_workers_read_back_the_same():
    settings = load_settings({}).with_overrides(
        service_port=9321,
        service_poll_seconds=0.25,
        service_model_alias="best",
        service_workers=3,
        service_fast_path=False,
        model_name="some-model",
        mlflow_tracking_uri="http://127.0.0.1:5999",
    )
    assert load_settings(service_environment(settings)) == settings


def _serve_options(monkeypatch, *arguments) -> tuple[tuple, dict]:
    """What `serve` hands to uvicorn.run, or to run_workers for several workers (nothing is
    started). The variables that `serve` exports for its workers are restored afterwards."""
    for name in service_environment(load_settings({})):
        present = name in os.environ
        monkeypatch.setenv(name, os.environ.get(name, ""))  # noted, to be restored
        if not present:
            monkeypatch.delenv(name)
    # the server process's settings (thread limits, logging, GIL switch interval) stay out
    monkeypatch.setattr(serving_cli, "_prepare_server_process", lambda: None)
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))

    def run_workers(config: uvicorn.Config) -> None:
        options = {"factory": config.factory, "workers": config.workers, "http": config.http}
        calls.append(((config.app,), {**options, "port": config.port, "host": config.host}))

    monkeypatch.setattr(serving_workers, "run_workers", run_workers)
    assert cli.main(["serve", *arguments]) == 0
    assert len(calls) == 1
    return calls[0]


@pytest.mark.usefixtures("clean_env")
def test_one_worker_runs_the_app_in_process(monkeypatch):
    (app,), options = _serve_options(monkeypatch, "--port", "9400")
    assert not isinstance(app, str) and "workers" not in options
    assert options["http"] == PROTOCOL and options["port"] == 9400


@pytest.mark.usefixtures("clean_env")
def test_several_workers_build_their_apps_from_the_environment(monkeypatch):
    monkeypatch.setenv("SERVICE_WORKERS", "1")  # replaced by the option
    monkeypatch.setenv("SERVICE_FAST_PATH", "1")
    (target,), options = _serve_options(
        monkeypatch, "--workers", "2", "--port", "9401", "--poll-seconds", "0.5", "--no-fast-path"
    )
    assert target == "machine_learning.serving.cli:app_from_settings"
    assert options["factory"] is True and options["workers"] == 2
    assert options["http"] == PROTOCOL
    # a spawned worker reads the command line's choices back from the environment
    handed = load_settings(env_file=None)
    assert (handed.service_port, handed.service_poll_seconds) == (9401, 0.5)
    assert (handed.service_workers, handed.service_fast_path) == (2, False)
    client = TestClient(app_from_settings())  # no lifespan: the registry is never asked
    assert client.post("/v1/predictions", json={"records": []}).status_code == 422
    assert client.get("/ready").json()["registry"]["poll_seconds"] == 0.5
