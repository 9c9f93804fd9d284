"""Registered models for inference, fast: aliases resolved over MLflow's REST API, model files
cached on local disk by version (a registered version never changes), loaded without importing
MLflow when the cache already holds them.

Online inference runs in a fresh process per request (Mage's one-process runs), where importing
MLflow and downloading the model cost more than the prediction itself.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

MLMODEL_FILE = "MLmodel"
_MEMORY: dict[tuple[str, str, str], Any] = {}


@dataclass(frozen=True)
class ModelRef:
    """A registered model version."""

    name: str
    version: str
    run_id: str = ""

    @property
    def uri(self) -> str:
        """The ``models:/name/version`` URI."""
        return f"models:/{self.name}/{self.version}"


def _registry_error(message: str) -> Exception:
    """A :class:`machine_learning.registry.RegistryError` (imported only on this error path:
    the registry module imports MLflow)."""
    from machine_learning.registry import RegistryError  # pylint: disable=import-outside-toplevel

    return RegistryError(message)


def resolve_alias(tracking_uri: str, name: str, alias: str, timeout: float = 15.0) -> ModelRef:
    """The version ``alias`` points to (one REST call; :class:`RegistryError` when absent)."""
    url = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow/registered-models/alias"
    response = requests.get(url, params={"name": name, "alias": alias}, timeout=timeout)
    if response.status_code in (400, 404):
        raise _registry_error(
            f"the registry at {tracking_uri} has no model '{name}' with alias '{alias}'. "
            "Train a model and promote one (run training_workflow and select_best_model) first."
        )
    response.raise_for_status()
    version = response.json()["model_version"]
    return ModelRef(
        name=version["name"], version=str(version["version"]), run_id=version.get("run_id", "")
    )


def cache_dir(cache_root: Path, tracking_uri: str, ref: ModelRef) -> Path:
    """Where a version's files are cached (one folder per tracking server, model and version)."""
    server = hashlib.sha256(tracking_uri.rstrip("/").encode("utf-8")).hexdigest()[:16]
    return Path(cache_root) / server / ref.name / ref.version


def _download(tracking_uri: str, ref: ModelRef, target: Path) -> Path:
    # pylint: disable=import-outside-toplevel
    import mlflow
    from mlflow.artifacts import download_artifacts

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{ref.version}.", dir=target.parent))
    try:
        local = Path(download_artifacts(artifact_uri=ref.uri, dst_path=str(staging)))
        if not (local / MLMODEL_FILE).is_file():
            raise _registry_error(f"{ref.uri} has no {MLMODEL_FILE} file: not an MLflow model")
        try:
            os.replace(local, target)  # atomic: readers see a complete folder or none
        except OSError:
            if not (target / MLMODEL_FILE).is_file():  # not a concurrent download that won
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _load_folder(folder: Path):
    """Unpickle the scikit-learn model of an MLflow model folder (MLflow's loader as fallback)."""
    flavor = (yaml.safe_load((folder / MLMODEL_FILE).read_text()) or {}).get("flavors", {})
    sklearn_flavor = flavor.get("sklearn", {})
    pickled = sklearn_flavor.get("pickled_model")
    serialization = sklearn_flavor.get("serialization_format")
    if pickled and serialization in ("cloudpickle", "pickle"):
        with open(folder / pickled, "rb") as stream:
            if serialization == "cloudpickle":
                import cloudpickle  # pylint: disable=import-outside-toplevel

                return cloudpickle.load(stream)
            return pickle.load(stream)  # noqa: S301 - our own registry's model
    import mlflow.sklearn  # pylint: disable=import-outside-toplevel

    return mlflow.sklearn.load_model(str(folder))


def load_version(tracking_uri: str, ref: ModelRef, cache_root: Path):
    """The model of a registered version: from memory, else the disk cache, else downloaded."""
    key = (tracking_uri, ref.name, ref.version)
    if key not in _MEMORY:
        folder = cache_dir(cache_root, tracking_uri, ref)
        if not (folder / MLMODEL_FILE).is_file():
            _download(tracking_uri, ref, folder)
        _MEMORY[key] = _load_folder(folder)
    return _MEMORY[key]


def load_alias(tracking_uri: str, name: str, alias: str, cache_root: Path) -> tuple[Any, ModelRef]:
    """The model that ``alias`` points to now, and which version that is."""
    ref = resolve_alias(tracking_uri, name, alias)
    return load_version(tracking_uri, ref, cache_root), ref
