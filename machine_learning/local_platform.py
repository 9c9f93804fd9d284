"""The local platform: long-running servers started in the background, tracked by PID files.

``start_platform`` starts what is not already running (so running it twice changes nothing),
``stop_platform`` ends exactly the process groups it recorded, ``platform_status`` says what runs.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from machine_learning import services
from machine_learning.config import Settings


@dataclass(frozen=True)
class ServiceState:
    """A recorded service: name, process group id, URL and whether it answers now."""

    name: str
    pid: int
    url: str
    log: str
    running: bool


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.runtime_dir / "pids" / f"{name}.json"


_MARKERS = {"mlflow": ("mlflow", "gunicorn", "uvicorn")}


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


def _alive(pid: int, name: str = "mlflow") -> bool:
    """Whether our recorded process group still has a process of that service (not a reused PID)."""
    markers = _MARKERS.get(name, (name,))
    return any(any(m in cmd for m in markers) for cmd in _group_members(pid))


def _answers(url: str) -> bool:
    try:
        services.wait_for_http(url, timeout=1.0)
    except services.ServiceError:
        return False
    return True


def _record(settings: Settings, process: services.ManagedProcess) -> None:
    path = _pid_file(settings, process.name)
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
    running = _alive(payload["pid"], name) and _answers(_health_url(name, payload["url"]))
    return ServiceState(name, payload["pid"], payload["url"], payload["log"], running)


def _health_url(name: str, url: str) -> str:
    return f"{url}/health" if name == "mlflow" else url


def _mlflow_port(settings: Settings) -> int:
    parsed = urllib.parse.urlparse(settings.mlflow_tracking_uri)
    if parsed.hostname not in {"127.0.0.1", "localhost"}:
        raise services.ServiceError(
            f"MLFLOW_TRACKING_URI={settings.mlflow_tracking_uri} is not local; "
            "the local platform starts its MLflow server on 127.0.0.1"
        )
    return parsed.port or 5000


def start_platform(settings: Settings) -> list[ServiceState]:
    """Start the MLflow tracking server unless it already runs; return the services' states."""
    state = _read(settings, "mlflow")
    if state is None or not state.running:
        if state is not None and _alive(state.pid, state.name):
            services.stop_process_group(state.pid)  # ours, recorded, but not answering
        process = services.start_mlflow_server(
            settings.runtime_dir / "mlflow",
            port=_mlflow_port(settings),
            log_path=settings.runtime_dir / "logs" / "mlflow.log",
        )
        _record(settings, process)
    return platform_status(settings)


def platform_status(settings: Settings) -> list[ServiceState]:
    """The recorded services and whether each answers its health check."""
    states = (_read(settings, name) for name in ("mlflow",))
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
