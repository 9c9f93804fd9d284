"""The local platform: MLflow, the Mage server and the Evidently UI, started in the background on
127.0.0.1 and tracked by PID files under ``<runtime>/pids``.

``start_platform`` starts what is not already running (so running it twice changes nothing),
``stop_platform`` ends exactly the process groups it recorded, ``platform_status`` says what runs.
Each service logs to ``<runtime>/logs/<name>.log``.

The Mage server serves a copy of ``mlops/`` refreshed at each start (``<runtime>/mage_project``):
the committed triggers carry a fixed ``last_enabled_at``, which on a fresh Mage database makes
every schedule run once for its latest tick, in the middle of whatever ``make run`` is doing;
the copy's triggers count as enabled at start instead (see :func:`orchestration.project_copy`).
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from machine_learning import orchestration, services
from machine_learning.config import Settings

SERVICES: tuple[str, ...] = ("mlflow", "mage", "evidently")
# Words in the command lines of a service's processes (so a reused PID is not taken for ours).
_MARKERS = {
    "mlflow": ("mlflow", "gunicorn", "uvicorn"),
    "mage": ("mage",),
    "evidently": ("evidently",),
}
_HEALTH_PATHS = {"mlflow": "/health", "mage": "/api/status", "evidently": "/api/projects"}


@dataclass(frozen=True)
class ServiceState:
    """A recorded service: name, process group id, URL and whether it answers now."""

    name: str
    pid: int
    url: str
    log: str
    running: bool

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.runtime_dir / "pids" / f"{name}.json"


def log_path(settings: Settings, name: str) -> Path:
    """The log file of service ``name``."""
    return settings.runtime_dir / "logs" / f"{name}.log"


def _group_members(pgid: int) -> list[str]:
    """Command lines of the processes in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                members.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue
    return members


def _alive(pid: int, name: str) -> bool:
    """Whether our recorded process group still has a process of that service (not a reused PID)."""
    markers = _MARKERS.get(name, (name,))
    return any(any(m in cmd for m in markers) for cmd in _group_members(pid))


def _answers(url: str) -> bool:
    try:
        services.wait_for_http(url, timeout=2.0)
    except services.ServiceError:
        return False
    return True


def _record(settings: Settings, name: str, process: services.ManagedProcess) -> None:
    path = _pid_file(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"pid": process.pid, "url": process.url, "log": str(process.log_path)}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, path)


def _read(settings: Settings, name: str) -> ServiceState | None:
    path = _pid_file(settings, name)
    if not path.is_file():
        return None
    payload = json.loads(path.read_text())
    url = payload["url"]
    running = _alive(payload["pid"], name) and _answers(url + _HEALTH_PATHS[name])
    return ServiceState(name, payload["pid"], url, payload["log"], running)


def _local_port(url: str, variable: str, default: int) -> int:
    parsed = urllib.parse.urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost"}:
        raise services.ServiceError(
            f"{variable}={url} is not local; the local platform starts its server on 127.0.0.1"
        )
    return parsed.port or default


def mage_owner(settings: Settings) -> orchestration.OwnerCredentials:
    """The Mage owner's login from the settings (clear error when it is not set)."""
    if not settings.mage_owner_email or not settings.mage_owner_password:
        raise services.ServiceError(
            "the Mage server needs DEFAULT_OWNER_EMAIL and DEFAULT_OWNER_PASSWORD "
            "(`make run` generates them into .env; or set them yourself)"
        )
    return orchestration.OwnerCredentials(
        settings.mage_owner_email, settings.mage_owner_password, settings.mage_owner_username
    )


def mlflow_artifacts(settings: Settings) -> tuple[str | None, dict[str, str]]:
    """Where the MLflow server keeps artifacts: a local folder, or the bucket when STORAGE=s3
    (``<prefix>/mlflow-artifacts``), with the server's S3 endpoint variable."""
    if settings.storage != "s3":
        return None, {}
    prefix = "/".join(part for part in (settings.s3_prefix, "mlflow-artifacts") if part)
    env = {"MLFLOW_S3_ENDPOINT_URL": settings.s3_endpoint_url} if settings.s3_endpoint_url else {}
    return f"s3://{settings.s3_bucket}/{prefix}", env


def _start_mlflow(settings: Settings) -> services.ManagedProcess:
    port = _local_port(settings.mlflow_tracking_uri, "MLFLOW_TRACKING_URI", 5000)
    destination, env = mlflow_artifacts(settings)
    return services.start_mlflow_server(
        settings.runtime_dir / "mlflow",
        port=port,
        artifacts_destination=destination,
        env=env,
        log_path=log_path(settings, "mlflow"),
    )


def mage_project_copy(settings: Settings) -> Path:
    """A fresh copy of ``mlops/`` for the Mage server (see the module docstring)."""
    target = settings.runtime_dir / "mage_project"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    return orchestration.project_copy(target)


def _start_mage(settings: Settings) -> services.ManagedProcess:
    return orchestration.start_mage_server(
        mage_owner(settings),
        settings=settings,
        port=settings.mage_port,
        log_path=log_path(settings, "mage"),
        project=mage_project_copy(settings),
        timeout=180.0,
    )


def _start_evidently(settings: Settings) -> services.ManagedProcess:
    # The UI process pulls the workspace (S3) and creates the project and dashboard itself.
    from machine_learning.monitoring import ui  # pylint: disable=import-outside-toplevel

    return ui.start_ui(
        settings.evidently_workspace,
        port=settings.evidently_ui_port,
        log_path=log_path(settings, "evidently"),
    )


_STARTERS: dict[str, Callable[[Settings], services.ManagedProcess]] = {
    "mlflow": _start_mlflow,
    "mage": _start_mage,
    "evidently": _start_evidently,
}


def start_platform(settings: Settings, names: tuple[str, ...] = SERVICES) -> list[ServiceState]:
    """Start each service of ``names`` unless it already runs; return the services' states."""
    unknown = [name for name in names if name not in _STARTERS]
    if unknown:
        raise ValueError(f"unknown services {unknown}; known: {', '.join(SERVICES)}")
    for name in names:
        state = _read(settings, name)
        if state is not None and state.running:
            continue
        if state is not None and _alive(state.pid, name):
            services.stop_process_group(state.pid)  # ours, recorded, but not answering
        _record(settings, name, _STARTERS[name](settings))
    return platform_status(settings)


def platform_status(settings: Settings) -> list[ServiceState]:
    """The recorded services and whether each answers its health check."""
    states = (_read(settings, name) for name in SERVICES)
    return [state for state in states if state is not None]


def stop_platform(settings: Settings) -> list[str]:
    """Stop the process groups recorded by :func:`start_platform`; return the names stopped."""
    stopped = []
    for state in platform_status(settings):
        if _alive(state.pid, state.name):
            services.stop_process_group(state.pid)
            stopped.append(state.name)
        _pid_file(settings, state.name).unlink(missing_ok=True)
    return stopped
