"""Train, evaluate and track a model in MLflow, register it and set the alias ``candidate``."""

from __future__ import annotations

import importlib.metadata
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.models import infer_signature

from machine_learning import preprocessing, registry, training
from machine_learning.schema import CLASS_LABELS, NUMERIC_FEATURES

# Given explicitly: letting MLflow infer them costs seconds per logged model.
_REQUIREMENT_PACKAGES = ("scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")


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


def train_and_track(  # pylint: disable=too-many-arguments,too-many-locals
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
) -> TrainingResult:
    """Fit, evaluate on ``test``, log everything to MLflow, register and set ``alias``."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    mlflow.set_experiment(experiment_name)
    full_params = training.model_params(kind, params)
    with mlflow.start_run(tags={"model_kind": kind, **(tags or {})}) as run:
        started = time.perf_counter()
        model = training.fit(train, kind, full_params)
        fit_seconds = time.perf_counter() - started
        evaluation = training.evaluate(model, test)
        mlflow.log_params(
            {"model_kind": kind, **full_params, "train_rows": len(train), "test_rows": len(test)}
        )
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
        example = preprocessing.features(test.head(5)).astype(
            {c: "float64" for c in NUMERIC_FEATURES}
        )
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=model_name,
            input_example=example,
            signature=infer_signature(example, model.predict_proba(example)),
            pip_requirements=pip_requirements(),
        )
    version = str(info.registered_model_version)
    if alias:
        registry.set_alias(registry.client_for(tracking_uri), model_name, alias, version)
    return TrainingResult(
        run_id=run.info.run_id,
        model_name=model_name,
        model_version=version,
        model_uri=f"models:/{model_name}/{version}",
        metrics=evaluation.metrics,
        params=full_params,
        fit_seconds=fit_seconds,
    )
