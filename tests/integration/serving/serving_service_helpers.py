"""Helpers of the serving integration tests: register versions on an MLflow server, start
`gaming-mlops serve` as a real process on a free 127.0.0.1 port, read its JSON."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from threadpoolctl import threadpool_limits

from machine_learning import services, tracking
from machine_learning.services import ManagedProcess

GAMING_MLOPS = str(Path(sys.executable).parent / "gaming-mlops")
POLL_SECONDS = 0.5
SMALL = {"n_estimators": 30}


@dataclass(frozen=True)
class Registered:
    """A model name on a tracking server and its registered versions (oldest first)."""

    tracking_uri: str
    name: str
    versions: tuple[str, ...]


def register_versions(tracking_uri: str, split, count: int) -> Registered:
    """Register ``count`` small gradient boosting versions; the first becomes 'production'."""
    name = f"serving-{uuid.uuid4().hex[:8]}"
    versions = []
    with threadpool_limits(limits=1):
        for index in range(count):
            result = tracking.train_and_track(
                *split,
                tracking_uri=tracking_uri,
                experiment_name=name,
                model_name=name,
                params={**SMALL, "n_estimators": SMALL["n_estimators"] + index},
                alias="production" if index == 0 else None,
            )
            versions.append(result.model_version)
    return Registered(tracking_uri, name, tuple(versions))


def get_json(url: str, timeout: float = 5) -> tuple[int, dict]:
    """Status and JSON body of a GET (error statuses included)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def start_service(registered: Registered, log_path: Path) -> ManagedProcess:
    """`gaming-mlops serve` on a free port, waited for until it is ready."""
    port = services.free_port()
    url = f"http://{services.HOST}:{port}"
    command = [GAMING_MLOPS, "serve", "--port", str(port), "--poll-seconds", str(POLL_SECONDS)]
    env = {"MLFLOW_TRACKING_URI": registered.tracking_uri, "MODEL_NAME": registered.name}
    service = services.start_process("serving", command, f"{url}/health", url, log_path, env=env)
    deadline = time.monotonic() + 60
    while get_json(f"{url}/ready")[0] != 200:
        if time.monotonic() > deadline:
            service.stop()
            raise services.ServiceError(f"the service never became ready; see {log_path}")
        time.sleep(0.2)
    return service
