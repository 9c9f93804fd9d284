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
makes forking it safe. When the library's source changed on disk since, a forked worker drops
the library's modules before its run imports them (third-party packages stay loaded), so no run
executes stale code.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.util
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


_PRELOADED = {"stamp": 0.0}  # the library's stamp when this process imported it


class _AfterFork:  # pylint: disable=too-few-public-methods
    """Anchor of the after-fork hook (multiprocessing keeps hooks by a live object)."""


_AFTER_FORK = _AfterFork()


def preload() -> float:
    """Import the blocks' library in this process; returns and records the library's stamp."""
    _PRELOADED["stamp"] = library_stamp()
    for module in PRELOAD_MODULES:
        try:
            importlib.import_module(module)
        except Exception as error:  # pylint: disable=broad-exception-caught
            # a run then imports it itself, and fails there with the error in its log
            LOGGER.warning("could not preload %s: %s", module, error)
    try:
        warm_up()
    except Exception as error:  # pylint: disable=broad-exception-caught
        LOGGER.warning("monitoring warm-up failed (runs will be slower): %s", error)
    return _PRELOADED["stamp"]


def warm_up(players: int = 300) -> None:
    """Run the monitoring suite and reports once on a few simulated players: their first call
    loads and prepares far more than importing the modules does (20+ s on a busy machine),
    which every forked run would otherwise pay again."""
    # pylint: disable=import-outside-toplevel
    import datetime as dt

    from machine_learning import monitoring, simulator

    frame = simulator.simulate_players(players, seed=1)
    frame["prediction"] = frame["EngagementLevel"]
    scored = monitoring.monitoring_frame(frame.drop(columns=["EngagementLevel"]).astype(str))
    settings_free = monitoring.MonitoringThresholds()
    when = dt.datetime(2024, 1, 1, 12)
    monitoring.run_monitoring(scored, scored, settings_free, when)
    monitoring.build_reports(scored, scored, settings_free, when)


def forget_stale_library(_: object = None) -> list[str]:
    """In a forked worker: when the library's source changed since the pool imported it, drop
    the library's modules so that the run imports them again from disk (third-party packages
    stay loaded). Returns the modules dropped."""
    if library_stamp() <= _PRELOADED["stamp"]:
        return []
    keep = {__name__, "machine_learning.mage_server"}
    dropped = [n for n in sys.modules if n.split(".")[0] == "machine_learning" and n not in keep]
    for name in dropped:
        del sys.modules[name]
    return dropped


def _pending(queue: Any) -> int:
    try:
        return queue.qsize()
    except NotImplementedError:  # macOS: no qsize
        return 0 if queue.empty() else 1


def poll_job_and_execute_forever(
    queue: Any, size: int, job_dict: Any, redis_client: Any, client_id: str
) -> None:
    """Mage's worker-pool loop without its exit when idle (see the module docstring)."""
    # pylint: disable=import-outside-toplevel
    from mage_ai.orchestration.queue.process_queue import LIVENESS_TIMEOUT_SECONDS, Worker

    multiprocessing.set_start_method("fork", force=True)  # the queue was made for fork
    preload()
    multiprocessing.util.register_after_fork(_AFTER_FORK, forget_stale_library)
    workers: list = []
    while True:
        workers = [worker for worker in workers if worker.is_alive()]  # also reaps the finished
        for _ in range(min(_pending(queue), size - len(workers))):
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
