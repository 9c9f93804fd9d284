"""The request hot path: the compact engine (preprocessor in Python, classifier in ONNX Runtime),
the prediction route answered by the middleware, and the transport that writes a response once."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serving_helpers import BODY_LIMIT, body, record
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from machine_learning import preprocessing, training
from machine_learning.schema import FEATURE_COLUMNS
from machine_learning.serving import engines
from machine_learning.serving.app import create_app
from machine_learning.serving.protocol import GatheringTransport
from machine_learning.serving.schemas import records_to_columns

PATH = "/v1/predictions"


def test_the_reference_model_gets_the_compact_engine(serving_model, sample):
    choice = engines.choose_engine(serving_model, sample)
    assert isinstance(choice.engine, engines.CompactOnnxEngine)
    assert choice.engine.name == engines.ONNX and choice.verification.passed
    assert choice.verification.rows == len(sample["Age"])


def test_the_row_encoder_equals_the_fitted_preprocessor(serving_model, sample):
    encoder = engines.row_encoder(serving_model.steps[0][1])
    frame = pd.DataFrame({name: sample[name] for name in FEATURE_COLUMNS})
    expected = serving_model.steps[0][1].transform(frame)
    expected = expected.toarray() if hasattr(expected, "toarray") else expected
    names = list(sample)
    rows = [dict(zip(names, row)) for row in zip(*(sample[n].tolist() for n in names))]
    assert np.array_equal(np.array([encoder.encode(row) for row in rows]), expected)


def test_records_and_columns_give_the_same_prediction(serving_model):
    engine = engines.CompactOnnxEngine.from_model(serving_model)
    records = [
        record(),
        record(InGamePurchases=0, Gender="Male", Age=15),
        record(InGamePurchases="No", PlayTimeHours=0.0, PlayerID=...),
        record(InGamePurchases=1, AvgSessionDurationMinutes=180, GameDifficulty="Easy"),
    ]
    by_records = engine.predict_records(records)
    by_columns = engine.predict(records_to_columns(records))
    reference = engines.SklearnEngine(serving_model).predict(records_to_columns(records))
    assert np.array_equal(by_records.codes, by_columns.codes)
    assert np.array_equal(by_records.probabilities, by_columns.probabilities)
    assert np.array_equal(by_records.codes, reference.codes)
    difference = np.abs(by_records.probabilities - reference.probabilities).max()
    assert difference <= engines.TOLERANCE


def test_purchases_as_numbers_or_words_encode_alike(serving_model):
    encoder = engines.row_encoder(serving_model.steps[0][1])
    assert encoder.encode(record(InGamePurchases=0)) == encoder.encode(record(InGamePurchases="No"))
    assert encoder.encode(record(InGamePurchases=1)) == encoder.encode(
        record(InGamePurchases="Yes")
    )


def test_other_preprocessors_are_left_to_the_whole_graph(hist_model, split):
    assert engines.row_encoder(hist_model.steps[0][1]) is None  # ordinal codes
    assert engines.CompactOnnxEngine.from_model(hist_model) is None
    scaled = Pipeline(
        [
            ("scale", StandardScaler()),
            ("model", training.build_model().steps[-1][1].set_params(n_estimators=3)),
        ]
    )
    numbers = preprocessing.features(split[0]).select_dtypes("number")
    scaled.fit(numbers, preprocessing.target(split[0]))
    assert engines.CompactOnnxEngine.from_model(scaled) is None  # not a ColumnTransformer


def test_the_framework_route_answers_like_the_hot_path(loaded_holder):
    """The FastAPI route (kept for the OpenAPI document) and the middleware's own answer."""
    app = create_app(loaded_holder, max_body_bytes=BODY_LIMIT, poll=False)
    framework = create_app(loaded_holder, max_body_bytes=BODY_LIMIT, poll=False)
    (metrics_middleware,) = framework.user_middleware
    metrics_middleware.kwargs["predictor"] = None  # the middleware passes the request on
    with TestClient(app) as full, TestClient(framework) as routed:
        for payload in (body(), body(record(Age=500)), {"records": []}):
            one, other = full.post(PATH, json=payload), routed.post(PATH, json=payload)
            assert (one.status_code, one.content) == (other.status_code, other.content)
            assert one.headers["content-type"] == other.headers["content-type"]
        too_big = b"x" * (BODY_LIMIT + 1)
        one, other = full.post(PATH, content=too_big), routed.post(PATH, content=too_big)
        assert one.status_code == other.status_code == 413
        assert one.json() == other.json()


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str):
        return f"info {name}"


@pytest.fixture()
def loop():
    with asyncio.Runner() as runner:
        yield runner.get_loop()


def test_a_turn_s_writes_leave_in_one_write(loop):
    real = _Transport()
    gathering = GatheringTransport(real, loop)
    gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathering.write(b"")
    gathering.write(b"{}")
    assert not real.writes and gathering.get_write_buffer_size() == 21
    loop.run_until_complete(asyncio.sleep(0))
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    assert gathering.get_extra_info("peername") == "info peername"


def test_closing_writes_what_is_pending_and_aborting_drops_it(loop):
    real = _Transport()
    gathering = GatheringTransport(real, loop)
    gathering.writelines([b"a", b"b"])
    gathering.close()
    assert real.writes == [b"ab"] and real.closed
    loop.run_until_complete(asyncio.sleep(0))  # the scheduled flush finds nothing left
    assert real.writes == [b"ab"]
    other = _Transport()
    dropped = GatheringTransport(other, loop)
    dropped.write(b"lost")
    dropped.abort()
    loop.run_until_complete(asyncio.sleep(0))
    assert not other.writes and other.aborted
