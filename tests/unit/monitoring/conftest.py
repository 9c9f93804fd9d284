"""Fixtures of the monitoring unit tests: scored simulated players."""

from __future__ import annotations

from typing import Callable

import pandas as pd
import pytest

from machine_learning import inference, simulator

CURRENT_PLAYERS = 1000


@pytest.fixture(scope="session")
def scored_reference(players, hist_model) -> pd.DataFrame:
    """The 3,000 simulated training players with the small model's predictions."""
    return inference.score_players(hist_model, players).scored_inputs


@pytest.fixture(scope="session")
def scored_current(hist_model) -> Callable[[str], pd.DataFrame]:
    """1,000 new simulated players of a drift scenario, scored (cached per scenario)."""
    cache: dict[str, pd.DataFrame] = {}

    def make(scenario: str = "none") -> pd.DataFrame:
        if scenario not in cache:
            raw = simulator.simulate_players(CURRENT_PLAYERS, seed=21, drift=scenario)
            cache[scenario] = inference.score_players(hist_model, raw).scored_inputs
        return cache[scenario]

    return make
