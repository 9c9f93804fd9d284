"""Fixtures of the monitoring integration tests: a workspace with a few simulated days, and a
running ``evidently ui`` over it (started once, stopped at the end)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from monitoring_history import SCENARIOS, START, WEEK_ENDS, day_snapshots
from threadpoolctl import threadpool_limits

from machine_learning import inference, jobs, simulator, training
from machine_learning.monitoring import add_to_workspace, build_performance_report, open_workspace
from machine_learning.monitoring.ui import start_ui


@pytest.fixture(scope="session", autouse=True)
def single_thread():
    """One BLAS/OpenMP thread: on a busy 2-core machine OpenMP spin-waits slow fits down."""
    with threadpool_limits(limits=1):
        yield


@dataclass
class History:
    """A workspace folder filled with simulated days, and what it holds."""

    workspace: Path
    model: object
    reference: pd.DataFrame
    days: int
    reports: int
    suites: int


@pytest.fixture(scope="session")
def history(tmp_path_factory) -> History:
    """Five simulated days (drift from day 4) with two weekly performance reports."""
    processed = jobs.prepare_players(simulator.simulate_players(3000, seed=5)).processed
    model = training.fit(processed, training.HIST_GRADIENT_BOOSTING, {"max_iter": 30})
    reference = inference.score_players(model, processed).scored_inputs
    folder = tmp_path_factory.mktemp("evidently") / "workspace"
    workspace = open_workspace(folder)  # opened once: opening parses every snapshot
    week: list[pd.DataFrame] = []
    reports = suites = 0
    for index, scenario in enumerate(SCENARIOS):
        items, current = day_snapshots(model, reference, index, scenario)
        week.append(current)
        if index in WEEK_ENDS:
            stamp = dt.datetime.combine(START + dt.timedelta(days=index), dt.time(23))
            items.append(
                build_performance_report(pd.concat(week, ignore_index=True), timestamp=stamp)
            )
            week = []
        add_to_workspace(workspace, items)
        suites += 1
        reports += len(items) - 1
    return History(folder, model, reference, len(SCENARIOS), reports, suites)


@pytest.fixture(scope="session")
def evidently_ui(history, tmp_path_factory):
    """``evidently ui`` over the history's workspace on 127.0.0.1 (its process group is stopped)."""
    server = start_ui(
        history.workspace, log_path=tmp_path_factory.mktemp("ui") / "evidently-ui.log"
    )
    yield server
    server.stop()
