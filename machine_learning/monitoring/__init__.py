"""Monitoring with Evidently 0.4.23: drift tests, the retraining decision, reports, the UI.

Public API (stable names; Mage blocks and the CLI call these)::

    thresholds = MonitoringThresholds()                      # drift_share=0.3, key columns, ...
    result = run_monitoring(reference, current, thresholds, timestamp)
    result.retrain, result.reasons, result.as_dict()         # decision with its reasons
    save_monitoring_result(storage, day, result)  # reports/<day>/drift_tests.json|html
                                                  # and reports/<day>/monitoring_decision.json
    reports = build_reports(reference, current, thresholds, timestamp)
    save_reports(storage, day, reports)                      # reports/<day>/<name>.json|html
    labelled = join_truth(predictions, labels)               # once true labels arrive
    performance = build_performance_report(labelled, timestamp=week_end)
    summary = performance_summary(performance.as_dict())     # accuracy, f1_macro, per class, matrix
    save_reports(storage, day, {"classification_performance": performance})
    save_performance_summary(storage, day, summary)
    ensure_dashboard(workspace_dir)                          # project + panels, idempotent
    add_to_workspace(workspace_dir, [result.suite, *reports.values()])
    publish_to_workspace(workspace_dir, items, storage)      # pipelines: mirrored to S3 storage;
                                        # faults -> reports/<day>/workspace_problems.json, no raise

``reference`` and ``current`` are player frames in the schema (typed, e.g. the
``scored_inputs`` of :func:`machine_learning.inference.score_players`) with a ``prediction``
column; :func:`with_predictions` makes one from a raw frame and a model. ``decide`` is the pure
retraining rule on ``TestSuite.as_dict()``.

Names are imported lazily (on first use): importing the package, e.g. for the CLI's command
registration, does not pay Evidently's import time (several seconds).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what linters and type checkers see; at run time names load on first use
    from machine_learning.monitoring.columns import (
        column_mapping,
        has_predictions,
        monitoring_frame,
    )
    from machine_learning.monitoring.decision import (
        ColumnDrift,
        Decision,
        FailedTest,
        Reason,
        SuiteResultError,
        decide,
    )
    from machine_learning.monitoring.persistence import (
        DECISION_NAME,
        PERFORMANCE_METRICS_NAME,
        SUITE_NAME,
        WORKSPACE_PROBLEMS_NAME,
        save_evidently,
        save_monitoring_result,
        save_performance_summary,
        save_reports,
        save_workspace_problems,
    )
    from machine_learning.monitoring.reports import (
        CLASSIFICATION_PERFORMANCE,
        DATA_DRIFT,
        DATA_QUALITY,
        PREDICTION_DRIFT,
        REPORT_NAMES,
        build_performance_report,
        build_report,
        build_reports,
        join_truth,
        performance_summary,
    )
    from machine_learning.monitoring.scoring import with_predictions
    from machine_learning.monitoring.suites import (
        MonitoringResult,
        build_test_suite,
        run_monitoring,
        run_test_suite,
    )
    from machine_learning.monitoring.thresholds import (
        MonitoringThresholds,
        thresholds_from_settings,
    )
    from machine_learning.monitoring.workspace import (
        PROJECT_NAME,
        WorkspaceError,
        WorkspaceUpdate,
        add_to_workspace,
        dashboard_panels,
        default_workspace,
        ensure_dashboard,
        ensure_project,
        find_project,
        open_repaired,
        open_workspace,
        publish_to_workspace,
        update_workspace,
    )

_EXPORTS: dict[str, tuple[str, ...]] = {
    "columns": ("column_mapping", "has_predictions", "monitoring_frame"),
    "decision": ("ColumnDrift", "Decision", "FailedTest", "Reason", "SuiteResultError", "decide"),
    "persistence": (
        "DECISION_NAME",
        "PERFORMANCE_METRICS_NAME",
        "SUITE_NAME",
        "WORKSPACE_PROBLEMS_NAME",
        "save_evidently",
        "save_monitoring_result",
        "save_performance_summary",
        "save_reports",
        "save_workspace_problems",
    ),
    "reports": (
        "CLASSIFICATION_PERFORMANCE",
        "DATA_DRIFT",
        "DATA_QUALITY",
        "PREDICTION_DRIFT",
        "REPORT_NAMES",
        "build_performance_report",
        "build_report",
        "build_reports",
        "join_truth",
        "performance_summary",
    ),
    "scoring": ("with_predictions",),
    "suites": ("MonitoringResult", "build_test_suite", "run_monitoring", "run_test_suite"),
    "thresholds": ("MonitoringThresholds", "thresholds_from_settings"),
    "workspace": (
        "PROJECT_NAME",
        "WorkspaceError",
        "WorkspaceUpdate",
        "add_to_workspace",
        "dashboard_panels",
        "default_workspace",
        "ensure_dashboard",
        "ensure_project",
        "find_project",
        "open_repaired",
        "open_workspace",
        "publish_to_workspace",
        "update_workspace",
    ),
}
_MODULE_OF: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "CLASSIFICATION_PERFORMANCE",
    "DATA_DRIFT",
    "DATA_QUALITY",
    "DECISION_NAME",
    "PERFORMANCE_METRICS_NAME",
    "PREDICTION_DRIFT",
    "PROJECT_NAME",
    "REPORT_NAMES",
    "SUITE_NAME",
    "WORKSPACE_PROBLEMS_NAME",
    "ColumnDrift",
    "Decision",
    "FailedTest",
    "MonitoringResult",
    "MonitoringThresholds",
    "Reason",
    "SuiteResultError",
    "WorkspaceError",
    "WorkspaceUpdate",
    "add_to_workspace",
    "build_performance_report",
    "build_report",
    "build_reports",
    "build_test_suite",
    "column_mapping",
    "dashboard_panels",
    "decide",
    "default_workspace",
    "ensure_dashboard",
    "ensure_project",
    "find_project",
    "has_predictions",
    "join_truth",
    "monitoring_frame",
    "open_repaired",
    "open_workspace",
    "performance_summary",
    "publish_to_workspace",
    "run_monitoring",
    "run_test_suite",
    "save_evidently",
    "save_monitoring_result",
    "save_performance_summary",
    "save_reports",
    "save_workspace_problems",
    "thresholds_from_settings",
    "update_workspace",
    "with_predictions",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
