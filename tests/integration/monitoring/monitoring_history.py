"""Simulated monitoring days for the integration tests (shared by fixtures and tests)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from machine_learning import inference, simulator
from machine_learning.monitoring import build_reports, run_monitoring

START = dt.date(2024, 5, 6)
DAY_PLAYERS = 500
# Three quiet days, then players play longer and more often.
SCENARIOS = ("none", "none", "none", "longer_sessions", "longer_sessions")
WEEK_ENDS = (1, 4)  # days on which a (short) week's true labels arrive


def day_snapshots(
    model, reference: pd.DataFrame, index: int, scenario: str
) -> tuple[list, pd.DataFrame]:
    """The drift suite and the three reports of simulated day ``index``."""
    stamp = dt.datetime.combine(START + dt.timedelta(days=index), dt.time(6))
    raw = simulator.daily_players(index, DAY_PLAYERS, seed=3, drift=scenario)
    current = inference.score_players(model, raw).scored_inputs
    result = run_monitoring(reference, current, timestamp=stamp)
    return [result.suite, *build_reports(reference, current, timestamp=stamp).values()], current
