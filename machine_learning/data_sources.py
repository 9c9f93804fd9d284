"""Where players come from: the embedded simulator (default) or a real CSV the user points to."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from machine_learning import simulator
from machine_learning.storage import StorageError, read_csv_bytes

DEFAULT_TRAINING_PLAYERS = 30_025  # the size of the real training file


def read_players_csv(path: Path) -> pd.DataFrame:
    """Read a player CSV as text (validation types it); clear errors for absent or bad files."""
    path = Path(path)
    if not path.is_file():
        raise StorageError(f"{path}: no such file")
    return read_csv_bytes(path.read_bytes(), as_text=True, source=str(path))


def training_players(
    data_path: Path | None, seed: int = 42, players: int = DEFAULT_TRAINING_PLAYERS
) -> pd.DataFrame:
    """Labelled players for training: the real file when given, else simulated ones."""
    if data_path is not None:
        return read_players_csv(data_path)
    return simulator.simulate_players(players, seed=seed)
