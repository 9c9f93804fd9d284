"""`gaming-mlops serve`: settings, the OpenAPI export, and the app it builds (no server started)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from machine_learning import cli
from machine_learning.config import load_settings
from machine_learning.serving.app import openapi_document
from machine_learning.serving.cli import build_app


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
