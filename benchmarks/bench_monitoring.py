"""Monitoring: 30k reference vs 10k current rows, and 1M vs 1M through uniform samples.

In one process, single-threaded, on simulated players scored by a hist_gradient_boosting model:

* 30,025 reference rows (the training file's size) vs 10,000 current rows (a day): the drift
  test suite with the retraining decision, each report, saving everything (JSON + HTML), adding
  the snapshots to an Evidently workspace, and the whole monitoring step;
* 1,000,000 vs 1,000,000 rows (BENCH_MONITOR_ROWS): Evidently holds its inputs in memory and
  its cost grows with the rows (the suite takes about 20 s on 100k vs 100k), so large days are
  monitored on uniform random samples of SAMPLE_ROWS rows of each side, drawn chunk by chunk
  from the scored files (``batch_scoring.sample_file``: memory bound by the sample). Recorded:
  drawing the samples, the suite and reports on them, and the decision on an undrifted and on
  a drifted day (the sample must keep the signal: no retraining, then retraining).

Medians of BENCH_REPEATS runs with min and max.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import tempfile
import time
from pathlib import Path

from common import load_average, quick, record, repeats, timed
from threadpoolctl import threadpool_limits

from machine_learning import batch_scoring, inference, jobs, simulator, training

AREA = "monitoring"
REFERENCE_ROWS, CURRENT_ROWS = 30_025, 10_000
LARGE_ROWS = 200_000 if quick() else 1_000_000
SAMPLE_ROWS = 50_000
DAY = dt.date(2024, 1, 1)


def _small_data(model):
    reference = simulator.simulate_players(REFERENCE_ROWS, seed=1)
    current = simulator.simulate_players(CURRENT_ROWS, seed=2)  # labels: the performance report
    return (
        inference.score_players(model, reference).scored_inputs,
        inference.score_players(model, current).scored_inputs,
    )


def _small(mon, model, root: Path) -> dict[str, float]:
    from machine_learning.storage import LocalStorage  # pylint: disable=import-outside-toplevel

    reference, current = _small_data(model)
    storage, workspace = LocalStorage(root / "data"), mon.open_workspace(root / "ws")
    mon.ensure_dashboard(workspace)
    suite = mon.run_monitoring(reference, current)
    reports = mon.build_reports(reference, current)
    reports[mon.CLASSIFICATION_PERFORMANCE] = mon.build_performance_report(current)

    def whole_step() -> None:
        result = mon.run_monitoring(reference, current)
        built = mon.build_reports(reference, current)
        built[mon.CLASSIFICATION_PERFORMANCE] = mon.build_performance_report(current)
        mon.save_monitoring_result(storage, DAY, result)
        mon.save_reports(storage, DAY, built)
        mon.add_to_workspace(workspace, [result.suite, *built.values()])

    steps = {
        "test suite + decision": lambda: mon.run_monitoring(reference, current),
        **{
            f"report {name}": (lambda name=name: mon.build_report(name, reference, current))
            for name in mon.REPORT_NAMES
        },
        "report classification performance": lambda: mon.build_performance_report(current),
        "save JSON + HTML (5 items)": lambda: (
            mon.save_monitoring_result(storage, DAY, suite),
            mon.save_reports(storage, DAY, reports),
        ),
        "add 5 snapshots to the workspace": lambda: mon.add_to_workspace(
            workspace, [suite.suite, *reports.values()]
        ),
        "whole monitoring step": whole_step,
    }
    medians = {}
    for name, step in steps.items():
        timing = timed(step)
        medians[name] = timing.median
        record(AREA, f"30k vs 10k: {name}", timing, "s")
    return medians


def _score_to_parquet(model, rows: int, seed: int, folder: Path, drift: str = "none") -> Path:
    source = folder / f"players-{seed}-{drift}.parquet"
    players = simulator.simulate_players(rows, seed=seed, drift=drift, first_id=seed * 10**7)
    players.to_parquet(source, index=False)
    outputs = batch_scoring.Outputs(
        folder / f"p-{seed}.parquet",
        folder / f"r-{seed}.parquet",
        folder / f"c-{seed}-{drift}.parquet",
    )
    batch_scoring.score_file(model, source, outputs)
    return outputs.current


def _large(mon, model, root: Path, small: dict[str, float]) -> None:
    label = f"{LARGE_ROWS / 1e6:g}M vs {LARGE_ROWS / 1e6:g}M (samples of {SAMPLE_ROWS // 1000}k)"
    files = {
        "reference": _score_to_parquet(model, LARGE_ROWS, 3, root),
        "current": _score_to_parquet(model, LARGE_ROWS, 4, root),
        "drifted": _score_to_parquet(model, LARGE_ROWS, 5, root, "longer_sessions"),
    }
    samples = {}
    sampling = timed(
        lambda: samples.update(
            {n: batch_scoring.sample_file(p, SAMPLE_ROWS, seed=9) for n, p in files.items()}
        )
    )
    record(
        AREA,
        f"{label}: drawing the samples (3 files, chunk by chunk)",
        sampling,
        "s",
        note=f"Uniform samples without replacement: every row gets a seeded random key, the "
        f"{SAMPLE_ROWS:,} smallest keys are kept while the file is read in chunks.",
    )
    frames = {name: mon.monitoring_frame(sample) for name, sample in samples.items()}
    reference, current = frames["reference"], frames["current"]
    suite = timed(lambda: mon.run_monitoring(reference, current))
    record(
        AREA,
        f"{label}: test suite + decision",
        suite,
        "s",
        reference="30k vs 10k suite",
        ratio=suite.median / small["test suite + decision"],
    )
    for name in mon.REPORT_NAMES:
        timing = timed(lambda name=name: mon.build_report(name, reference, current), 1)
        record(
            AREA,
            f"{label}: report {name}",
            timing,
            "s",
            reference=f"30k vs 10k {name}",
            ratio=timing.median / small[f"report {name}"],
        )
    calm = mon.run_monitoring(reference, current).retrain
    drifted = mon.run_monitoring(reference, frames["drifted"]).retrain
    record(
        AREA,
        f"{label}: decisions kept (undrifted: no retraining; longer sessions: retraining)",
        float((not calm) and drifted),
        "1 = yes",
        target="1",
        met=(not calm) and drifted,
        note=f"On the samples: undrifted day retrain={calm}, drifted day retrain={drifted}.",
    )


def main() -> int:
    """Run the benchmark single-threaded and record the figures."""
    print(
        f"# monitoring benchmark: {REFERENCE_ROWS} vs {CURRENT_ROWS} rows, then {LARGE_ROWS:,} "
        f"vs {LARGE_ROWS:,} sampled to {SAMPLE_ROWS:,}; {repeats()} runs; {load_average()}"
    )
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory(prefix="bench-mon-") as tmp:
        started = time.perf_counter()
        # pylint: disable=import-outside-toplevel
        from machine_learning import monitoring as mon

        for module in ("suites", "reports", "persistence", "workspace"):
            importlib.import_module(f"machine_learning.monitoring.{module}")
        record(AREA, "import Evidently (once per process)", time.perf_counter() - started, "s")
        processed = jobs.prepare_players(simulator.simulate_players(REFERENCE_ROWS, seed=1))
        model = training.fit(processed.processed, training.HIST_GRADIENT_BOOSTING, threads=1)
        small = _small(mon, model, Path(tmp))
        _large(mon, model, Path(tmp), small)
    return 0


if __name__ == "__main__":
    sys.exit(main())
