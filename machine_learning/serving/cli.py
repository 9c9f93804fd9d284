"""`gaming-mlops serve`: the online prediction service (uvicorn, 127.0.0.1 by default).

One worker process by default. With ``--workers N`` (SERVICE_WORKERS) uvicorn's supervisor
spawns N worker processes, each listening on the port with a socket of its own (SO_REUSEPORT,
serving/workers.py: the kernel spreads connections over them); each builds its own app with
:func:`app_from_settings` (its own model holder, which polls the registry alias and hot-swaps
by itself, and its own metrics: /metrics answers for the worker that took the connection).

Only typer and the settings are imported here; the service's modules are imported inside the
command, so that registering it keeps every other `gaming-mlops` command fast.
"""

# pylint: disable=import-outside-toplevel,too-many-arguments,too-many-positional-arguments

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from machine_learning.config import Settings, export_service_settings, load_settings

_THREAD_LIMITS: list = []  # keeps a server process's native thread-pool limits in force
SWITCH_INTERVAL_SECONDS = 0.0005  # GIL hand-over between the model poller and the requests


def build_app(settings: Settings, fast_path: bool = True, freeze_gc: bool = False):
    """The app serving ``settings.model_name`` at ``settings.service_model_alias``
    (``freeze_gc``: in a server process, see :func:`create_app`)."""
    from machine_learning.serving.app import create_app
    from machine_learning.serving.engines import verification_sample
    from machine_learning.serving.holder import ModelHolder, RegistrySource

    source = RegistrySource(
        settings.mlflow_tracking_uri, settings.model_name, settings.service_model_alias
    )
    holder = ModelHolder(
        source,
        verification_sample(seed=settings.seed),
        poll_seconds=settings.service_poll_seconds,
        fast_path=fast_path,
    )
    return create_app(holder, max_body_bytes=settings.service_max_body_bytes, freeze_gc=freeze_gc)


def _configure_logging() -> None:
    """INFO to stderr, with the process id (workers log their own model swaps)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
    )


def _prepare_server_process() -> None:
    """Settings of a server process: one native thread (OpenMP or BLAS pools would fight the
    servers for the cores), logging, and a short GIL switch interval. The model poller thread
    shares the interpreter with the request loop: while it loads and verifies a new version
    (about a second of Python), the loop waits up to the switch interval each time it wants the
    interpreter back, 5 ms by default; 0.5 ms keeps a model swap from piling up requests."""
    from threadpoolctl import threadpool_limits

    _THREAD_LIMITS.append(threadpool_limits(limits=1))
    _configure_logging()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def app_from_settings():
    """The app of one worker process, from the settings that `serve` put in the environment."""
    _prepare_server_process()
    settings = load_settings()
    return build_app(settings, fast_path=settings.service_fast_path, freeze_gc=True)


def _http_protocol() -> str:
    """uvicorn's httptools protocol writing each response once (serving/protocol.py); uvicorn's
    own choice if httptools is missing (it comes with uvicorn[standard], pinned)."""
    import importlib.util

    if importlib.util.find_spec("httptools") is None:
        return "auto"
    from machine_learning.serving.protocol import PROTOCOL

    return PROTOCOL


def serve_command(
    host: Optional[str] = typer.Option(
        None, help="Address to listen on (default: SERVICE_HOST, else 127.0.0.1)."
    ),
    port: Optional[int] = typer.Option(None, help="Port (default: SERVICE_PORT, else 8080)."),
    alias: Optional[str] = typer.Option(
        None, help="Registry alias to serve (default: SERVICE_MODEL_ALIAS, else production)."
    ),
    poll_seconds: Optional[float] = typer.Option(
        None, "--poll-seconds", help="Alias check interval (default: SERVICE_POLL_SECONDS, 10)."
    ),
    fast_path: Optional[bool] = typer.Option(
        None,
        "--fast-path/--no-fast-path",
        help="Use ONNX Runtime when the model verifies (default: SERVICE_FAST_PATH, else yes).",
    ),
    workers: Optional[int] = typer.Option(
        None,
        min=1,
        help="Server processes, each with its own model holder and metrics (default: "
        "SERVICE_WORKERS, else 1; one per core is the most that helps).",
    ),
    access_log: bool = typer.Option(False, help="Log every request (costs latency)."),
    export_openapi: Optional[Path] = typer.Option(
        None, "--export-openapi", help="Write the OpenAPI document to this file and exit."
    ),
) -> None:
    """Serve predictions over HTTP from the registry's production model (hot-swapped)."""
    if export_openapi is not None:
        from machine_learning.serving.app import openapi_text

        export_openapi.parent.mkdir(parents=True, exist_ok=True)
        export_openapi.write_text(openapi_text(), encoding="utf-8")
        typer.echo(f"wrote the OpenAPI document to {export_openapi}")
        return

    import uvicorn

    settings = load_settings()
    changes = {"service_host": host, "service_port": port, "service_model_alias": alias}
    changes.update(
        service_poll_seconds=poll_seconds, service_fast_path=fast_path, service_workers=workers
    )
    settings = settings.with_overrides(**{k: v for k, v in changes.items() if v is not None})
    _prepare_server_process()
    typer.echo(
        f"serving {settings.model_name}@{settings.service_model_alias} from "
        f"{settings.mlflow_tracking_uri} on http://{settings.service_host}:{settings.service_port}"
        f" ({settings.service_workers} worker{'s' if settings.service_workers > 1 else ''})"
    )
    options = {
        "http": _http_protocol(),
        "host": settings.service_host,
        "port": settings.service_port,
        "access_log": access_log,
        "log_level": "info",
        "server_header": False,
        "timeout_graceful_shutdown": 5,
    }
    if settings.service_workers > 1:
        from machine_learning.serving.workers import run_workers

        export_service_settings(settings)  # what each spawned worker's app is built from
        config = uvicorn.Config(
            "machine_learning.serving.cli:app_from_settings",
            factory=True,
            workers=settings.service_workers,
            **options,
        )
        run_workers(config)
        return
    app = build_app(settings, fast_path=settings.service_fast_path, freeze_gc=True)
    uvicorn.run(app, **options)
