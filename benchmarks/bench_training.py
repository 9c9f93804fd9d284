"""Training and tracking overhead, and batch prediction throughput.

Prints, on the same simulated data in one run: the fit time of each model kind alone, the same
fit through training-and-tracking (a real MLflow server on 127.0.0.1, SQLite + served
artifacts), the ratio (target: tracking adds at most 10 %), and batch prediction throughput
(rows/s) on 10k rows. Medians of REPEATS runs, with min and max; single-threaded
(threadpoolctl), since thread contention on a shared 2-core machine distorts the figures. The
first tracked run of a process also pays MLflow's one-time scan of the installed packages when it
checks the model's pip requirements; it is printed apart ("cold").
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from machine_learning import inference, jobs, preprocessing, services, simulator, tracking, training

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
PLAYERS = 30_025  # the size of the real training file


def _timed(function, repeats: int = REPEATS) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def _describe(times: list[float]) -> str:
    return f"median {statistics.median(times):7.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def _track(url: str, train, test, kind: str) -> None:
    tracking.train_and_track(
        train,
        test,
        tracking_uri=url,
        experiment_name="benchmark",
        model_name=f"benchmark-{kind}",
        kind=kind,
    )


def main() -> int:
    """Run the benchmark single-threaded and print the figures."""
    with threadpool_limits(limits=1):
        return _run()


def _run() -> int:
    processed = jobs.prepare_players(simulator.simulate_players(PLAYERS, seed=1)).processed
    train, test = preprocessing.split_train_test(processed)
    print(
        f"# training benchmark: {len(train)} train rows, {len(test)} test rows, "
        f"{os.cpu_count()} CPUs, {REPEATS} repeats"
    )
    with tempfile.TemporaryDirectory() as folder:
        server = services.start_mlflow_server(Path(folder) / "mlflow")
        try:
            for kind in training.MODEL_KINDS:
                bare = _timed(lambda kind=kind: training.fit(train, kind))
                tracked = _timed(
                    lambda kind=kind: _track(server.url, train, test, kind), REPEATS + 1
                )
                if kind == training.MODEL_KINDS[0]:
                    print(f"(cold: the first tracked fit of the process took {tracked[0]:.2f} s)")
                tracked = tracked[1:]
                ratio = statistics.median(tracked) / statistics.median(bare)
                print(f"{kind:<24} fit alone   {_describe(bare)}")
                print(
                    f"{kind:<24} fit+tracked {_describe(tracked)}  ratio {ratio:.2f} "
                    f"(tracking adds {100 * (ratio - 1):.0f} %)"
                )
        finally:
            server.stop()
    model = training.fit(train, training.GRADIENT_BOOSTING)
    batch = simulator.split_labels(simulator.simulate_players(10_000, seed=2))[0]
    raw = batch.astype(str)
    scoring = _timed(lambda: inference.score_players(model, raw))
    rate = len(raw) / statistics.median(scoring)
    print(
        f"batch prediction (validate + predict, 10k rows, gradient_boosting): "
        f"{_describe(scoring)} -> {rate:,.0f} rows/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
