"""Several server processes on one port, each with a listening socket of its own (SO_REUSEPORT).

uvicorn's own ``--workers`` binds one socket and shares it: every worker waits on it and the
first to wake takes whatever is queued, so connections opened together (a load balancer's or
a client pool's) can all land on one worker while the others idle. Here each worker binds the
port with ``SO_REUSEPORT`` and listens on a socket of its own, and the kernel spreads new
connections over the listening workers by a hash of their addresses. The supervisor is
uvicorn's (:class:`uvicorn.supervisors.Multiprocess`: health checks, a dead worker replaced,
SIGINT/SIGTERM stop them all); it holds the port bound but never listens on it, so nobody else
can take the port and no connection ever waits in a socket nobody accepts from. Linux only
(``SO_REUSEPORT`` spreads connections on Linux; elsewhere use one worker).
"""

from __future__ import annotations

import logging
import os
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

logger = logging.getLogger("uvicorn.error")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with SO_REUSEPORT (not yet listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class ReusePortProcess(Process):
    """A uvicorn worker that binds its own SO_REUSEPORT socket instead of the shared one."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        """Runs in the worker: bind our own socket (the server listens on it), then serve."""
        del sockets  # none: each worker binds its own
        try:
            own = reuse_port_socket(self.config.host, self.config.port)
        except OSError as error:
            host, port = self.config.host, self.config.port
            logger.error("worker %d could not bind %s:%d: %s", os.getpid(), host, port, error)
            sys.exit(STARTUP_FAILURE)
        super().target([own])


class ReusePortSupervisor(Multiprocess):
    """uvicorn's supervisor, starting :class:`ReusePortProcess` workers.

    HUP (restart all), TTIN and TTOU (one worker more or less) are uvicorn's as well; every
    worker it starts or replaces is a :class:`ReusePortProcess`.
    """

    def __init__(self, config: Config) -> None:
        super().__init__(config, sockets=[])  # each worker binds its own

    def init_processes(self) -> None:
        """Start the configured number of workers."""
        for _ in range(self.processes_num):
            process = ReusePortProcess(self.config, self.sockets)
            process.start()
            self.processes.append(process)

    def keep_subprocess_alive(self) -> None:
        """Replace a dead or hung worker; stop everything if one failed to start."""
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                logger.error("Child process [%s] failed to start, stopping.", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info("Child process [%s] died", process.pid)
            replacement = ReusePortProcess(self.config, self.sockets)
            replacement.start()
            self.processes[index] = replacement

    def restart_all(self) -> None:
        """Replace each worker in turn (SIGHUP), the new one serving before the old one stops."""
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = ReusePortProcess(self.config, self.sockets)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                logger.error("New child process [%s] was not ready in time.", new.pid)
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def handle_ttin(self) -> None:
        """One worker more (SIGTTIN)."""
        logger.info("Received SIGTTIN, increasing the number of processes.")
        self.processes_num += 1
        process = ReusePortProcess(self.config, self.sockets)
        process.start()
        self.processes.append(process)


def run_workers(config: Config) -> None:
    """Serve ``config`` (an app import string, ``workers`` > 1) from SO_REUSEPORT workers
    until SIGINT or SIGTERM. A port that cannot be bound stops here with uvicorn's
    startup-failure exit code, before any worker starts."""
    try:
        reservation = reuse_port_socket(config.host, config.port)
    except OSError as error:
        logger.error("cannot bind %s:%d: %s", config.host, config.port, error)
        sys.exit(STARTUP_FAILURE)
    config.port = reservation.getsockname()[1]  # port 0: the workers bind the port chosen here
    logger.info(
        "Uvicorn running on http://%s:%d with %d SO_REUSEPORT workers (Press CTRL+C to quit)",
        config.host,
        config.port,
        config.workers,
    )
    try:
        ReusePortSupervisor(config).run()
    finally:
        reservation.close()
