"""Chunked batch scoring on S3 (moto's server): objects streamed through a local folder."""

from __future__ import annotations

import datetime as dt

import pytest
from threadpoolctl import threadpool_limits

from machine_learning import batch_scoring, jobs, layout, simulator, training
from machine_learning.storage import LocalStorage, S3Storage, StorageError, write_csv

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 2, 1)


@pytest.fixture(scope="module")
def gb_model(players):
    """A small gradient boosting model (10 trees)."""
    with threadpool_limits(limits=1):
        processed = jobs.prepare_players(players).processed
        return training.fit(processed, training.GRADIENT_BOOSTING, {"n_estimators": 10})


def _day_batch(storage, rows: int = 4000) -> None:
    batch = simulator.split_labels(simulator.simulate_players(rows, seed=12))[0].astype(object)
    batch.loc[2, "Age"] = "-4"
    write_csv(storage, layout.batch_input(DAY), batch)


def test_a_day_scored_on_s3_equals_the_same_day_scored_locally(
    moto_server, s3_bucket, tmp_path, gb_model
):
    s3 = S3Storage(s3_bucket, prefix="platform", endpoint_url=moto_server.url)
    local = LocalStorage(tmp_path)
    for storage in (s3, local):
        _day_batch(storage)
    on_s3 = batch_scoring.score_batch_day(gb_model, "3", s3, DAY, chunk_rows=900)
    locally = batch_scoring.score_batch_day(gb_model, "3", local, DAY, chunk_rows=900)
    assert on_s3["predictions"] == f"s3://{s3_bucket}/platform/{layout.predictions(DAY)}"
    assert (
        (on_s3["predicted"], on_s3["rejected"])
        == (3999, 1)
        == (
            locally["predicted"],
            locally["rejected"],
        )
    )
    for key in (layout.predictions(DAY), layout.current(DAY), layout.rejected("batch", DAY)):
        assert s3.read_bytes(key) == local.read_bytes(key), key


def test_parquet_outputs_on_s3_and_a_missing_input(moto_server, s3_bucket, gb_model):
    s3 = S3Storage(s3_bucket, endpoint_url=moto_server.url)
    _day_batch(s3, 500)
    outputs = batch_scoring.StoredOutputs("out/p.parquet", "out/r.parquet")
    summary = batch_scoring.score_stored(gb_model, s3, layout.batch_input(DAY), outputs)
    assert summary.outputs["predictions"] == f"s3://{s3_bucket}/out/p.parquet"
    assert s3.read_bytes("out/p.parquet")[:4] == b"PAR1"
    assert s3.exists("out/r.parquet")
    with pytest.raises(StorageError, match="no object 'batch/absent.csv'"):
        batch_scoring.score_stored(gb_model, s3, "batch/absent.csv", outputs)


def test_a_sample_of_an_s3_object_equals_the_local_one(moto_server, s3_bucket, tmp_path):
    s3 = S3Storage(s3_bucket, endpoint_url=moto_server.url)
    local = LocalStorage(tmp_path)
    for storage in (s3, local):
        _day_batch(storage, 3000)
    key = layout.batch_input(DAY)
    on_s3 = batch_scoring.sample_stored(s3, key, 100, seed=1, chunk_rows=500)
    assert on_s3.equals(batch_scoring.sample_stored(local, key, 100, seed=1, chunk_rows=500))
    assert len(on_s3) == 100
