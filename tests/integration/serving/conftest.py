"""Fixtures of the serving integration tests."""

from __future__ import annotations

import pytest

from machine_learning import jobs, preprocessing


@pytest.fixture(scope="session")
def serving_split(players):
    """Train and test rows of the simulated players."""
    return preprocessing.split_train_test(jobs.prepare_players(players).processed)
