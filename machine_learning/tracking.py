"""Train, evaluate and track a model in MLflow, register it and set the alias ``candidate``.

A version is registered only once its run has logged everything (model included) and ended;
if the alias cannot be set, the new version is deleted again. So when the tracking server stops
answering at any point, no version without its model and no alias to a broken version is left:
the call fails with :class:`TrackingUnavailableError` saying what it was doing, and running it
again once the server is back registers one complete version.
"""

from __future__ import annotations

import importlib.metadata
import logging
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import mlflow
import pandas as pd
import requests
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from machine_learning import preprocessing, registry, training
from machine_learning.schema import CLASS_LABELS, NUMERIC_FEATURES

LOGGER = logging.getLogger(__name__)

# Given explicitly: letting MLflow infer them costs seconds per logged model.
_REQUIREMENT_PACKAGES = ("scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")
_SERVER_ERRORS = (MlflowException, requests.exceptions.RequestException, OSError)
_UNREACHABLE_SIGNS = (
    "Max retries exceeded",
    "Connection refused",
    "Connection aborted",
    "Connection reset",
    "RemoteDisconnected",
    "timed out",
    "timeout exception",
)
_FIX = "start it (make run, or gaming-mlops up) and run the training again"


class TrackingUnavailableError(registry.RegistryUnavailableError):
    """The tracking server stopped answering during a training run (the message says when)."""


def server_unreachable(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) means the server did not answer."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return True
        if isinstance(seen, (ConnectionError, TimeoutError)):
            return True
        if any(sign in str(seen) for sign in _UNREACHABLE_SIGNS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextmanager
def _server_step(tracking_uri: str, step: str) -> Iterator[None]:
    """Turn 'the server did not answer' during ``step`` into a :class:`TrackingUnavailableError`."""
    try:
        yield
    except _SERVER_ERRORS as error:
        if not server_unreachable(error):
            raise
        raise TrackingUnavailableError(
            f"the MLflow server at {tracking_uri} stopped answering while {step}; no model "
            f"version was registered: {_FIX}"
        ) from error


@dataclass(frozen=True)
class TrainingResult:
    """What a tracked training run produced."""

    run_id: str
    model_name: str
    model_version: str
    model_uri: str
    metrics: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)
    fit_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Stable keys for ``--json`` output and pipeline variables."""
        return {
            "run_id": self.run_id,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "model_uri": self.model_uri,
            "metrics": self.metrics,
            "params": self.params,
            "fit_seconds": round(self.fit_seconds, 3),
        }


def pip_requirements() -> list[str]:
    """Pinned requirements of the logged model, read from the installed packages."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in _REQUIREMENT_PACKAGES]


def confusion_figure(confusion, path: Path) -> Path:
    """Save the confusion matrix as a PNG."""
    fig = Figure(figsize=(4.5, 4))
    axis = fig.add_subplot()
    axis.imshow(confusion, cmap="Blues")
    axis.set_xticks(range(len(CLASS_LABELS)), CLASS_LABELS)
    axis.set_yticks(range(len(CLASS_LABELS)), CLASS_LABELS)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for (row, col), value in pd.DataFrame(confusion).stack().items():
        axis.text(col, row, str(value), ha="center", va="center")
    axis.set_title("Confusion matrix (test set)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def importance_figure(importances: pd.Series, path: Path) -> Path:
    """Save feature importances as a horizontal bar chart PNG."""
    fig = Figure(figsize=(6, 4))
    axis = fig.add_subplot()
    importances.sort_values().plot.barh(ax=axis)
    axis.set_title("Feature importance")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _log_training(
    model,
    evaluation: training.Evaluation,
    params: Mapping[str, Any],
    test: pd.DataFrame,
    fit_seconds: float,
) -> str:
    """Log parameters, metrics, charts and the model to the active run; the model's URI."""
    mlflow.log_params(params)
    mlflow.log_metrics({**evaluation.metrics, "fit_seconds": fit_seconds})
    with tempfile.TemporaryDirectory() as folder:
        mlflow.log_artifact(
            str(confusion_figure(evaluation.confusion, Path(folder) / "confusion_matrix.png"))
        )
        importances = training.feature_importances(model, test)
        mlflow.log_artifact(
            str(importance_figure(importances, Path(folder) / "feature_importance.png"))
        )
    # Numbers as float64 in the signature: a missing value (imputed) stays valid input.
    example = preprocessing.features(test.head(5)).astype({c: "float64" for c in NUMERIC_FEATURES})
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        input_example=example,
        signature=infer_signature(example, model.predict_proba(example)),
        pip_requirements=pip_requirements(),
    )
    return info.model_uri


def _end_failed_run() -> None:
    """Mark the active run FAILED; when the server is gone the run stays RUNNING there."""
    try:
        mlflow.end_run("FAILED")
    except _SERVER_ERRORS as error:
        LOGGER.warning("could not mark the failed training run: %s", error)


def _discard_version(client: MlflowClient, name: str, version: str) -> str:
    """Delete a version whose registration did not complete; what happened, for the error."""
    try:
        client.delete_model_version(name, version)
    except _SERVER_ERRORS as error:
        LOGGER.warning("could not delete the incomplete version %s of %s: %s", version, name, error)
        return (
            f"version {version} is registered without it and could not be deleted "
            "(delete it, or set the alias, once the server answers)"
        )
    return f"version {version} was deleted again"


def _register(
    tracking_uri: str,
    model_name: str,
    logged_model_uri: str,
    *,
    alias: str | None,
    tags: Mapping[str, str] | None,
) -> str:
    """Register the logged model as a new version and point ``alias`` at it; its number."""
    client = registry.client_for(tracking_uri)
    with _server_step(tracking_uri, "registering the model"):
        created = mlflow.register_model(logged_model_uri, model_name, tags=dict(tags or {}))
    version = str(created.version)
    if created.status != "READY":
        outcome = _discard_version(client, model_name, version)
        raise registry.RegistryError(
            f"{model_name} version {version} ended in status {created.status}; {outcome}"
        )
    if alias:
        try:
            registry.set_alias(client, model_name, alias, version)
        except _SERVER_ERRORS as error:
            outcome = _discard_version(client, model_name, version)
            error_class = (
                TrackingUnavailableError if server_unreachable(error) else registry.RegistryError
            )
            raise error_class(
                f"could not point alias '{alias}' of {model_name} at the new version "
                f"({type(error).__name__}: {str(error)[:300]}); {outcome}"
            ) from error
    return version


def train_and_track(  # pylint: disable=too-many-arguments
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    tracking_uri: str,
    experiment_name: str,
    model_name: str,
    kind: str = training.GRADIENT_BOOSTING,
    params: Mapping[str, Any] | None = None,
    alias: str | None = registry.CANDIDATE,
    tags: Mapping[str, str] | None = None,
    version_tags: Mapping[str, str] | None = None,
) -> TrainingResult:
    """Fit, evaluate on ``test``, log everything to MLflow, then register and set ``alias``.

    ``tags`` go on the run, ``version_tags`` on the registered version (set as it is created).
    """
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    full_params = training.model_params(kind, params)
    with _server_step(tracking_uri, "starting the run"):
        mlflow.set_experiment(experiment_name)
        run = mlflow.start_run(tags={"model_kind": kind, **(tags or {})})
    try:
        started = time.perf_counter()
        model = training.fit(train, kind, full_params)
        fit_seconds = time.perf_counter() - started
        evaluation = training.evaluate(model, test)
        logged = {
            "model_kind": kind,
            **full_params,
            "train_rows": len(train),
            "test_rows": len(test),
        }
        with _server_step(tracking_uri, "logging the run"):
            logged_model_uri = _log_training(model, evaluation, logged, test, fit_seconds)
    except BaseException:
        _end_failed_run()
        raise
    with _server_step(tracking_uri, "ending the run"):
        mlflow.end_run()
    version = _register(tracking_uri, model_name, logged_model_uri, alias=alias, tags=version_tags)
    return TrainingResult(
        run_id=run.info.run_id,
        model_name=model_name,
        model_version=version,
        model_uri=f"models:/{model_name}/{version}",
        metrics=evaluation.metrics,
        params=full_params,
        fit_seconds=fit_seconds,
    )
