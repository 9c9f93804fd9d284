"""The MLflow server behind mlflow-guard (``mlflow server --app-name host-guard``, from
.venv-servers): Host-header validation against DNS rebinding and CORS allow-lists, on a real
server, over raw HTTP (http.client sets Host and Origin freely), and the MLflow client of .venv
still tracks and registers through it. The rules themselves: tests/unit/test_mlflow_guard_rules.py.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from typing import Iterator

import pytest
from mlflow import MlflowClient

from machine_learning import preprocessing, registry, services

ALLOWED_ORIGIN = "http://ui.example:3000"
OTHER_ORIGIN = "http://evil.example"
SEARCH = "/api/2.0/mlflow/experiments/search?max_results=5"
CREATE = "/api/2.0/mlflow/experiments/create"
GUARD_ENV = {
    # What a deployment sets: its own names (here a compose-like service name with its port,
    # and a wildcard domain) plus loopback for the container's own health check and clients.
    "MLFLOW_ALLOWED_HOSTS": "127.0.0.1,localhost,mlflow.test:5000,*.corp.example",
    "MLFLOW_CORS_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Iterator[services.ManagedProcess]:
    """A real guarded MLflow server with explicit allow-lists (stopped afterwards by PID)."""
    server = services.start_mlflow_server(tmp_path_factory.mktemp("guarded-mlflow"), env=GUARD_ENV)
    yield server
    server.stop()


def request(  # pylint: disable=too-many-arguments
    url: str,
    method: str,
    path: str,
    host: str | None = None,
    headers: dict[str, str] | None = None,
    body: dict | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request to the server at ``url`` with exactly the Host given."""
    address, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(address, int(port), timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"{address}:{port}")
        payload = json.dumps(body).encode() if body is not None else b""
        all_headers = {**(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        for name, value in all_headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(payload)))
        connection.endheaders(payload)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def experiment_names(url: str) -> set[str]:
    """Names of the server's experiments (through the guard, with an allowed Host)."""
    status, _, body = request(url, "GET", "/api/2.0/mlflow/experiments/search?max_results=1000")
    assert status == 200, body
    return {item["name"] for item in json.loads(body).get("experiments", [])}


@pytest.mark.parametrize("host", [None, "localhost:{port}", "mlflow.test:5000", "a.corp.example"])
def test_an_allowed_host_is_served(guarded, host):
    port = guarded.url.rsplit(":", 1)[1]
    name = host.format(port=port) if host else None
    status, _, body = request(guarded.url, "GET", "/health", host=name)
    assert (status, body) == (200, b"OK")
    status, _, body = request(guarded.url, "GET", SEARCH, host=name)
    assert status == 200 and "experiments" in json.loads(body), body


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "mlflow.test:5001", "corp.example", "10.1.2.3:{port}"],
)
def test_another_host_gets_403_on_the_api_and_the_ui(guarded, host):
    port = guarded.url.rsplit(":", 1)[1]
    for method, path in (("GET", SEARCH), ("GET", "/"), ("POST", CREATE)):
        body = {"name": f"rebound-{uuid.uuid4().hex[:8]}"} if method == "POST" else None
        status, headers, answer = request(
            guarded.url, method, path, host=host.format(port=port), body=body
        )
        assert status == 403, (method, path, answer)
        assert answer == b"Forbidden: the Host header is not allowed by this MLflow server.\n"
        assert headers["Content-Type"].startswith("text/plain")
        assert "Access-Control-Allow-Origin" not in headers


def test_health_answers_any_host_for_load_balancer_checks(guarded):
    status, _, body = request(guarded.url, "GET", "/health", host="10.0.3.17:5000")
    assert (status, body) == (200, b"OK")


def test_a_preflight_from_the_allowed_origin_is_answered(guarded):
    status, headers, _ = request(
        guarded.url,
        "OPTIONS",
        CREATE,
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert status in (200, 204)
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "content-type" in headers["Access-Control-Allow-Headers"].lower()


def test_the_allowed_origin_can_read_and_write(guarded):
    name = f"from-ui-{uuid.uuid4().hex[:8]}"
    origin = {"Origin": ALLOWED_ORIGIN}
    status, headers, body = request(
        guarded.url, "POST", CREATE, headers=origin, body={"name": name}
    )
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    status, headers, _ = request(guarded.url, "GET", SEARCH, headers=origin)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert name in experiment_names(guarded.url)


def test_a_preflight_from_another_origin_is_refused(guarded):
    status, headers, body = request(
        guarded.url,
        "OPTIONS",
        CREATE,
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert status == 403, body
    assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded"]
)
def test_a_write_from_another_origin_is_refused_and_creates_nothing(guarded, content_type):
    """A page elsewhere can send a 'simple' POST without a preflight (a form, text/plain):
    refused before MLflow sees it."""
    name = f"csrf-{uuid.uuid4().hex[:8]}"
    status, headers, body = request(
        guarded.url,
        "POST",
        CREATE,
        headers={"Origin": OTHER_ORIGIN, "Content-Type": content_type},
        body={"name": name},
    )
    assert status == 403, body
    assert b"cross-origin" in body
    assert "Access-Control-Allow-Origin" not in headers
    assert name not in experiment_names(guarded.url)


def test_a_read_from_another_origin_gets_no_cors_header(guarded):
    status, headers, _ = request(guarded.url, "GET", SEARCH, headers={"Origin": OTHER_ORIGIN})
    assert status == 200  # served, but the browser keeps the answer from the page
    assert "Access-Control-Allow-Origin" not in headers


def test_the_ui_own_same_origin_writes_are_served(guarded):
    """Browsers send Origin with same-origin POSTs (the MLflow UI's own calls)."""
    name = f"ui-same-origin-{uuid.uuid4().hex[:8]}"
    status, headers, body = request(
        guarded.url, "POST", CREATE, headers={"Origin": guarded.url}, body={"name": name}
    )
    assert status == 200, body
    assert "Access-Control-Allow-Origin" not in headers
    assert name in experiment_names(guarded.url)


def test_the_mlflow_client_tracks_and_registers_through_the_guard(guarded, split, register):
    client = MlflowClient(tracking_uri=guarded.url, registry_uri=guarded.url)
    name = f"guarded-{uuid.uuid4().hex[:8]}"
    experiment_id = client.create_experiment(name)
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "guard", "host-guard")
    client.log_metric(run.info.run_id, "accuracy", 0.5)
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).data.metrics == {"accuracy": 0.5}
    # The platform's own path: fit, log the model (artifacts through the server's proxy),
    # register it and set the alias.
    version = register(guarded.url, name, split, alias=registry.PRODUCTION)
    assert client.get_model_version_by_alias(name, registry.PRODUCTION).version == version
    loaded = registry.load_model(guarded.url, registry.model_uri(name, registry.PRODUCTION))
    assert len(loaded.predict(split[1].drop(columns=[preprocessing.TARGET_COLUMN]).head(5))) == 5


def test_the_session_server_is_guarded_with_the_defaults(mlflow_server):
    """Every server the platform starts (make run, the tests) is guarded: loopback names on
    any port, no cross-origin writes."""
    port = mlflow_server.url.rsplit(":", 1)[1]
    for host in (None, f"localhost:{port}", f"[::1]:{port}"):
        assert request(mlflow_server.url, "GET", SEARCH, host=host)[0] == 200, host
    assert request(mlflow_server.url, "GET", SEARCH, host=f"evil.example:{port}")[0] == 403
    assert request(mlflow_server.url, "GET", SEARCH, host="mlflow.test:5000")[0] == 403
    preflight = request(
        mlflow_server.url,
        "OPTIONS",
        CREATE,
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight[0] == 403 and "Access-Control-Allow-Origin" not in preflight[1]


def test_a_malformed_allow_list_stops_the_server_with_its_name(tmp_path):
    started = time.monotonic()
    with pytest.raises(services.ServiceError) as error:
        services.start_mlflow_server(
            tmp_path / "mlflow",
            env={"MLFLOW_ALLOWED_HOSTS": "localhost,http://mlflow:5000"},
            timeout=60,
        )
    log = (tmp_path / "mlflow" / "mlflow.log").read_text(encoding="utf-8")
    assert "MLFLOW_ALLOWED_HOSTS: 'http://mlflow:5000' is not a host" in log, str(error.value)
    assert time.monotonic() - started < 60
