"""Property-based tests: valid records always get a prediction, invalid ones a 422, never a 500.

The last tests are a schema-driven fuzz run: records generated from the record schema of the
OpenAPI document that the service serves, then arbitrary JSON and bytes.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from machine_learning.schema import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS
from machine_learning.serving.app import openapi_document

PATH = "/v1/predictions"
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _number(column) -> st.SearchStrategy:
    if column.integer:
        return st.integers(int(column.minimum), int(column.maximum))
    return st.floats(column.minimum, column.maximum, allow_nan=False)


def _record() -> st.SearchStrategy:
    fields = {c.name: _number(c) for c in NUMERIC_COLUMNS}
    fields.update({c.name: st.sampled_from(c.categories) for c in CATEGORICAL_COLUMNS})
    fields["InGamePurchases"] = st.sampled_from(["No", "Yes", 0, 1])
    return st.fixed_dictionaries(fields, optional={"PlayerID": st.integers(0, 2**53)})


def _bad_value(column_name: str) -> st.SearchStrategy:
    numeric = {c.name: c for c in NUMERIC_COLUMNS}.get(column_name)
    wrong_types = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.lists(st.none()))
    if numeric is None:
        allowed = {c.name: c for c in CATEGORICAL_COLUMNS}[column_name].categories
        text = st.text(max_size=8).filter(lambda v: v not in allowed)
        if column_name == "InGamePurchases":
            text = text.filter(lambda v: v not in ("No", "Yes"))
        return st.one_of(text, st.integers(2, 10), st.none(), st.floats())
    outside = st.one_of(
        st.integers(max_value=int(numeric.minimum) - 1),
        st.integers(min_value=int(numeric.maximum) + 1),
    )
    return st.one_of(outside, wrong_types)


ALL_FIELDS = [c.name for c in (*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS)]


@SETTINGS
@given(records=st.lists(_record(), min_size=1, max_size=10))
def test_any_valid_records_get_predictions(client, records):
    response = client.post(PATH, json={"records": records})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == len(records)
    assert [p["PlayerID"] for p in predictions] == [r.get("PlayerID") for r in records]


@SETTINGS
@given(data=st.data(), records=st.lists(_record(), min_size=1, max_size=5))
def test_any_invalid_value_gets_a_422_naming_it(client, data, records):
    index = data.draw(st.integers(0, len(records) - 1))
    field = data.draw(st.sampled_from(ALL_FIELDS))
    records[index][field] = data.draw(_bad_value(field))
    response = client.post(PATH, json={"records": records})
    assert response.status_code == 422, response.text
    assert {"record": index, "field": field} in [
        {"record": p["record"], "field": p["field"]} for p in response.json()["errors"]
    ]


def _from_json_schema(schema: dict) -> st.SearchStrategy:
    """Values of one property schema of the document (integer, number, enum, nullable)."""
    if "anyOf" in schema:
        return st.one_of([_from_json_schema(option) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema["type"] == "null":
        return st.none()
    low, high = schema.get("minimum"), schema.get("maximum")
    if schema["type"] == "integer":
        return st.integers(low, min(high, 2**53) if high is not None else 2**53)
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _records_from_openapi() -> st.SearchStrategy:
    """Records as the served OpenAPI document describes them (optional fields drawn or left out)."""
    record_schema = openapi_document()["components"]["schemas"]["PlayerRecord"]
    required = set(record_schema["required"])
    properties = {k: _from_json_schema(v) for k, v in record_schema["properties"].items()}
    return st.fixed_dictionaries(
        {k: v for k, v in properties.items() if k in required},
        optional={k: v for k, v in properties.items() if k not in required},
    )


@SETTINGS
@given(records=st.lists(_records_from_openapi(), min_size=1, max_size=10))
def test_fuzz_records_from_the_served_openapi_schema_are_predicted(client, records):
    response = client.post(PATH, json={"records": records})
    assert response.status_code == 200, response.text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@SETTINGS
@given(payload=JSON_VALUES)
def test_fuzz_arbitrary_json_never_crashes(client, payload):
    response = client.post(PATH, content=json.dumps(payload).encode())
    assert response.status_code in (200, 422), response.text


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_never_crash(client, raw):
    assert client.post(PATH, content=raw).status_code in (200, 422)
