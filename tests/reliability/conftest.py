"""Fixtures of the reliability suite: isolated platforms, an MLflow server that can be stopped and
started again, a TCP fault proxy in front of a real server (silent, refusing, slow), registered
models and `gaming-mlops serve` as a real process. Every server runs on 127.0.0.1 and is stopped
by the fixture that started it."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from bad_input_helpers import platform_env
from threadpoolctl import threadpool_limits

from machine_learning import jobs, preprocessing, registry, services, simulator, tracking
from machine_learning.services import ManagedProcess

GAMING_MLOPS = str(Path(sys.executable).parent / "gaming-mlops")
SMALL_HIST = {"max_iter": 40}


# --------------------------------------------------------------------------- platforms


@dataclass
class Platform:
    """An isolated platform: its folder, model name and environment (set while it is in use)."""

    root: Path
    tracking_uri: str
    name: str
    env: dict[str, str]


@pytest.fixture()
def platform(tmp_path, mlflow_server, monkeypatch) -> Platform:
    """An isolated platform on the session's MLflow server, its variables in the environment."""
    name = f"rel-{uuid.uuid4().hex[:8]}"
    env = platform_env(tmp_path, mlflow_server.url, name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Platform(root=tmp_path, tracking_uri=mlflow_server.url, name=name, env=env)


@pytest.fixture(scope="module")
def module_platform(tmp_path_factory, mlflow_server) -> Iterator[Platform]:
    """An isolated platform for a whole test module (Mage servers, services)."""
    name = f"rel-{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp(name)
    env = platform_env(root, mlflow_server.url, name)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield Platform(root=root, tracking_uri=mlflow_server.url, name=name, env=env)


@pytest.fixture(scope="session")
def split() -> tuple:
    """Train and test rows of 3,000 simulated players."""
    processed = jobs.prepare_players(simulator.simulate_players(3000, seed=21)).processed
    return preprocessing.split_train_test(processed)


def register_version(  # pylint: disable=too-many-arguments
    tracking_uri: str,
    name: str,
    split: tuple,
    *,
    alias: str | None,
    kind: str = "hist_gradient_boosting",
    params: dict | None = None,
) -> str:
    """Train a small model, register it under ``name`` with ``alias``; the version."""
    with threadpool_limits(limits=1):
        result = tracking.train_and_track(
            *split,
            tracking_uri=tracking_uri,
            experiment_name=name,
            model_name=name,
            kind=kind,
            params=SMALL_HIST if params is None and kind == "hist_gradient_boosting" else params,
            alias=alias,
        )
    return result.model_version


@pytest.fixture(scope="session")
def register() -> Callable[..., str]:
    """:func:`register_version`, for the tests."""
    return register_version


def versions_of(tracking_uri: str, name: str) -> list[registry.VersionInfo]:
    """Every registered version of ``name`` (empty when the model does not exist)."""
    return registry.list_versions(registry.client_for(tracking_uri), name)


@pytest.fixture(scope="session")
def list_versions() -> Callable[[str, str], list[registry.VersionInfo]]:
    """:func:`versions_of`, for the tests."""
    return versions_of


# --------------------------------------------------------------------------- a server to stop


class RestartableMlflow:
    """A real MLflow server of our own, stopped and started again on the same port and state."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.port = services.free_port()
        self.url = f"http://{services.HOST}:{self.port}"
        self.server: ManagedProcess | None = None

    def start(self) -> None:
        """Start it (SQLite and artifacts in ``state_dir``, kept across restarts)."""
        self.server = services.start_mlflow_server(self.state_dir, port=self.port)

    def stop(self) -> None:
        """Stop its process group (what a crash of the server looks like to the clients)."""
        if self.server is not None:
            self.server.stop(timeout=5)
            self.server = None


@pytest.fixture(scope="module")
def module_mlflow(tmp_path_factory) -> Iterator[RestartableMlflow]:
    """An MLflow server for one test module, which its tests may stop and start again."""
    server = RestartableMlflow(tmp_path_factory.mktemp("own-mlflow"))
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def own_mlflow(module_mlflow) -> RestartableMlflow:
    """The module's own MLflow server, running when the test begins (it may stop it)."""
    if module_mlflow.server is None:
        module_mlflow.start()
    return module_mlflow


# --------------------------------------------------------------------------- a fault proxy


class FaultProxy:  # pylint: disable=too-many-instance-attributes
    """A TCP proxy on 127.0.0.1 in front of a real server, to inject network faults.

    ``silent_first``: that many connections are accepted and never answered (a hung endpoint);
    ``silent``: every connection is; ``bytes_per_second``: client-to-server bytes are throttled
    (all connections together). ``connections`` and ``forwarded`` count what happened.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.silent = False
        self.silent_first = 0
        self.bytes_per_second: float | None = None
        self.connections = 0
        self.forwarded = 0
        self._lock = threading.Lock()
        self._next_send = 0.0
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server((services.HOST, 0))
        self.url = f"http://{services.HOST}:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._closed.set()
        self._listener.close()
        for sock in list(self._sockets):
            sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            with self._lock:
                self.connections += 1
                silent = self.silent or self.connections <= self.silent_first
            target = self._swallow if silent else self._relay
            threading.Thread(target=target, args=(client,), daemon=True).start()

    def _swallow(self, client: socket.socket) -> None:
        """Read and drop everything; never answer."""
        with client:
            while not self._closed.is_set():
                try:
                    if not client.recv(65536):
                        return
                except OSError:
                    return

    def _relay(self, client: socket.socket) -> None:
        upstream = socket.create_connection((services.HOST, self.upstream_port))
        self._sockets.append(upstream)
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, sink: socket.socket, upward: bool) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if upward:
                    self._throttle(len(chunk))
                sink.sendall(chunk)
                if upward:
                    with self._lock:
                        self.forwarded += len(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _throttle(self, size: int) -> None:
        rate = self.bytes_per_second
        if not rate:
            return
        with self._lock:
            start = max(self._next_send, time.monotonic())
            self._next_send = start + size / rate
        time.sleep(max(0.0, self._next_send - time.monotonic()))


@pytest.fixture()
def fault_proxy(moto_server) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's moto S3 server."""
    port = int(moto_server.url.rsplit(":", 1)[1])
    proxy = FaultProxy(port)
    yield proxy
    proxy.close()


# --------------------------------------------------------------------------- the prediction service


def http_json(url: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, dict]:
    """Status and JSON body of a GET (or a POST of ``body``), error statuses included."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="session")
def get_json() -> Callable[..., tuple[int, dict]]:
    """:func:`http_json`, for the tests."""
    return http_json


@pytest.fixture()
def start_service(tmp_path) -> Iterator[Callable[..., ManagedProcess]]:
    """Start `gaming-mlops serve` (a real process, free port) for a model; stopped afterwards.

    The returned process has answered /health; whether it is ready is the test's business.
    """
    started: list[ManagedProcess] = []

    def start(
        tracking_uri: str, name: str, poll_seconds: float = 0.5, workers: int = 1
    ) -> ManagedProcess:
        port = services.free_port()
        url = f"http://{services.HOST}:{port}"
        command = [GAMING_MLOPS, "serve", "--port", str(port), "--poll-seconds", str(poll_seconds)]
        command += ["--workers", str(workers)]
        env = {"MLFLOW_TRACKING_URI": tracking_uri, "MODEL_NAME": name, "OMP_NUM_THREADS": "1"}
        log = tmp_path / f"serve-{len(started)}.log"
        service = services.start_process("serving", command, f"{url}/health", url, log, env=env)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def eventually() -> Callable[[Callable[[], bool], float, str], None]:
    """:func:`wait_until`, for the tests."""
    return wait_until
