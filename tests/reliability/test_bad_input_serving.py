"""Bad requests to the prediction service, over real HTTP (`gaming-mlops serve` as a process on
127.0.0.1): the catalogue of bad values gets one HTTP 422 naming every bad record and field,
the same request without them is predicted, oversized and malformed bodies are refused, and
the service never answers 5xx nor stops answering.

A request is validated as a whole (all records or none): the client gets the index and field
of every problem and resends the good records. The in-process cases (TestClient) are in
tests/unit/serving; the Schemathesis fuzz run is tests/integration/serving/test_serving_fuzz.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import requests
from bad_input_helpers import INJECTIONS, register_production

from machine_learning import services, simulator
from machine_learning.schema import TARGET_COLUMN
from machine_learning.serving.app import DEFAULT_MAX_BODY_BYTES, PREDICTIONS_PATH
from machine_learning.serving.schemas import MAX_RECORDS

pytestmark = pytest.mark.integration

GAMING_MLOPS = str(Path(sys.executable).parent / "gaming-mlops")
# (field, JSON value) pairs that the service must refuse, naming the field.
BAD_FIELDS = [
    ("Age", -3),
    ("PlayTimeHours", 25),
    ("Age", "thirty"),
    ("Age", "30"),  # numbers are strictly typed in JSON
    ("SessionsPerWeek", 2.5),
    ("PlayerLevel", 10**30),
    ("Location", "Mars"),
    ("PlayerID", -7),
    ("PlayerID", "12"),
    ("Gender", None),
    ("GameGenre", ["Action"]),
    *zip(("Gender", "GameGenre", "GameDifficulty", "InGamePurchases", "Location"), INJECTIONS),
]


@pytest.fixture(scope="module")
def service(mlflow_server, tmp_path_factory):
    """The service over a small production model (stopped after the module)."""
    name, _ = register_production(mlflow_server.url)
    port = services.free_port()
    url = f"http://{services.HOST}:{port}"
    command = [GAMING_MLOPS, "serve", "--port", str(port), "--poll-seconds", "30"]
    env = {"MLFLOW_TRACKING_URI": mlflow_server.url, "MODEL_NAME": name, "OMP_NUM_THREADS": "1"}
    log = tmp_path_factory.mktemp("serving") / "serving.log"
    process = services.start_process("serving", command, f"{url}/ready", url, log, env=env)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def records() -> list[dict]:
    """Valid records (one per bad field), PlayerIDs 0..n-1."""
    frame = simulator.simulate_players(len(BAD_FIELDS) + 4, seed=6).drop(columns=[TARGET_COLUMN])
    frame["PlayerID"] = range(len(frame))
    return json.loads(frame.to_json(orient="records"))


def _post(service, body: bytes | str, **options) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "application/json", **options.pop("headers", {})}
    return requests.post(
        f"{service.url}{PREDICTIONS_PATH}", data=data, headers=headers, timeout=60, **options
    )


def test_every_bad_record_and_field_is_named_in_one_422(service, records):
    sent = [dict(record) for record in records]
    for index, (field, value) in enumerate(BAD_FIELDS):
        sent[index][field] = value
    response = _post(service, json.dumps({"records": sent}))

    assert response.status_code == 422, response.text
    named = {(p["record"], p["field"]) for p in response.json()["errors"]}
    assert named == {(index, field) for index, (field, _) in enumerate(BAD_FIELDS)}

    good = [r for index, r in enumerate(records) if index >= len(BAD_FIELDS)]
    answered = _post(service, json.dumps({"records": good}))
    assert answered.status_code == 200, answered.text
    predictions = answered.json()["predictions"]
    assert [p["PlayerID"] for p in predictions] == [r["PlayerID"] for r in good]


def test_an_injection_payload_is_echoed_only_as_json_text(service, records):
    record = {**records[0], "Gender": INJECTIONS[0]}
    response = _post(service, json.dumps({"records": [record]}))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    (problem,) = response.json()["errors"]
    assert problem["field"] == "Gender" and INJECTIONS[0] in problem["problem"]


def test_duplicated_player_ids_in_one_request_are_each_answered(service, records):
    """The service is stateless: a PlayerID is only echoed, so a repeated one is answered
    again (batch files, by contrast, reject the repetition)."""
    twice = [records[0], records[1], {**records[2], "PlayerID": records[0]["PlayerID"]}]
    response = _post(service, json.dumps({"records": twice}))
    assert response.status_code == 200
    assert [p["PlayerID"] for p in response.json()["predictions"]] == [0, 1, 0]


def test_more_records_than_the_limit_is_a_422(service, records):
    many = (records * (MAX_RECORDS // len(records) + 1))[: MAX_RECORDS + 1]
    body = json.dumps({"records": many})
    assert len(body) < DEFAULT_MAX_BODY_BYTES  # the record count is what is over the limit
    response = _post(service, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"
    assert _post(service, json.dumps({"records": many[:MAX_RECORDS]})).status_code == 200


def test_a_body_over_the_size_limit_is_a_413_declared_or_streamed(service, records):
    padding = " " * (DEFAULT_MAX_BODY_BYTES + 1)
    body = json.dumps({"records": records[:1]}) + padding
    assert _post(service, body).status_code == 413

    def chunks():
        yield b'{"records": ['
        for _ in range(DEFAULT_MAX_BODY_BYTES // 4096 + 1):
            yield b" " * 4096
        yield b"]}"

    streamed = requests.post(f"{service.url}{PREDICTIONS_PATH}", data=chunks(), timeout=60)
    assert streamed.status_code == 413  # no Content-Length: counted while it arrives


MALFORMED = [
    pytest.param(b"", id="empty body"),
    pytest.param(b'{"records": []}', id="no records"),
    pytest.param(b'{"records": [{}]}', id="empty record"),
    pytest.param(b'{"records": "x"}', id="records not a list"),
    pytest.param(b"\xff\xfe{\x00", id="not UTF-8"),
    pytest.param(b'{"records": [' * 50_000, id="deep nesting"),
    pytest.param(b'{"records": [{"Age": 1' + b"0" * 500_000 + b"}]}", id="huge number"),
    pytest.param(b'{"records": [], "records": [1]}', id="repeated key"),
    pytest.param(b"NaN", id="bare NaN"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_bodies_are_422_never_5xx(service, body):
    response = _post(service, body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"], response.text


def test_the_service_stayed_up_without_a_server_error(service, records):
    # Runs last in this module: every refused request above left the worker serving.
    assert requests.get(f"{service.url}/ready", timeout=10).status_code == 200
    assert _post(service, json.dumps({"records": records[:3]})).status_code == 200
    metrics = requests.get(f"{service.url}/metrics", timeout=10).text
    server_errors = [
        line
        for line in metrics.splitlines()
        if line.startswith("serving_requests_total{")
        and 'status="5' in line
        and '"/ready"' not in line  # 503 while the model loaded at start: not an error
    ]
    assert server_errors == [], server_errors
