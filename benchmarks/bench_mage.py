"""Pipelines through Mage: the wall time of each run, and Mage's overhead over the library.

Each pipeline of the daily/weekly sequence (prepare_data, training_workflow, select_best_model,
batch_inference, performance_monitor, performance_reports) and online_inference runs headless
through Mage (``mage run mlops <pipeline>``, a fresh process, as ``make run`` does), then the
same blocks are called directly: a fresh Python process imports each block's module and calls
its function in the pipeline's order with the same variables (upstream outputs passed along,
nothing through Mage). The difference is Mage's overhead per run (its start, its database,
variable serialisation between blocks). ml_retraining runs training_workflow and
select_best_model through Mage itself, so it is timed through Mage only. Everything runs in a
temporary folder against a real MLflow server on 127.0.0.1, on simulated players,
single-threaded (MODEL_THREADS=1), with hist_gradient_boosting (BENCH_MODEL_KIND to change).
Medians of the runs of the sequence (2, or BENCH_REPEATS) with min and max.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import Timing, load_average, quick, record, repeats, run_child

from machine_learning import orchestration, services, simulator
from machine_learning.schema import TARGET_COLUMN

AREA = "Mage pipelines"
RECORDS = 5
PLAYERS = int(os.environ.get("BENCH_PLAYERS", "5000" if quick() else "30025"))
BATCH_PLAYERS = int(os.environ.get("BENCH_BATCH_PLAYERS", "2000" if quick() else "10000"))
DAY = dt.date(2026, 11, 23)
FOLDERS = {
    "data_loader": "data_loaders",
    "transformer": "transformers",
    "data_exporter": "data_exporters",
    "custom": "custom",
}


def _environment(root: Path, tracking_uri: str) -> dict[str, str]:
    return {
        "STORAGE": "local",
        "DATA_DIR": str(root / "data"),
        "RUNTIME_DIR": str(root / "runtime"),
        "MAGE_DATA_DIR": str(root / "mage_data"),
        "EVIDENTLY_WORKSPACE": str(root / "evidently"),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_EXPERIMENT_NAME": "bench-mage",
        "MODEL_NAME": "bench-mage",
        "MODEL_KIND": os.environ.get("BENCH_MODEL_KIND", "hist_gradient_boosting"),
        "DATA_PATH": "",
        "BATCH_DATA_PATH": "",
        "MODEL_THREADS": "1",
        "OMP_NUM_THREADS": "1",  # thread contention on a shared 2-core machine distorts figures
    }


def direct(pipeline: str, variables: dict) -> int:
    """Run a pipeline's blocks in this process, in order, without Mage; print a JSON line."""
    started = time.perf_counter()
    sys.path.insert(0, str(orchestration.MAGE_PROJECT.parent))  # as Mage does: blocks import
    metadata = yaml.safe_load(
        (orchestration.MAGE_PROJECT / "pipelines" / pipeline / "metadata.yaml").read_text()
    )
    kwargs = {**(metadata.get("variables") or {}), **variables}
    outputs: dict[str, object] = {}
    for block in metadata["blocks"]:
        module = importlib.import_module(f"mlops.{FOLDERS[block['type']]}.{block['uuid']}")
        function = getattr(module, block["uuid"])
        upstream = [outputs[name] for name in block["upstream_blocks"]]
        outputs[block["uuid"]] = function(*upstream, **kwargs)
    print(json.dumps({"seconds": time.perf_counter() - started}))
    return 0


def _runs() -> list[tuple[str, dict]]:
    variables = {"day": DAY.isoformat(), "players": PLAYERS, "batch_players": BATCH_PLAYERS}
    players = simulator.simulate_players(RECORDS, seed=3).drop(columns=[TARGET_COLUMN])
    records = json.loads(players.to_json(orient="records"))
    runs = [(name, variables) for name in orchestration.SEQUENCE]
    return runs + [("online_inference", {"records": records})]


def _sequence(times: dict[str, dict[str, list[float]]]) -> None:
    for name, variables in _runs():
        result = orchestration.run_pipeline(name, variables)
        began = time.perf_counter()
        run_child([__file__, "--direct", name, json.dumps(variables)])
        library = time.perf_counter() - began
        times.setdefault(name, {"mage": [], "direct": []})
        times[name]["mage"].append(result.seconds)
        times[name]["direct"].append(library)
        print(f"  {name:<22} mage run {result.seconds:6.1f} s   directly {library:6.1f} s")


def _record(times: dict[str, dict[str, list[float]]]) -> None:
    for name, measured in times.items():
        mage, library = Timing(tuple(measured["mage"])), Timing(tuple(measured["direct"]))
        record(AREA, f"{name}: the same blocks called directly (fresh process)", library, "s")
        record(
            AREA,
            f"{name}: mage run",
            mage,
            "s",
            reference="called directly",
            ratio=mage.median / library.median,
            note=f"{name}: Mage adds {mage.median - library.median:.1f} s per run "
            f"({(mage.median - library.median) / mage.median:.0%} of the mage run).",
        )
    mage_total = sum(Timing(tuple(t["mage"])).median for t in times.values())
    direct_total = sum(Timing(tuple(t["direct"])).median for t in times.values())
    record(
        AREA,
        "all of them: sum of the medians, mage run",
        mage_total,
        "s",
        reference="called directly",
        ratio=mage_total / direct_total,
        note=f"Over the whole sequence Mage adds {mage_total - direct_total:.0f} s "
        f"to {direct_total:.0f} s of library work.",
    )


def main() -> int:
    """Run the benchmark in a temporary folder and record the figures."""
    if len(sys.argv) == 4 and sys.argv[1] == "--direct":
        return direct(sys.argv[2], json.loads(sys.argv[3]))
    print(f"# Mage benchmark: {PLAYERS} training players, {BATCH_PLAYERS} a day; {load_average()}")
    root = Path(tempfile.mkdtemp(prefix="bench-mage-"))
    mlflow = services.start_mlflow_server(root / "mlflow")
    os.environ.update(_environment(root, mlflow.url))
    times: dict[str, dict[str, list[float]]] = {}
    try:
        for _ in range(repeats(default=2)):
            _sequence(times)
        retraining = orchestration.run_pipeline("ml_retraining", {"day": DAY.isoformat()})
        _record(times)
        record(
            AREA,
            "ml_retraining: mage run (runs training_workflow + select_best_model through Mage)",
            retraining.seconds,
            "s",
            note="ml_retraining: one run.",
        )
    finally:
        mlflow.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
