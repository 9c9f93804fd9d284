"""`gaming-mlops`: the command line of the platform (one sub-command per capability).

With ``--json`` the last line printed is one JSON object under stable keys. Exit code 0 on
success; otherwise non-zero with a one-line reason on stderr (no traceback for user mistakes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import click
import typer

from machine_learning import registry, simulator, training
from machine_learning.config import apply_mlflow_client_settings, ensure_mage_owner, load_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Predict online players' engagement: simulate, train, evaluate, predict, promote.",
)


def _emit(summary: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(summary, default=str))


def _metric_lines(metrics: dict[str, float]) -> list[str]:
    return [f"  {name:<16} {value:.4f}" for name, value in metrics.items()]


@app.command()
def simulate(
    players: int = typer.Option(1000, "--players", "-n", help="Number of players to generate."),
    seed: int = typer.Option(42, help="Random seed (same seed, same players)."),
    out: Path = typer.Option(..., "--out", help="CSV file to write."),
    drift: str = typer.Option("none", help=f"Drift scenario: {', '.join(simulator.SCENARIOS)}."),
    labels: bool = typer.Option(True, help="Include the EngagementLevel column."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Generate simulated players in the Kaggle schema."""
    from machine_learning.storage import (  # pylint: disable=import-outside-toplevel
        LocalStorage,
        write_csv,
    )

    frame = simulator.simulate_players(players, seed=seed, drift=drift)
    if not labels:
        frame = simulator.split_labels(frame)[0]
    out = out.resolve()
    write_csv(LocalStorage(out.parent), out.name, frame)
    summary = {"players": len(frame), "seed": seed, "drift": drift, "output": str(out)}
    _emit(summary, as_json, [f"wrote {len(frame)} players (seed {seed}, drift {drift}) to {out}"])


@app.command()
def train(
    data: Optional[Path] = typer.Option(
        None, "--data", help="Labelled players CSV (default: DATA_PATH, else simulated players)."
    ),
    model: str = typer.Option(
        training.GRADIENT_BOOSTING,
        "--model",
        help=f"Model kind: {' | '.join(training.MODEL_KINDS)}.",
    ),
    alias: str = typer.Option(registry.CANDIDATE, help="Registry alias to set on the new version."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Train, evaluate on a held-out split, track in MLflow, register and alias the model."""
    from machine_learning import data_sources, jobs  # pylint: disable=import-outside-toplevel

    settings = load_settings()
    training.model_params(model)  # fail fast on an unknown kind
    raw = data_sources.training_players(data or settings.data_path, seed=settings.seed)
    prepared = jobs.prepare_players(raw)
    result, train_set, test_set = jobs.train_model(
        prepared.processed,
        tracking_uri=settings.mlflow_tracking_uri,
        experiment_name=settings.experiment_name,
        model_name=settings.model_name,
        kind=model,
        alias=alias,
    )
    summary = {
        **result.as_dict(),
        **prepared.summary,
        "train_rows": len(train_set),
        "test_rows": len(test_set),
    }
    lines = [
        f"trained {model} on {len(train_set)} rows, tested on {len(test_set)} "
        f"({prepared.summary['rejected']} rows rejected)",
        f"registered {result.model_name} version {result.model_version} as '{alias}' "
        f"(run {result.run_id})",
        *_metric_lines(result.metrics),
    ]
    _emit(summary, as_json, lines)


@app.command()
def evaluate(
    data: Path = typer.Option(..., "--data", help="Labelled players CSV."),
    model_uri: Optional[str] = typer.Option(
        None, "--model-uri", help="Model URI (default: models:/<MODEL_NAME>@production)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Score a labelled file with a registered model and print its metrics."""
    from machine_learning import data_sources, jobs  # pylint: disable=import-outside-toplevel

    settings = load_settings()
    raw = data_sources.read_players_csv(data)  # a bad file fails before contacting MLflow
    uri = model_uri or registry.model_uri(settings.model_name, registry.PRODUCTION)
    model = registry.load_model(settings.mlflow_tracking_uri, uri)
    evaluation, rejected = jobs.evaluate_model(model, raw)
    summary = {"model_uri": uri, "metrics": evaluation.metrics, "rejected": rejected}
    _emit(
        summary,
        as_json,
        [f"{uri} on {data} ({rejected} rows rejected):", *_metric_lines(evaluation.metrics)],
    )


@app.command()
def predict(
    input_path: Path = typer.Option(..., "--input", help="Players CSV to score."),
    output: Path = typer.Option(..., "--output", help="Predictions CSV to write."),
    rejects: Optional[Path] = typer.Option(
        None, "--rejects", help="Rejected rows CSV (default: <output>.rejects.csv)."
    ),
    model_uri: Optional[str] = typer.Option(
        None, "--model-uri", help="Model URI (default: models:/<MODEL_NAME>@production)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Predict every valid row (label and class probabilities); write the rejects with reasons.

    The file is read and scored chunk by chunk (any size); both outputs appear complete or not
    at all, and a bad file fails before the model is loaded."""
    # pylint: disable=import-outside-toplevel
    from machine_learning import batch_scoring
    from machine_learning.validation import SchemaError

    try:
        batch_scoring.check_input(input_path)
    except SchemaError as error:
        raise SchemaError(f"{input_path}: {error}") from error
    settings = load_settings()
    uri = model_uri or registry.model_uri(settings.model_name, registry.PRODUCTION)
    model = registry.load_model(settings.mlflow_tracking_uri, uri)
    output = output.resolve()
    rejects = (rejects or output.with_name(output.stem + ".rejects.csv")).resolve()
    scored = batch_scoring.score_file(model, input_path, batch_scoring.Outputs(output, rejects))
    counts = {"rows_in": scored.rows_in, "predicted": scored.predicted, "rejected": scored.rejected}
    summary = {**counts, "output": str(output), "rejects": str(rejects), "model_uri": uri}
    _emit(
        summary,
        as_json,
        [
            f"rows in {counts['rows_in']}: predicted {counts['predicted']}, "
            f"rejected {counts['rejected']}",
            f"predictions: {output}",
            f"rejects: {rejects}",
        ],
    )


@app.command()
def promote(
    metric: str = typer.Option("accuracy", help="Metric that picks the best version."),
    version: Optional[str] = typer.Option(None, help="Promote this version instead of the best."),
    alias: list[str] = typer.Option(
        [registry.PRODUCTION, registry.BEST], "--alias", help="Aliases to set (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Point aliases (default: production and best) at a version (default: best by metric)."""
    settings = load_settings()
    client = registry.client_for(settings.mlflow_tracking_uri)
    chosen = (
        next(
            (
                v
                for v in registry.list_versions(client, settings.model_name)
                if v.version == version
            ),
            None,
        )
        if version
        else registry.best_version(client, settings.model_name, metric)
    )
    if chosen is None:
        raise registry.RegistryError(f"model '{settings.model_name}' has no version {version}")
    for name in alias:
        registry.set_alias(client, settings.model_name, name, chosen.version)
    summary = {
        "model_name": chosen.name,
        "model_version": chosen.version,
        "aliases": list(alias),
        "metrics": chosen.metrics,
    }
    _emit(summary, as_json, [f"{chosen.name} version {chosen.version} is now {', '.join(alias)}"])


@app.command()
def up(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line.")
) -> None:
    """Start the local servers on 127.0.0.1 unless they already run: MLflow, the Mage server
    (owner login from the environment, else generated into .env) and the Evidently UI."""
    from machine_learning import local_platform  # pylint: disable=import-outside-toplevel

    generated = ensure_mage_owner()
    settings = load_settings()
    states = local_platform.start_platform(settings)
    lines = [
        f"{s.name:<9} {'up' if s.running else 'DOWN':<5} {s.url}  (pid {s.pid}, log {s.log})"
        for s in states
    ]
    lines.append(
        f"Mage login: {settings.mage_owner_email} / password: DEFAULT_OWNER_PASSWORD in "
        + (".env (generated now)" if generated else "your environment or .env")
    )
    _emit(
        {"services": [s.as_dict() for s in states], "mage_login": settings.mage_owner_email},
        as_json,
        lines,
    )


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line.")
) -> None:
    """Say which local servers run."""
    from machine_learning import local_platform  # pylint: disable=import-outside-toplevel

    settings = load_settings()
    states = local_platform.platform_status(settings)
    lines = [
        f"{s.name:<9} {'up' if s.running else 'DOWN':<5} {s.url}  (pid {s.pid})" for s in states
    ]
    if any(s.name == "mage" and s.running for s in states):
        lines.append(
            f"Mage login: {settings.mage_owner_email} / password: DEFAULT_OWNER_PASSWORD "
            "in your environment or .env"
        )
    _emit({"services": [s.as_dict() for s in states]}, as_json, lines or ["nothing runs"])


@app.command()
def down(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line.")
) -> None:
    """Stop exactly the local servers that `up` started."""
    from machine_learning import local_platform  # pylint: disable=import-outside-toplevel

    stopped = local_platform.stop_platform(load_settings())
    _emit(
        {"stopped": stopped},
        as_json,
        [f"stopped {', '.join(stopped)}" if stopped else "nothing to stop"],
    )


from machine_learning.sequence import (  # noqa: E402  pylint: disable=wrong-import-position
    run_pipelines_command,
)

app.command("pipelines")(run_pipelines_command)


from machine_learning.monitoring.cli import (  # noqa: E402  pylint: disable=wrong-import-position
    monitor_command,
    report_command,
)

app.command("monitor")(monitor_command)
app.command("report")(report_command)


from machine_learning.serving.cli import (  # noqa: E402  pylint: disable=wrong-import-position
    serve_command,
)

app.command("serve")(serve_command)


from machine_learning.scoring_cli import (  # noqa: E402  pylint: disable=wrong-import-position
    score_command,
)

app.command("score")(score_command)


def _user_errors() -> tuple[type[BaseException], ...]:
    # pylint: disable=import-outside-toplevel
    from mlflow.exceptions import MlflowException
    from requests.exceptions import ConnectionError as RequestsConnectionError

    from machine_learning.services import ServiceError
    from machine_learning.storage import StorageError
    from machine_learning.validation import SchemaError

    return (
        SchemaError,
        StorageError,
        registry.RegistryError,
        ServiceError,
        ValueError,
        MlflowException,
        RequestsConnectionError,
        OSError,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command; report a user's mistake as one line on stderr."""
    try:
        apply_mlflow_client_settings(load_settings())
        # Without standalone mode, click returns the code of a typer.Exit instead of raising it.
        code = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        return 130
    except _user_errors() as error:  # pylint: disable=catching-non-exception
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        typer.echo(f"error: {message}", err=True)
        return 1
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()

from machine_learning.lifecycle_cli import (  # noqa: E402  pylint: disable=wrong-import-position
    lifecycle_command,
)

app.command("lifecycle")(lifecycle_command)
