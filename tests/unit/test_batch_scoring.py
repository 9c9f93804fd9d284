"""Chunked batch scoring: the in-memory path's outputs, byte for byte, in bounded memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from machine_learning import batch_scoring, data_sources, inference, layout, simulator
from machine_learning.storage import (
    LocalStorage,
    StorageError,
    neutralise_formulas,
    read_csv,
    write_csv,
)
from machine_learning.validation import SchemaError

ENGINES = {"compiled": True, "sklearn": False}


def _awkward_batch(rows: int = 10_000) -> pd.DataFrame:
    """Simulated players with bad rows, formula-like text and PlayerIDs repeated far apart."""
    batch = simulator.split_labels(simulator.simulate_players(rows, seed=21))[0].astype(object)
    batch.loc[5, "Age"] = "abc"
    batch.loc[7, "PlayerID"] = batch.loc[3, "PlayerID"]  # duplicate within a chunk
    batch.loc[rows - 10, "PlayerID"] = batch.loc[10, "PlayerID"]  # duplicate chunks apart
    batch.loc[11, "Gender"] = "=HYPERLINK(1)"
    batch.loc[12, "PlayTimeHours"] = ""  # missing: imputed, not rejected
    batch.loc[13, "Location"] = 'Eu,"rope'
    batch.loc[14, "SessionsPerWeek"] = "999"
    return batch


def _in_memory(model, path: Path, folder: Path) -> dict[str, bytes]:
    """What `predict` used to write: the whole file validated and scored at once."""
    scored = inference.score_players(model, data_sources.read_players_csv(path))
    storage = LocalStorage(folder)
    frames = {
        "predictions": scored.predictions,
        "rejects": scored.rejected,
        "current": scored.scored_inputs,
    }
    return {
        name: Path(write_csv(storage, f"{name}.csv", f)).read_bytes() for name, f in frames.items()
    }


def _outputs(folder: Path, suffix: str = ".csv") -> batch_scoring.Outputs:
    return batch_scoring.Outputs(
        folder / f"predictions{suffix}", folder / f"rejects{suffix}", folder / f"current{suffix}"
    )


@pytest.fixture(scope="module")
def batch_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch")
    write_csv(LocalStorage(folder), "players.csv", _awkward_batch())
    return folder / "players.csv"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["gb", "hist"])
def test_streamed_csv_equals_the_in_memory_path_byte_for_byte(
    batch_file, tmp_path, gb_model, hist_model, engine, kind
):
    model = gb_model if kind == "gb" else hist_model
    expected = _in_memory(model, batch_file, tmp_path / "memory")
    summary = batch_scoring.score_file(
        model, batch_file, _outputs(tmp_path), chunk_rows=1500, compile_trees=ENGINES[engine]
    )
    assert summary.chunks > 5
    assert summary.engine == ("compiled trees" if ENGINES[engine] else "scikit-learn")
    assert (summary.rows_in, summary.rejected) == (10_000, 6)
    for name, content in expected.items():
        assert (tmp_path / f"{name}.csv").read_bytes() == content, name


def test_the_real_batch_file_scores_identically(real_batch_file, tmp_path, hist_model):
    expected = _in_memory(hist_model, real_batch_file, tmp_path / "memory")
    summary = batch_scoring.score_file(
        hist_model, real_batch_file, _outputs(tmp_path), chunk_rows=2000, compile_trees=True
    )
    assert summary.engine == "compiled trees" and summary.rows_in > 9000
    for name, content in expected.items():
        assert (tmp_path / f"{name}.csv").read_bytes() == content, name


def test_parquet_in_and_out_keeps_the_same_values(batch_file, tmp_path, gb_model):
    scored = inference.score_players(gb_model, data_sources.read_players_csv(batch_file))
    source = tmp_path / "players.parquet"
    data_sources.read_players_csv(batch_file).to_parquet(source, index=False)
    summary = batch_scoring.score_file(
        gb_model, source, _outputs(tmp_path, ".parquet"), chunk_rows=999, compile_trees=True
    )
    assert summary.chunks == 11
    got = pd.read_parquet(tmp_path / "predictions.parquet")
    pd.testing.assert_frame_equal(got, scored.predictions, check_exact=True)
    current = pd.read_parquet(tmp_path / "current.parquet")
    pd.testing.assert_frame_equal(current, scored.scored_inputs, check_exact=True)
    rejects = pd.read_parquet(tmp_path / "rejects.parquet")
    expected = scored.rejected.astype({"source_row": "int64"}).astype(
        {c: object for c in scored.rejected.columns if c != "source_row"}
    )
    pd.testing.assert_frame_equal(rejects.astype(expected.dtypes.to_dict()), expected)


def test_csv_in_parquet_out(batch_file, tmp_path, hist_model):
    batch_scoring.score_file(hist_model, batch_file, _outputs(tmp_path, ".parquet"), 4000)
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    assert len(predictions) == 9994
    assert predictions["prediction"].isin(["Low", "Medium", "High"]).all()


@settings(max_examples=60, deadline=None)
@given(
    numbers=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=30
    ),
    text=st.sampled_from(["Low", "Medium", "a b", "", "=cmd", 'x"y', "1,5", "-3", "+x", "é"]),
)
def test_csv_rows_are_what_pandas_writes(numbers, text):
    frame = pd.DataFrame(
        {
            "number": np.array(numbers, dtype=np.float64),
            "whole": np.arange(len(numbers), dtype=np.int64) - 3,
            "label": [text] * len(numbers),
        }
    )
    expected = neutralise_formulas(frame).to_csv(index=False, header=False).encode()
    assert batch_scoring.csv_rows(frame) == expected


def test_probability_like_floats_are_spelt_as_python_does():
    values = np.concatenate(
        [
            np.random.default_rng(0).dirichlet([0.2, 0.2, 0.2], 20_000).ravel(),
            [0.0, 1.0, -0.0, 1e-4, 9.99e-5, 1e16, 123456789.0, 5e-324, 0.1, 2.5],
        ]
    )
    frame = pd.DataFrame({"p": values})
    assert batch_scoring.csv_rows(frame) == frame.to_csv(index=False, header=False).encode()


class _FailingSecondChunk:
    """A model that fails on its second call (an error mid-file)."""

    def __init__(self, model) -> None:
        self.model, self.calls, self.classes_ = model, 0, model.classes_

    def predict_proba(self, frame):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("model failed")
        return self.model.predict_proba(frame)


def test_a_failure_midway_leaves_no_output_and_earlier_ones_untouched(
    batch_file, tmp_path, gb_model
):
    outputs = _outputs(tmp_path)
    outputs.predictions.write_text("yesterday's predictions", encoding="utf-8")
    with pytest.raises(RuntimeError, match="model failed"):
        batch_scoring.score_file(
            _FailingSecondChunk(gb_model), batch_file, outputs, 2000, compile_trees=False
        )
    assert outputs.predictions.read_text(encoding="utf-8") == "yesterday's predictions"
    assert not outputs.rejects.exists() and not outputs.current.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_bad_file_fails_before_any_output(tmp_path, gb_model):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("PlayerID,Age,Colour\n1,20,red\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="missing columns"):
        batch_scoring.check_input(wrong)
    with pytest.raises(SchemaError, match="unknown columns: Colour"):
        batch_scoring.score_file(gb_model, wrong, _outputs(tmp_path))
    with pytest.raises(StorageError, match="no such file"):
        batch_scoring.score_file(gb_model, tmp_path / "absent.parquet", _outputs(tmp_path))
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(StorageError, match="not a readable Parquet file"):
        batch_scoring.check_input(tmp_path / "broken.parquet")
    with pytest.raises(ValueError, match="chunk_rows"):
        next(batch_scoring.read_chunks(wrong, 0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.parquet", "wrong.csv"]


def test_the_batch_day_matches_what_the_pipeline_writes(tmp_path, gb_model):
    storage, day = LocalStorage(tmp_path), dt.date(2024, 3, 5)
    batch = simulator.split_labels(simulator.simulate_players(3000, seed=5))[0]
    write_csv(storage, layout.batch_input(day), batch)
    storage.write_bytes(layout.rejected("batch", day), b"stale rejects")
    result = batch_scoring.score_batch_day(gb_model, "7", storage, day, chunk_rows=700)
    # predict_batch + save_predictions, in memory:
    scored = inference.score_players(
        gb_model, data_sources.read_players_csv(tmp_path / layout.batch_input(day))
    )
    predictions = scored.predictions.assign(model_version="7")
    expected = LocalStorage(tmp_path / "expected")
    assert (
        Path(result["predictions"]).read_bytes()
        == Path(write_csv(expected, "p.csv", predictions)).read_bytes()
    )
    assert (
        Path(result["current"]).read_bytes()
        == Path(write_csv(expected, "c.csv", scored.scored_inputs)).read_bytes()
    )
    assert not storage.exists(layout.rejected("batch", day))  # nothing rejected: stale removed
    assert result == {
        "day": "2024-03-05",
        "predicted": 3000,
        "rejected": 0,
        "predictions": storage.uri(layout.predictions(day)),
        "current": storage.uri(layout.current(day)),
        "model_version": "7",
        "rows_in": 3000,
        "engine": "scikit-learn",
        "chunks": result["chunks"],
    }
    assert result["chunks"] >= 3


def test_a_sample_is_uniform_reproducible_and_independent_of_chunking(batch_file):
    whole = data_sources.read_players_csv(batch_file)
    small = batch_scoring.sample_file(batch_file, 500, seed=3, chunk_rows=300)
    large = batch_scoring.sample_file(batch_file, 500, seed=3, chunk_rows=5000)
    pd.testing.assert_frame_equal(small, large)
    assert len(small) == 500 and small["PlayerID"].isin(whole["PlayerID"]).all()
    positions = whole.index[whole["PlayerID"].isin(small["PlayerID"])]
    assert positions.is_monotonic_increasing and 3000 < positions.to_numpy().mean() < 7000
    other = batch_scoring.sample_file(batch_file, 500, seed=4, chunk_rows=300)
    assert not other["PlayerID"].equals(small["PlayerID"])
    assert len(batch_scoring.sample_file(batch_file, 20_000)) == len(whole)


def _scored_day(rows: int) -> pd.DataFrame:
    players = simulator.split_labels(simulator.simulate_players(rows, seed=5))[0]
    players["prediction"] = "Low"
    return players


def test_monitoring_reads_a_usual_day_whole(tmp_path):
    storage = LocalStorage(tmp_path)
    write_csv(storage, "current.csv", _scored_day(1_000))
    whole = batch_scoring.read_for_monitoring(storage, "current.csv", sample_rows=1_000)
    pd.testing.assert_frame_equal(whole, read_csv(storage, "current.csv", as_text=True))


def test_monitoring_samples_a_large_day(tmp_path):
    storage = LocalStorage(tmp_path)
    day = _scored_day(20_000)
    write_csv(storage, "current.csv", day)
    sample = batch_scoring.read_for_monitoring(storage, "current.csv", sample_rows=500, seed=3)
    assert len(sample) == 500
    assert sample["PlayerID"].is_unique
    assert set(sample["PlayerID"].astype(int)) <= set(day["PlayerID"])
    # Uniform over the file: the sample spans it (not the first rows only).
    assert sample["PlayerID"].astype(int).max() > day["PlayerID"].quantile(0.9)
    again = batch_scoring.read_for_monitoring(storage, "current.csv", sample_rows=500, seed=3)
    pd.testing.assert_frame_equal(sample, again)
