"""Request validation: every field's bad values, missing and extra fields, lists, types, sizes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serving_helpers import BODY_LIMIT, body, record

from machine_learning.schema import CATEGORICAL_COLUMNS, FEATURE_COLUMNS, NUMERIC_COLUMNS
from machine_learning.serving.app import create_app
from machine_learning.serving.schemas import MAX_RECORDS
from machine_learning.validation import validate_frame

PATH = "/v1/predictions"


def _bad_numbers(column) -> list:
    values = [column.minimum - 1, column.maximum + 1, "12", None, True, [1], {"v": 1}]
    if column.integer:
        values.append(1.5)
    return values


NUMERIC_CASES = [(c.name, v) for c in NUMERIC_COLUMNS for v in _bad_numbers(c)]
CATEGORY_CASES = [
    (c.name, v)
    for c in CATEGORICAL_COLUMNS
    for v in ("Unknown", c.categories[0].lower(), "", 3, None, [c.categories[0]])
]


def _problems(response) -> list[dict]:
    assert response.status_code == 422, response.text
    return response.json()["errors"]


@pytest.mark.parametrize("field,value", NUMERIC_CASES + CATEGORY_CASES)
def test_a_bad_value_names_record_field_and_problem(client, field, value):
    response = client.post(PATH, json=body(record(), record(), record(**{field: value})))
    problems = _problems(response)
    assert {(p["record"], p["field"]) for p in problems} == {(2, field)}
    assert all(p["problem"] for p in problems)


@pytest.mark.parametrize("field", FEATURE_COLUMNS)
def test_a_missing_field_is_named(client, field):
    problems = _problems(client.post(PATH, json=body(record(**{field: ...}))))
    assert problems == [
        {"record": 0, "field": field, "problem": "required field is missing", "type": "missing"}
    ]


@pytest.mark.parametrize("extra", ["EngagementLevel", "Score", "age"])
def test_an_extra_field_is_rejected(client, extra):
    problems = _problems(client.post(PATH, json=body(record(**{extra: "x"}))))
    assert [(p["record"], p["field"], p["type"]) for p in problems] == [
        (0, extra, "extra_forbidden")
    ]


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"records": []}, "records"),
        ({}, "records"),
        ({"records": record()}, "records"),
        ({"records": [record()], "model": "x"}, "model"),
        ([record()], None),
        ("text", None),
    ],
)
def test_malformed_bodies_are_422(client, payload, field):
    problems = _problems(client.post(PATH, json=payload))
    assert problems[0]["field"] == field
    assert problems[0]["record"] is None


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b'{"records": [', b"\xff\xfe"])
def test_invalid_json_is_422(client, raw):
    problems = _problems(client.post(PATH, content=raw))
    assert problems[0]["record"] is None


def test_a_record_that_is_not_an_object_is_named(client):
    problems = _problems(client.post(PATH, json={"records": [record(), 5]}))
    assert (problems[0]["record"], problems[0]["field"]) == (1, None)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_422(client, number):
    raw = json.dumps(body(record(PlayTimeHours=1.0))).replace("1.0", number).encode()
    problems = _problems(client.post(PATH, content=raw))
    assert (problems[0]["record"], problems[0]["field"]) == (0, "PlayTimeHours")


def test_too_many_records_is_422(loaded_holder):
    app = create_app(loaded_holder, max_body_bytes=10 * 1024 * 1024, poll=False)
    with TestClient(app) as roomy:
        problems = _problems(roomy.post(PATH, json=body(*[record()] * (MAX_RECORDS + 1))))
    assert problems[0]["field"] == "records"


def test_many_problems_are_listed_up_to_a_limit(client):
    bad = [record(Age=-1, Gender="?") for _ in range(80)]
    response = client.post(PATH, json=body(*bad))
    assert len(_problems(response)) == 100
    assert "160 problem(s)" in response.json()["detail"]


def test_a_body_over_the_limit_is_413(client):
    padding = " " * (BODY_LIMIT + 1)
    response = client.post(PATH, content=padding.encode())
    assert response.status_code == 413
    assert str(BODY_LIMIT) in response.json()["detail"]


def test_a_chunked_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(BODY_LIMIT // 1024 + 2):
            yield b" " * 1024

    response = client.post(PATH, content=chunks())
    assert response.status_code == 413


def test_the_worker_survives_rejections(client):
    client.post(PATH, content=b" " * (BODY_LIMIT + 1))
    client.post(PATH, content=b"{")
    assert client.post(PATH, json=body()).status_code == 200


@pytest.mark.parametrize("purchases", [0, 1, "No", "Yes"])
def test_purchases_accept_the_dataset_spelling(client, purchases):
    response = client.post(PATH, json=body(record(InGamePurchases=purchases)))
    assert response.status_code == 200


def test_purchases_zero_one_mean_no_yes(client):
    as_numbers = client.post(PATH, json=body(record(InGamePurchases=0), record(InGamePurchases=1)))
    as_text = client.post(
        PATH, json=body(record(InGamePurchases="No"), record(InGamePurchases="Yes"))
    )
    assert as_numbers.json()["predictions"] == as_text.json()["predictions"]


def test_player_id_is_optional_and_echoed(client):
    records = [record(PlayerID=...), record(PlayerID=7), record(PlayerID=None)]
    response = client.post(PATH, json=body(*records))
    assert [p["PlayerID"] for p in response.json()["predictions"]] == [None, 7, None]


@pytest.mark.parametrize("player_id", [-1, "abc", 1.5])
def test_a_bad_player_id_is_422(client, player_id):
    problems = _problems(client.post(PATH, json=body(record(PlayerID=player_id))))
    assert (problems[0]["record"], problems[0]["field"]) == (0, "PlayerID")


VALUE_CASES = [(n, v) for n, v in NUMERIC_CASES if type(v) in (int, float)] + [
    (n, v) for n, v in CATEGORY_CASES if v == "Unknown"
]


@pytest.mark.parametrize("field,value", VALUE_CASES)
def test_what_the_service_rejects_the_batch_validation_rejects_too(field, value):
    """The service is stricter than file validation (types), never looser on values."""
    frame = pd.DataFrame([record(**{field: value})])
    assert len(validate_frame(frame).rejected) == 1


def test_what_the_service_accepts_the_batch_validation_accepts(client):
    edges = [record(PlayerID=..., **{c.name: c.minimum}) for c in NUMERIC_COLUMNS]
    edges += [record(PlayerID=..., **{c.name: c.maximum}) for c in NUMERIC_COLUMNS]
    edges += [
        record(PlayerID=..., **{c.name: v}) for c in CATEGORICAL_COLUMNS for v in c.categories
    ]
    assert client.post(PATH, json=body(*edges)).status_code == 200
    assert validate_frame(pd.DataFrame(edges)).rejected.empty
