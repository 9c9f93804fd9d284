"""Where players come from: a CSV file the user points to, or the simulator."""

from __future__ import annotations

import pandas as pd
import pytest

from machine_learning import data_sources, simulator
from machine_learning.schema import RAW_COLUMNS
from machine_learning.storage import StorageError
from machine_learning.validation import validate_frame


def test_read_players_csv_reads_every_cell_as_text(tmp_path, players):
    path = tmp_path / "players.csv"
    frame = players.head(30).copy()
    frame.loc[0, "Age"] = None
    frame.to_csv(path, index=False)
    read = data_sources.read_players_csv(path)
    assert list(read.columns) == list(RAW_COLUMNS)
    assert len(read) == 30
    assert all(read[column].map(type).eq(str).all() for column in read.columns)
    assert read.loc[0, "Age"] == ""  # an empty cell, not NaN
    result = validate_frame(read, require_target=True)
    assert result.rejected.empty
    assert result.valid["PlayerID"].tolist() == frame["PlayerID"].tolist()


def test_read_players_csv_keeps_leading_zeros_and_na_text(tmp_path):
    path = tmp_path / "players.csv"
    path.write_text("PlayerID,Location\n007,NA\n", encoding="utf-8")
    read = data_sources.read_players_csv(path)
    assert read.loc[0].tolist() == ["007", "NA"]


def test_missing_file_raises_storage_error_naming_it(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(StorageError, match="absent.csv: no such file"):
        data_sources.read_players_csv(path)


def test_folder_is_not_a_players_file(tmp_path):
    with pytest.raises(StorageError, match="no such file"):
        data_sources.read_players_csv(tmp_path)


def test_empty_file_raises_storage_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(StorageError, match="empty.csv is empty"):
        data_sources.read_players_csv(path)


def test_training_players_default_to_simulated_players():
    frame = data_sources.training_players(None, seed=3, players=200)
    pd.testing.assert_frame_equal(frame, simulator.simulate_players(200, seed=3))


def test_training_players_read_the_given_file(tmp_path, players):
    path = tmp_path / "train.csv"
    players.head(40).to_csv(path, index=False)
    frame = data_sources.training_players(path, players=5)
    assert len(frame) == 40  # the file, not 5 simulated players
    assert frame["PlayerID"].tolist() == players.head(40)["PlayerID"].astype(str).tolist()


def test_default_training_size_is_the_real_file_size():
    assert data_sources.DEFAULT_TRAINING_PLAYERS == 30_025
