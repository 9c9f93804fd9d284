"""Run the Mage pipelines: headless (``mage run``), in sequence, and the Mage server itself.

Every run is a ``mage run mlops <pipeline> --runtime-vars <json>`` process in its own process
group (a run started from inside another run stays in its parent's), with Mage's variables and
database under ``MAGE_DATA_DIR`` (settings.mage_data_dir, outside the tracked files) and its
output in a log file. A run that fails raises :class:`PipelineRunError` with the end of its log;
nothing fails silently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import yaml

from machine_learning import services
from machine_learning.config import PROJECT_ROOT, Settings, load_settings

MAGE_PROJECT = PROJECT_ROOT / "mlops"
PIPELINES: tuple[str, ...] = (
    "prepare_data",
    "training_workflow",
    "select_best_model",
    "batch_inference",
    "online_inference",
    "performance_monitor",
    "performance_reports",
    "ml_retraining",
)
# The daily/weekly order: a fresh checkout ends with a production model and a monitoring result.
SEQUENCE: tuple[str, ...] = (
    "prepare_data",
    "training_workflow",
    "select_best_model",
    "batch_inference",
    "performance_monitor",
    "performance_reports",
)
COMPLETED_MARKER = "Pipeline run completed."
DEFAULT_TIMEOUT = 3600.0
LOG_TAIL_LINES = 25
# Mage scheduler settings that make API-triggered runs fast and reliable (see docs/pipelines.md).
SERVER_ENVIRONMENT = {"SCHEDULER_TRIGGER_INTERVAL": "1", "REQUIRE_USER_AUTHENTICATION": "1"}


class PipelineRunError(RuntimeError):
    """A Mage pipeline run that failed or timed out (the message ends with its log's tail)."""


@dataclass(frozen=True)
class PipelineRunResult:
    """A completed headless run."""

    pipeline: str
    variables: dict[str, Any]
    seconds: float
    log_path: Path

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "pipeline": self.pipeline,
            "variables": self.variables,
            "seconds": round(self.seconds, 3),
            "log": str(self.log_path),
        }


def mage_executable() -> list[str]:
    """The ``mage`` command of the running interpreter's environment."""
    script = Path(sys.executable).with_name("mage")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "mage_ai.cli.main"]


def mage_environment(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a Mage process: ours, with MAGE_DATA_DIR from the settings."""
    data_dir = settings.mage_data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "MAGE_DATA_DIR": str(data_dir), **(extra or {})}


def _log_path(settings: Settings, pipeline: str) -> Path:
    folder = settings.mage_data_dir.resolve() / "run_logs"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S.%f")
    return folder / f"{pipeline}-{stamp}-{os.getpid()}.log"


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_pipeline(  # pylint: disable=too-many-arguments
    pipeline: str,
    variables: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    project: Path = MAGE_PROJECT,
    own_group: bool = True,
) -> PipelineRunResult:
    """Run ``pipeline`` headless (``mage run``) and wait; :class:`PipelineRunError` on failure.

    ``own_group``: the run gets its own process group (ended as a whole on timeout). A run
    started from inside another run (``own_group=False``) stays in its parent's group, so
    that stopping the parent's group (or the Mage server's) stops it too.
    """
    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r}; known: {', '.join(PIPELINES)}")
    settings = settings or load_settings()
    variables = dict(variables or {})
    command = [
        *mage_executable(),
        "run",
        str(project),
        pipeline,
        "--runtime-vars",
        json.dumps(variables, default=str),
    ]
    log_path = _log_path(settings, pipeline)
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(project.parent),
            env=mage_environment(settings, env),
            start_new_session=own_group,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            if own_group:
                services.stop_process_group(process.pid, leader=process)
            else:
                process.kill()
            process.wait()
            raise PipelineRunError(
                f"{pipeline} did not finish within {timeout:.0f} s (log: {log_path})\n"
                + _tail(log_path)
            ) from error
    seconds = time.perf_counter() - started
    if returncode != 0 or COMPLETED_MARKER not in _tail(log_path, 5):
        raise PipelineRunError(
            f"{pipeline} failed (exit code {returncode}, log: {log_path})\n" + _tail(log_path)
        )
    return PipelineRunResult(pipeline, variables, seconds, log_path)


def run_sequence(
    variables: Mapping[str, Any] | None = None,
    *,
    pipelines: Iterable[str] = SEQUENCE,
    settings: Settings | None = None,
    env: Mapping[str, str] | None = None,
    on_result: Callable[[PipelineRunResult], None] | None = None,
    own_group: bool = True,
) -> list[PipelineRunResult]:
    """Run ``pipelines`` one after the other; the first failure stops the sequence (raised)."""
    results = []
    for pipeline in pipelines:
        result = run_pipeline(pipeline, variables, settings=settings, env=env, own_group=own_group)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


# --------------------------------------------------------------------------- the Mage server


def project_copy(target: Path, project: Path = MAGE_PROJECT) -> Path:
    """A copy of the Mage project whose triggers count as enabled now (tests and benchmarks).

    The committed triggers carry a fixed ``last_enabled_at`` so that Mage never rewrites them;
    on a fresh Mage database that makes every schedule run once for its latest tick. Without
    it (as here) Mage stamps the copy's triggers at start and runs no catch-up.
    """
    copy = Path(target) / project.name
    shutil.copytree(
        project, copy, ignore=shutil.ignore_patterns("__pycache__", ".ssh_tunnel", ".variables")
    )
    for path in copy.glob("pipelines/*/triggers.yaml"):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        for trigger in content.get("triggers") or []:
            trigger["last_enabled_at"] = None
        path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return copy


@dataclass(frozen=True)
class OwnerCredentials:
    """The Mage owner account (Mage creates it on the first start from these)."""

    email: str
    password: str = field(repr=False)
    username: str = "owner"

    def environment(self) -> dict[str, str]:
        """Mage's variables for the default owner."""
        return {
            "DEFAULT_OWNER_EMAIL": self.email,
            "DEFAULT_OWNER_PASSWORD": self.password,
            "DEFAULT_OWNER_USERNAME": self.username,
        }


def start_mage_server(  # pylint: disable=too-many-arguments
    owner: OwnerCredentials,
    *,
    settings: Settings | None = None,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    project: Path = MAGE_PROJECT,
    timeout: float = 120.0,
) -> services.ManagedProcess:
    """``mage start`` on 127.0.0.1 with authentication on, in its own process group.

    The owner's credentials are required (never Mage's admin/admin default);
    SCHEDULER_TRIGGER_INTERVAL=1 makes API-triggered runs start within a second.
    """
    if not owner.email or not owner.password or owner.password == "admin":
        raise ValueError("the Mage owner needs an email and a password other than 'admin'")
    settings = settings or load_settings()
    port = port or services.free_port()
    url = f"http://{services.HOST}:{port}"
    command = [
        sys.executable,
        "-m",
        "machine_learning.mage_server",  # `mage` with the fix for runs that hang
        "start",
        str(project),
        "--host",
        services.HOST,
        "--port",
        str(port),
    ]
    environment = {**SERVER_ENVIRONMENT, **owner.environment(), **(env or {})}
    return services.start_process(
        "mage",
        command,
        f"{url}/api/status",
        url,
        log_path or settings.mage_data_dir.resolve() / "mage_server.log",
        env=mage_environment(settings, environment),
        timeout=timeout,
    )
