"""Start the Evidently UI (``evidently ui``) on 127.0.0.1 over a workspace folder."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from machine_learning import services

HEALTH_PATH = "/api/projects"
# Evidently's usage telemetry is off: the UI must not reach out (the network may be closed).
UI_ENV = {"DO_NOT_TRACK": "1"}


def evidently_executable() -> str:
    """The ``evidently`` console script of the running environment (else the one on PATH)."""
    beside = Path(sys.executable).parent / "evidently"
    found = str(beside) if beside.exists() else shutil.which("evidently")
    if not found:
        raise services.ServiceError("the 'evidently' command is missing: pip install evidently")
    return found


def ui_command(workspace: Path | str, port: int) -> list[str]:
    """The command line that serves ``workspace`` on 127.0.0.1:``port``."""
    return [
        evidently_executable(),
        "ui",
        "--workspace",
        str(workspace),
        "--host",
        services.HOST,
        "--port",
        str(port),
    ]


def start_ui(
    workspace: Path | str,
    port: int | None = None,
    log_path: Path | None = None,
    timeout: float = 90.0,
) -> services.ManagedProcess:
    """Serve ``workspace`` with ``evidently ui`` in its own process group; stop with ``.stop()``."""
    port = port or services.free_port()
    url = f"http://{services.HOST}:{port}"
    log = log_path or Path(workspace).parent / "evidently-ui.log"
    command = ui_command(workspace, port)
    return services.start_process(
        "evidently-ui", command, url + HEALTH_PATH, url, log, env=UI_ENV, timeout=timeout
    )
