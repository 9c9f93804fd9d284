"""The steps of the Mage pipelines: one function per block.

Each function takes the block's upstream outputs and the run's variables (Mage's ``kwargs``),
reads its inputs from storage (keys of :mod:`machine_learning.layout`), saves its outputs there
and returns a DataFrame or a small JSON-ready summary (the block's output). Settings come from
:func:`machine_learning.config.load_settings`; variables only choose what a run does.

Variables (all optional; the pipelines' ``metadata.yaml`` holds the defaults):

    day                     ISO date the run is about (default: the trigger's execution date,
                            else today; monitoring and reports: the latest scored day)
    model_kind              gradient_boosting | hist_gradient_boosting (default: MODEL_KIND)
    model_params            JSON object of model parameters overriding the kind's defaults
    players                 simulated training players when no raw data exists (and no DATA_PATH)
    batch_players           simulated players of a day when no batch exists (and no BATCH_DATA_PATH)
    simulate_missing_batch  simulate the day's batch (and its labels) when none exists
    evaluation_days         most recent labelled days that model selection evaluates on
    selection_metric        metric that decides champion/challenger (default: accuracy)
    min_improvement         the candidate must beat production by more than this
    drift_window_min_rows   labelled rows since drift began that make training use them alone
    monitoring_sample_rows  monitoring reads a day (or reference) larger than twice this as a
                            uniform sample of this many rows, chunk by chunk (bounded memory)
    records                 online inference: a list of player records (or a JSON string of one)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping

import mlflow
import pandas as pd

from machine_learning import (
    batch_scoring,
    data_sources,
    inference,
    jobs,
    layout,
    model_store,
    online,
    orchestration,
    preprocessing,
    registry,
    simulator,
    training,
)
from machine_learning.config import Settings, apply_mlflow_client_settings, load_settings
from machine_learning.schema import ID_COLUMN, PREDICTION_COLUMN, TARGET_COLUMN
from machine_learning.storage import (
    Storage,
    StorageError,
    read_csv,
    storage_from_settings,
    write_csv,
    write_json,
)

LOGGER = logging.getLogger(__name__)

SOURCE_COLUMN = "data_source"  # where a labelled row came from (dropped before training)
MODEL_VERSION_COLUMN = "model_version"
PROCESSED_SOURCE = "processed"
HOLDOUT_SOURCE = "processed:test_split"
SELECTION_REPORT = "model_selection"
DECISION_REPORT = "monitoring_decision"
FINGERPRINT_TAG = "training_fingerprint"
RETRAINING_REPORT = "retraining"
SELECTION_EXPERIMENT_SUFFIX = "-model-selection"
SIMULATION_EPOCH = dt.date(2024, 1, 1)  # simulated day index 0


def version_reference(version: str) -> str:
    """Storage key of the reference data saved with a trained version (before its promotion)."""
    return f"monitoring/reference/versions/{version}/reference.csv"


DEFAULT_VARIABLES: dict[str, Any] = {
    "day": "",
    "model_kind": "",
    "model_params": {},
    "players": data_sources.DEFAULT_TRAINING_PLAYERS,
    "batch_players": 10_000,
    "simulate_missing_batch": True,
    "evaluation_days": 1,
    "selection_metric": "accuracy",
    "min_improvement": 0.0,
    "drift_window_min_rows": 2_000,
    "monitoring_sample_rows": 50_000,
}
# The variables a run passes on to the pipelines it triggers (ml_retraining and its children).
FORWARDED_VARIABLES: tuple[str, ...] = tuple(DEFAULT_VARIABLES)


# --------------------------------------------------------------------------- run options


@dataclass(frozen=True)
class RunOptions:  # pylint: disable=too-many-instance-attributes
    """The variables of one run, typed and defaulted."""

    day: dt.date
    day_given: bool
    model_kind: str
    model_params: dict[str, Any]
    players: int
    batch_players: int
    simulate_missing_batch: bool
    evaluation_days: int
    selection_metric: str
    min_improvement: float
    seed: int
    drift_window_min_rows: int = 2_000
    monitoring_sample_rows: int = 50_000


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _as_mapping(value: Any, name: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a JSON object, got {value!r}")
    return dict(value)


def _as_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as error:
        raise ValueError(f"day must be an ISO date (YYYY-MM-DD), got {value!r}") from error


def run_options(variables: Mapping[str, Any], settings: Settings) -> RunOptions:
    """Typed options from a run's variables (Mage kwargs), with defaults from ``settings``."""
    merged = {**DEFAULT_VARIABLES, **{k: v for k, v in variables.items() if v is not None}}
    given = _as_date(merged.get("day"))
    day = given or _as_date(merged.get("execution_date")) or dt.datetime.now(dt.UTC).date()
    kind = str(merged.get("model_kind") or settings.model_kind)
    params = _as_mapping(merged.get("model_params"), "model_params")
    training.model_params(kind, params)  # fail fast on an unknown kind
    evaluation_days = int(merged["evaluation_days"])
    if evaluation_days < 1:
        raise ValueError(f"evaluation_days must be >= 1, got {evaluation_days}")
    return RunOptions(
        day=day,
        day_given=given is not None,
        model_kind=kind,
        model_params=params,
        players=int(merged["players"]),
        batch_players=int(merged["batch_players"]),
        simulate_missing_batch=_as_bool(merged["simulate_missing_batch"]),
        evaluation_days=evaluation_days,
        selection_metric=str(merged["selection_metric"]),
        min_improvement=float(merged["min_improvement"]),
        seed=int(merged.get("seed", settings.seed)),
        drift_window_min_rows=int(merged["drift_window_min_rows"]),
        monitoring_sample_rows=_positive(
            merged["monitoring_sample_rows"], "monitoring_sample_rows"
        ),
    )


def _positive(value: Any, name: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return number


def forwarded_variables(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of this run that a triggered run must see (Mage's own keys left out)."""
    forwarded = {k: variables[k] for k in FORWARDED_VARIABLES if variables.get(k) is not None}
    for key in ("day", "execution_date"):
        day = _as_date(variables.get(key))
        if day is not None:
            forwarded["day"] = day.isoformat()
            break
    return forwarded


def _context(variables: Mapping[str, Any]) -> tuple[Settings, Storage, RunOptions]:
    settings = load_settings()
    apply_mlflow_client_settings(settings)  # fail in seconds, not minutes, when MLflow is down
    return settings, storage_from_settings(settings), run_options(variables, settings)


def _timestamp(day: dt.date) -> dt.datetime:
    """Evidently timestamp of a day's results (noon, so daily buckets are unambiguous)."""
    return dt.datetime.combine(day, dt.time(12, 0))


def _replace_csv(storage: Storage, key: str, frame: pd.DataFrame) -> str | None:
    """Write ``frame`` at ``key``; an empty frame removes a stale object instead."""
    if frame.empty:
        storage.delete(key)
        return None
    return write_csv(storage, key, frame)


# --------------------------------------------------------------------------- days in storage


def _days_under(storage: Storage, prefix: str, filename: str) -> list[dt.date]:
    """Dates of the keys ``<prefix><date>/<filename>``."""
    days = []
    for key in storage.list_keys(prefix):
        folder, _, name = key[len(prefix) :].partition("/")
        if name == filename:
            try:
                days.append(dt.date.fromisoformat(folder))
            except ValueError:
                continue
    return sorted(set(days))


def labelled_days(storage: Storage) -> list[dt.date]:
    """Days whose batch and true labels are both in storage (oldest first)."""
    batches = set(_days_under(storage, "batch/", "players.csv"))
    return [day for day in _days_under(storage, "labels/", "labels.csv") if day in batches]


def scored_days(storage: Storage) -> list[dt.date]:
    """Days with monitoring 'current' data (oldest first)."""
    return _days_under(storage, "monitoring/current/", "current.csv")


def monitoring_day(storage: Storage, options: RunOptions) -> dt.date:
    """The day to monitor: the given day, else the latest scored day up to the run's day."""
    if options.day_given:
        return options.day
    days = [day for day in scored_days(storage) if day <= options.day]
    if not days:
        raise StorageError(
            f"no scored day up to {options.day} in storage (monitoring/current/<day>/current.csv):"
            " run batch_inference first"
        )
    return days[-1]


def labelled_players(storage: Storage, day: dt.date) -> pd.DataFrame:
    """A day's batch joined with its true labels (raw text, as validation expects)."""
    batch = read_csv(storage, layout.batch_input(day), as_text=True)
    labels = read_csv(storage, layout.labels(day), as_text=True)
    batch = batch.drop(columns=[TARGET_COLUMN], errors="ignore")
    truth = labels.loc[:, [ID_COLUMN, TARGET_COLUMN]].drop_duplicates(ID_COLUMN, keep="last")
    return batch.merge(truth, on=ID_COLUMN, how="inner")


def _prepared_with_source(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    prepared = jobs.prepare_players(raw).processed
    prepared[SOURCE_COLUMN] = source
    return prepared


def split_labelled_days(
    storage: Storage, evaluation_days: int
) -> tuple[list[dt.date], list[dt.date]]:
    """(days for training, the most recent days kept for model selection)."""
    days = labelled_days(storage)
    return days[:-evaluation_days], days[-evaluation_days:]


# --------------------------------------------------------------------------- prepare_data


def load_raw_players(variables: Mapping[str, Any]) -> pd.DataFrame:
    """Raw labelled players from storage (``raw/players.csv``), ingested first when needed.

    DATA_PATH set: the file is copied into storage on every run. Otherwise an existing raw
    object is used, or ``players`` simulated players are written there.
    """
    settings, storage, options = _context(variables)
    if settings.data_path is not None:
        write_csv(storage, layout.RAW_PLAYERS, data_sources.read_players_csv(settings.data_path))
        LOGGER.info("ingested %s into %s", settings.data_path, storage.uri(layout.RAW_PLAYERS))
    elif not storage.exists(layout.RAW_PLAYERS):
        players = simulator.simulate_players(options.players, seed=options.seed)
        write_csv(storage, layout.RAW_PLAYERS, players)
        LOGGER.info("simulated %d players into %s", len(players), layout.RAW_PLAYERS)
    return read_csv(storage, layout.RAW_PLAYERS, as_text=True)


def clean_players(raw: pd.DataFrame, variables: Mapping[str, Any]) -> pd.DataFrame:
    """Validate and clean raw players; rejected rows are saved with their reasons."""
    _, storage, options = _context(variables)
    prepared = jobs.prepare_players(raw)
    _replace_csv(storage, layout.rejected("prepare", options.day), prepared.rejected)
    LOGGER.info("prepare_data: %s", prepared.summary)
    if prepared.processed.empty:
        raise ValueError(f"no valid labelled players among {prepared.rows_in} raw rows")
    return prepared.processed


def save_processed(processed: pd.DataFrame, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Save the processed dataset and the player features; returns their URIs and row count."""
    _, storage, options = _context(variables)
    rejected_key = layout.rejected("prepare", options.day)
    return {
        "rows": len(processed),
        "processed": write_csv(storage, layout.PROCESSED_PLAYERS, processed),
        "features": write_csv(
            storage, layout.PLAYER_FEATURES, preprocessing.player_features(processed)
        ),
        "rejected": storage.uri(rejected_key) if storage.exists(rejected_key) else None,
    }


# --------------------------------------------------------------------------- training_workflow


def drift_window_start(storage: Storage, day: dt.date) -> dt.date | None:
    """The day the drift that monitoring still reports began: the first day of the unbroken run
    of retrain decisions that ends with the latest monitored day up to ``day`` (None when the
    latest decision up to ``day`` did not ask for retraining)."""
    start = None
    for monitored in reversed(_days_under(storage, "reports/", f"{DECISION_REPORT}.json")):
        if monitored > day:
            continue
        decision = read_json_report(storage, monitored, DECISION_REPORT) or {}
        if not decision.get("retrain"):
            break
        start = monitored
    return start


def load_training_data(variables: Mapping[str, Any]) -> pd.DataFrame:
    """Processed players plus the labelled days older than the model-selection window.

    The most recent ``evaluation_days`` labelled days are left out: model selection compares
    candidate and production on them, so neither model may have seen them. While monitoring
    reports drift, the labelled days since the drift began are used alone once they hold at
    least ``drift_window_min_rows`` rows (older players describe a world that has changed).
    The column ``data_source`` says where each row came from.
    """
    _, storage, options = _context(variables)
    train_days, _ = split_labelled_days(storage, options.evaluation_days)
    labelled = {
        day: _prepared_with_source(labelled_players(storage, day), layout.labels(day))
        for day in train_days
    }
    window = drift_window_start(storage, options.day)
    if window is not None:
        recent = [frame for day, frame in labelled.items() if day >= window]
        rows = sum(len(frame) for frame in recent)
        if rows >= options.drift_window_min_rows:
            LOGGER.info("drift since %s: training on the %d labelled rows since then", window, rows)
            return pd.concat(recent, ignore_index=True)
        LOGGER.info(
            "drift since %s, but only %d labelled rows since then (< %d): training on all data",
            window,
            rows,
            options.drift_window_min_rows,
        )
    processed = read_csv(storage, layout.PROCESSED_PLAYERS, as_text=True)
    frames = [_prepared_with_source(processed, PROCESSED_SOURCE), *labelled.values()]
    return pd.concat(frames, ignore_index=True)


def _how_started(variables: Mapping[str, Any]) -> str:
    """'schedule' for a run of a Mage trigger (it has an execution date), else 'manual'."""
    return "schedule" if variables.get("execution_date") else "manual"


def _sources_tag(frame: pd.DataFrame) -> str:
    counts = frame[SOURCE_COLUMN].value_counts(sort=False)
    return ", ".join(f"{source}={count}" for source, count in counts.items())


def training_fingerprint(training_data: pd.DataFrame, options: RunOptions) -> str:
    """What makes a training run unique: its data (rows and sources), model kind and parameters."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(training_data, index=False).to_numpy().tobytes())
    digest.update(json.dumps([options.model_kind, options.model_params], sort_keys=True).encode())
    return digest.hexdigest()


def _version_trained_on(client, name: str, fingerprint: str) -> registry.VersionInfo | None:
    """The registered version already trained on exactly this data, if any."""
    for version in client.search_model_versions(f"name='{name}'"):
        if (version.tags or {}).get(FINGERPRINT_TAG) == fingerprint:
            return registry.version_info(client, version)
    return None


def train_candidate(training_data: pd.DataFrame, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Split, train, track in MLflow and register the new version as ``candidate``.

    Idempotent: when a registered version was trained on exactly the same data, kind and
    parameters (tag ``training_fingerprint``), it becomes the candidate again instead.
    """
    settings, _, options = _context(variables)
    fingerprint = training_fingerprint(training_data, options)
    client = registry.client_for(settings.mlflow_tracking_uri)
    try:
        existing = _version_trained_on(client, settings.model_name, fingerprint)
    except mlflow.exceptions.MlflowException as error:
        raise registry.RegistryUnavailableError(
            f"the MLflow server at {settings.mlflow_tracking_uri} could not be asked for the "
            f"versions of {settings.model_name} (is it running?): {error}"
        ) from error
    if existing is not None:
        registry.set_alias(client, settings.model_name, registry.CANDIDATE, existing.version)
        LOGGER.info("same training data as version %s: it is the candidate", existing.version)
        return {
            "run_id": existing.run_id,
            "model_name": existing.name,
            "model_version": existing.version,
            "model_uri": existing.uri,
            "metrics": existing.metrics,
            "reused": True,
            "train_rows": len(training_data),
        }
    players = preprocessing.clean_players(training_data.drop(columns=[SOURCE_COLUMN]))
    result, train, test = jobs.train_model(
        players,
        tracking_uri=settings.mlflow_tracking_uri,
        experiment_name=settings.experiment_name,
        model_name=settings.model_name,
        kind=options.model_kind,
        params=options.model_params,
        alias=registry.CANDIDATE,
        tags={
            "pipeline": "training_workflow",
            "day": options.day.isoformat(),
            "training_sources": _sources_tag(training_data)[:5000],
            "trigger": str(variables.get("trigger") or _how_started(variables)),
            "trigger_reason": str(variables.get("reason") or "")[:5000],
        },
        version_tags={FINGERPRINT_TAG: fingerprint},
    )
    LOGGER.info("registered %s version %s as candidate", result.model_name, result.model_version)
    return {**result.as_dict(), "reused": False, "train_rows": len(train), "test_rows": len(test)}


def save_reference(
    training_result: Mapping[str, Any], training_data: pd.DataFrame, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """Save the train and test sets, scored by the new model, as the version's reference data.

    The monitoring reference (``monitoring/reference/reference.csv``) is always the production
    model's: select_best_model copies this version's reference there when it promotes it.
    """
    settings, storage, _ = _context(variables)
    ref = model_store.ModelRef(training_result["model_name"], str(training_result["model_version"]))
    key = version_reference(ref.version)
    if training_result.get("reused") and storage.exists(key):
        return {"reference": storage.uri(key), "rows": None, "model_version": ref.version}
    players = preprocessing.clean_players(training_data.drop(columns=[SOURCE_COLUMN]))
    train, test = preprocessing.split_train_test(players)
    model = _load_version(settings, ref)
    reference = inference.score_players(model, pd.concat([train, test], ignore_index=True))
    uri = write_csv(storage, version_reference(ref.version), reference.scored_inputs)
    return {"reference": uri, "rows": len(reference.scored_inputs), "model_version": ref.version}


# --------------------------------------------------------------------------- select_best_model


def load_evaluation_data(variables: Mapping[str, Any]) -> pd.DataFrame:
    """The most recent labelled data: the last ``evaluation_days`` labelled days.

    Before any labels have arrived, the processed dataset's fixed test split stands in.
    """
    _, storage, options = _context(variables)
    _, days = split_labelled_days(storage, options.evaluation_days)
    if days:
        return pd.concat(
            [
                _prepared_with_source(labelled_players(storage, day), layout.labels(day))
                for day in days
            ],
            ignore_index=True,
        )
    processed = jobs.prepare_players(read_csv(storage, layout.PROCESSED_PLAYERS, as_text=True))
    _, test = preprocessing.split_train_test(processed.processed)
    test[SOURCE_COLUMN] = HOLDOUT_SOURCE
    return test


def _version_or_none(client, name: str, alias: str) -> registry.VersionInfo | None:
    """The version ``alias`` points to, None when unset (an unreachable server still raises)."""
    if alias not in (client.get_registered_model(name).aliases or {}):
        return None
    return registry.version_by_alias(client, name, alias)


@dataclass(frozen=True)
class SelectionDecision:  # pylint: disable=too-many-instance-attributes
    """Champion/challenger verdict and the figures behind it."""

    promoted: bool
    verdict: str
    metric: str
    candidate_version: str
    production_version_before: str | None
    production_version: str
    candidate_metrics: dict[str, float]
    production_metrics: dict[str, float]
    evaluation_source: str
    evaluation_rows: int
    day: str
    reference: str = "unchanged"
    mlflow_run_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def _load_version(settings: Settings, ref: model_store.ModelRef):
    return model_store.load_version(
        settings.mlflow_tracking_uri, ref, online.model_cache_root(settings)
    )


def _evaluate_version(settings: Settings, version: registry.VersionInfo, labelled: pd.DataFrame):
    model = _load_version(settings, model_store.ModelRef(version.name, version.version))
    return training.evaluate(model, labelled).metrics


def _promote_reference(storage: Storage, version: str) -> str:
    """Make the promoted version's reference data the monitoring reference."""
    key = version_reference(version)
    if not storage.exists(key):
        LOGGER.warning("no reference data saved for version %s: reference unchanged", version)
        return "unchanged"
    storage.write_bytes(layout.REFERENCE, storage.read_bytes(key))
    return storage.uri(layout.REFERENCE)


def _verdict(  # pylint: disable=too-many-arguments
    candidate: registry.VersionInfo,
    production: registry.VersionInfo | None,
    candidate_metrics: Mapping[str, float],
    production_metrics: Mapping[str, float],
    metric: str,
    min_improvement: float,
) -> tuple[bool, str]:
    if production is None:
        return True, "promoted: there was no production model"
    if production.version == candidate.version:
        return False, "kept: the candidate already is the production model"
    if metric not in candidate_metrics:
        raise ValueError(
            f"unknown selection metric {metric!r}; known: {', '.join(candidate_metrics)}"
        )
    ours, theirs = candidate_metrics[metric], production_metrics[metric]
    if ours > theirs + min_improvement:
        return True, f"promoted: candidate {metric} {ours:.4f} > production {theirs:.4f}"
    return False, f"kept production: candidate {metric} {ours:.4f} <= production {theirs:.4f}" + (
        f" + {min_improvement}" if min_improvement else ""
    )


def _record_selection(settings: Settings, decision: SelectionDecision) -> str:
    """Log the decision as an MLflow run (metrics of both models, verdict) and tag the candidate."""
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_experiment(settings.experiment_name + SELECTION_EXPERIMENT_SUFFIX)
    tags = {
        "pipeline": "select_best_model",
        "decision": "promote" if decision.promoted else "keep",
        "verdict": decision.verdict,
        "model_name": settings.model_name,
    }
    with mlflow.start_run(run_name=f"select {decision.day}", tags=tags) as run:
        mlflow.log_params(
            {
                "candidate_version": decision.candidate_version,
                "production_version_before": decision.production_version_before or "none",
                "production_version": decision.production_version,
                "metric": decision.metric,
                "evaluation_source": decision.evaluation_source[:500],
                "evaluation_rows": decision.evaluation_rows,
            }
        )
        metrics = {f"candidate_{k}": v for k, v in decision.candidate_metrics.items()}
        metrics.update({f"production_{k}": v for k, v in decision.production_metrics.items()})
        mlflow.log_metrics(metrics)
        mlflow.log_metric("promoted", float(decision.promoted))
        mlflow.log_dict(decision.as_dict(), "selection_decision.json")
    client = registry.client_for(settings.mlflow_tracking_uri)
    client.set_model_version_tag(
        settings.model_name, decision.candidate_version, "selection", decision.verdict[:5000]
    )
    return run.info.run_id


def select_champion(evaluation: pd.DataFrame, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Compare candidate and production on the same labelled data; promote only if better.

    Promotion points ``production`` and ``best`` at the candidate. The decision (metrics of
    both, verdict) is logged as an MLflow run and saved to ``reports/<day>/model_selection.json``.
    """
    settings, storage, options = _context(variables)
    client = registry.client_for(settings.mlflow_tracking_uri)
    candidate = registry.version_by_alias(client, settings.model_name, registry.CANDIDATE)
    production = _version_or_none(client, settings.model_name, registry.PRODUCTION)
    labelled = evaluation.drop(columns=[SOURCE_COLUMN])
    candidate_metrics = _evaluate_version(settings, candidate, labelled)
    production_metrics = (
        {}
        if production is None or production.version == candidate.version
        else _evaluate_version(settings, production, labelled)
    )
    promoted, verdict = _verdict(
        candidate,
        production,
        candidate_metrics,
        production_metrics,
        options.selection_metric,
        options.min_improvement,
    )
    reference = "unchanged"
    if promoted:
        for alias in (registry.PRODUCTION, registry.BEST):
            registry.set_alias(client, settings.model_name, alias, candidate.version)
        reference = _promote_reference(storage, candidate.version)
    decision = SelectionDecision(
        promoted=promoted,
        verdict=verdict,
        metric=options.selection_metric,
        candidate_version=candidate.version,
        production_version_before=production.version if production else None,
        production_version=(
            candidate.version if promoted or production is None else production.version
        ),
        candidate_metrics=candidate_metrics,
        production_metrics=production_metrics,
        evaluation_source=", ".join(sorted(set(evaluation[SOURCE_COLUMN]))),
        evaluation_rows=len(labelled),
        day=options.day.isoformat(),
        reference=reference,
    )
    payload = {**decision.as_dict(), "mlflow_run_id": _record_selection(settings, decision)}
    key = layout.report(options.day, SELECTION_REPORT, "json")
    write_json(storage, key, json.dumps(payload, indent=2))
    LOGGER.info("model selection: %s", verdict)
    return payload


def production_model_reference(
    decision: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The production model as published to the global data product ``production_model``."""
    settings, _, _ = _context(variables)
    client = registry.client_for(settings.mlflow_tracking_uri)
    production = registry.version_by_alias(client, settings.model_name, registry.PRODUCTION)
    return {
        "model_name": production.name,
        "model_version": production.version,
        "model_uri": production.uri,
        "alias_uri": registry.model_uri(production.name, registry.PRODUCTION),
        "run_id": production.run_id,
        "metrics": production.metrics,
        "promoted": bool(decision.get("promoted")),
        "tracking_uri": settings.mlflow_tracking_uri,
    }


# --------------------------------------------------------------------------- inference


def simulation_day_index(day: dt.date) -> int:
    """The simulator's day index of a calendar day (player ids never collide between days)."""
    return (day - SIMULATION_EPOCH).days


def simulate_day(
    storage: Storage, day: dt.date, players: int, seed: int = 42, drift: str = "none"
) -> dict[str, str]:
    """Write a simulated day: the batch to score and (as if revealed later) its true labels."""
    frame = simulator.daily_players(simulation_day_index(day), players, seed=seed, drift=drift)
    batch, labels = simulator.split_labels(frame)
    labels_uri = write_csv(storage, layout.labels(day), labels)  # first: a batch means complete
    return {"batch": write_csv(storage, layout.batch_input(day), batch), "labels": labels_uri}


def load_batch(variables: Mapping[str, Any]) -> pd.DataFrame:
    """The day's players to score (``batch/<day>/players.csv``), ingested first when needed.

    Absent from storage: BATCH_DATA_PATH is copied there, else (``simulate_missing_batch``)
    a simulated day is written, else a clear error says where the batch is expected.
    """
    settings, storage, options = _context(variables)
    key = layout.batch_input(options.day)
    if not storage.exists(key):
        if settings.batch_data_path is not None:
            write_csv(storage, key, data_sources.read_players_csv(settings.batch_data_path))
        elif options.simulate_missing_batch:
            simulate_day(storage, options.day, options.batch_players, options.seed)
            LOGGER.info("simulated %d players for %s", options.batch_players, options.day)
        else:
            raise StorageError(
                f"no batch for {options.day}: expected {storage.uri(key)} "
                "(or set BATCH_DATA_PATH, or the variable simulate_missing_batch)"
            )
    return read_csv(storage, key, as_text=True)


def predict_batch(raw: pd.DataFrame, variables: Mapping[str, Any]) -> pd.DataFrame:
    """Validate and score the day's players with the production model; save the rejects."""
    settings, storage, options = _context(variables)
    model, version = online.load_production_model(settings)
    scored = inference.score_players(model, raw)
    _replace_csv(storage, layout.rejected("batch", options.day), scored.rejected)
    LOGGER.info("batch %s: %s (model version %s)", options.day, scored.summary, version.version)
    result = scored.scored_inputs
    result[MODEL_VERSION_COLUMN] = version.version
    return result


def save_predictions(scored: pd.DataFrame, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Save the day's predictions and its monitoring 'current' data, replacing earlier runs."""
    _, storage, options = _context(variables)
    columns = [ID_COLUMN, PREDICTION_COLUMN, *inference.PROBABILITY_COLUMNS, MODEL_VERSION_COLUMN]
    predictions = scored.loc[:, [c for c in columns if c in scored.columns]]
    current = scored.drop(columns=[MODEL_VERSION_COLUMN], errors="ignore")
    rejected_key = layout.rejected("batch", options.day)
    return {
        "day": options.day.isoformat(),
        "predicted": len(predictions),
        "rejected": len(read_csv(storage, rejected_key)) if storage.exists(rejected_key) else 0,
        "predictions": write_csv(storage, layout.predictions(options.day), predictions),
        "current": write_csv(storage, layout.current(options.day), current),
        "model_version": str(scored[MODEL_VERSION_COLUMN].iloc[0]) if len(scored) else None,
    }


# --------------------------------------------------------------------------- monitoring


def load_reference(variables: Mapping[str, Any]) -> pd.DataFrame:
    """The monitoring reference: the production training's train and test sets with predictions."""
    from machine_learning import monitoring  # pylint: disable=import-outside-toplevel

    _, storage, options = _context(variables)
    if not storage.exists(layout.REFERENCE):
        raise StorageError(
            f"no monitoring reference ({storage.uri(layout.REFERENCE)}): the production model was "
            "not promoted by select_best_model; run training_workflow and select_best_model first"
        )
    reference = batch_scoring.read_for_monitoring(
        storage, layout.REFERENCE, options.monitoring_sample_rows, options.seed
    )
    return monitoring.monitoring_frame(reference)


def load_current(variables: Mapping[str, Any]) -> pd.DataFrame:
    """The monitored day's scored players (its inputs with predictions)."""
    from machine_learning import monitoring  # pylint: disable=import-outside-toplevel

    _, storage, options = _context(variables)
    day = monitoring_day(storage, options)
    current = batch_scoring.read_for_monitoring(
        storage, layout.current(day), options.monitoring_sample_rows, options.seed
    )
    return monitoring.monitoring_frame(current)


def run_drift_tests(
    reference: pd.DataFrame, current: pd.DataFrame, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """Run the drift test suite, decide about retraining, save both and add the suite to the
    Evidently workspace; returns the decision (``retrain``, ``reasons``, ...) and the day."""
    # pylint: disable=import-outside-toplevel
    from machine_learning import monitoring

    settings, storage, options = _context(variables)
    day = monitoring_day(storage, options)
    result = monitoring.run_monitoring(
        reference, current, monitoring.thresholds_from_settings(settings), _timestamp(day)
    )
    uris = monitoring.save_monitoring_result(storage, day, result)
    monitoring.publish_to_workspace(settings.evidently_workspace, [result.suite], storage)
    LOGGER.info(
        "monitoring %s: retrain=%s %s", day, result.retrain, [r.message for r in result.reasons]
    )
    return {"day": day.isoformat(), **result.as_dict(), "saved": uris}


def last_retraining(storage: Storage, before: dt.date) -> dict[str, Any] | None:
    """The latest completed retraining (its saved record) of a day before ``before``."""
    for day in reversed(_days_under(storage, "reports/", f"{RETRAINING_REPORT}.json")):
        if day >= before:
            continue
        record = read_json_report(storage, day, RETRAINING_REPORT) or {}
        if record.get("status") == "completed":
            return record
    return None


def trigger_retraining(decision: Mapping[str, Any], variables: Mapping[str, Any]) -> dict[str, Any]:
    """When the decision says so, run ``ml_retraining`` through Mage and wait for it; skipped
    when no labels arrived since the last completed retraining (nothing new to learn from).

    The outcome (reasons, status, duration, selection verdict) is saved to
    ``reports/<day>/retraining.json``; a failed retraining fails this step too.
    """
    settings, storage, _ = _context(variables)
    day = str(decision["day"])
    record: dict[str, Any] = {
        "day": day,
        "retrain": bool(decision["retrain"]),
        "reasons": [reason["message"] for reason in decision.get("reasons", [])],
    }
    if not record["retrain"]:
        record["status"] = "not_needed"
        return record
    key = layout.report(day, RETRAINING_REPORT, "json")
    record["labelled_days"] = [labelled.isoformat() for labelled in labelled_days(storage)]
    previous = last_retraining(storage, dt.date.fromisoformat(day))
    if previous is not None and previous.get("labelled_days") == record["labelled_days"]:
        record["status"] = "skipped"
        record["why"] = (
            f"no labels arrived since the retraining of {previous['day']}: "
            "a new model could learn nothing new"
        )
        write_json(storage, key, json.dumps(record, indent=2))
        LOGGER.info("retraining skipped: %s", record["why"])
        return record
    started = time.perf_counter()
    child = {
        **forwarded_variables(variables),
        "day": day,
        "trigger": "performance_monitor",
        "reason": "; ".join(record["reasons"])[:1000],
    }
    try:
        run = orchestration.run_pipeline("ml_retraining", child, settings=settings, own_group=False)
    except orchestration.PipelineRunError as error:
        record.update(status="failed", error=str(error), seconds=time.perf_counter() - started)
        write_json(storage, key, json.dumps(record, indent=2))
        raise
    record.update(status="completed", seconds=round(run.seconds, 3), log=str(run.log_path))
    selection_key = layout.report(day, SELECTION_REPORT, "json")
    if storage.exists(selection_key):
        record["selection"] = json.loads(storage.read_bytes(selection_key))
    write_json(storage, key, json.dumps(record, indent=2, default=str))
    return record


def retrain(variables: Mapping[str, Any]) -> dict[str, Any]:
    """ml_retraining: run training_workflow, wait, then select_best_model; raise if either fails.

    Returns both runs' durations and the selection decision saved by select_best_model.
    """
    settings, storage, options = _context(variables)
    child = {
        **forwarded_variables(variables),
        "day": options.day.isoformat(),
        "trigger": str(variables.get("trigger") or "ml_retraining"),
        "reason": str(variables.get("reason") or ""),
    }
    runs = orchestration.run_sequence(
        child,
        pipelines=("training_workflow", "select_best_model"),
        settings=settings,
        own_group=False,
    )
    selection = read_json_report(storage, options.day, SELECTION_REPORT)
    return {"runs": [run.as_dict() for run in runs], "selection": selection}


def _performance_report(storage: Storage, day: dt.date, current: pd.DataFrame):
    """The classification-performance report of a day's predictions, once its labels exist."""
    from machine_learning import monitoring  # pylint: disable=import-outside-toplevel

    if not storage.exists(layout.labels(day)):
        return None
    labelled = monitoring.join_truth(current, read_csv(storage, layout.labels(day)))
    if labelled.empty:
        return None
    return monitoring.build_performance_report(labelled, timestamp=_timestamp(day))


def _backfill_performance(storage: Storage, day: dt.date) -> dict[str, Any]:
    """Performance reports of earlier days whose labels arrived after their own reports ran
    (labels come days later): built, saved and returned by day; days done before are skipped."""
    from machine_learning import monitoring  # pylint: disable=import-outside-toplevel

    built = {}
    for past in _days_under(storage, "labels/", "labels.csv"):
        done = layout.report(past, monitoring.PERFORMANCE_METRICS_NAME, "json")
        if past >= day or storage.exists(done) or not storage.exists(layout.current(past)):
            continue
        current = monitoring.monitoring_frame(read_csv(storage, layout.current(past), as_text=True))
        report = _performance_report(storage, past, current)
        if report is None:
            continue
        monitoring.save_performance_summary(
            storage, past, monitoring.performance_summary(report.as_dict())
        )
        monitoring.save_reports(storage, past, {monitoring.CLASSIFICATION_PERFORMANCE: report})
        built[past.isoformat()] = report
    return built


def build_daily_reports(
    reference: pd.DataFrame, current: pd.DataFrame, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """Data-quality, data-drift and prediction-drift reports of the day (plus classification
    performance once the day's labels are known): saved as JSON and HTML, added to the
    Evidently workspace."""
    # pylint: disable=import-outside-toplevel
    from machine_learning import monitoring

    settings, storage, options = _context(variables)
    day = monitoring_day(storage, options)
    thresholds = monitoring.thresholds_from_settings(settings)
    reports = monitoring.build_reports(reference, current, thresholds, _timestamp(day))
    summary: dict[str, Any] = {"day": day.isoformat()}
    performance = _performance_report(storage, day, current)
    if performance is not None:
        reports[monitoring.CLASSIFICATION_PERFORMANCE] = performance
        summary["performance"] = monitoring.performance_summary(performance.as_dict())
        monitoring.save_performance_summary(storage, day, summary["performance"])
    summary["saved"] = monitoring.save_reports(storage, day, reports)
    backfilled = _backfill_performance(storage, day)
    summary["labels_arrived_for"] = sorted(backfilled)
    reports.update({f"performance {past}": report for past, report in backfilled.items()})
    monitoring.publish_to_workspace(settings.evidently_workspace, list(reports.values()), storage)
    return summary


# --------------------------------------------------------------------------- helpers for callers


def read_json_report(storage: Storage, day: dt.date | str, name: str) -> dict[str, Any] | None:
    """A JSON result saved under ``reports/<day>/<name>.json``, or None when absent."""
    key = layout.report(day, name, "json")
    return json.loads(storage.read_bytes(key)) if storage.exists(key) else None
