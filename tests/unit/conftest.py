"""Fixtures of the unit tests: small data, small fitted models, an environment without servers."""

from __future__ import annotations

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from machine_learning import jobs, preprocessing, training
from machine_learning.storage import read_csv_bytes

# An address where nothing listens: a test that reached MLflow would fail instead of using a server.
UNREACHABLE_MLFLOW = "http://127.0.0.1:9"


@pytest.fixture(scope="session", autouse=True)
def single_thread():
    """One BLAS/OpenMP thread: on a busy 2-core machine OpenMP spin-waits make fits ~10x slower."""
    with threadpool_limits(limits=1):
        yield


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return read_csv_bytes(frame.to_csv(index=False).encode("utf-8"), as_text=True)


@pytest.fixture()
def as_text():
    """Turn a frame into what reading it from a CSV file gives (every cell text, empty cells '')."""
    return _as_text


@pytest.fixture()
def text_players(players) -> pd.DataFrame:
    """20 labelled players as text, as read from a CSV file (a fresh copy per test)."""
    return _as_text(players.head(20))


@pytest.fixture(scope="session")
def processed(players) -> pd.DataFrame:
    """The 3,000 players validated (target required) and cleaned."""
    return jobs.prepare_players(players).processed


@pytest.fixture(scope="session")
def split(processed) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference train/test split of ``processed``."""
    return preprocessing.split_train_test(processed)


@pytest.fixture(scope="session")
def hist_model(split):
    """A small histogram gradient boosting model fitted on the train split."""
    return training.fit(split[0], training.HIST_GRADIENT_BOOSTING, {"max_iter": 30})


@pytest.fixture(scope="session")
def gb_model(split):
    """A small gradient boosting model (10 trees) fitted on the train split."""
    return training.fit(split[0], training.GRADIENT_BOOSTING, {"n_estimators": 10})


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    """Process environment of a local, server-less setup (overrides any developer settings)."""
    monkeypatch.setenv("STORAGE", "local")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", UNREACHABLE_MLFLOW)
    for name in ("DATA_PATH", "BATCH_DATA_PATH", "S3_BUCKET", "MODEL_KIND", "SEED"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path
