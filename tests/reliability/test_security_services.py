"""Who can reach the services: Mage requires a login whose credentials come from the environment
(never admin/admin), the MLflow server started by the platform listens on 127.0.0.1 only and
sends no CORS header (a browser page from another origin cannot read it), the prediction
service and the compose stack default to the loopback interface, and the service's body and
record limits hold (over HTTP in test_bad_input_serving.py)."""

from __future__ import annotations

import secrets
import socket

import pytest
import requests
import yaml

from machine_learning import orchestration, services
from machine_learning.config import PROJECT_ROOT, load_settings
from machine_learning.serving.app import DEFAULT_MAX_BODY_BYTES
from machine_learning.serving.schemas import MAX_RECORDS


@pytest.mark.parametrize("password", ["", "admin"])
def test_mage_is_never_started_with_the_default_or_no_password(password, tmp_path):
    owner = orchestration.OwnerCredentials(email="owner@example.com", password=password)
    with pytest.raises(ValueError, match="password other than 'admin'"):
        orchestration.start_mage_server(owner, log_path=tmp_path / "mage.log")


def test_mage_server_requires_authentication_with_owner_from_the_environment():
    assert orchestration.SERVER_ENVIRONMENT["REQUIRE_USER_AUTHENTICATION"] == "1"
    chosen = secrets.token_urlsafe(12)
    owner = orchestration.OwnerCredentials(email="a@example.com", password=chosen)
    assert owner.environment() == {
        "DEFAULT_OWNER_EMAIL": "a@example.com",
        "DEFAULT_OWNER_PASSWORD": chosen,
        "DEFAULT_OWNER_USERNAME": "owner",
    }
    assert chosen not in repr(owner)  # the password is kept out of logs and tracebacks
    dockerfile = (PROJECT_ROOT / "docker" / "mage" / "Dockerfile").read_text(encoding="utf-8")
    assert "REQUIRE_USER_AUTHENTICATION=1" in dockerfile


def _outside_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (None when it has none)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route's address
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


def test_the_mlflow_server_listens_on_loopback_only(mlflow_server):
    host, port = mlflow_server.url.removeprefix("http://").split(":")
    assert host == services.HOST == "127.0.0.1"
    assert requests.get(f"{mlflow_server.url}/health", timeout=10).status_code == 200
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with pytest.raises(OSError):
        socket.create_connection((outside, int(port)), timeout=5).close()


def test_the_mlflow_server_allows_no_cross_origin_reader(mlflow_server):
    """Behind mlflow-guard with its defaults (no allowed origin), the server sends no CORS
    header, so a page from another origin cannot read its API (nor send it JSON: the preflight
    is refused); test_security_mlflow_guard.py covers the allow-lists."""
    url = f"{mlflow_server.url}/api/2.0/mlflow/experiments/search"
    origin = {"Origin": "http://attacker.example"}
    answer = requests.post(url, json={"max_results": 1}, headers=origin, timeout=10)
    preflight = requests.options(
        url,
        headers={**origin, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    for response in (answer, preflight):
        assert "Access-Control-Allow-Origin" not in response.headers, response.headers


def test_services_default_to_the_loopback_interface():
    settings = load_settings({})
    assert settings.service_host == "127.0.0.1"
    assert settings.mlflow_tracking_uri.startswith("http://127.0.0.1:")
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published and all(str(p).startswith("127.0.0.1:") for p in published), published


def test_the_prediction_service_limits_body_and_records():
    settings = load_settings({"SERVICE_MAX_BODY_BYTES": "65536"})
    assert settings.service_max_body_bytes == 65536
    assert load_settings({}).service_max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1_048_576
    assert MAX_RECORDS == 1000
    with pytest.raises(ValueError, match="SERVICE_MAX_BODY_BYTES"):
        load_settings({"SERVICE_MAX_BODY_BYTES": "0"})
