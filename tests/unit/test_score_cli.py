"""`gaming-mlops score`: a file of any size scored chunk by chunk, as `predict` scores it."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.sklearn
import pytest

from machine_learning import cli, data_sources, inference, registry, simulator
from machine_learning.storage import LocalStorage, write_csv


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, gb_model):
    """The small model saved as an MLflow model folder (loaded without a server)."""
    folder = tmp_path_factory.mktemp("model") / "model"
    mlflow.sklearn.save_model(gb_model, str(folder), serialization_format="pickle")
    return folder


def test_score_writes_what_predict_writes(clean_env, model_folder, gb_model, capsys):
    storage = LocalStorage(clean_env)
    batch = simulator.split_labels(simulator.simulate_players(2500, seed=9))[0].astype(object)
    batch.loc[3, "Age"] = "old"
    write_csv(storage, "players.csv", batch)
    code = cli.main(
        [
            "score",
            "--input", str(clean_env / "players.csv"),
            "--output", str(clean_env / "out" / "predictions.csv"),
            "--chunk-rows", "600",
            "--engine", "compiled",
            "--model-uri", str(model_folder),
            "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["rows_in"] == 2500 and summary["rejected"] == 1
    assert summary["engine"] == "compiled trees" and summary["chunks"] >= 4
    scored = inference.score_players(
        gb_model, data_sources.read_players_csv(clean_env / "players.csv")
    )
    expected = LocalStorage(clean_env / "expected")
    frames = {"predictions": scored.predictions, "predictions.rejects": scored.rejected}
    for name, frame in frames.items():
        expected_file = Path(write_csv(expected, f"{name}.csv", frame))
        assert (clean_env / "out" / f"{name}.csv").read_bytes() == expected_file.read_bytes()


def test_a_bad_file_or_engine_fails_in_one_line_before_loading_the_model(
    clean_env, capsys, monkeypatch
):
    monkeypatch.setattr(registry, "load_model", lambda *_: pytest.fail("model loaded"))
    (clean_env / "bad.csv").write_text("PlayerID,Colour\n1,red\n", encoding="utf-8")
    code = cli.main(["score", "--input", str(clean_env / "bad.csv"), "--output", "x.csv"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and "missing columns" in err
    code = cli.main(
        ["score", "--input", str(clean_env / "bad.csv"), "--output", "x.csv", "--engine", "gpu"]
    )
    assert (
        code == 1 and "--engine must be one of auto, compiled, sklearn" in capsys.readouterr().err
    )
