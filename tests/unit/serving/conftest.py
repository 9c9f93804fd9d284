"""Fixtures of the serving unit tests: small fitted models, a loaded holder, a test client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serving_helpers import BODY_LIMIT, make_holder

from machine_learning import training
from machine_learning.serving.app import create_app
from machine_learning.serving.engines import verification_sample
from machine_learning.serving.holder import ModelHolder


@pytest.fixture(scope="session")
def serving_model(split):
    """Gradient boosting with the reference depth (4) and 40 trees: converts to ONNX."""
    return training.fit(split[0], training.GRADIENT_BOOSTING, {"n_estimators": 40})


@pytest.fixture(scope="session")
def sample():
    """A small verification sample (simulated and schema-wide players)."""
    return verification_sample(simulated=600, uniform=400, seed=3)


@pytest.fixture(scope="session")
def loaded_holder(serving_model, sample) -> ModelHolder:
    """A holder serving ``serving_model`` as version 1 (shared: do not change it)."""
    return make_holder({"1": serving_model}, sample_columns=sample)


@pytest.fixture(scope="session")
def client(loaded_holder):
    """A client of the app around ``loaded_holder`` (no polling thread)."""
    app = create_app(loaded_holder, max_body_bytes=BODY_LIMIT, poll=False)
    with TestClient(app) as test_client:
        yield test_client
