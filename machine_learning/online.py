"""Online inference: predictions for a list of player records (the online_inference pipeline).

Kept light on imports (no MLflow when the model is cached): each API-triggered run is a fresh
process, so import time is part of every request's latency.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import requests

from machine_learning import inference, model_store
from machine_learning.config import Settings, load_settings
from machine_learning.schema import ID_COLUMN
from machine_learning.validation import ROW_COLUMN

PRODUCTION = "production"  # the registry alias (machine_learning.registry.PRODUCTION)
REASON_COLUMN = "rejection_reason"
# Mage's API returns at most 1,000 rows of a block's table output (its sample size).
MAX_RECORDS = 1000


def model_cache_root(settings: Settings) -> Path:
    """Local cache of registered model files (shared by batch and online inference)."""
    return settings.runtime_dir / "model_cache"


def _registry_error_class() -> type[Exception]:
    """:class:`machine_learning.registry.RegistryError`, imported on error paths only (MLflow)."""
    from machine_learning.registry import RegistryError  # pylint: disable=import-outside-toplevel

    return RegistryError


def _unavailable(tracking_uri: str, error: Exception) -> Exception:
    # pylint: disable-next=import-outside-toplevel
    from machine_learning.registry import RegistryUnavailableError

    return RegistryUnavailableError(
        f"the MLflow server at {tracking_uri} did not answer ({type(error).__name__}: "
        f"{str(error)[:200]}); start it (make run, or gaming-mlops up) or set "
        "MLFLOW_TRACKING_URI, then run again"
    )


def _no_production(tracking_uri: str, name: str) -> Exception:
    """Why there is no production model, and how to get one (one more registry call)."""
    url = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/registered-models/get"
    try:
        response = requests.get(url, params={"name": name}, timeout=15)
    except requests.RequestException as error:
        return _unavailable(tracking_uri, error)
    promote = "run the select_best_model pipeline, or `gaming-mlops promote`"
    if response.status_code != 200:
        return _registry_error_class()(
            f"no production model: the registry at {tracking_uri} has no model '{name}'. "
            f"Train one (the training_workflow pipeline, or `gaming-mlops train`), then {promote}."
        )
    model = response.json().get("registered_model", {})
    aliases = ", ".join(
        f"'{a['alias']}' is version {a['version']}" for a in model.get("aliases", [])
    )
    return _registry_error_class()(
        f"no production model: model '{name}' at {tracking_uri} has no alias '{PRODUCTION}'"
        f"{f' ({aliases})' if aliases else ''}. To promote a version, {promote} "
        "(`--version N` for a given one)."
    )


def load_production_model(settings: Settings) -> tuple[Any, model_store.ModelRef]:
    """The model that ``production`` points to now, and which version that is.

    No such alias, or no answer from the registry: a :class:`RegistryError` saying which, and
    how to fix it.
    """
    uri, name = settings.mlflow_tracking_uri, settings.model_name
    try:
        ref = model_store.resolve_alias(uri, name, PRODUCTION)
    except requests.RequestException as error:
        raise _unavailable(uri, error) from error
    except _registry_error_class() as error:  # evaluated only when something was raised
        raise _no_production(uri, name) from error
    return model_store.load_version(uri, ref, model_cache_root(settings)), ref


def parse_records(value: Any) -> pd.DataFrame:
    """Player records from the ``records`` variable: a list of objects (or its JSON text)."""
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError("records must be a non-empty list of player objects")
    if not all(isinstance(record, Mapping) for record in value):
        raise ValueError("every record must be an object of column: value")
    if len(value) > MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS} records per request, got {len(value)}")
    return pd.DataFrame([dict(record) for record in value])


def predict_records(variables: Mapping[str, Any]) -> pd.DataFrame:
    """Validate the ``records`` variable and predict each valid record with the production model.

    One row per record sent, in order: ``row`` (1-based), ``PlayerID`` when sent, ``prediction``
    and ``prob_Low|Medium|High`` (empty for a rejected record), ``rejection_reason`` (empty for a
    predicted one), and the ``model_name`` / ``model_version`` that answered. A table, because
    Mage's API returns all rows of a DataFrame output (``sample_count``) but only 20 items of a
    list inside a dict.
    """
    settings = load_settings()
    frame = parse_records(variables.get("records"))
    model, ref = load_production_model(settings)
    scored = inference.score_players(model, frame)
    rejected = scored.rejected
    rejected_rows = set(rejected[ROW_COLUMN].astype(int)) if len(rejected) else set()
    predictions = scored.predictions.drop(columns=[ID_COLUMN], errors="ignore")
    predictions.insert(0, "row", [r for r in range(1, len(frame) + 1) if r not in rejected_rows])
    reasons = pd.DataFrame(
        {
            "row": rejected.get(ROW_COLUMN, pd.Series(dtype=int)).astype(int),
            REASON_COLUMN: rejected.get(REASON_COLUMN, pd.Series(dtype=str)).astype(str),
        }
    )
    result = pd.DataFrame({"row": range(1, len(frame) + 1)})
    if ID_COLUMN in frame:
        result[ID_COLUMN] = pd.to_numeric(frame[ID_COLUMN], errors="coerce").astype("Int64")
    result = result.merge(predictions, on="row", how="left").merge(reasons, on="row", how="left")
    result[REASON_COLUMN] = result[REASON_COLUMN].fillna("")
    result["model_name"] = ref.name
    result["model_version"] = ref.version
    return result
