"""The service as a real process against a real MLflow server: predict, hot swap, registry down."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
from serving_service_helpers import POLL_SECONDS, get_json, register_versions, start_service

from machine_learning import registry, services

pytestmark = pytest.mark.integration

RECORD = {
    "PlayerID": 1,
    "Age": 28,
    "Gender": "Male",
    "Location": "Asia",
    "GameGenre": "Action",
    "PlayTimeHours": 7.25,
    "InGamePurchases": 1,
    "GameDifficulty": "Medium",
    "SessionsPerWeek": 9,
    "AvgSessionDurationMinutes": 80,
    "PlayerLevel": 42,
    "AchievementsUnlocked": 17,
}
BODY = json.dumps({"records": [RECORD, {**RECORD, "PlayerID": 2, "Age": 55}]}).encode()


class Client:
    """A keep-alive HTTP client of the service."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=10)

    def predict(self) -> tuple[int, dict]:
        """POST the two-record body; status and JSON."""
        self.connection.request(
            "POST", "/v1/predictions", BODY, {"Content-Type": "application/json"}
        )
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def registered(mlflow_server, serving_split):
    """Two versions on the session's MLflow server; version 1 is 'production'."""
    return register_versions(mlflow_server.url, serving_split, 2)


@pytest.fixture(scope="module")
def service(registered, tmp_path_factory):
    """The service over ``registered`` (stopped after the module)."""
    process = start_service(registered, tmp_path_factory.mktemp("serving") / "serving.log")
    yield process
    process.stop()


def test_serves_the_production_version_on_the_fast_path(service, registered):
    status, payload = Client(service.url).predict()
    assert status == 200
    assert payload["model"] == {
        "name": registered.name,
        "version": registered.versions[0],
        "alias": "production",
        "engine": "onnxruntime",
    }
    assert [p["PlayerID"] for p in payload["predictions"]] == [1, 2]
    status, info = get_json(f"{service.url}/v1/model")
    assert status == 200 and info["verification"]["passed"]
    assert 0 < info["metrics"]["accuracy"] <= 1


def test_a_bad_record_is_a_422_over_http(service):
    client = Client(service.url)
    client.connection.request("POST", "/v1/predictions", b'{"records": [{"Age": 500}]}')
    response = client.connection.getresponse()
    problems = json.loads(response.read())["errors"]
    assert response.status == 422
    assert {"record": 0, "field": "Age"} in [
        {"record": p["record"], "field": p["field"]} for p in problems
    ]


def test_moving_the_alias_swaps_the_model_with_no_failed_request(service, registered):
    old, new = registered.versions
    seen: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def send_continuously() -> None:
        client = Client(service.url)
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            status, payload = client.predict()
            seen.append((time.monotonic(), status, payload.get("model", {}).get("version")))

    sender = threading.Thread(target=send_continuously)
    sender.start()
    try:
        while len(seen) < 20:
            time.sleep(0.01)
        moved_at = time.monotonic()
        registry.set_alias(
            registry.client_for(registered.tracking_uri), registered.name, "production", new
        )
        while sender.is_alive() and not any(v == new for _, _, v in seen[-5:]):
            time.sleep(0.05)
        time.sleep(0.5)  # and some more requests on the new version
    finally:
        stop.set()
        sender.join()
    statuses = {status for _, status, _ in seen}
    versions = [version for _, _, version in seen]
    assert statuses == {200}, f"failed requests during the swap: {statuses}"
    first_new = versions.index(new)
    assert set(versions[:first_new]) == {old} and set(versions[first_new:]) == {new}
    swap_seconds = seen[first_new][0] - moved_at
    print(
        f"{len(seen)} requests, all 200; version {new} served {swap_seconds:.2f} s after the "
        f"alias moved (poll interval {POLL_SECONDS} s, load and verification included)"
    )
    metrics = urllib_text(f"{service.url}/metrics")
    assert "serving_model_swaps_total 2.0" in metrics
    assert f"serving_model_version {float(new)}" in metrics


def test_unreachable_registry_keeps_the_model_and_says_so(tmp_path, serving_split):
    own_server = services.start_mlflow_server(tmp_path / "mlflow")
    try:
        registered = register_versions(own_server.url, serving_split, 1)
        log = tmp_path / "serving.log"
        service = start_service(registered, log)
    except BaseException:
        own_server.stop()
        raise
    try:
        own_server.stop()
        deadline = time.monotonic() + 45
        while get_json(f"{service.url}/ready")[1]["registry"]["reachable"] is not False:
            assert time.monotonic() < deadline, "the registry outage was never reported:\n" + (
                log.read_text(encoding="utf-8")[-3000:]
            )
            time.sleep(0.2)
        status, ready = get_json(f"{service.url}/ready")
        assert status == 200 and ready["ready"]
        assert "registry unreachable" in ready["detail"]
        status, payload = Client(service.url).predict()
        assert status == 200 and payload["model"]["version"] == registered.versions[0]
        assert "keeping version 1 in service" in log.read_text(encoding="utf-8")
    finally:
        service.stop()


def urllib_text(url: str) -> str:
    """The body of a GET as text."""
    import urllib.request  # pylint: disable=import-outside-toplevel

    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
        return response.read().decode()
