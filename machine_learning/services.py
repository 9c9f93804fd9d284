"""Start and stop the platform's local servers (MLflow tracking server, moto's S3 server).

Each server runs from the servers' virtual environment (``.venv-servers``), on 127.0.0.1, in
its own process group, with its log in a file; stopping ends exactly that process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from machine_learning.config import PROJECT_ROOT

SERVERS_VENV = PROJECT_ROOT / ".venv-servers"
HOST = "127.0.0.1"
# The MLflow app plugin of mlflow-guard/ (installed into .venv-servers by `make setup`): MLflow's
# server behind Host-header and CORS allow-lists, MLFLOW_ALLOWED_HOSTS (default localhost,
# 127.0.0.1, [::1]) and MLFLOW_CORS_ALLOWED_ORIGINS (default none). See docs/reliability.md.
MLFLOW_GUARD_APP = "host-guard"
# Client-side MLflow state that a server must not inherit (mlflow.set_experiment exports
# MLFLOW_EXPERIMENT_ID, and a server that sees it validates requests against it).
_CLIENT_ONLY_VARIABLES = (
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
)


class ServiceError(RuntimeError):
    """A server that did not start or answer its health check (the message names its log)."""


@dataclass
class ManagedProcess:
    """A server process started by us: its PID (= process group id), URL and log file."""

    name: str
    process: subprocess.Popen
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        """The PID, which is also the process group id."""
        return self.process.pid

    def stop(self, timeout: float = 15.0) -> None:
        """End the process group we started (TERM, then KILL after ``timeout``)."""
        stop_process_group(self.pid, timeout, self.process)


def stop_process_group(
    pgid: int, timeout: float = 15.0, leader: subprocess.Popen | None = None
) -> None:
    """Send TERM to a process group we started, then KILL if it is still there.

    ``leader`` is our own child (if we have it): it is reaped so that its zombie does not
    keep the group alive.
    """
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if leader is not None:
            leader.poll()
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if leader is not None:
        leader.wait(timeout=5)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers HTTP 200 (fail early if ``process`` exits)."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{url}: the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.25)
    raise ServiceError(f"{url} did not answer within {timeout:.0f} s ({last_error})")


def _server_environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in _CLIENT_ONLY_VARIABLES}
    return {**inherited, **(extra or {})}


def start_process(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    name: str,
    command: Sequence[str],
    health_url: str,
    base_url: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> ManagedProcess:
    """Start ``command`` in a new process group, log to ``log_path``, wait for ``health_url``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_server_environment(env),
            start_new_session=True,
        )
    managed = ManagedProcess(name=name, process=process, url=base_url, log_path=log_path)
    try:
        wait_for_http(health_url, timeout, process)
    except ServiceError as error:
        managed.stop()
        raise ServiceError(f"{name} did not start: {error}; see {log_path}") from error
    return managed


def servers_executable(name: str, venv: Path = SERVERS_VENV) -> str:
    """Path of a console script of the servers' environment (clear error when it is missing)."""
    path = venv / "bin" / name
    if not path.exists():
        raise ServiceError(f"{path} is missing: run `make setup` to create {venv}")
    return str(path)


def mlflow_guard_installed(venv: Path = SERVERS_VENV) -> bool:
    """Whether mlflow-guard (the ``host-guard`` app of ``mlflow server``) is in ``venv``."""
    return any(venv.glob("lib/python*/site-packages/mlflow_guard-*.dist-info"))


def start_mlflow_server(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    state_dir: Path,
    port: int | None = None,
    artifacts_destination: str | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    venv: Path = SERVERS_VENV,
    timeout: float = 90.0,
    guarded: bool = True,
) -> ManagedProcess:
    """MLflow tracking server: SQLite backend in ``state_dir``, artifacts served (local or S3).

    ``guarded``: behind mlflow-guard's Host and CORS checks (``--app-name host-guard``), with
    the allow-lists of ``env`` or of this process's environment (defaults: loopback names on any
    port, no cross-origin request), which every client of 127.0.0.1:<port> passes.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    if guarded and not mlflow_guard_installed(venv):
        raise ServiceError(
            f"mlflow-guard is not installed in {venv}: run `make setup-servers` "
            "(it installs ./mlflow-guard, the MLflow server's Host and CORS protection)"
        )
    port = port or free_port()
    destination = artifacts_destination or str((state_dir / "artifacts").resolve())
    command = [
        servers_executable("mlflow", venv),
        "server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{(state_dir / 'mlflow.db').resolve()}",
        "--artifacts-destination",
        destination,
        "--serve-artifacts",
        *(["--app-name", MLFLOW_GUARD_APP] if guarded else []),
    ]
    url = f"http://{HOST}:{port}"
    return start_process(
        "mlflow",
        command,
        f"{url}/health",
        url,
        log_path or state_dir / "mlflow.log",
        env=env,
        timeout=timeout,
    )


def start_moto_server(
    log_path: Path, port: int | None = None, venv: Path = SERVERS_VENV, timeout: float = 60.0
) -> ManagedProcess:
    """moto's S3-compatible server on 127.0.0.1 (for tests and for people without AWS)."""
    port = port or free_port()
    url = f"http://{HOST}:{port}"
    command = [servers_executable("moto_server", venv), "-H", HOST, "-p", str(port)]
    return start_process("moto", command, f"{url}/moto-api/", url, log_path, timeout=timeout)
