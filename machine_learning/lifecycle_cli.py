"""`gaming-mlops lifecycle`: the simulated month through Mage, with progress and a weekly table."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping, Optional

import typer

from machine_learning import lifecycle, local_platform, sequence
from machine_learning.config import Settings, load_settings
from machine_learning.mage_api import MageClient
from machine_learning.storage import storage_from_settings

RUNNERS = ("auto", "api", "headless")
BAR_WIDTH = 20


def choose_runner(settings: Settings, runner: str) -> lifecycle.PipelineRunner:
    """The Mage server's API triggers when it runs (``auto``/``api``), else headless runs."""
    if runner not in RUNNERS:
        raise ValueError(f"--runner must be one of {', '.join(RUNNERS)}, got {runner!r}")
    mage = next(
        (s for s in local_platform.platform_status(settings) if s.name == "mage" and s.running),
        None,
    )
    if runner == "headless" or (runner == "auto" and mage is None):
        return lifecycle.HeadlessRunner(settings)
    if mage is None:
        raise ValueError("--runner api needs the Mage server: start it with `gaming-mlops up`")
    client = MageClient(mage.url)
    owner = local_platform.mage_owner(settings)
    client.login(owner.email, owner.password)
    return lifecycle.MageApiRunner(client)


def day_line(record: Mapping[str, Any], days: int) -> str:
    """One line per simulated day: a progress bar, the date, rows, model and the decision."""
    done = int(BAR_WIDTH * record["day"] / days)
    progress = "#" * done + "-" * (BAR_WIDTH - done)
    date = dt.date.fromisoformat(record["date"])
    decision = (
        f"DRIFT, retraining {record['retraining']}: " + "; ".join(record["reasons"])
        if record["retrain"]
        else "no drift"
    )
    extras = []
    if record["promotions"]:
        extras.append(f"promoted v{', v'.join(record['promotions'])}")
    if record["labels_revealed"]:
        extras.append(f"labels of {len(record['labels_revealed'])} days revealed")
    if record.get("skipped"):
        extras.append("done before")
    tail = f"  [{'; '.join(extras)}]" if extras else ""
    return (
        f"[{progress}] day {record['day']:>2}/{days} {date} {date:%a} rows {record['rows']:>6} "
        f"model v{record['production_version']}  {decision}{tail}"
    )


def _percent(value: Optional[float]) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def week_table(weeks: list[Mapping[str, Any]]) -> list[str]:
    """The weekly summary as aligned text."""
    lines = [
        "week  days                     accuracy  stale  drift  retrains  promotions  why",
    ]
    for week in weeks:
        why = "; ".join(week["why"])[:70] if week["drift_detected"] else ""
        lines.append(
            f"{week['week']:>4}  {week['first_day']}..{week['last_day'][5:]}    "
            f"{_percent(week['accuracy'])}  {_percent(week['stale_accuracy'])}  "
            f"{'yes' if week['drift_detected'] else 'no':<5}  {week['retrains']:>8}  "
            f"{week['promotions']:>10}  {why}"
        )
    return lines


def lifecycle_command(  # pylint: disable=too-many-arguments,too-many-locals,too-many-positional-arguments
    days: int = typer.Option(28, "--days", help="Simulated calendar days."),
    drift_day: int = typer.Option(15, "--drift-day", help="First day whose players drift."),
    scenario: str = typer.Option(
        lifecycle.DEFAULT_SCENARIO, "--scenario", help="Drift scenario (gaming-mlops simulate)."
    ),
    players_per_day: int = typer.Option(1000, "--players-per-day", help="Players arriving daily."),
    training_players: int = typer.Option(
        lifecycle.LifecyclePlan.training_players,
        "--training-players",
        help="Simulated labelled players of the first training (DATA_PATH: its rows instead).",
    ),
    start: str = typer.Option(
        lifecycle.DEFAULT_START.isoformat(), "--start", help="Date of day 1 (starts a week)."
    ),
    model: str = typer.Option("", "--model", help="Model kind (default: MODEL_KIND)."),
    runner: str = typer.Option(
        "auto", "--runner", help="auto (the Mage server when it runs), api or headless."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary as the last line."),
) -> None:
    """Simulate calendar days through Mage: players arrive, are scored, monitored and reported;
    weekly training, Monday selection, labels revealed at each week's end."""
    settings = load_settings()
    try:
        plan = lifecycle.LifecyclePlan(
            days=days,
            drift_day=drift_day,
            scenario=scenario,
            players_per_day=players_per_day,
            training_players=training_players,
            start=dt.date.fromisoformat(start),
            seed=settings.seed,
            model_kind=model,
        )
        sequence.check_tracking_server(settings)
        chosen = choose_runner(settings, runner)
    except Exception as error:  # pylint: disable=broad-exception-caught
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    run = lifecycle.Lifecycle(
        plan, settings, storage_from_settings(settings), chosen, lifecycle.player_source(settings)
    )
    typer.echo(
        f"lifecycle {run.run_name}: {days} days from {plan.start}, drift '{scenario}' from day "
        f"{drift_day}, {players_per_day} {run.source.name} players a day, via {chosen.name}"
    )
    try:
        summary = lifecycle.run_lifecycle(run, on_day=lambda r: typer.echo(day_line(r, days)))
    except Exception as error:  # pylint: disable=broad-exception-caught
        typer.echo(f"error: the lifecycle stopped: {error}", err=True)
        typer.echo("rerun the same command to continue from the last completed day", err=True)
        raise typer.Exit(code=1) from error
    for line in week_table(summary["weeks"]):
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(summary, default=str))
