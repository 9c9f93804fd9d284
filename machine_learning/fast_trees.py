"""Exact, vectorised prediction of fitted gradient-boosted trees (bit-identical to scikit-learn).

scikit-learn walks every tree for every row, one branch at a time: about 9 microseconds per
row for the reference model (150 stages x 3 classes of depth-4 trees), most of it spent on
mispredicted branches. Here the trees are compiled into bit tables (the QuickScorer idea): the
leaves of a tree are numbered from left to right, and a split whose test sends a row to the
right removes the leaves of its left subtree from that row's mask; the exit leaf is the lowest
bit left. Whether a split sends a row right depends only on the interval of that feature's
split values that the row's value falls in (its bin), so for every feature and bin the masks of
all trees are computed once, and a row's masks are the AND of one table row per feature.

The result is bit-identical to scikit-learn, not merely close: the same comparisons (float32
inputs for GradientBoostingClassifier, float64 for HistGradientBoostingClassifier, the same
rules for missing values and categories), the same leaf values added in the same order, and
the model's own loss turning the sums into probabilities. :func:`compile_pipeline` verifies
this on a sample and returns None when it does not hold or the model is of another kind;
callers then predict with the scikit-learn model itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.utils import check_array

LOGGER = logging.getLogger(__name__)

BLOCK_ROWS = 1024  # rows evaluated together: the masks of a block stay in the CPU caches
MAX_LEAVES = 32  # masks are at most 32 bits wide
GROUP_BINS = 1024  # features with few bins share one table (the product of their bins)
_CATEGORIES = 256  # HistGradientBoosting reads a category as a uint8
_NAN_BIN, _NEGATIVE_BIN = _CATEGORIES, _CATEGORIES + 1
_LOWEST_BIT = np.zeros(1 << 16, dtype=np.uint8)  # index of the lowest set bit of 16 bits
for _value in range(1, 1 << 16):
    _LOWEST_BIT[_value] = (_value & -_value).bit_length() - 1


class UnsupportedModel(ValueError):
    """A model these tables cannot reproduce exactly."""


class UnsupportedInput(ValueError):
    """A value the tables cannot place (the caller predicts that block with scikit-learn)."""


@dataclass(frozen=True)
class Split:
    """One internal node of one tree."""

    tree: int
    feature: int
    left_leaves: int  # bit mask of the leaves in its left subtree
    threshold: float = np.nan  # numeric split: left when value <= threshold
    missing_left: bool = False  # where NaN goes (and, for categories, unknown values)
    left_categories: np.ndarray | None = None  # categorical split: bool[256], True = left
    known_categories: np.ndarray | None = None  # categorical split: bool[256]


@dataclass(frozen=True)
class Tree:
    """A tree as node arrays (a leaf has ``left == -1``), adding to raw-score column ``target``."""

    left: np.ndarray
    right: np.ndarray
    values: np.ndarray  # per node; leaves' values are what the tree adds
    target: int


def leaf_layout(tree: Tree) -> tuple[list[int], dict[int, int]]:
    """The leaves from left to right, and the left-subtree leaf mask of every internal node."""
    order: list[int] = []
    masks: dict[int, int] = {}

    def walk(node: int) -> tuple[int, int]:
        if tree.left[node] == -1:
            order.append(node)
            return len(order) - 1, len(order)
        low, middle = walk(int(tree.left[node]))
        _, high = walk(int(tree.right[node]))
        masks[node] = ((1 << middle) - 1) ^ ((1 << low) - 1)
        return low, high

    walk(0)
    return order, masks


class FeatureBins:
    """How one feature's values fall into bins: between split values, or one bin per category."""

    def __init__(self, feature: int, thresholds: np.ndarray | None) -> None:
        self.feature = feature
        self.thresholds = thresholds  # None: a categorical feature
        self.size = _CATEGORIES + 2 if thresholds is None else len(thresholds) + 2

    def of(self, values: np.ndarray) -> np.ndarray:
        """The bin of each value (NaN has its own bin)."""
        missing = np.isnan(values)
        if self.thresholds is not None:
            bins = np.searchsorted(self.thresholds, values, side="left")
            bins[missing] = len(self.thresholds) + 1
            return bins
        negative = values < 0
        usable = ~missing & ~negative
        if np.any(values[usable] >= _CATEGORIES):
            raise UnsupportedInput(f"feature {self.feature}: a category code above 255")
        bins = np.where(usable, values, 0).astype(np.intp)  # truncation, as a uint8 cast
        bins[missing] = _NAN_BIN
        bins[negative] = _NEGATIVE_BIN
        return bins

    def right_bins(self, split: Split) -> np.ndarray:
        """Bool per bin: the split sends values of that bin to the right."""
        right = np.zeros(self.size, dtype=bool)
        if self.thresholds is not None:
            at = int(np.searchsorted(self.thresholds, split.threshold))
            right[at + 1 : len(self.thresholds) + 1] = True
            right[len(self.thresholds) + 1] = not split.missing_left
            return right
        right[:_CATEGORIES] = ~split.left_categories & (
            split.known_categories | (not split.missing_left)
        )
        right[[_NAN_BIN, _NEGATIVE_BIN]] = not split.missing_left
        return right


@dataclass
class _Group:
    """Features that share one table: row index = sum of (bin class x stride)."""

    bins: list[FeatureBins]
    classes: list[np.ndarray]  # per feature: bin -> class
    strides: list[int]
    table: np.ndarray  # (product of class counts, trees)
    _single: tuple | None = None  # one-split features, indexed all at once

    def _one_split_features(self) -> tuple:
        """(positions, features, thresholds, classes (k, 3), strides) of one-split features."""
        if self._single is None:
            chosen = [
                i
                for i, bins in enumerate(self.bins)
                if bins.thresholds is not None and len(bins.thresholds) == 1
            ]
            self._single = (
                set(chosen),
                np.array([self.bins[i].feature for i in chosen], dtype=np.intp),
                np.array([self.bins[i].thresholds[0] for i in chosen]),
                np.array([self.classes[i] for i in chosen], dtype=np.intp).reshape(-1, 3),
                np.array([self.strides[i] for i in chosen], dtype=np.intp),
            )
        return self._single

    def masks(self, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The (rows, trees) masks of this group for a block of rows, written to ``out``."""
        positions, features, thresholds, classes, strides = self._one_split_features()
        index = np.zeros(len(rows), dtype=np.intp)
        if len(features):  # bin 0: value <= split, 1: above, 2: NaN
            values = rows[:, features]
            bins = (values > thresholds).astype(np.intp)
            bins[np.isnan(values)] = 2
            index += classes[np.arange(len(features)), bins] @ strides
        for position, (bins, classes_of, stride) in enumerate(
            zip(self.bins, self.classes, self.strides)
        ):
            if position not in positions:
                index += classes_of[bins.of(rows[:, bins.feature])] * stride
        return np.take(self.table, index, axis=0, out=out, mode="clip")


def _mask_type(trees: Sequence[Tree]) -> type:
    leaves = max(int(np.sum(tree.left == -1)) for tree in trees)
    if leaves > MAX_LEAVES:
        raise UnsupportedModel(f"a tree has {leaves} leaves (at most {MAX_LEAVES} supported)")
    return np.uint8 if leaves <= 8 else np.uint16 if leaves <= 16 else np.uint32


def _feature_tables(
    splits: Sequence[Split], trees: int, mask_type: type
) -> list[tuple[FeatureBins, np.ndarray]]:
    """Per feature: its bins and the (bins, trees) table of masks."""
    by_feature: dict[int, list[Split]] = {}
    for split in splits:
        by_feature.setdefault(split.feature, []).append(split)
    tables = []
    full = np.iinfo(mask_type).max
    for feature, feature_splits in sorted(by_feature.items()):
        categorical = feature_splits[0].left_categories is not None
        thresholds = None if categorical else np.unique([s.threshold for s in feature_splits])
        bins = FeatureBins(feature, thresholds)
        table = np.full((bins.size, trees), full, dtype=mask_type)
        for split in feature_splits:
            keep = mask_type(full ^ split.left_leaves)
            right = bins.right_bins(split)
            table[right, split.tree] &= keep
        tables.append((bins, table))
    return tables


def _groups(tables: list[tuple[FeatureBins, np.ndarray]]) -> list[_Group]:
    """Merge bins with identical masks, then let features with few bins share a table."""
    reduced = []
    for bins, table in tables:
        rows, classes = np.unique(table, axis=0, return_inverse=True)
        reduced.append((bins, classes.reshape(-1).astype(np.intp), rows))
    reduced.sort(key=lambda item: len(item[2]))
    groups: list[_Group] = []
    for bins, classes, rows in reduced:
        last = groups[-1] if groups else None
        if last is not None and len(last.table) * len(rows) <= GROUP_BINS:
            last.strides = [stride * len(rows) for stride in last.strides]
            last.bins.append(bins)
            last.classes.append(classes)
            last.strides.append(1)
            combined = last.table[:, None, :] & rows[None, :, :]
            last.table = combined.reshape(-1, rows.shape[1])
        else:
            groups.append(_Group([bins], [classes], [1], rows))
    return groups


@dataclass(frozen=True)
class Ensemble:
    """What a classifier computes: its trees, their starting scores and its probabilities."""

    trees: list[Tree]  # in the order the classifier adds them
    splits_of: Callable[[int, dict[int, int]], list[Split]]  # tree index, node -> leaf mask
    initial: np.ndarray  # (targets,): the raw score every row starts from
    prepare: Callable[[Any], np.ndarray]  # preprocessed features -> the values trees compare
    probabilities: Callable[[np.ndarray], np.ndarray]  # raw scores -> class probabilities


def _constant_tree(value: float, target: int) -> Tree:
    """A one-leaf tree: the starting score, added first, like every other tree."""
    return Tree(np.array([-1]), np.array([-1]), np.array([value], dtype=np.float64), target)


@dataclass(frozen=True)
class _Buffers:
    """Work arrays of one block size."""

    masks: np.ndarray
    part: np.ndarray
    leaves: np.ndarray
    index: np.ndarray  # (trees, rows)
    added: np.ndarray  # (trees, rows)

    @classmethod
    def of(cls, rows: int, trees: int, mask_type: type) -> "_Buffers":
        """Buffers for blocks of up to ``rows`` rows."""
        shape = (rows, trees)
        return cls(
            np.empty(shape, dtype=mask_type),
            np.empty(shape, dtype=mask_type),
            np.empty(shape, dtype=np.uint8),
            np.empty(shape[::-1], dtype=np.intp),
            np.empty(shape[::-1], dtype=np.float64),
        )


class CompiledTrees:
    """An ensemble's raw scores and probabilities from bit tables."""

    def __init__(self, ensemble: Ensemble) -> None:
        self._prepare, self._probabilities = ensemble.prepare, ensemble.probabilities
        targets = len(ensemble.initial)
        # Per target: its starting score, then its trees in the classifier's order; a running
        # sum along a row then adds exactly as scikit-learn does.
        order = [(t, -1, _constant_tree(v, t)) for t, v in enumerate(ensemble.initial)]
        order += [(tree.target, i, tree) for i, tree in enumerate(ensemble.trees)]
        order.sort(key=lambda item: (item[0], item[1]))
        trees = [tree for _, _, tree in order]
        mask_type = _mask_type(trees)
        splits, leaf_values = [], []
        for column, (_, source, tree) in enumerate(order):
            leaves, masks = leaf_layout(tree)
            if source >= 0:
                splits.extend(replace(s, tree=column) for s in ensemble.splits_of(source, masks))
            leaf_values.append(np.asarray(tree.values, dtype=np.float64)[leaves])
        self._groups = _groups(_feature_tables(splits, len(trees), mask_type))
        width = max(len(values) for values in leaf_values)
        self._values = np.zeros((len(trees), width), dtype=np.float64)
        for column, values in enumerate(leaf_values):
            self._values[column, : len(values)] = values
        self._offsets = np.arange(len(trees), dtype=np.intp) * width
        bounds = np.searchsorted([target for target, _, _ in order], np.arange(targets + 1))
        self._slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        self._mask_type = mask_type

    def _lowest_bits(self, masks: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self._mask_type != np.uint32:
            return np.take(_LOWEST_BIT, masks, out=out, mode="clip")
        low = (masks & 0xFFFF).astype(np.uint16)
        high = (masks >> 16).astype(np.uint16)
        out[...] = np.where(low != 0, _LOWEST_BIT[low], _LOWEST_BIT[high] + 16)
        return out

    def _block_scores(self, rows: np.ndarray, buffers: _Buffers) -> np.ndarray:
        """Raw scores of a block; the buffers are reused from block to block (no page faults)."""
        size = len(rows)
        masks, part = buffers.masks[:size], buffers.part[:size]
        masks.fill(np.iinfo(masks.dtype).max)
        for group in self._groups:
            np.bitwise_and(masks, group.masks(rows, part), out=masks)
        leaves = self._lowest_bits(masks, buffers.leaves[:size])
        # Trees along the first axis from here: one vectorised add per tree over all rows.
        index = np.add(leaves.T, self._offsets[:, None], out=buffers.index[:, :size])
        added = np.take(self._values, index, out=buffers.added[:, :size], mode="clip")
        scores = np.empty((size, len(self._slices)), dtype=np.float64)
        for target, trees in enumerate(self._slices):
            # Reducing over the slow axis adds row after row, left to right (NumPy sums
            # pairwise only along the fast axis, hence blocks of at least two rows).
            scores[:, target] = np.add.reduce(added[trees], axis=0)
        return scores

    def raw_scores(self, features: Any, block_rows: int = BLOCK_ROWS) -> np.ndarray:
        """The raw scores (rows, targets) of preprocessed features."""
        rows = np.asarray(self._prepare(features), dtype=np.float64)
        if rows.shape[0] == 0:
            return np.empty((0, len(self._slices)), dtype=np.float64)
        if len(rows) == 1:  # blocks of at least two rows (see _block_scores)
            return self.raw_scores(np.repeat(rows, 2, axis=0), block_rows)[:1]
        block_rows = max(block_rows, 2)
        buffers = _Buffers.of(min(block_rows, len(rows)), len(self._values), self._mask_type)
        starts = list(range(0, len(rows), block_rows))
        if len(rows) - starts[-1] == 1:  # no block of one row: the last two share a row
            starts[-1] -= 1
        ends = starts[1:] + [len(rows)]
        return np.concatenate(
            [self._block_scores(rows[a:b], buffers) for a, b in zip(starts, ends)]
        )

    def predict_proba(self, features: Any) -> np.ndarray:
        """Class probabilities of preprocessed features, as the classifier's predict_proba."""
        scores = self.raw_scores(features)
        return self._probabilities(scores.ravel() if scores.shape[1] == 1 else scores)


def _dense(features: Any, dtype: type | None = None) -> np.ndarray:
    if hasattr(features, "toarray"):
        features = features.toarray()
    return np.ascontiguousarray(features, dtype=dtype)


def _gradient_boosting(classifier) -> Ensemble:
    """GradientBoostingClassifier: float32 inputs, ``x <= threshold``, NaN goes right."""
    # pylint: disable=import-outside-toplevel,protected-access
    from sklearn.dummy import DummyClassifier

    if not (classifier.init_ == "zero" or isinstance(classifier.init_, DummyClassifier)):
        raise UnsupportedModel("an init estimator whose scores depend on the row")
    rate = float(classifier.learning_rate)
    sources = [
        (target, estimator.tree_)
        for stage in classifier.estimators_
        for target, estimator in enumerate(stage)
    ]
    trees = [
        Tree(tree.children_left, tree.children_right, rate * tree.value[:, 0, 0], target)
        for target, tree in sources
    ]

    def splits_of(index: int, masks: dict[int, int]) -> list[Split]:
        tree = sources[index][1]
        return [
            Split(index, int(tree.feature[node]), bits, float(tree.threshold[node]))
            for node, bits in masks.items()
        ]

    one_row = np.zeros((1, classifier.n_features_in_), dtype=np.float32)
    return Ensemble(
        trees,
        splits_of,
        np.asarray(classifier._raw_predict_init(one_row), dtype=np.float64)[0],
        lambda features: _dense(check_array(features, dtype=np.float32, accept_sparse="csr")),
        classifier._loss.predict_proba,
    )


def _categories(words: np.ndarray) -> np.ndarray:
    """A HistGradientBoosting bitset (8 x uint32) as bool[256]."""
    bits = (words.astype(np.uint64)[:, None] >> np.arange(32, dtype=np.uint64)) & 1
    return bits.reshape(_CATEGORIES).astype(bool)


def _hist_gradient_boosting(classifier) -> Ensemble:
    """HistGradientBoostingClassifier: float64 inputs, missing values and categories per node."""
    # pylint: disable=protected-access
    known, feature_map = classifier._bin_mapper.make_known_categories_bitsets()
    sources, trees = [], []
    for iteration in classifier._predictors:
        for target, predictor in enumerate(iteration):
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, -1, nodes["left"]).astype(np.intp)
            right = np.where(leaf, -1, nodes["right"]).astype(np.intp)
            trees.append(Tree(left, right, nodes["value"], target))
            sources.append(predictor)

    def split(index: int, node: int, bits: int) -> Split:
        predictor = sources[index]
        record = predictor.nodes[node]
        feature, missing_left = int(record["feature_idx"]), bool(record["missing_go_to_left"])
        if not record["is_categorical"]:
            return Split(index, feature, bits, float(record["num_threshold"]), missing_left)
        return Split(
            index,
            feature,
            bits,
            missing_left=missing_left,
            left_categories=_categories(predictor.raw_left_cat_bitsets[record["bitset_idx"]]),
            known_categories=_categories(known[feature_map[feature]]),
        )

    def prepare(features: Any) -> np.ndarray:
        if classifier._preprocessor is not None:  # categories re-coded, columns reordered
            return classifier._preprocessor.transform(_dense(features, np.float64))
        return _dense(features, np.float64)

    baseline = np.asarray(classifier._baseline_prediction, dtype=np.float64).reshape(-1)
    return Ensemble(
        trees,
        lambda index, masks: [split(index, node, bits) for node, bits in masks.items()],
        np.zeros_like(baseline) + baseline,
        prepare,
        classifier._loss.predict_proba,
    )


def compile_classifier(classifier) -> CompiledTrees:
    """Bit tables of a fitted gradient-boosting classifier (:class:`UnsupportedModel` otherwise)."""
    # pylint: disable=import-outside-toplevel
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

    if isinstance(classifier, GradientBoostingClassifier):
        return CompiledTrees(_gradient_boosting(classifier))
    if isinstance(classifier, HistGradientBoostingClassifier):
        return CompiledTrees(_hist_gradient_boosting(classifier))
    raise UnsupportedModel(f"{type(classifier).__name__} is not a gradient-boosting classifier")


def _once_per_distinct_row(step, part: pd.DataFrame) -> np.ndarray:
    """``step.transform(part)``, computed on the distinct rows of ``part`` only (a fitted
    encoder's output for a row depends on that row alone; categories have few combinations)."""
    key = np.zeros(len(part), dtype=np.int64)
    for column in part.columns:
        codes, uniques = pd.factorize(part[column])  # NaN: -1
        key = key * (len(uniques) + 1) + (codes + 1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    values = step.transform(part.iloc[first])
    if hasattr(values, "toarray"):
        values = values.toarray()
    return np.asarray(values)[inverse.reshape(-1)]


class FastColumns:
    """A fitted ColumnTransformer's transform (dense output), with the transformers that read
    only ``repeated`` columns applied once per distinct combination of their values."""

    def __init__(self, transformer, repeated: Sequence[str]) -> None:
        if transformer.sparse_output_:
            raise UnsupportedModel("a sparse preprocessor output")
        self._parts = []
        for name, step, columns in transformer.transformers_:
            where = transformer.output_indices_[name]
            if where.stop == where.start or (isinstance(step, str) and step == "drop"):
                continue
            step = None if isinstance(step, str) else step  # "passthrough"
            few = step is not None and set(columns) <= set(repeated)
            self._parts.append((step, list(columns), where, few))
        self._width = max((where.stop for _, _, where, _ in self._parts), default=0)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """As the ColumnTransformer's transform of ``frame``."""
        out = np.empty((len(frame), self._width), dtype=np.float64)
        for step, columns, where, few in self._parts:
            part = frame[columns]
            if few:
                values = _once_per_distinct_row(step, part)
            else:
                values = part if step is None else step.transform(part)
                values = values.toarray() if hasattr(values, "toarray") else np.asarray(values)
            out[:, where] = values
        return out


def _preprocessing(pipeline, repeated: Sequence[str]) -> Callable[[pd.DataFrame], Any]:
    """The pipeline's steps before the classifier, as one function."""
    # pylint: disable-next=import-outside-toplevel
    from sklearn.compose import ColumnTransformer

    steps = pipeline[:-1]
    if len(steps) == 1 and isinstance(steps[0], ColumnTransformer) and repeated:
        return FastColumns(steps[0], repeated).transform
    return steps.transform


class CompiledPipeline:
    """A fitted Pipeline whose final classifier predicts from bit tables (same ``classes_``).

    ``repeated``: input columns with few distinct values (categories), whose encoders then run
    once per distinct combination instead of once per row.
    """

    def __init__(self, pipeline, trees: CompiledTrees, repeated: Sequence[str] = ()) -> None:
        self.pipeline = pipeline
        self.trees = trees
        self.classes_ = pipeline.classes_
        self._preprocess = _preprocessing(pipeline, repeated)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """As ``pipeline.predict_proba(frame)``, bit for bit."""
        features = self._preprocess(frame)
        try:
            return self.trees.predict_proba(features)
        except UnsupportedInput:
            return self.pipeline[-1].predict_proba(features)


def compile_pipeline(
    model, sample: pd.DataFrame, repeated: Sequence[str] = ()
) -> CompiledPipeline | None:
    """``model`` (a fitted Pipeline ending in a gradient-boosting classifier) compiled, or None
    when it is another kind of model or its predictions on ``sample`` differ in any bit."""
    try:
        compiled = CompiledPipeline(model, compile_classifier(model[-1]), repeated)
        matches = np.array_equal(compiled.predict_proba(sample), model.predict_proba(sample))
    except (UnsupportedModel, AttributeError, KeyError, TypeError, IndexError, ValueError) as error:
        LOGGER.info("predicting with scikit-learn itself: %s", error)
        return None
    if not matches:
        LOGGER.warning("compiled trees differ from scikit-learn on the sample: not used")
        return None
    return compiled
