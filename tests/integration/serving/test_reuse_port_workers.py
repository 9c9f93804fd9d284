"""SO_REUSEPORT workers (machine_learning/serving/workers.py), for real: a supervisor process
with two workers serving a tiny app that answers with its process id, on a free loopback port.
Connections opened one after another reach both workers; SIGTERM stops them all; a port taken
by someone else stops the supervisor at once with uvicorn's startup-failure code."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from machine_learning import services
from machine_learning.serving.workers import reuse_port_socket

pytestmark = pytest.mark.integration

APP = """
import os


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""

SERVER = """
import sys

import uvicorn

from machine_learning.serving.workers import run_workers

if __name__ == "__main__":
    run_workers(uvicorn.Config("pid_app:app", host="127.0.0.1", port=int(sys.argv[1]), workers=2))
"""


@pytest.fixture()
def server_files(tmp_path: Path) -> Path:
    (tmp_path / "pid_app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "server.py").write_text(SERVER, encoding="utf-8")
    return tmp_path


def start(folder: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
    return subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, str(folder / "server.py"), str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def answering_pid(port: int) -> str | None:
    """The body of GET / over a new connection, or None if nobody answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read().decode()
    except OSError:
        return None
    finally:
        connection.close()


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output


def test_new_connections_reach_every_worker_and_sigterm_stops_them(server_files):
    port = services.free_port()
    process = start(server_files, port)
    try:
        deadline = time.monotonic() + 60
        pids: set[str] = set()
        # a worker is only asked once it listens; then fresh connections spread over both
        while len(pids) < 2 and time.monotonic() < deadline:
            pid = answering_pid(port)
            if pid is None:
                assert process.poll() is None, stop(process)
                time.sleep(0.2)
                continue
            pids.add(pid)
        assert len(pids) == 2, f"only {pids} answered"
        assert str(process.pid) not in pids  # the supervisor holds the port, never serves
        answers = [answering_pid(port) for _ in range(40)]
        assert set(answers) == pids
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert "SO_REUSEPORT workers" in output
    assert answering_pid(port) is None  # nothing listens any more
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


def test_a_port_taken_by_another_program_stops_the_supervisor_at_once(server_files):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start(server_files, port)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 3, output  # uvicorn's STARTUP_FAILURE
    assert f"cannot bind 127.0.0.1:{port}" in output


def test_workers_of_one_port_can_each_bind_it():
    first = reuse_port_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = reuse_port_socket("127.0.0.1", port)
    try:
        assert second.getsockname()[1] == port
    finally:
        first.close()
        second.close()
