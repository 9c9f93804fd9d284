"""MLflow model registry: aliases, best version by metric, loading by alias, clear errors."""

from __future__ import annotations

from dataclasses import dataclass, replace

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

CANDIDATE = "candidate"
PRODUCTION = "production"
BEST = "best"


_NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND")


class RegistryError(RuntimeError):
    """The registry has no such model, version or alias (the message says how to fix it)."""


class RegistryUnavailableError(RegistryError):
    """The tracking server did not answer (down, or unreachable)."""


def _is_unreachable(error: MlflowException) -> bool:
    text = str(error)
    return any(sign in text for sign in ("Max retries exceeded", "Connection refused", "timed out"))


@dataclass(frozen=True)
class VersionInfo:
    """A registered version with the metrics of the run that produced it."""

    name: str
    version: str
    run_id: str
    aliases: tuple[str, ...]
    metrics: dict[str, float]

    @property
    def uri(self) -> str:
        """The ``models:/name/version`` URI."""
        return f"models:/{self.name}/{self.version}"


def client_for(tracking_uri: str) -> MlflowClient:
    """A client bound to ``tracking_uri`` (registry at the same place)."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _info(client: MlflowClient, version: ModelVersion) -> VersionInfo:
    metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
    return VersionInfo(
        name=version.name,
        version=str(version.version),
        run_id=version.run_id or "",
        aliases=tuple(getattr(version, "aliases", ()) or ()),
        metrics=dict(metrics),
    )


def version_info(client: MlflowClient, version: ModelVersion) -> VersionInfo:
    """A :class:`VersionInfo` of an MLflow ``ModelVersion`` (aliases as the object carries them)."""
    return _info(client, version)


def list_versions(client: MlflowClient, name: str) -> list[VersionInfo]:
    """All versions of ``name`` (oldest first); empty when the model does not exist."""
    versions = client.search_model_versions(f"name = '{name}'")
    infos = sorted((_info(client, v) for v in versions), key=lambda v: int(v.version))
    if not infos:
        return infos
    # Search results carry no aliases (MLflow 3.x): take them from the registered model.
    aliases = client.get_registered_model(name).aliases or {}
    return [
        replace(v, aliases=tuple(a for a, version in aliases.items() if str(version) == v.version))
        for v in infos
    ]


def version_by_alias(client: MlflowClient, name: str, alias: str) -> VersionInfo:
    """The version that ``alias`` points to, or a :class:`RegistryError` saying how to fix it."""
    return _info(client, model_version_by_alias(client, name, alias))


def model_version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion:
    """MLflow's record of the version ``alias`` points to (one request; no run metrics), or
    the errors of :func:`version_by_alias`."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code not in _NOT_FOUND_CODES:
            if _is_unreachable(error):
                raise RegistryUnavailableError(
                    f"the MLflow server at {client.tracking_uri} does not answer; start it "
                    "(make run, or gaming-mlops up) or set MLFLOW_TRACKING_URI"
                ) from error
            raise
        raise RegistryError(
            f"the registry at {client.tracking_uri} has no model '{name}' with alias '{alias}'. "
            f"Train a model (gaming-mlops train) and promote one "
            f"(gaming-mlops promote --alias {alias}) first."
        ) from error


def set_alias(client: MlflowClient, name: str, alias: str, version: str) -> None:
    """Point ``alias`` of model ``name`` at ``version``."""
    client.set_registered_model_alias(name, alias, str(version))


def best_version(client: MlflowClient, name: str, metric: str = "accuracy") -> VersionInfo:
    """The version whose run has the highest ``metric`` (ties: the newest version)."""
    scored = [v for v in list_versions(client, name) if metric in v.metrics]
    if not scored:
        raise RegistryError(
            f"the registry at {client.tracking_uri} has no version of '{name}' with metric "
            f"'{metric}'. Train a model first (gaming-mlops train)."
        )
    return max(scored, key=lambda v: (v.metrics[metric], int(v.version)))


def model_uri(name: str, alias: str) -> str:
    """The ``models:/name@alias`` URI."""
    return f"models:/{name}@{alias}"


def load_model(tracking_uri: str, uri: str):
    """Load a scikit-learn model from a ``models:/`` or ``runs:/`` URI.

    For an alias URI, a missing model or alias raises :class:`RegistryError`.
    """
    if uri.startswith("models:/") and "@" in uri:
        name, alias = uri[len("models:/") :].split("@", 1)
        version_by_alias(client_for(tracking_uri), name, alias)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.sklearn.load_model(uri)
