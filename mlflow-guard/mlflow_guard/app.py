"""The ``mlflow.app`` entry point: MLflow's Flask app with the guard in front of it.

``mlflow server --app-name host-guard`` imports this module and, since :func:`create_app` is a
function, has gunicorn call ``mlflow_guard.app:create_app()`` in each worker.
"""

from __future__ import annotations

import logging
import os

from flask import Flask
from mlflow.server import app as mlflow_app
from mlflow_guard.middleware import GuardMiddleware

_LOGGER = logging.getLogger("mlflow_guard")


def create_app(app: Flask = mlflow_app) -> Flask:
    """Wrap ``app``'s WSGI callable with the allow-lists read from the environment."""
    inner = app.wsgi_app
    if isinstance(inner, GuardMiddleware):  # called twice: configure again, never wrap twice
        inner = inner.app
    guard = GuardMiddleware.from_environment(inner, os.environ)
    app.wsgi_app = guard  # type: ignore[method-assign]
    if not _LOGGER.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        _LOGGER.addHandler(handler)
        _LOGGER.setLevel(logging.INFO)
        _LOGGER.propagate = False
    _LOGGER.info(
        "allowed hosts: %s; allowed CORS origins: %s",
        guard.hosts.describe(),
        guard.origins.describe(),
    )
    return app
