"""Model kinds, fitting and evaluation (no tracking here: see :mod:`machine_learning.tracking`)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from machine_learning import preprocessing
from machine_learning.config import load_settings
from machine_learning.schema import CATEGORICAL_FEATURES, CLASS_LABELS, NUMERIC_FEATURES

GRADIENT_BOOSTING = "gradient_boosting"
HIST_GRADIENT_BOOSTING = "hist_gradient_boosting"

# Fixed standard parameters (the reference design's; no tuning by design).
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    GRADIENT_BOOSTING: {
        "n_estimators": 150,
        "learning_rate": 0.1,
        "max_depth": 4,
        "random_state": 42,
    },
    # scikit-learn's defaults; about 25x faster to fit and at least as accurate here.
    HIST_GRADIENT_BOOSTING: {
        "max_iter": 100,
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "early_stopping": "auto",
        "random_state": 42,
    },
}
MODEL_KINDS: tuple[str, ...] = tuple(DEFAULT_PARAMS)


@dataclass(frozen=True)
class Evaluation:
    """Held-out metrics of a fitted model."""

    metrics: dict[str, float]
    confusion: np.ndarray  # rows: true Low/Medium/High, columns: predicted


def model_params(kind: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The default parameters of ``kind`` with ``overrides`` applied."""
    if kind not in DEFAULT_PARAMS:
        raise ValueError(f"model kind must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    params = dict(DEFAULT_PARAMS[kind])
    params.update(overrides or {})
    return params


def _hist_preprocessor() -> ColumnTransformer:
    """Categories as ordinal codes (unseen -> missing) for native categorical support."""
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    return ColumnTransformer(
        [
            ("cat", encoder, list(CATEGORICAL_FEATURES)),
            ("num", "passthrough", list(NUMERIC_FEATURES)),
        ]
    )


def build_model(kind: str = GRADIENT_BOOSTING, params: Mapping[str, Any] | None = None) -> Pipeline:
    """An unfitted scikit-learn Pipeline of the given kind."""
    full = model_params(kind, params)
    if kind == GRADIENT_BOOSTING:
        return Pipeline(
            [
                ("preprocessor", preprocessing.build_preprocessor()),
                ("classifier", GradientBoostingClassifier(**full)),  # pylint: disable=E1123
            ]
        )
    categorical = list(range(len(CATEGORICAL_FEATURES)))
    return Pipeline(
        [
            ("preprocessor", _hist_preprocessor()),
            (
                "classifier",
                HistGradientBoostingClassifier(  # pylint: disable=unexpected-keyword-arg
                    categorical_features=categorical, **full
                ),
            ),
        ]
    )


@contextmanager
def limited_threads(threads: int | None = None) -> Iterator[int]:
    """Cap the OpenMP/BLAS threads of what runs inside (default: the MODEL_THREADS setting).

    HistGradientBoosting starts one OpenMP thread per core; on a machine whose cores are busy
    with other work those threads wait for each other and a 1-second fit takes 10-60 seconds.
    """
    count = load_settings().model_threads if threads is None else threads
    if count < 1:
        raise ValueError(f"model threads (MODEL_THREADS) must be at least 1, got {count}")
    with threadpool_limits(limits=count):
        yield count


def fit(
    train: pd.DataFrame,
    kind: str = GRADIENT_BOOSTING,
    params: Mapping[str, Any] | None = None,
    threads: int | None = None,
) -> Pipeline:
    """Fit a model of ``kind`` on labelled rows (``threads``: see :func:`limited_threads`)."""
    model = build_model(kind, params)
    with limited_threads(threads):
        model.fit(preprocessing.features(train), preprocessing.target(train))
    return model


def evaluate(model: Pipeline, labelled: pd.DataFrame) -> Evaluation:
    """Accuracy, macro precision/recall/F1, per-class F1 and the confusion matrix."""
    truth = preprocessing.target(labelled)
    with limited_threads():
        predicted = model.predict(preprocessing.features(labelled))
    labels = list(range(len(CLASS_LABELS)))
    per_class = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    metrics = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision_macro": float(
            precision_score(truth, predicted, average="macro", zero_division=0)
        ),
        "recall_macro": float(recall_score(truth, predicted, average="macro", zero_division=0)),
        "f1_macro": float(f1_score(truth, predicted, average="macro", zero_division=0)),
    }
    metrics.update({f"f1_{name}": float(v) for name, v in zip(CLASS_LABELS, per_class)})
    return Evaluation(metrics=metrics, confusion=confusion_matrix(truth, predicted, labels=labels))


def feature_importances(model: Pipeline, labelled: pd.DataFrame, seed: int = 42) -> pd.Series:
    """Importance per input column: impurity-based when the model has it, else permutation."""
    classifier = model.named_steps["classifier"]
    if hasattr(classifier, "feature_importances_"):
        names = model.named_steps["preprocessor"].get_feature_names_out()
        raw = pd.Series(classifier.feature_importances_, index=names)
        # Sum one-hot columns back to their source column ("cat__Gender_Male" -> "Gender").
        source = [_source_column(name) for name in raw.index]
        return raw.groupby(source).sum().sort_values(ascending=False)
    return permutation_importances(model, labelled, seed=seed)


def permutation_importances(
    model: Pipeline, labelled: pd.DataFrame, rows: int = 2000, seed: int = 42
) -> pd.Series:
    """Accuracy lost when each input column is shuffled, all columns scored in one predict call.

    (scikit-learn's ``permutation_importance`` calls predict once per column and repeat, whose
    fixed cost dominates on small samples.)
    """
    rng = np.random.default_rng(seed)
    sample = labelled.sample(n=min(len(labelled), rows), random_state=seed)
    inputs, truth = preprocessing.features(sample), preprocessing.target(sample).to_numpy()
    blocks = [inputs]
    for column in inputs.columns:
        shuffled = inputs.copy()
        shuffled[column] = rng.permutation(shuffled[column].to_numpy())
        blocks.append(shuffled)
    with limited_threads():
        predicted = model.predict(pd.concat(blocks, ignore_index=True)).reshape(len(blocks), -1)
    accuracy = (predicted == truth).mean(axis=1)
    return pd.Series(accuracy[0] - accuracy[1:], index=list(inputs.columns)).sort_values(
        ascending=False
    )


def _source_column(transformed_name: str) -> str:
    bare = transformed_name.split("__", 1)[-1]
    for column in (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES):
        if bare == column or bare.startswith(column + "_"):
            return column
    return bare
