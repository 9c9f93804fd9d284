"""The reference recipe on the real Kaggle files (skipped where they are absent)."""

from __future__ import annotations

import pytest

from machine_learning import data_sources, jobs, preprocessing, training

pytestmark = pytest.mark.real_data


def test_reference_recipe_reaches_090_on_the_batch_file(real_training_file, real_batch_file):
    prepared = jobs.prepare_players(data_sources.read_players_csv(real_training_file))
    assert prepared.summary["rejected"] == 0
    train, _ = preprocessing.split_train_test(prepared.processed)
    model = training.fit(train, training.GRADIENT_BOOSTING)
    evaluation, rejected = jobs.evaluate_model(
        model, data_sources.read_players_csv(real_batch_file)
    )
    assert rejected == 0
    assert evaluation.metrics["accuracy"] >= 0.90


def test_simulator_and_real_data_agree(real_training_file, real_batch_file):
    """A model trained on simulated players scores well on real ones, and vice versa."""
    from machine_learning import simulator  # pylint: disable=import-outside-toplevel

    simulated = jobs.prepare_players(simulator.simulate_players(20_000, seed=3)).processed
    real = jobs.prepare_players(data_sources.read_players_csv(real_training_file)).processed
    on_sim = training.fit(simulated, training.HIST_GRADIENT_BOOSTING)
    on_real = training.fit(real, training.HIST_GRADIENT_BOOSTING)
    real_batch = data_sources.read_players_csv(real_batch_file)
    assert jobs.evaluate_model(on_sim, real_batch)[0].metrics["accuracy"] >= 0.88
    assert training.evaluate(on_real, simulated).metrics["accuracy"] >= 0.88
