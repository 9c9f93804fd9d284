"""The retraining decision: a pure function of a drift test suite's result (``suite.as_dict()``).

Retrain when (1) the share of drifted columns is above ``drift_share``, (2) the prediction
drifted, or (3) a key column (AvgSessionDurationMinutes, SessionsPerWeek) drifted. Other failed
tests (e.g. a few out-of-range values) are reported but do not retrain.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from machine_learning.monitoring.thresholds import MonitoringThresholds
from machine_learning.schema import PREDICTION_COLUMN

SHARE_TEST = "Share of Drifted Columns"
COLUMN_DRIFT_TEST = "Drift per Column"
FAILED_STATUSES = ("FAIL", "ERROR")

_BOLD = re.compile(r"\*\*(.+?)\*\*")

RULE_SHARE = "share_of_drifted_columns"
RULE_PREDICTION = "prediction_drift"
RULE_KEY_COLUMN = "key_column_drift"


class SuiteResultError(ValueError):
    """A suite result without the drift tests the rule needs."""


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift test: statistic, score, threshold, detected."""

    column: str
    statistic: str
    score: float
    threshold: float
    detected: bool


@dataclass(frozen=True)
class Reason:
    """Why to retrain: the rule that fired, the column (if any), the statistic and its value."""

    rule: str
    column: str | None
    statistic: str
    value: float
    threshold: float
    message: str


@dataclass(frozen=True)
class FailedTest:
    """A failed (or errored) test of the suite, whatever the decision."""

    name: str
    status: str
    description: str
    column: str | None = None


@dataclass(frozen=True)
class Decision:  # pylint: disable=too-many-instance-attributes
    """Whether to retrain, why, and the drift figures it was based on."""

    retrain: bool
    reasons: tuple[Reason, ...]
    share_of_drifted_columns: float
    drifted_columns: tuple[str, ...]
    columns: tuple[ColumnDrift, ...] = ()
    failed_tests: tuple[FailedTest, ...] = ()
    tests_total: int = 0
    tests_failed: int = 0
    thresholds: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: retrain, reasons, share_of_drifted_columns, drifted_columns, details."""
        payload = asdict(self)
        payload["reasons"] = [asdict(r) for r in self.reasons]
        payload["drifted_columns"] = list(self.drifted_columns)
        payload["columns"] = {
            c.column: {k: v for k, v in asdict(c).items() if k != "column"} for c in self.columns
        }
        payload["failed_tests"] = [asdict(t) for t in self.failed_tests]
        return payload


def _tests(suite_result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tests = suite_result.get("tests")
    if not isinstance(tests, list):
        raise SuiteResultError("suite result has no 'tests' list (pass TestSuite.as_dict())")
    return tests


def _column_drift(column: str, stats: Mapping[str, Any]) -> ColumnDrift:
    return ColumnDrift(
        column=column,
        statistic=str(stats.get("stattest", "")),
        score=float(stats.get("score", float("nan"))),
        threshold=float(stats.get("threshold", float("nan"))),
        detected=bool(stats.get("detected", False)),
    )


def column_drifts(suite_result: Mapping[str, Any]) -> dict[str, ColumnDrift]:
    """Per-column drift from 'Share of Drifted Columns' and every 'Drift per Column' test."""
    tests = _tests(suite_result)
    share = [t for t in tests if t.get("name") == SHARE_TEST]
    if not share or not isinstance((share[0].get("parameters") or {}).get("features"), Mapping):
        status = share[0].get("status") if share else "missing"
        raise SuiteResultError(f"suite result has no usable '{SHARE_TEST}' test (status: {status})")
    drifts = {
        column: _column_drift(column, stats)
        for column, stats in share[0]["parameters"]["features"].items()
    }
    for test in tests:
        parameters = test.get("parameters") or {}
        if test.get("name") == COLUMN_DRIFT_TEST and "column_name" in parameters:
            drifts[parameters["column_name"]] = _column_drift(parameters["column_name"], parameters)
    return drifts


def _share_columns(suite_result: Mapping[str, Any]) -> list[str]:
    share = next(t for t in _tests(suite_result) if t.get("name") == SHARE_TEST)
    return list(share["parameters"]["features"])


def _test_column(test: Mapping[str, Any]) -> str | None:
    """The tested column: ``parameters.column_name``, else the first **bold** name of the text."""
    column = (test.get("parameters") or {}).get("column_name")
    if column is None:
        found = _BOLD.search(str(test.get("description", "")))
        column = found.group(1) if found else None
    return column


def failed_tests(suite_result: Mapping[str, Any]) -> list[FailedTest]:
    """Every test whose status is FAIL or ERROR."""
    return [
        FailedTest(
            name=str(t.get("name", "")),
            status=str(t.get("status", "")),
            description=str(t.get("description", "")),
            column=_test_column(t),
        )
        for t in _tests(suite_result)
        if t.get("status") in FAILED_STATUSES
    ]


def _reason(rule: str, drift: ColumnDrift, subject: str) -> Reason:
    return Reason(
        rule=rule,
        column=drift.column,
        statistic=drift.statistic,
        value=drift.score,
        threshold=drift.threshold,
        message=f"{subject} drifted ({drift.statistic} {drift.score:.3g}, "
        f"threshold {drift.threshold:.3g})",
    )


def decide(
    suite_result: Mapping[str, Any], thresholds: MonitoringThresholds | None = None
) -> Decision:
    """The retraining decision with its reasons, from ``TestSuite.as_dict()`` (pure)."""
    thresholds = thresholds or MonitoringThresholds()
    drifts = column_drifts(suite_result)
    share_columns = _share_columns(suite_result)
    drifted = [c for c in share_columns if drifts[c].detected]
    share = len(drifted) / len(share_columns) if share_columns else 0.0
    reasons: list[Reason] = []
    if share > thresholds.drift_share:
        reasons.append(
            Reason(
                rule=RULE_SHARE,
                column=None,
                statistic="share of drifted columns",
                value=share,
                threshold=thresholds.drift_share,
                message=f"{len(drifted)} of {len(share_columns)} columns drifted "
                f"(share {share:.3f} > {thresholds.drift_share})",
            )
        )
    prediction = drifts.get(PREDICTION_COLUMN)
    if thresholds.retrain_on_prediction_drift and prediction is not None and prediction.detected:
        reasons.append(
            _reason(RULE_PREDICTION, prediction, f"the prediction ({PREDICTION_COLUMN})")
        )
    for column in thresholds.key_columns:
        if column in drifts and drifts[column].detected:
            reasons.append(_reason(RULE_KEY_COLUMN, drifts[column], f"key column {column}"))
    failures = failed_tests(suite_result)
    return Decision(
        retrain=bool(reasons),
        reasons=tuple(reasons),
        share_of_drifted_columns=share,
        drifted_columns=tuple(drifted),
        columns=tuple(drifts.values()),
        failed_tests=tuple(failures),
        tests_total=len(_tests(suite_result)),
        tests_failed=len(failures),
        thresholds=asdict(thresholds),
    )
