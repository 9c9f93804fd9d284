"""The one place that reads the environment (and a `.env` file, if present).

Every other module takes a :class:`Settings` (or plain arguments) instead of reading
``os.environ`` itself, so library functions stay pure and testable.
"""

from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_MODEL_NAME = "gaming-engagement"
DEFAULT_EXPERIMENT = "gaming-engagement"


@dataclass(frozen=True)
class Settings:  # pylint: disable=too-many-instance-attributes
    """Run-time settings of the platform. Build it with :func:`load_settings`."""

    data_dir: Path = PROJECT_ROOT / "runtime" / "data"
    runtime_dir: Path = PROJECT_ROOT / "runtime"  # services' state, logs and PID files
    storage: str = "local"  # "local" or "s3"
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    experiment_name: str = DEFAULT_EXPERIMENT
    model_name: str = DEFAULT_MODEL_NAME
    model_kind: str = "gradient_boosting"
    data_path: Path | None = None  # real Kaggle CSV; None = embedded simulator
    batch_data_path: Path | None = None
    seed: int = 42
    # Mage's variables and database (MAGE_DATA_DIR), kept outside the repository's tracked files.
    mage_data_dir: Path = PROJECT_ROOT / "runtime" / "mage_data"
    evidently_workspace: Path = PROJECT_ROOT / "runtime" / "evidently"  # `evidently ui --workspace`
    # Online prediction service (`gaming-mlops serve`).
    service_host: str = "127.0.0.1"
    service_port: int = 8080
    service_model_alias: str = "production"
    service_poll_seconds: float = 10.0  # how often the registry alias is checked
    service_max_body_bytes: int = 1_048_576  # larger request bodies get HTTP 413
    # Server processes, each with its own model holder (polling the alias) and metrics.
    service_workers: int = 1
    service_fast_path: bool = True  # ONNX Runtime when the converted model verifies

    # Local platform (`make run`): the Mage server's owner account and the services' ports.
    mage_owner_email: str = ""
    mage_owner_username: str = "owner"
    mage_owner_password: str = ""
    mage_port: int = 6789
    evidently_ui_port: int = 8000

    # MLflow client's HTTP policy: MLflow's own default retries for minutes when the server is down.
    mlflow_http_retries: int = 2
    mlflow_http_timeout: int = 30

    # CPU threads (OpenMP/BLAS) of a model fit or prediction: on a shared machine more threads
    # fight over the cores (HistGradientBoosting fits 10-20x slower); scale out with tasks.
    model_threads: int = 1

    def with_overrides(self, **changes: object) -> "Settings":
        """Return a copy with some fields changed."""
        return replace(self, **changes)


def _read_environment(env_file: Path | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)  # the real environment wins over .env
    return values


def _project_path(value: str | None, default: Path) -> Path:
    """A path setting; relative paths are taken from the project root."""
    if not value:
        return default
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from error


def _positive_number(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError as error:
        raise ValueError(f"{name} must be a number, got {value!r}") from error
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number greater than 0, got {value!r}")
    return number


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false (1/0, yes/no, on/off), got {value!r}")


def _optional_path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _workers(env: Mapping[str, str]) -> int:
    workers = _integer(env, "SERVICE_WORKERS", 1)
    if workers < 1:
        raise ValueError(f"SERVICE_WORKERS must be 1 or more, got {workers}")
    return workers


def service_environment(settings: Settings) -> dict[str, str]:
    """The variables that :func:`load_settings` reads back into the service's settings: how
    `gaming-mlops serve` hands its command-line choices to worker processes it spawns."""
    return {
        "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "MODEL_NAME": settings.model_name,
        "SEED": str(settings.seed),
        "SERVICE_HOST": settings.service_host,
        "SERVICE_PORT": str(settings.service_port),
        "SERVICE_MODEL_ALIAS": settings.service_model_alias,
        "SERVICE_POLL_SECONDS": repr(settings.service_poll_seconds),
        "SERVICE_MAX_BODY_BYTES": str(settings.service_max_body_bytes),
        "SERVICE_WORKERS": str(settings.service_workers),
        "SERVICE_FAST_PATH": "1" if settings.service_fast_path else "0",
    }


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = PROJECT_ROOT / ".env"
) -> Settings:
    """Build settings from ``environ`` (default: ``.env`` then the process environment)."""
    env = dict(environ) if environ is not None else _read_environment(env_file)
    storage = env.get("STORAGE", "local").strip().lower()
    if storage not in {"local", "s3"}:
        raise ValueError(f"STORAGE must be 'local' or 's3', got {storage!r}")
    if storage == "s3" and not env.get("S3_BUCKET"):
        raise ValueError("STORAGE=s3 needs S3_BUCKET to be set")
    return Settings(
        data_dir=_project_path(env.get("DATA_DIR"), PROJECT_ROOT / "runtime" / "data"),
        runtime_dir=_project_path(env.get("RUNTIME_DIR"), PROJECT_ROOT / "runtime"),
        storage=storage,
        s3_bucket=env.get("S3_BUCKET", ""),
        s3_prefix=env.get("S3_PREFIX", "").strip("/"),
        s3_endpoint_url=env.get("S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL") or None,
        aws_region=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"),
        experiment_name=env.get("MLFLOW_EXPERIMENT_NAME", DEFAULT_EXPERIMENT),
        model_name=env.get("MODEL_NAME", DEFAULT_MODEL_NAME),
        model_kind=env.get("MODEL_KIND", "gradient_boosting"),
        data_path=_optional_path(env.get("DATA_PATH")),
        batch_data_path=_optional_path(env.get("BATCH_DATA_PATH")),
        seed=_integer(env, "SEED", 42),
        mlflow_http_retries=_integer(env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES", 2),
        mlflow_http_timeout=_integer(env, "MLFLOW_HTTP_REQUEST_TIMEOUT", 30),
        model_threads=_integer(env, "MODEL_THREADS", 1),
        mage_data_dir=_project_path(
            env.get("MAGE_DATA_DIR"), PROJECT_ROOT / "runtime" / "mage_data"
        ),
        evidently_workspace=_project_path(
            env.get("EVIDENTLY_WORKSPACE"), PROJECT_ROOT / "runtime" / "evidently"
        ),
        service_host=env.get("SERVICE_HOST", "127.0.0.1").strip() or "127.0.0.1",
        service_port=_integer(env, "SERVICE_PORT", 8080),
        service_model_alias=env.get("SERVICE_MODEL_ALIAS", "production").strip() or "production",
        service_poll_seconds=_positive_number(env, "SERVICE_POLL_SECONDS", 10.0),
        service_max_body_bytes=int(_positive_number(env, "SERVICE_MAX_BODY_BYTES", 1_048_576)),
        service_workers=_workers(env),
        service_fast_path=_boolean(env, "SERVICE_FAST_PATH", True),
        mage_owner_email=env.get("DEFAULT_OWNER_EMAIL", "").strip(),
        mage_owner_username=env.get("DEFAULT_OWNER_USERNAME", "").strip() or "owner",
        mage_owner_password=env.get("DEFAULT_OWNER_PASSWORD", ""),
        mage_port=_integer(env, "MAGE_PORT", 6789),
        evidently_ui_port=_integer(env, "EVIDENTLY_UI_PORT", 8000),
    )


GENERATED_HEADER = "# Generated by `make run` (git-ignored): the local Mage owner's login."


def ensure_mage_owner(env_file: Path = PROJECT_ROOT / ".env") -> dict[str, str]:
    """The Mage owner's login from the environment or ``env_file``; generated into ``env_file``
    (an email and a random password, appended atomically) when either is missing.

    Returns the keys written (empty when nothing was missing).
    """
    env = _read_environment(env_file)
    missing = {}
    if not env.get("DEFAULT_OWNER_EMAIL", "").strip():
        missing["DEFAULT_OWNER_EMAIL"] = "owner@example.com"
    if not env.get("DEFAULT_OWNER_PASSWORD", "") or env["DEFAULT_OWNER_PASSWORD"] == "admin":
        missing["DEFAULT_OWNER_PASSWORD"] = secrets.token_urlsafe(18)
    if missing:
        existing = env_file.read_text(encoding="utf-8") if env_file.is_file() else ""
        kept = [
            line for line in existing.splitlines() if line.split("=", 1)[0].strip() not in missing
        ]
        lines = [*kept, GENERATED_HEADER, *(f"{key}={value}" for key, value in missing.items())]
        temporary = env_file.with_name(env_file.name + ".tmp")
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        temporary.chmod(0o600)
        os.replace(temporary, env_file)
    return missing


def apply_mlflow_client_settings(settings: Settings) -> None:
    """Give MLflow's client (which reads its HTTP policy from the environment) our retry policy."""
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(settings.mlflow_http_retries)
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(settings.mlflow_http_timeout)


def export_service_settings(settings: Settings) -> None:
    """Put the service's settings into this process's environment, for the worker processes
    that the server spawns (each builds its app from :func:`load_settings`)."""
    os.environ.update(service_environment(settings))
