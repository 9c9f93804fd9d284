"""Model fits and predictions use MODEL_THREADS threads (default one)."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from machine_learning import training
from machine_learning.config import load_settings


def _openmp_threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"}


def test_the_setting_defaults_to_one_thread_and_is_read_from_the_environment():
    assert load_settings({}).model_threads == 1
    assert load_settings({"MODEL_THREADS": "4"}).model_threads == 4
    with pytest.raises(ValueError, match="MODEL_THREADS must be a whole number"):
        load_settings({"MODEL_THREADS": "two"})


def test_limited_threads_caps_openmp_inside_and_restores_after(monkeypatch):
    monkeypatch.setenv("MODEL_THREADS", "1")
    with threadpool_limits(limits=2):
        with training.limited_threads() as count:
            assert count == 1 and _openmp_threads() == {1}
        with training.limited_threads(2):
            assert _openmp_threads() == {2}
        assert _openmp_threads() == {2}


def test_zero_threads_is_refused(monkeypatch):
    monkeypatch.setenv("MODEL_THREADS", "0")
    with pytest.raises(ValueError, match="MODEL_THREADS.*at least 1, got 0"):
        with training.limited_threads():
            pass


def test_a_fit_runs_with_the_given_threads(split, monkeypatch):
    seen = []
    original = training.build_model

    def spying_build(*args, **kwargs):
        model = original(*args, **kwargs)
        fit = model.fit
        model.fit = lambda *a, **k: (seen.append(_openmp_threads()), fit(*a, **k))[1]
        return model

    monkeypatch.setattr(training, "build_model", spying_build)
    training.fit(split[0].head(300), training.HIST_GRADIENT_BOOSTING, {"max_iter": 3}, threads=1)
    assert seen == [{1}]
