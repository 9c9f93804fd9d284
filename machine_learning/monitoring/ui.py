"""Start the Evidently UI on 127.0.0.1 over a workspace folder, from Python.

:func:`start_ui` runs :mod:`machine_learning.monitoring.evidently_ui` in its own process group:
it prepares the folder (with S3 storage: pulls it from the bucket, and keeps pulling while the
UI runs), then serves it with Evidently's UI server. :func:`ui_command` is plain
``evidently ui`` (no preparation).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from machine_learning import services
from machine_learning.storage import S3Storage, Storage

HEALTH_PATH = "/api/projects"
# Evidently's usage telemetry is off: the UI must not reach out (the network may be closed).
UI_ENV = {"DO_NOT_TRACK": "1"}
DEFAULT_SYNC_SECONDS = 30.0
SERVER_MODULE = "machine_learning.monitoring.evidently_ui"


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


def _storage_arguments(storage: Storage | None) -> list[str]:
    if storage is None:
        return []  # the server process follows the settings (STORAGE=s3: the bucket)
    if not isinstance(storage, S3Storage):
        return ["--local"]
    arguments = ["--bucket", storage.bucket, "--region", storage.client.meta.region_name]
    if storage.prefix:
        arguments += ["--prefix", storage.prefix]
    endpoint = storage.client.meta.endpoint_url
    if endpoint and not endpoint.endswith(".amazonaws.com"):
        arguments += ["--endpoint-url", endpoint]
    return arguments


def serve_command(
    workspace: Path | str,
    port: int,
    storage: Storage | None = None,
    sync_seconds: float = DEFAULT_SYNC_SECONDS,
) -> list[str]:
    """The command line that prepares ``workspace`` (pulls it with S3) and serves it."""
    command = [sys.executable, "-m", SERVER_MODULE, "--workspace", str(workspace)]
    command += ["--port", str(port)]
    return [*command, "--every", str(sync_seconds), *_storage_arguments(storage)]


def start_ui(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    workspace: Path | str,
    port: int | None = None,
    log_path: Path | None = None,
    timeout: float = 90.0,
    storage: Storage | None = None,
    sync_seconds: float = DEFAULT_SYNC_SECONDS,
) -> services.ManagedProcess:
    """Serve ``workspace`` with Evidently's UI in its own process group; stop with ``.stop()``.

    ``storage``: S3 storage pulls the folder from the bucket before the UI starts and every
    ``sync_seconds`` while it runs; another storage serves the folder as it is; None follows
    the settings (``STORAGE=s3``: the settings' bucket). Unreadable files are moved aside and
    the project with its dashboard ensured before the UI starts.
    """
    port = port or services.free_port()
    url = f"http://{services.HOST}:{port}"
    log = log_path or Path(workspace).parent / "evidently-ui.log"
    command = serve_command(workspace, port, storage, sync_seconds)
    return services.start_process(
        "evidently-ui", command, url + HEALTH_PATH, url, log, env=UI_ENV, timeout=timeout
    )
