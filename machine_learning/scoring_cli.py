"""`gaming-mlops score`: score a players file of any size, chunk by chunk (CSV or Parquet)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from machine_learning import batch_scoring, registry
from machine_learning.config import load_settings

ENGINES = {"auto": None, "compiled": True, "sklearn": False}


def _rejects_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.rejects{output.suffix}")


def score_command(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    input_path: Path = typer.Option(..., "--input", help="Players file: .csv or .parquet."),
    output: Path = typer.Option(..., "--output", help="Predictions file: .csv or .parquet."),
    rejects: Optional[Path] = typer.Option(
        None, "--rejects", help="Rejected rows (default: <output>.rejects.<suffix>)."
    ),
    current: Optional[Path] = typer.Option(
        None, "--current", help="Also write the scored inputs (monitoring 'current' data)."
    ),
    chunk_rows: int = typer.Option(
        batch_scoring.DEFAULT_CHUNK_ROWS, "--chunk-rows", min=1, help="Rows per chunk."
    ),
    engine: str = typer.Option(
        "auto",
        help="compiled (trees as bit tables, verified bit-identical), sklearn, or auto "
        f"(compiled from {batch_scoring.COMPILE_MIN_ROWS:,} rows).",
    ),
    model_uri: Optional[str] = typer.Option(
        None, "--model-uri", help="Model URI (default: models:/<MODEL_NAME>@production)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Score a players file of any size chunk by chunk, in bounded memory; outputs identical to
    `predict`'s. Each output appears complete or not at all; a bad file fails before the model
    is loaded."""
    if engine not in ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    batch_scoring.check_input(input_path)
    settings = load_settings()
    uri = model_uri or registry.model_uri(settings.model_name, registry.PRODUCTION)
    model = registry.load_model(settings.mlflow_tracking_uri, uri)
    output = output.resolve()
    outputs = batch_scoring.Outputs(
        output,
        (rejects or _rejects_path(output)).resolve(),
        current.resolve() if current else None,
    )
    started = time.perf_counter()
    summary = batch_scoring.score_file(model, input_path, outputs, chunk_rows, ENGINES[engine])
    seconds = time.perf_counter() - started
    result = {
        **summary.as_dict(),
        "model_uri": uri,
        "rows_per_second": round(summary.rows_in / seconds),
    }
    typer.echo(
        f"rows in {summary.rows_in}: predicted {summary.predicted}, rejected {summary.rejected} "
        f"({summary.chunks} chunks, {summary.engine}, {result['rows_per_second']:,} rows/s)"
    )
    for name, path in summary.outputs.items():
        typer.echo(f"{name}: {path}")
    if as_json:
        typer.echo(json.dumps(result))
