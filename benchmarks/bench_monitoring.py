"""Monitoring cost on 30k reference and 10k current simulated rows, in one process.

Prints wall time (median of REPEATS runs, with min and max) and peak traced memory
(tracemalloc: memory newly allocated by the step at its peak, measured in a separate run so
that tracing does not distort the times) of: the drift test suite with the retraining decision,
each report (data quality, data drift, prediction drift, classification performance), saving
everything (JSON + HTML) to local storage, adding the snapshots to an Evidently workspace, and
the whole monitoring step (all of these in sequence). Also the one-time Evidently import and the
process's peak RSS. Single-threaded (threadpoolctl), since thread contention on a shared 2-core
machine distorts the figures.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from threadpoolctl import threadpool_limits

from machine_learning import inference, jobs, simulator, training

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
REFERENCE_ROWS = 30_000
CURRENT_ROWS = 10_000
DAY = dt.date(2024, 1, 1)


def _timed(function: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def _peak_mib(function: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _line(name: str, times: list[float], peak: float) -> str:
    return (
        f"  {name:<28} median {statistics.median(times):6.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f})   peak {peak:7.1f} MiB"
    )


def main() -> int:
    """Run the benchmark single-threaded and print the figures (temporary files removed)."""
    with (
        threadpool_limits(limits=1),
        tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp,
    ):
        return _run(Path(tmp))


def _data():
    processed = jobs.prepare_players(simulator.simulate_players(REFERENCE_ROWS, seed=1)).processed
    model = training.fit(processed, training.HIST_GRADIENT_BOOSTING)
    current = simulator.simulate_players(CURRENT_ROWS, seed=2)
    return (
        inference.score_players(model, processed).scored_inputs,
        inference.score_players(model, current).scored_inputs,
    )


def _run(root: Path) -> int:
    started = time.perf_counter()
    # pylint: disable=import-outside-toplevel
    from machine_learning import monitoring as mon

    for module in ("suites", "reports", "persistence", "workspace"):  # Evidently's import cost
        importlib.import_module(f"machine_learning.monitoring.{module}")
    from machine_learning.storage import LocalStorage

    import_seconds = time.perf_counter() - started
    reference, current = _data()
    storage, evidently_workspace = LocalStorage(root / "data"), mon.open_workspace(root / "ws")
    mon.ensure_dashboard(evidently_workspace)
    built: dict = {"suite": mon.run_monitoring(reference, current)}
    built.update(mon.build_reports(reference, current))
    built["performance"] = mon.build_performance_report(current)

    def whole_step() -> None:
        result = mon.run_monitoring(reference, current)
        built_reports = mon.build_reports(reference, current)
        built_reports[mon.CLASSIFICATION_PERFORMANCE] = mon.build_performance_report(current)
        mon.save_monitoring_result(storage, DAY, result)
        mon.save_reports(storage, DAY, built_reports)
        mon.add_to_workspace(evidently_workspace, [result.suite, *built_reports.values()])

    steps: dict[str, Callable[[], object]] = {
        "test suite + decision": lambda: mon.run_monitoring(reference, current),
        **{
            f"report {name}": (lambda name=name: mon.build_report(name, reference, current))
            for name in mon.REPORT_NAMES
        },
        "report classification": lambda: mon.build_performance_report(current),
        "save JSON + HTML (5 items)": lambda: (
            mon.save_monitoring_result(storage, DAY, built["suite"]),
            mon.save_reports(storage, DAY, {k: v for k, v in built.items() if k != "suite"}),
        ),
        "add 5 snapshots to workspace": lambda: mon.add_to_workspace(
            evidently_workspace,
            [built["suite"].suite, *(v for k, v in built.items() if k != "suite")],
        ),
        "whole monitoring step": whole_step,
    }
    print(
        f"monitoring benchmark: {len(reference)} reference rows, {len(current)} current rows, "
        f"{REPEATS} repeats, single-threaded; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs (other processes slow every figure down)"
    )
    print(f"  {'import Evidently (once)':<28} {import_seconds:6.2f} s")
    for name, function in steps.items():
        times = _timed(function)
        print(_line(name, times, _peak_mib(function)), flush=True)
    html = sum(p.stat().st_size for p in (root / "data").rglob("*.html")) / 2**20
    print(
        f"  HTML written per day: {html:.1f} MiB; process peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
