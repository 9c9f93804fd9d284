"""`gaming-mlops pipelines`: the daily/weekly sequence through Mage, from a fresh checkout to a
production model and a first monitoring result with one command.

Order: prepare_data, training_workflow, select_best_model, batch_inference,
performance_monitor, performance_reports; each a headless ``mage run``. The first failure stops
the sequence with the end of that run's log.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Optional

import typer

from machine_learning import orchestration, pipelines, registry, services
from machine_learning.config import Settings, load_settings
from machine_learning.storage import storage_from_settings


def parse_variables(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON when they parse as JSON, else text."""
    variables: dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"--var takes key=value, got {pair!r}")
        try:
            variables[key] = json.loads(value)
        except json.JSONDecodeError:
            variables[key] = value
    return variables


def check_tracking_server(settings: Settings) -> None:
    """Fail early, in one line, when the MLflow server does not answer."""
    try:
        services.wait_for_http(f"{settings.mlflow_tracking_uri.rstrip('/')}/health", timeout=5)
    except services.ServiceError as error:
        raise services.ServiceError(
            f"the MLflow server at {settings.mlflow_tracking_uri} does not answer "
            f"(start it, or set MLFLOW_TRACKING_URI): {error}"
        ) from error


def sequence_summary(settings: Settings, day: str) -> dict[str, Any]:
    """What the sequence left behind: the production model and the day's monitoring decision."""
    storage = storage_from_settings(settings)
    client = registry.client_for(settings.mlflow_tracking_uri)
    production = registry.version_by_alias(client, settings.model_name, registry.PRODUCTION)
    decision = pipelines.read_json_report(storage, day, pipelines.DECISION_REPORT) or {}
    return {
        "day": day,
        "production_version": production.version,
        "production_metrics": production.metrics,
        "selection": pipelines.read_json_report(storage, day, pipelines.SELECTION_REPORT),
        "retrain": decision.get("retrain"),
        "reasons": [reason.get("message") for reason in decision.get("reasons", [])],
        "retraining": pipelines.read_json_report(storage, day, pipelines.RETRAINING_REPORT),
    }


def _chosen(only: list[str]) -> list[str]:
    unknown = [name for name in only if name not in orchestration.PIPELINES]
    if unknown:
        raise ValueError(
            f"unknown pipelines {', '.join(unknown)}; known: {', '.join(orchestration.PIPELINES)}"
        )
    if not only:
        return list(orchestration.SEQUENCE)
    chosen = [name for name in orchestration.SEQUENCE if name in only]
    return chosen + [name for name in only if name not in chosen]


def run_pipelines_command(
    day: Optional[str] = typer.Option(None, help="Day to run for (YYYY-MM-DD; default today)."),
    model: Optional[str] = typer.Option(
        None, "--model", help="Model kind (default: MODEL_KIND, else gradient_boosting)."
    ),
    only: list[str] = typer.Option(
        [],
        "--only",
        help="Run only these pipelines (repeatable), in the sequence's order.",
    ),
    var: list[str] = typer.Option(
        [], "--var", help="Pipeline variable key=value, e.g. players=5000 (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Run the daily/weekly sequence through Mage: prepare, train, select, batch inference,
    monitor, reports (each a headless `mage run mlops <pipeline>`)."""
    settings = load_settings()
    chosen = _chosen(only)
    check_tracking_server(settings)
    the_day = (dt.date.fromisoformat(day) if day else dt.datetime.now(dt.UTC).date()).isoformat()
    variables = {**parse_variables(var), "day": the_day}
    if model:
        variables["model_kind"] = model

    def progress(result: orchestration.PipelineRunResult) -> None:
        typer.echo(f"{result.pipeline:<22} ok  {result.seconds:6.1f} s")

    try:
        results = orchestration.run_sequence(
            variables, pipelines=chosen, settings=settings, on_result=progress
        )
    except orchestration.PipelineRunError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    summary: dict[str, Any] = {"runs": [result.as_dict() for result in results]}
    if {"select_best_model", "performance_monitor"} & set(chosen):
        summary.update(sequence_summary(settings, the_day))
        typer.echo(
            f"production model: {settings.model_name} version {summary['production_version']}"
        )
        if summary["retrain"] is not None:
            why = "; ".join(summary["reasons"]) or "no drift rule fired"
            typer.echo(f"monitoring {the_day}: retrain={summary['retrain']} ({why})")
    if as_json:
        typer.echo(json.dumps(summary, default=str))
