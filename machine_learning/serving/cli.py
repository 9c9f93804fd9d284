"""`gaming-mlops serve`: the online prediction service (uvicorn, one worker, 127.0.0.1 by default).

Only typer and the settings are imported here; the service's modules are imported inside the
command, so that registering it keeps every other `gaming-mlops` command fast.
"""

# pylint: disable=import-outside-toplevel,too-many-arguments,too-many-positional-arguments

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from machine_learning.config import Settings, load_settings


def build_app(settings: Settings, fast_path: bool = True):
    """The app serving ``settings.model_name`` at ``settings.service_model_alias``."""
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
    return create_app(holder, max_body_bytes=settings.service_max_body_bytes)


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
    fast_path: bool = typer.Option(
        True, "--fast-path/--no-fast-path", help="Use ONNX Runtime when the model verifies."
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
    from threadpoolctl import threadpool_limits

    settings = load_settings()
    changes = {"service_host": host, "service_port": port, "service_model_alias": alias}
    changes["service_poll_seconds"] = poll_seconds
    settings = settings.with_overrides(**{k: v for k, v in changes.items() if v is not None})
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    typer.echo(
        f"serving {settings.model_name}@{settings.service_model_alias} from "
        f"{settings.mlflow_tracking_uri} on http://{settings.service_host}:{settings.service_port}"
    )
    # One worker on a small machine: native thread pools (OpenMP, BLAS) would fight the server.
    with threadpool_limits(limits=1):
        uvicorn.run(
            build_app(settings, fast_path=fast_path),
            host=settings.service_host,
            port=settings.service_port,
            workers=1,
            access_log=access_log,
            log_level="info",
            server_header=False,
            timeout_graceful_shutdown=5,
        )
