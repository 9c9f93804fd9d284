"""Training: each model kind alone vs with tracking, HistGradientBoosting vs GradientBoosting.

On the same 30,025 simulated players (the size of the real training file; stratified 80/20
split) in one run: the fit of each kind alone, the same fit through training-and-tracking (a
real MLflow server on 127.0.0.1: SQLite, served artifacts; parameters, metrics, charts, the
model and its registration) and their ratio (target: tracking adds at most 10 %); the
HistGradientBoosting kind against the reference GradientBoosting (fit time and held-out
accuracy); and why fits are single-threaded (MODEL_THREADS=1): the hist kind with one OpenMP
thread per CPU on this shared machine. Medians of BENCH_REPEATS runs with min and max; the
first tracked run of a process also pays MLflow's one-time imports and is left out ("cold").
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from common import Timing, load_average, quick, record, repeats, timed

from machine_learning import jobs, preprocessing, services, simulator, tracking, training

PLAYERS = 30_025
AREA = "training"


def _track(url: str, train, test, kind: str) -> None:
    tracking.train_and_track(
        train,
        test,
        tracking_uri=url,
        experiment_name="benchmark",
        model_name=f"benchmark-{kind}",
        kind=kind,
    )


def _tracking_overhead(train, test, models: dict) -> dict[str, Timing]:
    bare: dict[str, Timing] = {}
    with tempfile.TemporaryDirectory() as folder:
        server = services.start_mlflow_server(Path(folder) / "mlflow")
        try:
            # The hist kind first: the process's first tracked run (MLflow's imports and first
            # requests) is left out, and it is the cheap one to repeat.
            for index, kind in enumerate(reversed(training.MODEL_KINDS)):
                bare[kind] = timed(
                    lambda kind=kind: models.update({kind: training.fit(train, kind, threads=1)})
                )
                cold = 1 if index == 0 else 0
                runs = timed(
                    lambda kind=kind: _track(server.url, train, test, kind), repeats() + cold
                )
                tracked = Timing(runs.values[cold:])
                ratio = tracked.median / bare[kind].median
                record(AREA, f"{kind}: fit alone", bare[kind], "s")
                note = (
                    f"The first tracked run of the process (MLflow's imports and first requests) "
                    f"took {runs.values[0]:.2f} s and is not counted."
                    if cold
                    else ""
                )
                record(
                    AREA,
                    f"{kind}: fit + tracking + registration",
                    tracked,
                    "s",
                    reference="fit alone",
                    ratio=ratio,
                    target="<= 1.10",
                    met=ratio <= 1.10,
                    note=note
                    or f"Tracked minus fit alone (medians): "
                    f"{tracked.median - bare[kind].median:.1f} s (evaluation, charts, the model "
                    f"logged and registered; the fits alone vary by "
                    f"{bare[kind].high - bare[kind].low:.1f} s).",
                )
        finally:
            server.stop()
    return bare


def _hist_versus_reference(test, bare: dict[str, Timing], models: dict) -> None:
    gb, hist = training.GRADIENT_BOOSTING, training.HIST_GRADIENT_BOOSTING
    speed = bare[hist].median / bare[gb].median
    record(
        AREA,
        "hist_gradient_boosting fit time vs gradient_boosting",
        bare[hist],
        "s",
        reference="gradient_boosting fit alone",
        ratio=speed,
        note=f"The hist kind fits {1 / speed:.0f}x faster than the reference kind.",
    )
    scores = {kind: training.evaluate(models[kind], test).metrics for kind in (gb, hist)}
    for metric in ("accuracy", "f1_macro"):
        record(AREA, f"gradient_boosting held-out {metric}", scores[gb][metric], "")
        ratio = scores[hist][metric] / scores[gb][metric]
        record(
            AREA,
            f"hist_gradient_boosting held-out {metric}",
            scores[hist][metric],
            "",
            reference=f"gradient_boosting {metric}",
            ratio=ratio,
            target=">= 0.99x (as accurate)",
            met=ratio >= 0.99,
        )


def _threads(train) -> None:
    hist = training.HIST_GRADIENT_BOOSTING
    one = timed(lambda: training.fit(train, hist, threads=1), 2)
    every = os.cpu_count() or 1
    many = timed(lambda: training.fit(train, hist, threads=every), 2)
    record(
        AREA,
        f"hist_gradient_boosting fit with {every} OpenMP threads (one per CPU)",
        many,
        "s",
        reference="1 thread (MODEL_THREADS=1, the default)",
        ratio=many.median / one.median,
        note=(
            "OpenMP threads spin-wait for each other when other processes hold the cores: "
            "on a shared machine one thread per fit is faster; scale out with tasks instead."
            if many.median > 1.2 * one.median
            else "The cores were free enough during this run for the threads not to hurt; when "
            "other processes hold them, fits with one thread per CPU took 3 to 30 times longer "
            "(docs/scaling.md)."
        ),
    )


def main() -> int:
    """Run the benchmark and record the figures."""
    processed = jobs.prepare_players(simulator.simulate_players(PLAYERS, seed=1)).processed
    train, test = preprocessing.split_train_test(processed)
    print(
        f"# training benchmark: {len(train)} train rows, {len(test)} test rows, "
        f"{repeats()} runs, single-threaded; {load_average()}"
    )
    models: dict = {}
    bare = _tracking_overhead(train, test, models)
    _hist_versus_reference(test, bare, models)
    if not quick():
        _threads(train)
    return 0


if __name__ == "__main__":
    sys.exit(main())
