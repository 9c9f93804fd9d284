"""Run Mage's command line (``mage start ...``) with a fix for runs that hang in Mage 0.9.80.

The bug: Mage's process queue starts a worker-pool process when a job is enqueued, and that
pool exits as soon as it sees an empty queue. ``multiprocessing.Queue.put`` hands the job to a
feeder thread, so a freshly started pool can see the queue still empty and exit at once; the
job then stays queued for good (the scheduler believes it is waiting, and nothing re-enqueues
it). API-triggered runs hung this way in ``running``/``queued`` without ever starting a block.

The fix: the worker pool stays up while idle (one process polling once a second) instead of
exiting, so a queued job is always picked up. Use ``python -m machine_learning.mage_server start
mlops --host 127.0.0.1 --port 6789`` instead of ``mage start ...``.

Warm workers: Mage's server makes ``spawn`` the start method, so every run's worker imports
pandas, scikit-learn, MLflow and Evidently again (6-10 s per run on 2 cores). The pool imports
the blocks' library once (``PRELOAD_MODULES``) and forks each worker from itself, so a run
starts with them loaded. The pool is a plain loop with no threads of its own, which is what
makes forking it safe. When the library's source changed on disk since, the pool imports it
again (third-party packages stay loaded) before forking, so no run executes stale code.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.5
# What the blocks import: loaded once in the worker pool, inherited by every forked run.
PRELOAD_MODULES = ("machine_learning.pipelines", "machine_learning.monitoring")
LOGGER = logging.getLogger(__name__)


def library_stamp() -> float:
    """The newest modification time of the library's source files."""
    package = Path(__file__).resolve().parent
    stamps = []
    for path in package.rglob("*.py"):
        try:
            stamps.append(path.stat().st_mtime)
        except OSError:  # removed while we looked
            continue
    return max(stamps, default=0.0)


def preload() -> float:
    """Import the blocks' library here (again, from disk, when it was imported before);
    returns the library's stamp at import time."""
    stamp = library_stamp()
    for name in [name for name in sys.modules if name.split(".")[0] == "machine_learning"]:
        if name != __name__:
            del sys.modules[name]
    for module in PRELOAD_MODULES:
        try:
            importlib.import_module(module)
        except Exception as error:  # pylint: disable=broad-exception-caught
            # a run then imports it itself, and fails there with the error in its log
            LOGGER.warning("could not preload %s: %s", module, error)
    return stamp


def poll_job_and_execute_forever(
    queue: Any, size: int, job_dict: Any, redis_client: Any, client_id: str
) -> None:
    """Mage's worker-pool loop without its exit when idle (see the module docstring)."""
    # pylint: disable=import-outside-toplevel
    from mage_ai.orchestration.queue.process_queue import LIVENESS_TIMEOUT_SECONDS, Worker

    multiprocessing.set_start_method("fork", force=True)  # the queue was made for fork
    preloaded = preload()
    workers: list = []
    while True:
        workers = [worker for worker in workers if worker.is_alive()]  # also reaps the finished
        pending = min(_pending(queue), size - len(workers))
        if pending > 0 and library_stamp() > preloaded:
            preloaded = preload()  # the source changed: no run executes stale code
        for _ in range(pending):
            worker = Worker(queue, job_dict)
            worker.start()
            workers.append(worker)
        time.sleep(POLL_SECONDS)
        if redis_client and client_id:
            redis_client.set(client_id, "1", ex=LIVENESS_TIMEOUT_SECONDS)


def apply_queue_fix() -> None:
    """Replace Mage's worker-pool loop (looked up at each pool start) with ours."""
    from mage_ai.orchestration.queue import process_queue  # pylint: disable=import-outside-toplevel

    process_queue.poll_job_and_execute = poll_job_and_execute_forever


def main(argv: list[str] | None = None) -> None:
    """``mage`` with the fix applied (same arguments as Mage's own command)."""
    apply_queue_fix()
    from mage_ai.cli.main import app  # pylint: disable=import-outside-toplevel

    sys.argv = ["mage", *(sys.argv[1:] if argv is None else argv)]
    app()


if __name__ == "__main__":
    main()
