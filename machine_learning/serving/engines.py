"""Prediction engines: ONNX Runtime (fast path) verified against scikit-learn (the fallback).

A fitted scikit-learn Pipeline is converted with skl2onnx and run by ONNX Runtime. The
converted graph is used only if, on a verification sample, its labels equal scikit-learn's and
its probabilities agree within a tolerance (1e-5); otherwise the service keeps the
scikit-learn model itself. Engines take *columns*: one 1-D array per feature column (float64
numbers, ``str`` categories, InGamePurchases as No/Yes), always complete (the request schema
requires every field), which is why imputers are left out of the converted graph.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import Mapping, Protocol

import numpy as np
import pandas as pd

from machine_learning import preprocessing, simulator
from machine_learning.schema import (
    CATEGORICAL_COLUMNS,
    CATEGORICAL_FEATURES,
    CLASS_LABELS,
    FEATURE_COLUMNS,
    NUMERIC_COLUMNS,
    NUMERIC_FEATURES,
)

LOGGER = logging.getLogger(__name__)

Columns = Mapping[str, np.ndarray]

TOLERANCE = 1e-5
ONNX = "onnxruntime"
SKLEARN = "sklearn"
_TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


@dataclass(frozen=True)
class Prediction:
    """Class codes (index into CLASS_LABELS) and probabilities in CLASS_LABELS order."""

    codes: np.ndarray
    probabilities: np.ndarray


class Engine(Protocol):
    """Anything that predicts engagement from complete feature columns."""

    name: str

    def predict(self, columns: Columns) -> Prediction:
        """Predict every row of ``columns``."""
        raise NotImplementedError


def _in_label_order(probabilities: np.ndarray, classes: list[int]) -> Prediction:
    """Probabilities in the model's class order -> codes and probabilities in label order."""
    ordered = np.zeros((probabilities.shape[0], len(CLASS_LABELS)), dtype=np.float64)
    for position, code in enumerate(classes):
        ordered[:, int(code)] = probabilities[:, position]
    codes = np.asarray(classes, dtype=np.int64)[probabilities.argmax(axis=1)]
    return Prediction(codes=codes, probabilities=ordered)


class SklearnEngine:
    """The fitted scikit-learn model itself (always correct, slower per call)."""

    name = SKLEARN

    def __init__(self, model) -> None:
        self.model = model
        self._classes = [int(c) for c in model.classes_]

    def predict(self, columns: Columns) -> Prediction:
        """Predict through the Pipeline on a DataFrame of the feature columns."""
        frame = pd.DataFrame({name: columns[name] for name in FEATURE_COLUMNS})
        return _in_label_order(self.model.predict_proba(frame), self._classes)


class OnnxEngine:
    """An ONNX Runtime session of the converted Pipeline (one input per feature column)."""

    name = ONNX

    def __init__(self, onnx_bytes: bytes, classes: list[int]) -> None:
        # pylint: disable=import-outside-toplevel
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread, no spinning: a single record is microseconds of work, and spinning
        # threads would steal the CPU that the web server needs.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            onnx_bytes, options, providers=["CPUExecutionProvider"]
        )
        self._output = self._session.get_outputs()[1].name  # probabilities
        self._classes = classes
        self.size_bytes = len(onnx_bytes)

    @classmethod
    def from_model(cls, model) -> "OnnxEngine":
        """Convert a fitted Pipeline (raises when skl2onnx or ONNX Runtime cannot)."""
        return cls(to_onnx(model), [int(c) for c in model.classes_])

    def predict(self, columns: Columns) -> Prediction:
        """Run the session; inputs are (n, 1) float64 or string tensors."""
        feeds = {name: columns[name].reshape(-1, 1) for name in FEATURE_COLUMNS}
        probabilities = self._session.run([self._output], feeds)[0]
        return _in_label_order(probabilities, self._classes)


def _uses_float32(classifier) -> bool:
    """scikit-learn's decision trees compare float32 features with float64 thresholds."""
    # pylint: disable=import-outside-toplevel
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import BaseDecisionTree

    kinds = (GradientBoostingClassifier, RandomForestClassifier, ExtraTreesClassifier)
    return isinstance(classifier, (*kinds, BaseDecisionTree))


def _without_imputers(step):
    """A copy of a fitted transformer with SimpleImputers removed (inputs are complete)."""
    # pylint: disable=import-outside-toplevel
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    if isinstance(step, SimpleImputer):
        return "passthrough"
    if isinstance(step, Pipeline):
        kept = [(name, _without_imputers(s)) for name, s in step.steps]
        kept = [(name, s) for name, s in kept if not isinstance(s, str)]
        return Pipeline(kept) if kept else "passthrough"
    if isinstance(step, ColumnTransformer):
        stripped = copy.copy(step)
        stripped.transformers_ = [
            (name, t if isinstance(t, str) else _without_imputers(t), cols)
            for name, t, cols in step.transformers_
        ]
        return stripped
    return step


def to_onnx(model) -> bytes:
    """Serialized ONNX graph of a fitted ``Pipeline(transformers..., classifier)``.

    Imputers are left out (the service feeds complete records) and, for scikit-learn's
    tree ensembles, features are cast to float32 before the trees exactly as scikit-learn does.
    """
    # pylint: disable=import-outside-toplevel
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
    from skl2onnx.sklapi import CastTransformer
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        raise TypeError(f"expected a scikit-learn Pipeline, got {type(model).__name__}")
    classifier = model.steps[-1][1]
    steps = [(name, _without_imputers(copy.deepcopy(s))) for name, s in model.steps[:-1]]
    if _uses_float32(classifier):
        steps.append(("float32", CastTransformer(dtype=np.float32)))
    prepared = Pipeline([*steps, model.steps[-1]])
    inputs = [(name, DoubleTensorType([None, 1])) for name in FEATURE_COLUMNS]
    inputs = [
        (name, StringTensorType([None, 1]) if name in CATEGORICAL_FEATURES else kind)
        for name, kind in inputs
    ]
    graph = convert_sklearn(
        prepared,
        initial_types=inputs,
        target_opset=_TARGET_OPSET,
        options={id(classifier): {"zipmap": False}},
    )
    return graph.SerializeToString()


@dataclass(frozen=True)
class Verification:
    """How a fast engine compared with scikit-learn on a sample."""

    rows: int
    labels_equal: bool
    max_abs_difference: float
    tolerance: float = TOLERANCE

    @property
    def passed(self) -> bool:
        """Labels identical and every probability within the tolerance."""
        return self.labels_equal and self.max_abs_difference <= self.tolerance

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "rows": self.rows,
            "labels_equal": self.labels_equal,
            "max_abs_difference": self.max_abs_difference,
            "tolerance": self.tolerance,
            "passed": self.passed,
        }


def verify(engine: Engine, reference: Engine, columns: Columns) -> Verification:
    """Compare ``engine`` with ``reference`` on every row of ``columns``."""
    fast, exact = engine.predict(columns), reference.predict(columns)
    difference = float(np.abs(fast.probabilities - exact.probabilities).max(initial=0.0))
    return Verification(
        rows=len(exact.codes),
        labels_equal=bool(np.array_equal(fast.codes, exact.codes)),
        max_abs_difference=difference,
    )


@dataclass(frozen=True)
class EngineChoice:
    """The engine to serve with, and why."""

    engine: Engine
    verification: Verification | None
    fallback_reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary for /v1/model."""
        return {
            "engine": self.engine.name,
            "verification": self.verification.as_dict() if self.verification else None,
            "fallback_reason": self.fallback_reason,
        }


def choose_engine(model, sample: Columns, fast: bool = True) -> EngineChoice:
    """ONNX Runtime when the model converts and verifies on ``sample``, else scikit-learn."""
    reference = SklearnEngine(model)
    if not fast:
        return EngineChoice(reference, None, "fast path disabled")
    try:
        candidate = OnnxEngine.from_model(model)
        check = verify(candidate, reference, sample)
    except Exception as error:  # pylint: disable=broad-exception-caught  # any failure: fall back
        reason = f"conversion failed: {type(error).__name__}: {error}"
        LOGGER.warning("serving with scikit-learn: %s", reason)
        return EngineChoice(reference, None, reason[:500])
    if not check.passed:
        reason = (
            f"verification failed on {check.rows} rows: labels equal {check.labels_equal}, "
            f"max probability difference {check.max_abs_difference:.3g} > {check.tolerance:g}"
        )
        LOGGER.warning("serving with scikit-learn: %s", reason)
        return EngineChoice(reference, check, reason)
    return EngineChoice(candidate, check)


def frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Engine columns from validated player rows (InGamePurchases 0/1 becomes No/Yes)."""
    columns = {name: frame[name].to_numpy(dtype=np.float64) for name in NUMERIC_FEATURES}
    for name in CATEGORICAL_FEATURES:
        values = frame[name]
        if name == "InGamePurchases":
            values = preprocessing.purchases_to_text(values)
        columns[name] = values.astype(str).to_numpy(dtype=object)
    return columns


def _uniform_players(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Players drawn uniformly from the whole valid domain of the schema."""
    frame = {}
    for column in NUMERIC_COLUMNS:
        if column.integer:
            values = rng.integers(column.minimum, column.maximum, rows, endpoint=True)
        else:
            values = rng.uniform(column.minimum, column.maximum, rows)
        frame[column.name] = values
    for column in CATEGORICAL_COLUMNS:
        frame[column.name] = rng.choice(column.categories, rows)
    return pd.DataFrame(frame)


def verification_sample(
    simulated: int = 2000, uniform: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Simulated players (the data's distribution) plus players spread over the whole schema."""
    players = simulator.simulate_players(simulated, seed=seed)
    spread = _uniform_players(uniform, np.random.default_rng(seed))
    both = pd.concat([players.loc[:, list(FEATURE_COLUMNS)], spread], ignore_index=True)
    return frame_columns(both)
