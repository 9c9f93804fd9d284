"""Drift test suite (data drift + no-target performance) and the monitoring step built on it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from evidently.test_preset import DataDriftTestPreset, NoTargetPerformanceTestPreset
from evidently.test_suite import TestSuite

from machine_learning.monitoring.columns import column_mapping, restrict
from machine_learning.monitoring.decision import Decision, Reason, decide
from machine_learning.monitoring.thresholds import MonitoringThresholds

SUITE_TAG = "drift_tests"


def _stattest_options(thresholds: MonitoringThresholds) -> dict[str, Any]:
    return {"stattest": thresholds.stattest, "stattest_threshold": thresholds.stattest_threshold}


def build_test_suite(
    thresholds: MonitoringThresholds | None = None, timestamp: dt.datetime | None = None
) -> TestSuite:
    """An unrun suite: DataDriftTestPreset + NoTargetPerformanceTestPreset."""
    thresholds = thresholds or MonitoringThresholds()
    options = _stattest_options(thresholds)
    return TestSuite(
        tests=[
            DataDriftTestPreset(drift_share=thresholds.drift_share, **options),
            NoTargetPerformanceTestPreset(drift_share=thresholds.drift_share, **options),
        ],
        timestamp=timestamp,
        tags=[SUITE_TAG],
    )


def run_test_suite(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    thresholds: MonitoringThresholds | None = None,
    timestamp: dt.datetime | None = None,
) -> TestSuite:
    """Run the drift suite on ``reference`` vs ``current`` (the target is left out)."""
    _check_frames(reference, current)
    mapping = column_mapping(reference, current, with_target=False)
    suite = build_test_suite(thresholds, timestamp)
    suite.run(
        reference_data=restrict(reference, mapping),
        current_data=restrict(current, mapping),
        column_mapping=mapping,
    )
    return suite


def _check_frames(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    if reference.empty or current.empty:
        empty = "reference" if reference.empty else "current"
        raise ValueError(f"monitoring needs rows: the {empty} data is empty")


@dataclass(frozen=True)
class MonitoringResult:
    """The drift suite that ran, the decision taken from it, and the row counts."""

    suite: TestSuite
    decision: Decision
    reference_rows: int
    current_rows: int
    timestamp: dt.datetime

    @property
    def retrain(self) -> bool:
        """Whether the rule says to retrain."""
        return self.decision.retrain

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Why (empty when no retraining)."""
        return self.decision.reasons

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the decision's keys plus row counts and the timestamp."""
        return {
            **self.decision.as_dict(),
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "timestamp": self.timestamp.isoformat(),
        }


def run_monitoring(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    thresholds: MonitoringThresholds | None = None,
    timestamp: dt.datetime | None = None,
) -> MonitoringResult:
    """Run the drift suite and decide about retraining (without ``prediction`` columns the
    prediction drift is not tested)."""
    thresholds = thresholds or MonitoringThresholds()
    suite = run_test_suite(reference, current, thresholds, timestamp)
    return MonitoringResult(
        suite=suite,
        decision=decide(suite.as_dict(), thresholds),
        reference_rows=len(reference),
        current_rows=len(current),
        timestamp=suite.timestamp,
    )
