"""`gaming-mlops monitor` and `gaming-mlops report`: drift tests with the retraining decision,
and Evidently reports, saved to storage and added to the Evidently workspace.

Evidently is imported inside the commands, so that registering them keeps every other
`gaming-mlops` command fast. Typer options are the commands' parameters, hence
``too-many-arguments`` is accepted for them.
"""

# pylint: disable=import-outside-toplevel,too-many-arguments,too-many-positional-arguments

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Optional

import typer

from machine_learning.config import Settings, load_settings
from machine_learning.schema import TARGET_COLUMN

REFERENCE_HELP = "Reference players CSV (e.g. the training data), with or without predictions."
CURRENT_HELP = "Current players CSV (e.g. a day's batch), with or without predictions."
MODEL_HELP = (
    "Model that scores files without a 'prediction' column "
    "(default: models:/<MODEL_NAME>@production)."
)
LABELS_HELP = "True labels CSV (PlayerID, EngagementLevel) of the current players."
DAY_HELP = "Day the results belong to (YYYY-MM-DD; default: today)."
WORKSPACE_HELP = "Evidently workspace folder (default: EVIDENTLY_WORKSPACE, runtime/evidently)."
JSON_HELP = "Print a JSON summary as the last line."


def _emit(summary: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(summary, default=str))


def _day(value: Optional[str]) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"--day must be YYYY-MM-DD, got {value!r}") from error


def _timestamp(day: dt.date) -> dt.datetime:
    """Now for today, else midnight of ``day`` (places snapshots on the dashboard's time axis)."""
    return dt.datetime.now() if day == dt.date.today() else dt.datetime.combine(day, dt.time())


def _load_frames(paths: list[Path], model_uri: Optional[str], settings: Settings) -> list:
    """Each file as a monitoring frame; files without predictions are scored (model loaded once)."""
    from machine_learning import data_sources, registry
    from machine_learning.monitoring.columns import has_predictions
    from machine_learning.monitoring.scoring import with_predictions

    raws = [data_sources.read_players_csv(path) for path in paths]
    model = None
    if not all(has_predictions(raw) for raw in raws):
        uri = model_uri or registry.model_uri(settings.model_name, registry.PRODUCTION)
        model = registry.load_model(settings.mlflow_tracking_uri, uri)
    frames = [with_predictions(raw, model) for raw in raws]
    for path, frame in zip(paths, frames):
        if frame.empty:
            raise ValueError(f"{path}: no valid rows to monitor")
    return frames


def _to_workspace(items: list, folder: Optional[Path], settings: Settings) -> dict[str, Any]:
    """Add the snapshots (mirrored to the bucket when STORAGE=s3); a workspace fault is
    reported in the summary (and reports/<day>/workspace_problems.json), not raised."""
    from machine_learning.monitoring import workspace
    from machine_learning.storage import storage_from_settings

    target = folder or workspace.default_workspace(settings)
    update = workspace.publish_to_workspace(target, items, storage_from_settings(settings))
    placed: dict[str, Any] = {"workspace": str(target), "snapshots": update.snapshot_ids}
    if update.problems:
        placed["workspace_problems"] = update.problems
    return placed


def _decision_lines(result, outputs: dict[str, str], folder: str) -> list[str]:
    decision = result.decision
    verdict = "RETRAIN" if result.retrain else "no retraining"
    reason_columns = {r.column for r in result.reasons}
    return [
        f"decision: {verdict} (share of drifted columns {decision.share_of_drifted_columns:.3f}; "
        f"drifted: {', '.join(decision.drifted_columns) or 'none'})",
        *(f"  reason [{r.rule}]: {r.message}" for r in result.reasons),
        f"tests: {decision.tests_total - decision.tests_failed}/{decision.tests_total} passed",
        *(
            f"  failed (reported; does not retrain by itself): {t.name}: {t.description}"
            for t in decision.failed_tests
            if t.column not in reason_columns
        ),
        f"saved: {outputs.get('monitoring_decision.json')}",
        f"workspace: {folder}",
    ]


def monitor_command(
    reference: Path = typer.Option(..., "--reference", help=REFERENCE_HELP),
    current: Path = typer.Option(..., "--current", help=CURRENT_HELP),
    model_uri: Optional[str] = typer.Option(None, "--model-uri", help=MODEL_HELP),
    day: Optional[str] = typer.Option(None, "--day", help=DAY_HELP),
    workspace_dir: Optional[Path] = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    html: bool = typer.Option(True, "--html/--no-html", help="Also save the suite as HTML."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Run the drift tests on current vs reference and print the retraining decision."""
    from machine_learning.monitoring import persistence, suites
    from machine_learning.monitoring.thresholds import thresholds_from_settings
    from machine_learning.storage import storage_from_settings

    settings = load_settings()
    when = _day(day)
    ref, cur = _load_frames([reference, current], model_uri, settings)
    result = suites.run_monitoring(ref, cur, thresholds_from_settings(settings), _timestamp(when))
    storage = storage_from_settings(settings)
    outputs = persistence.save_monitoring_result(storage, when, result, html)
    placed = _to_workspace([result.suite], workspace_dir, settings)
    summary = {**result.as_dict(), "day": when.isoformat(), "outputs": outputs, **placed}
    _emit(summary, as_json, _decision_lines(result, outputs, placed["workspace"]))


def _performance(built: dict, current, timestamp: dt.datetime) -> dict[str, Any] | None:
    """Add the classification report to ``built`` when ``current`` has labels; its summary."""
    from machine_learning.monitoring import reports

    if TARGET_COLUMN not in current.columns or not current[TARGET_COLUMN].notna().any():
        return None
    labelled = current.dropna(subset=[TARGET_COLUMN])
    report = reports.build_performance_report(labelled, timestamp=timestamp)
    built[reports.CLASSIFICATION_PERFORMANCE] = report
    return reports.performance_summary(report.as_dict())


def _save_reports(settings: Settings, day: dt.date, built: dict, performance, html: bool):
    from machine_learning.monitoring import persistence
    from machine_learning.storage import storage_from_settings

    storage = storage_from_settings(settings)
    outputs = persistence.save_reports(storage, day, built, html)
    if performance is not None:
        outputs.update(persistence.save_performance_summary(storage, day, performance))
    return outputs


def _report_lines(outputs: dict[str, str], names: list[str], performance, folder: str):
    lines = [f"{name}: {outputs.get(name + '.json')}" for name in names]
    if performance is not None:
        lines.append(
            f"true performance on {performance['rows']} rows: "
            f"accuracy {performance['accuracy']:.4f}, macro F1 {performance['f1_macro']:.4f}"
        )
    return [*lines, f"workspace: {folder}"]


def report_command(
    reference: Path = typer.Option(..., "--reference", help=REFERENCE_HELP),
    current: Path = typer.Option(..., "--current", help=CURRENT_HELP),
    labels: Optional[Path] = typer.Option(None, "--labels", help=LABELS_HELP),
    model_uri: Optional[str] = typer.Option(None, "--model-uri", help=MODEL_HELP),
    day: Optional[str] = typer.Option(None, "--day", help=DAY_HELP),
    workspace_dir: Optional[Path] = typer.Option(None, "--workspace", help=WORKSPACE_HELP),
    html: bool = typer.Option(True, "--html/--no-html", help="Also save the reports as HTML."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Data quality, data drift and prediction drift reports; classification performance too
    when true labels exist (--labels, or an EngagementLevel column in the current file)."""
    from machine_learning import data_sources
    from machine_learning.monitoring import reports
    from machine_learning.monitoring.thresholds import thresholds_from_settings

    settings = load_settings()
    when = _day(day)
    ref, cur = _load_frames([reference, current], model_uri, settings)
    if labels is not None:
        cur = reports.join_truth(cur, data_sources.read_players_csv(labels))
    built = reports.build_reports(ref, cur, thresholds_from_settings(settings), _timestamp(when))
    performance = _performance(built, cur, _timestamp(when))
    outputs = _save_reports(settings, when, built, performance, html)
    placed = _to_workspace(list(built.values()), workspace_dir, settings)
    summary = {
        "day": when.isoformat(),
        "reports": list(built),
        "performance": performance,
        "outputs": outputs,
        **placed,
    }
    _emit(summary, as_json, _report_lines(outputs, list(built), performance, placed["workspace"]))
