"""Evidently reports: data quality, data drift, prediction drift, classification performance."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Mapping

import pandas as pd
from evidently.metric_preset import DataDriftPreset, DataQualityPreset
from evidently.metrics import (
    ClassificationClassBalance,
    ClassificationConfusionMatrix,
    ClassificationQualityByClass,
    ClassificationQualityMetric,
    ColumnCategoryMetric,
    ColumnDriftMetric,
)
from evidently.report import Report

from machine_learning.monitoring.columns import column_mapping, restrict
from machine_learning.monitoring.thresholds import MonitoringThresholds
from machine_learning.schema import CLASS_LABELS, ID_COLUMN, PREDICTION_COLUMN, TARGET_COLUMN

DATA_QUALITY = "data_quality"
DATA_DRIFT = "data_drift"
PREDICTION_DRIFT = "prediction_drift"
CLASSIFICATION_PERFORMANCE = "classification_performance"
REPORT_NAMES: tuple[str, ...] = (DATA_QUALITY, DATA_DRIFT, PREDICTION_DRIFT)


def _data_quality(_: MonitoringThresholds) -> list:
    return [DataQualityPreset()]


def _data_drift(thresholds: MonitoringThresholds) -> list:
    options = {"stattest": thresholds.stattest, "stattest_threshold": thresholds.stattest_threshold}
    return [
        DataDriftPreset(drift_share=thresholds.drift_share, **options),
        *(ColumnDriftMetric(column_name=column, **options) for column in thresholds.key_columns),
    ]


def _prediction_drift(thresholds: MonitoringThresholds) -> list:
    return [
        ColumnDriftMetric(
            column_name=PREDICTION_COLUMN,
            stattest=thresholds.stattest,
            stattest_threshold=thresholds.stattest_threshold,
        ),
        *(ColumnCategoryMetric(column_name=PREDICTION_COLUMN, category=c) for c in CLASS_LABELS),
    ]


_BUILDERS: dict[str, tuple[Callable[[MonitoringThresholds], list], bool]] = {
    # name -> (metrics, whether the target is mapped)
    DATA_QUALITY: (_data_quality, True),
    DATA_DRIFT: (_data_drift, False),  # same columns as the drift tests
    PREDICTION_DRIFT: (_prediction_drift, False),
}


def build_report(
    name: str,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    thresholds: MonitoringThresholds | None = None,
    timestamp: dt.datetime | None = None,
) -> Report:
    """Run one report (``data_quality``, ``data_drift``, ``prediction_drift``), tagged ``name``."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown report {name!r}; known: {', '.join(_BUILDERS)}")
    metrics, with_target = _BUILDERS[name]
    mapping = column_mapping(reference, current, with_target=with_target)
    if name == PREDICTION_DRIFT and mapping.prediction is None:
        raise ValueError(f"the prediction drift report needs a '{PREDICTION_COLUMN}' column")
    report = Report(
        metrics=metrics(thresholds or MonitoringThresholds()), timestamp=timestamp, tags=[name]
    )
    report.run(
        reference_data=restrict(reference, mapping),
        current_data=restrict(current, mapping),
        column_mapping=mapping,
    )
    return report


def build_reports(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    thresholds: MonitoringThresholds | None = None,
    timestamp: dt.datetime | None = None,
    names: tuple[str, ...] = REPORT_NAMES,
) -> dict[str, Report]:
    """The named reports of ``current`` against ``reference`` (default: all three)."""
    return {name: build_report(name, reference, current, thresholds, timestamp) for name in names}


def join_truth(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Predictions with their true ``EngagementLevel`` (inner join on PlayerID)."""
    for frame, what in ((predictions, "predictions"), (labels, "labels")):
        if ID_COLUMN not in frame.columns:
            raise ValueError(f"the {what} need a '{ID_COLUMN}' column to be joined")
    truth = labels.loc[:, [ID_COLUMN, TARGET_COLUMN]].copy()
    truth[ID_COLUMN] = pd.to_numeric(truth[ID_COLUMN], errors="coerce")
    truth = truth.dropna().drop_duplicates(ID_COLUMN, keep="last")
    left = predictions.drop(columns=[TARGET_COLUMN], errors="ignore")
    left = left.assign(**{ID_COLUMN: pd.to_numeric(left[ID_COLUMN], errors="coerce")})
    truth[ID_COLUMN] = truth[ID_COLUMN].astype(left[ID_COLUMN].dtype)
    return left.merge(truth, on=ID_COLUMN, how="inner")


def build_performance_report(
    labelled: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    timestamp: dt.datetime | None = None,
) -> Report:
    """Classification quality of predictions against the truth (both columns needed).

    Accuracy, macro precision/recall/F1, per-class quality, class balance and the confusion
    matrix; ``reference`` (labelled, with predictions) adds the same figures for comparison.
    """
    missing = [c for c in (TARGET_COLUMN, PREDICTION_COLUMN) if c not in labelled.columns]
    if missing:
        raise ValueError(f"the performance report needs columns {', '.join(missing)}")
    if labelled.empty:
        raise ValueError("the performance report needs labelled rows: none given")
    frames = (labelled,) if reference is None else (labelled, reference)
    mapping = column_mapping(*frames, with_target=True)
    report = Report(
        metrics=[
            ClassificationQualityMetric(),
            ClassificationClassBalance(),
            ClassificationConfusionMatrix(),
            ClassificationQualityByClass(),
        ],
        timestamp=timestamp,
        tags=[CLASSIFICATION_PERFORMANCE],
    )
    report.run(
        reference_data=None if reference is None else restrict(reference, mapping),
        current_data=restrict(labelled, mapping),
        column_mapping=mapping,
    )
    return report


def _metric(result: Mapping[str, Any], metric_id: str) -> Mapping[str, Any]:
    for metric in result.get("metrics", []):
        if metric.get("metric") == metric_id:
            return metric["result"]
    raise ValueError(f"report has no {metric_id} result")


def performance_summary(report_result: Mapping[str, Any]) -> dict[str, Any]:
    """accuracy, f1_macro, f1 per class and the confusion matrix from ``Report.as_dict()``."""
    quality = _metric(report_result, "ClassificationQualityMetric")["current"]
    by_class = _metric(report_result, "ClassificationQualityByClass")["current"]["metrics"]
    matrix = _metric(report_result, "ClassificationConfusionMatrix")["current_matrix"]
    labels = [str(label) for label in matrix["labels"]]
    order = [labels.index(c) for c in CLASS_LABELS if c in labels]
    values = [[int(matrix["values"][i][j]) for j in order] for i in order]
    return {
        "accuracy": float(quality["accuracy"]),
        "f1_macro": float(quality["f1"]),
        "precision_macro": float(quality["precision"]),
        "recall_macro": float(quality["recall"]),
        "f1_per_class": {c: float(by_class[c]["f1"]) for c in CLASS_LABELS if c in by_class},
        "confusion_matrix": {"labels": [labels[i] for i in order], "values": values},
        "rows": int(sum(map(sum, values))),
    }
