"""Mage orchestration: wall time of each pipeline run and the online-inference round trip.

Prints the wall time of every pipeline run headless (`mage run mlops <pipeline>`: the daily and
weekly sequence, then online_inference and ml_retraining, which runs training_workflow and
select_best_model itself), then starts the Mage server (127.0.0.1, authentication on) and times
ROUNDS online-inference requests through the API trigger, from the POST to the predictions read
back through the API: median and worst (the first request, which also fills the model cache, is
printed apart). Everything runs in a temporary folder against a real MLflow server on 127.0.0.1,
on simulated players, with hist_gradient_boosting (BENCH_MODEL_KIND to change it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine_learning import orchestration, services, simulator
from machine_learning.mage_api import MageClient
from machine_learning.schema import TARGET_COLUMN

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "5"))
PLAYERS = int(os.environ.get("BENCH_PLAYERS", "5000"))
BATCH_PLAYERS = int(os.environ.get("BENCH_BATCH_PLAYERS", "2000"))
DAY = dt.date(2026, 11, 23)


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
        "OMP_NUM_THREADS": "1",  # thread contention on a shared 2-core machine distorts figures
    }


def _pipeline_runs() -> None:
    variables = {"day": DAY.isoformat(), "players": PLAYERS, "batch_players": BATCH_PLAYERS}
    records = simulator.simulate_players(RECORDS, seed=3).drop(columns=[TARGET_COLUMN])
    runs = [(name, variables) for name in orchestration.SEQUENCE]
    runs.append(("online_inference", {"records": json.loads(records.to_json(orient="records"))}))
    runs.append(("ml_retraining", variables))
    print(f"pipeline runs (mage run; {PLAYERS} training players, {BATCH_PLAYERS} a day):")
    for name, run_variables in runs:
        result = orchestration.run_pipeline(name, run_variables)
        note = "  (runs training_workflow + select_best_model)" if name == "ml_retraining" else ""
        print(f"  {name:<22} {result.seconds:6.1f} s{note}")


def _online_round_trips(root: Path) -> None:
    owner = orchestration.OwnerCredentials("bench@example.com", secrets.token_urlsafe(16))
    started = time.perf_counter()
    server = orchestration.start_mage_server(
        owner, project=orchestration.project_copy(root), log_path=root / "mage.log"
    )
    print(f"mage server: answering after {time.perf_counter() - started:.1f} s")
    try:
        client = MageClient(server.url)
        client.login(owner.email, owner.password)
        schedule = client.api_trigger("online_inference")
        players = simulator.simulate_players(RECORDS, seed=5).drop(columns=[TARGET_COLUMN])
        records = json.loads(players.to_json(orient="records"))
        times = []
        for _ in range(ROUNDS + 1):
            started = time.perf_counter()
            rows = client.predict(records, schedule)
            times.append(time.perf_counter() - started)
            assert len(rows) == RECORDS and all(row["prediction"] for row in rows)
        first, rest = times[0], times[1:]
        print(
            f"online inference via the API trigger ({RECORDS} records, request to predictions):\n"
            f"  first (fills the model cache) {first:5.2f} s\n"
            f"  next {ROUNDS}: median {statistics.median(rest):5.2f} s, worst {max(rest):5.2f} s"
        )
    finally:
        server.stop()


def main() -> int:
    """Run the benchmark in a temporary folder and print the figures."""
    root = Path(tempfile.mkdtemp(prefix="bench-mage-"))
    mlflow = services.start_mlflow_server(root / "mlflow")
    os.environ.update(_environment(root, mlflow.url))
    try:
        _pipeline_runs()
        _online_round_trips(root)
    finally:
        mlflow.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
