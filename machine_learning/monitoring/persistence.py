"""Save monitoring results to storage: JSON for machines, HTML for people.

Keys (see :mod:`machine_learning.layout`)::

    reports/<day>/drift_tests.json|.html        the drift test suite
    reports/<day>/monitoring_decision.json      the retraining decision with its reasons
    reports/<day>/<report>.json|.html           data_quality, data_drift, prediction_drift, ...
    reports/<day>/classification_metrics.json   accuracy, macro F1, per-class F1, confusion matrix
    reports/<day>/workspace_problems.json       Evidently workspace faults met that day (if any)
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping

from evidently.report import Report
from evidently.test_suite import TestSuite

from machine_learning import layout
from machine_learning.monitoring.suites import MonitoringResult
from machine_learning.storage import Storage, write_json

SUITE_NAME = "drift_tests"
DECISION_NAME = "monitoring_decision"
PERFORMANCE_METRICS_NAME = "classification_metrics"
WORKSPACE_PROBLEMS_NAME = "workspace_problems"


def _dumps(payload: Any) -> str:
    return json.dumps(payload, indent=2, default=str)


def save_evidently(
    storage: Storage,
    day: dt.date | str,
    name: str,
    item: Report | TestSuite,
    html: bool = True,
) -> dict[str, str]:
    """Save a report or suite as ``<name>.json`` (and ``<name>.html``); returns ext -> URI."""
    uris = {"json": write_json(storage, layout.report(day, name, "json"), item.json())}
    if html:
        key = layout.report(day, name, "html")
        storage.write_bytes(key, item.get_html().encode("utf-8"))
        uris["html"] = storage.uri(key)
    return uris


def save_monitoring_result(
    storage: Storage, day: dt.date | str, result: MonitoringResult, html: bool = True
) -> dict[str, str]:
    """Save the suite (JSON, HTML) and the decision (JSON); returns name -> URI."""
    suite = save_evidently(storage, day, SUITE_NAME, result.suite, html)
    decision_key = layout.report(day, DECISION_NAME, "json")
    uris = {f"{SUITE_NAME}.{ext}": uri for ext, uri in suite.items()}
    uris[f"{DECISION_NAME}.json"] = write_json(storage, decision_key, _dumps(result.as_dict()))
    return uris


def save_reports(
    storage: Storage, day: dt.date | str, reports: Mapping[str, Report], html: bool = True
) -> dict[str, str]:
    """Save each report as ``<name>.json`` and ``<name>.html``; returns name.ext -> URI."""
    uris: dict[str, str] = {}
    for name, report in reports.items():
        for ext, uri in save_evidently(storage, day, name, report, html).items():
            uris[f"{name}.{ext}"] = uri
    return uris


def save_performance_summary(
    storage: Storage, day: dt.date | str, summary: Mapping[str, Any]
) -> dict[str, str]:
    """Save the classification metrics summary as JSON; returns name -> URI."""
    key = layout.report(day, PERFORMANCE_METRICS_NAME, "json")
    return {f"{PERFORMANCE_METRICS_NAME}.json": write_json(storage, key, _dumps(dict(summary)))}


def save_workspace_problems(
    storage: Storage, day: dt.date | str, incident: Mapping[str, Any]
) -> str:
    """Append one incident (what the workspace update did, its problems) to the day's
    ``workspace_problems.json`` (a list, oldest first); returns its URI."""
    key = layout.report(day, WORKSPACE_PROBLEMS_NAME, "json")
    incidents: list[Any] = []
    if storage.exists(key):
        try:
            previous = json.loads(storage.read_bytes(key))
            incidents = previous if isinstance(previous, list) else [previous]
        except ValueError:
            incidents = []  # an unreadable record is replaced rather than blocking this one
    recorded = {"recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(), **dict(incident)}
    return write_json(storage, key, _dumps([*incidents, recorded]))
