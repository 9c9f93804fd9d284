"""The simulated month: calendar days of players arriving, scored, monitored and reported through
the Mage pipelines, with weekly training and Monday model selection, and the labels of each week
revealed at its end.

Day 1 starts a week (the default start, 2025-01-06, is a Monday). Before day 1 the platform is
set up (prepare_data, training_workflow, select_best_model). Then, each day:

1. on the first day of a week (after the first): ``select_best_model`` (Monday selection);
2. the day's players arrive: written to ``batch/<date>/players.csv``; their true labels are
   held back under ``truth/<date>/`` (drifted by the scenario from ``drift_day`` on);
3. ``batch_inference``, then ``performance_monitor`` (which runs ``ml_retraining`` itself when
   its rule fires);
4. on the last day of a week (and the last day of the run): the week's labels are revealed
   (copied to ``labels/<date>/``);
5. ``performance_reports`` (which adds the performance of days whose labels just arrived);
6. on the last day of a week (unless it ends the run): ``training_workflow`` (weekend training).

Every day's record is saved (``lifecycle/<run>/days/<date>.json``): running the same lifecycle
again skips the days already done (a longer run continues a shorter one) and reprints the table.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Protocol

import numpy as np
import pandas as pd

from machine_learning import (
    data_sources,
    inference,
    layout,
    model_store,
    online,
    orchestration,
    pipelines,
    simulator,
)
from machine_learning.config import Settings
from machine_learning.mage_api import MageClient
from machine_learning.schema import ID_COLUMN, PREDICTION_COLUMN, TARGET_COLUMN
from machine_learning.storage import Storage, read_csv, write_csv, write_json

DEFAULT_SCENARIO = "engagement_inflation"
DEFAULT_START = dt.date(2025, 1, 6)  # a Monday
WEEK = 7
SETUP = "setup"
SETUP_PIPELINES = ("prepare_data", "training_workflow", "select_best_model")


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class LifecyclePlan:  # pylint: disable=too-many-instance-attributes
    """What to simulate: how many days, when drift starts and which, how many players."""

    days: int = 28
    drift_day: int = 15
    scenario: str = DEFAULT_SCENARIO
    players_per_day: int = 1_000
    training_players: int = data_sources.DEFAULT_TRAINING_PLAYERS
    start: dt.date = DEFAULT_START
    seed: int = 42
    model_kind: str = ""

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be >= 1, got {self.days}")
        if self.drift_day < 1:
            raise ValueError(f"drift_day must be >= 1 (a day of the run), got {self.drift_day}")
        if self.players_per_day < 1:
            raise ValueError(f"players_per_day must be >= 1, got {self.players_per_day}")
        if self.training_players < 100:
            raise ValueError(f"training_players must be >= 100, got {self.training_players}")
        simulator.scenario(self.scenario)  # a clear error lists the known scenarios

    def date(self, day: int) -> dt.date:
        """The calendar date of simulated day ``day`` (day 0 is the set-up, the eve of day 1)."""
        return self.start + dt.timedelta(days=day - 1)

    @staticmethod
    def week(day: int) -> int:
        """The week (1-based) of simulated day ``day``."""
        return (day - 1) // WEEK + 1

    def ends_week(self, day: int) -> bool:
        """Whether ``day`` is the last day of its week (or of the run)."""
        return day % WEEK == 0 or day == self.days

    def drifted(self, day: int) -> bool:
        """Whether the scenario's drift applies to the players of ``day``."""
        return day >= self.drift_day and self.scenario != "none"

    def run_name(self, source: str) -> str:
        """Names a run by everything that shapes it except its length (a longer run continues)."""
        return (
            f"{self.start.isoformat()}_{self.scenario}_from{self.drift_day}"
            f"_{self.players_per_day}x_{self.training_players}_{self.model_kind or 'default'}"
            f"_seed{self.seed}_{source}"
        )

    def variables(self, day: int) -> dict[str, Any]:
        """The pipeline variables of the runs of ``day``."""
        variables: dict[str, Any] = {
            "day": self.date(day).isoformat(),
            "players": self.training_players,
            "simulate_missing_batch": False,
            "seed": self.seed,
        }
        if self.model_kind:
            variables["model_kind"] = self.model_kind
        return variables


# --------------------------------------------------------------------------- arriving players


class PlayerSource(Protocol):  # pylint: disable=too-few-public-methods
    """Where the players of a day come from."""

    name: str

    def players(self, plan: LifecyclePlan, day: int) -> pd.DataFrame:
        """The labelled players arriving on ``day`` (drifted from ``plan.drift_day`` on)."""


@dataclass(frozen=True)
class SimulatedPlayers:
    """The embedded, seeded simulator."""

    name: str = "simulated"

    def players(self, plan: LifecyclePlan, day: int) -> pd.DataFrame:
        """``players_per_day`` simulated players of the day, in the scenario from drift_day on."""
        index = pipelines.simulation_day_index(plan.date(day))
        drift = plan.scenario if plan.drifted(day) else "none"
        return simulator.daily_players(index, plan.players_per_day, seed=plan.seed, drift=drift)


@dataclass(frozen=True)
class RealPlayers:
    """Players drawn from a real file (the Kaggle CSV), drift injected by the scenario."""

    pool: pd.DataFrame = field(repr=False)
    name: str = "real"

    def players(self, plan: LifecyclePlan, day: int) -> pd.DataFrame:
        """A seeded sample of the pool with fresh PlayerIDs (drifted from drift_day on)."""
        index = pipelines.simulation_day_index(plan.date(day))
        rng = np.random.default_rng(plan.seed * 100_003 + index)
        rows = rng.choice(len(self.pool), size=plan.players_per_day, replace=True)
        frame = self.pool.iloc[rows].reset_index(drop=True)
        first = simulator.FIRST_PLAYER_ID + (index + 1) * 1_000_000
        frame[ID_COLUMN] = np.arange(first, first + len(frame), dtype=np.int64)
        if plan.drifted(day):
            frame = simulator.drift_real_players(frame, plan.scenario, seed=plan.seed + index)
        return frame


def player_source(settings: Settings) -> PlayerSource:
    """Real players when BATCH_DATA_PATH or DATA_PATH is set (in that order), else simulated."""
    path = settings.batch_data_path or settings.data_path
    if path is None:
        return SimulatedPlayers()
    return RealPlayers(pool=data_sources.read_players_csv(path), name=f"real:{path.name}")


def arrive(storage: Storage, plan: LifecyclePlan, day: int, source: PlayerSource) -> int:
    """Write the day's players to score, and hold their labels back; returns how many."""
    batch, labels = simulator.split_labels(source.players(plan, day))
    write_csv(storage, layout.held_labels(plan.date(day)), labels)  # first: see simulate_day
    write_csv(storage, layout.batch_input(plan.date(day)), batch)
    return len(batch)


def reveal_week(storage: Storage, plan: LifecyclePlan, day: int) -> list[str]:
    """Reveal the labels of the week that ends on ``day``; returns the dates revealed."""
    first = day - (day - 1) % WEEK
    revealed = []
    for past in range(first, day + 1):
        date = plan.date(past)
        if storage.exists(layout.held_labels(date)):
            storage.write_bytes(layout.labels(date), storage.read_bytes(layout.held_labels(date)))
            revealed.append(date.isoformat())
    return revealed


# --------------------------------------------------------------------------- running pipelines


class PipelineRunner(Protocol):  # pylint: disable=too-few-public-methods
    """Runs one Mage pipeline and waits for it."""

    name: str

    def run(self, pipeline: str, variables: Mapping[str, Any]) -> float:
        """Run ``pipeline`` with ``variables``; return its wall time (raise on failure)."""


@dataclass
class HeadlessRunner:
    """Each pipeline as a headless ``mage run`` process."""

    settings: Settings
    name: str = "mage run (headless)"

    def run(self, pipeline: str, variables: Mapping[str, Any]) -> float:
        """``mage run mlops <pipeline>``; raises orchestration.PipelineRunError on failure."""
        return orchestration.run_pipeline(pipeline, variables, settings=self.settings).seconds


@dataclass
class MageApiRunner:
    """Each pipeline through its API trigger on a running Mage server (runs start warm)."""

    client: MageClient
    timeout: float = 3600.0
    name: str = "Mage server (API triggers)"
    _schedules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run(self, pipeline: str, variables: Mapping[str, Any]) -> float:
        """Trigger ``pipeline`` and wait until it completed (MageApiError otherwise)."""
        if pipeline not in self._schedules:
            self._schedules[pipeline] = self.client.api_trigger(pipeline)
        started = time.perf_counter()
        run_id = self.client.trigger(self._schedules[pipeline], variables)
        self.client.wait_for_run(run_id, timeout=self.timeout, poll=0.25)
        return time.perf_counter() - started


# --------------------------------------------------------------------------- one day


def _report(storage: Storage, date: dt.date, name: str) -> dict[str, Any]:
    return pipelines.read_json_report(storage, date, name) or {}


def _promotions(selection: Mapping[str, Any]) -> list[str]:
    return [str(selection["candidate_version"])] if selection.get("promoted") else []


def _production_version(storage: Storage, date: dt.date) -> str | None:
    key = layout.predictions(date)
    if not storage.exists(key):
        return None
    versions = read_csv(storage, key, as_text=True)[pipelines.MODEL_VERSION_COLUMN].unique()
    return ", ".join(sorted(str(v) for v in versions)) or None


@dataclass
class Lifecycle:
    """A lifecycle run: its plan, settings, storage, pipeline runner and player source."""

    plan: LifecyclePlan
    settings: Settings
    storage: Storage
    runner: PipelineRunner
    source: PlayerSource

    @property
    def run_name(self) -> str:
        """The name under which this run's days are recorded."""
        return self.plan.run_name(self.source.name.split(":")[0])

    def _saved(self, label: str) -> dict[str, Any] | None:
        key = layout.lifecycle_day(self.run_name, label)
        return json.loads(self.storage.read_bytes(key)) if self.storage.exists(key) else None

    def _save(self, label: str, record: Mapping[str, Any]) -> None:
        key = layout.lifecycle_day(self.run_name, label)
        write_json(self.storage, key, json.dumps(record, indent=2, default=str))

    def _run(self, pipeline: str, day: int, seconds: dict[str, float]) -> None:
        seconds[pipeline] = round(self.runner.run(pipeline, self.plan.variables(day)), 3)

    def set_up(self) -> dict[str, Any]:
        """prepare_data, training_workflow and select_best_model on the eve of day 1."""
        saved = self._saved(SETUP)
        if saved is not None:
            return {**saved, "skipped": True}
        seconds: dict[str, float] = {}
        for pipeline in SETUP_PIPELINES:
            self._run(pipeline, 0, seconds)
        selection = _report(self.storage, self.plan.date(0), pipelines.SELECTION_REPORT)
        record = {
            "day": 0,
            "date": self.plan.date(0).isoformat(),
            "production_version": str(selection["production_version"]),
            "promotions": _promotions(selection),
            "seconds": seconds,
        }
        self._save(SETUP, record)
        return record

    def run_day(self, day: int) -> dict[str, Any]:
        """One simulated day (see the module docstring); recorded, and skipped when recorded."""
        date = self.plan.date(day)
        saved = self._saved(date.isoformat())
        if saved is not None:
            return {**saved, "skipped": True}
        started = time.perf_counter()
        seconds: dict[str, float] = {}
        promotions: list[str] = []
        if day > 1 and day % WEEK == 1:
            self._run("select_best_model", day, seconds)
            promotions += _promotions(_report(self.storage, date, pipelines.SELECTION_REPORT))
        rows = arrive(self.storage, self.plan, day, self.source)
        self._run("batch_inference", day, seconds)
        self._run("performance_monitor", day, seconds)
        decision = _report(self.storage, date, pipelines.DECISION_REPORT)
        retraining = _report(self.storage, date, pipelines.RETRAINING_REPORT)
        promotions += _promotions(retraining.get("selection") or {})
        revealed = reveal_week(self.storage, self.plan, day) if self.plan.ends_week(day) else []
        self._run("performance_reports", day, seconds)
        if day % WEEK == 0 and day < self.plan.days:
            self._run("training_workflow", day, seconds)
        record = {
            "day": day,
            "date": date.isoformat(),
            "week": self.plan.week(day),
            "drifted_players": self.plan.drifted(day),
            "rows": rows,
            "production_version": _production_version(self.storage, date),
            "retrain": bool(decision.get("retrain")),
            "reasons": [reason.get("message") for reason in decision.get("reasons", [])],
            "retraining": retraining.get("status", "not_needed"),
            "promotions": promotions,
            "labels_revealed": revealed,
            "seconds": seconds,
            "wall_seconds": round(time.perf_counter() - started, 3),
        }
        self._save(date.isoformat(), record)
        return record


# --------------------------------------------------------------------------- weeks


def _accuracy(storage: Storage, date: dt.date, predicted: pd.DataFrame) -> tuple[int, int]:
    """(correct, total) of ``predicted`` (PlayerID, prediction) against the day's labels."""
    labels = read_csv(storage, layout.labels(date), as_text=True)
    joined = predicted.merge(labels[[ID_COLUMN, TARGET_COLUMN]], on=ID_COLUMN, how="inner")
    return int((joined[PREDICTION_COLUMN] == joined[TARGET_COLUMN]).sum()), len(joined)


def _stale_predictions(model: Any, storage: Storage, date: dt.date) -> pd.DataFrame:
    scored = inference.score_players(
        model, read_csv(storage, layout.batch_input(date), as_text=True)
    )
    frame = scored.scored_inputs[[ID_COLUMN, PREDICTION_COLUMN]].copy()
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
    return frame


def week_summaries(
    run: Lifecycle, setup: Mapping[str, Any], days: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Per week: true accuracy of the production predictions on the revealed labels, the same
    for the first production model (``stale_accuracy``), drift, retrains and promotions."""
    ref = model_store.ModelRef(run.settings.model_name, str(setup["production_version"]))
    stale = model_store.load_version(
        run.settings.mlflow_tracking_uri, ref, online.model_cache_root(run.settings)
    )
    weeks = []
    for week in sorted({int(day["week"]) for day in days}):
        in_week = [day for day in days if int(day["week"]) == week]
        totals = np.zeros(3, dtype=int)  # correct now, correct stale, rows
        for day in in_week:
            date = dt.date.fromisoformat(day["date"])
            if not run.storage.exists(layout.labels(date)):
                continue
            predicted = read_csv(run.storage, layout.predictions(date), as_text=True)
            correct, rows = _accuracy(run.storage, date, predicted[[ID_COLUMN, PREDICTION_COLUMN]])
            stale_correct, _ = _accuracy(
                run.storage, date, _stale_predictions(stale, run.storage, date)
            )
            totals += (correct, stale_correct, rows)
        reasons = sorted({r for day in in_week for r in day["reasons"]})
        weeks.append(
            {
                "week": week,
                "first_day": in_week[0]["date"],
                "last_day": in_week[-1]["date"],
                "labelled_rows": int(totals[2]),
                "accuracy": round(totals[0] / totals[2], 4) if totals[2] else None,
                "stale_accuracy": round(totals[1] / totals[2], 4) if totals[2] else None,
                "drift_detected": any(day["retrain"] for day in in_week),
                "drift_days": [day["date"] for day in in_week if day["retrain"]],
                "why": reasons,
                "retrains": sum(day["retraining"] == "completed" for day in in_week),
                "promotions": sum(len(day["promotions"]) for day in in_week),
                "production_versions": sorted(
                    {day["production_version"] for day in in_week if day["production_version"]}
                ),
            }
        )
    return weeks


def run_lifecycle(
    run: Lifecycle, on_day: Callable[[Mapping[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Set up, simulate every day of the plan, and summarise the weeks."""
    setup = run.set_up()
    days = []
    for day in range(1, run.plan.days + 1):
        record = run.run_day(day)
        days.append(record)
        if on_day is not None:
            on_day(record)
    return {
        "run": run.run_name,
        "runner": run.runner.name,
        "players": run.source.name,
        "plan": {**asdict(run.plan), "start": run.plan.start.isoformat()},
        "setup": setup,
        "days": days,
        "weeks": week_summaries(run, setup, days),
    }
