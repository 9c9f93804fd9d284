"""Prediction engines: ONNX Runtime (fast path) verified against scikit-learn (the fallback).

A fitted scikit-learn Pipeline is converted with skl2onnx and run by ONNX Runtime: for the
reference shape (a ColumnTransformer of scalers and one-hot encoders, then the classifier) the
transformer is applied in Python per record and only the classifier is converted
(:class:`CompactOnnxEngine`, the cheapest per request); any other Pipeline is converted whole
(:class:`OnnxEngine`). A converted engine is used only if, on a verification sample, its
labels equal scikit-learn's and its probabilities agree within a tolerance (1e-5); otherwise
the service keeps the scikit-learn model itself. Engines take *columns*: one 1-D array per
feature column (float64 numbers, ``str`` categories, InGamePurchases as No/Yes), always complete
(the request schema requires every field), which is why imputers are left out of the converted
graph; the compact engine also takes the validated records themselves (the request path).
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


class _LabelOrder:  # pylint: disable=too-few-public-methods
    """:func:`_in_label_order` with the column order worked out once (a request's share of the
    work: one fancy index instead of a new array filled column by column)."""

    def __init__(self, classes: list[int]) -> None:
        self.classes = classes
        self._codes = np.asarray(classes, dtype=np.int64)
        every = sorted(int(code) for code in classes) == list(range(len(CLASS_LABELS)))
        self._columns = (
            [classes.index(code) for code in range(len(CLASS_LABELS))] if every else None
        )

    def __call__(self, probabilities: np.ndarray) -> Prediction:
        if self._columns is None:  # a class the model never saw: zeros for it
            return _in_label_order(probabilities, self.classes)
        if self._columns == list(range(len(CLASS_LABELS))):  # the usual case: already in order
            ordered = probabilities.astype(np.float64)
        else:
            ordered = probabilities[:, self._columns].astype(np.float64, copy=False)
        return Prediction(codes=self._codes[probabilities.argmax(axis=1)], probabilities=ordered)


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


def _session(onnx_bytes: bytes):
    """An ONNX Runtime session on one thread, without spinning: a single record is
    microseconds of work, and spinning threads would steal the CPU that the web server needs."""
    # pylint: disable=import-outside-toplevel
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


class OnnxEngine:
    """An ONNX Runtime session of the converted Pipeline (one input per feature column)."""

    name = ONNX

    def __init__(self, onnx_bytes: bytes, classes: list[int]) -> None:
        self._session = _session(onnx_bytes)
        self._output = [self._session.get_outputs()[1].name]  # probabilities
        self._order = _LabelOrder(classes)
        self.size_bytes = len(onnx_bytes)

    @classmethod
    def from_model(cls, model) -> "OnnxEngine":
        """Convert a fitted Pipeline (raises when skl2onnx or ONNX Runtime cannot)."""
        return cls(to_onnx(model), [int(c) for c in model.classes_])

    def predict(self, columns: Columns) -> Prediction:
        """Run the session; inputs are (n, 1) float64 or string tensors."""
        feeds = {name: columns[name].reshape(-1, 1) for name in FEATURE_COLUMNS}
        return self._order(self._session.run(self._output, feeds)[0])


class RowEncoder:  # pylint: disable=too-few-public-methods
    """A fitted ColumnTransformer of scalers and one-hot encoders, as plain Python per record.

    Records are complete (the schema requires every field), so imputers are left out. A
    number becomes ``(value - mean) / scale`` in float64 (the operations, in the order,
    StandardScaler does them); a category sets its one-hot slot (an unknown one sets none, as
    ``handle_unknown='ignore'`` does). For one record this is a few microseconds, where the
    same steps as ONNX operators (five OneHotEncoders over strings, three Concats, Casts) take
    about 50.
    """

    def __init__(
        self,
        numbers: list[tuple[int, str, float, float]],
        categories: list[tuple[str, dict[str, int]]],
        width: int,
    ) -> None:
        self.numbers = numbers
        self.categories = categories
        self.width = width

    def encode(self, record: Mapping) -> list[float]:
        """The transformed feature row of one record (InGamePurchases 0/1 read as No/Yes)."""
        row = [0.0] * self.width
        for position, name, mean, scale in self.numbers:
            row[position] = (record[name] - mean) / scale
        for name, slots in self.categories:
            value = record[name]
            slot = slots.get(_PURCHASES.get(value, value) if name == _PURCHASES_NAME else value)
            if slot is not None:
                row[slot] = 1.0
        return row


_PURCHASES_NAME = "InGamePurchases"
_PURCHASES = {0: "No", 1: "Yes"}


def _single_step(transformer):
    """The one step of a column transformer's part once imputers are left out (or None)."""
    # pylint: disable=import-outside-toplevel
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    steps = (
        [s for _, s in transformer.steps] if isinstance(transformer, Pipeline) else [transformer]
    )
    kept = [s for s in steps if not isinstance(s, SimpleImputer)]
    return kept[0] if len(kept) == 1 else None


def row_encoder(preprocessor) -> RowEncoder | None:
    """A :class:`RowEncoder` equal to ``preprocessor``, or None for any other shape of
    transformer (the caller then converts the whole Pipeline)."""
    # pylint: disable=import-outside-toplevel
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if not isinstance(preprocessor, ColumnTransformer):
        return None
    numbers: list[tuple[int, str, float, float]] = []
    categories: list[tuple[str, dict[str, int]]] = []
    width = 0
    for _, transformer, columns in preprocessor.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not all(isinstance(c, str) for c in columns):
            return None
        step = "passthrough" if isinstance(transformer, str) else _single_step(transformer)
        if step == "passthrough" and set(columns) <= set(NUMERIC_FEATURES):
            numbers += [(width + i, name, 0.0, 1.0) for i, name in enumerate(columns)]
            width += len(columns)
        elif isinstance(step, StandardScaler) and set(columns) <= set(NUMERIC_FEATURES):
            for i, name in enumerate(columns):
                mean = float(step.mean_[i]) if step.with_mean else 0.0
                scale = float(step.scale_[i]) if step.with_std else 1.0
                numbers.append((width + i, name, mean, scale))
            width += len(columns)
        elif (
            isinstance(step, OneHotEncoder)
            and set(columns) <= set(CATEGORICAL_FEATURES)
            and step.drop is None
            and step.handle_unknown == "ignore"
            and not getattr(step, "_infrequent_enabled", False)
        ):
            for name, known in zip(columns, step.categories_):
                categories.append((name, {str(c): width + j for j, c in enumerate(known)}))
                width += len(known)
        else:
            return None
    return RowEncoder(numbers, categories, width)


class CompactOnnxEngine:
    """The reference Pipeline's shape: the preprocessor as a :class:`RowEncoder`, the
    classifier alone as an ONNX Runtime session fed one (n, width) tensor."""

    name = ONNX

    def __init__(self, encoder: RowEncoder, onnx_bytes: bytes, dtype, classes: list[int]) -> None:
        self.encoder = encoder
        self._session = _session(onnx_bytes)
        self._input = self._session.get_inputs()[0].name
        self._output = [self._session.get_outputs()[1].name]  # probabilities
        self._dtype = dtype
        self._order = _LabelOrder(classes)
        self.size_bytes = len(onnx_bytes)

    @classmethod
    def from_model(cls, model) -> "CompactOnnxEngine | None":
        """The engine of a ``Pipeline(ColumnTransformer, classifier)`` of scalers and one-hot
        encoders; None for any other Pipeline (raises when skl2onnx cannot convert)."""
        # pylint: disable=import-outside-toplevel
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
        from sklearn.pipeline import Pipeline

        if not isinstance(model, Pipeline) or len(model.steps) != 2:
            return None
        encoder = row_encoder(model.steps[0][1])
        if encoder is None:
            return None
        classifier = model.steps[-1][1]
        single = _uses_float32(classifier)  # the trees compare float32 features
        kind = FloatTensorType if single else DoubleTensorType
        graph = convert_sklearn(
            classifier,
            initial_types=[("features", kind([None, encoder.width]))],
            target_opset=_TARGET_OPSET,
            options={id(classifier): {"zipmap": False}},
        )
        dtype = np.float32 if single else np.float64
        return cls(encoder, graph.SerializeToString(), dtype, [int(c) for c in model.classes_])

    def _run(self, rows: list[list[float]]) -> Prediction:
        features = np.array(rows, dtype=self._dtype).reshape(-1, self.encoder.width)
        return self._order(self._session.run(self._output, {self._input: features})[0])

    def predict_records(self, records) -> Prediction:
        """Predict validated records (dicts) directly: the request path."""
        return self._run([self.encoder.encode(record) for record in records])

    def predict(self, columns: Columns) -> Prediction:
        """Predict engine columns, row by row through the same encoder as requests."""
        names = list(columns)
        lists = [columns[name].tolist() for name in names]
        return self._run([self.encoder.encode(dict(zip(names, row))) for row in zip(*lists)])


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


def _compact_choice(model, reference: Engine, sample: Columns) -> EngineChoice | None:
    """The compact engine if the model has its shape and it verifies (None otherwise)."""
    try:
        candidate = CompactOnnxEngine.from_model(model)
        if candidate is None:
            return None
        check = verify(candidate, reference, sample)
    except Exception as error:  # pylint: disable=broad-exception-caught  # try the whole graph
        LOGGER.info("compact engine unavailable (%s: %s)", type(error).__name__, error)
        return None
    if not check.passed:
        LOGGER.info("compact engine failed verification: %s", check.as_dict())
        return None
    return EngineChoice(candidate, check)


def choose_engine(model, sample: Columns, fast: bool = True) -> EngineChoice:
    """ONNX Runtime when the model converts and verifies on ``sample``, else scikit-learn.

    The compact form (:class:`CompactOnnxEngine`) is tried first, then the whole Pipeline
    as one graph (:class:`OnnxEngine`)."""
    reference = SklearnEngine(model)
    if not fast:
        return EngineChoice(reference, None, "fast path disabled")
    compact = _compact_choice(model, reference, sample)
    if compact is not None:
        return compact
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
