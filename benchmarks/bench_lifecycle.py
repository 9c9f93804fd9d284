"""The main job: `make setup` from nothing, `make run` until its three services answer, and each
simulated day of the lifecycle (median and worst).

1. setup: a fresh clone of this repository's HEAD in a temporary folder, then `make setup` there
   (the three virtual environments from nothing; downloads from the package registry).
   BENCH_SKIP_SETUP=1 leaves it out (it takes minutes).
2. services: `gaming-mlops up` (MLflow, the Mage server, the Evidently UI) on free ports with its
   state in a temporary folder, until all three answer their health checks.
3. lifecycle: `gaming-mlops lifecycle` through that Mage server; the wall time of each simulated
   day (BENCH_DAYS days, default 28; drift from day BENCH_DRIFT_DAY, default 15; players a day
   BENCH_PLAYERS_PER_DAY, default 1,000; model kind BENCH_MODEL_KIND, default MODEL_KIND's
   default, the reference's gradient_boosting), and the first day of a week (model selection),
   the last (weekend training) and drift days apart.

Everything started here is stopped at the end (`gaming-mlops down` for the same state folder).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_learning import services
from machine_learning.config import PROJECT_ROOT

GAMING_MLOPS = str(Path(sys.executable).with_name("gaming-mlops"))


def _run(command: list[str], env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT) -> str:
    result = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=7200
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr}")
    return result.stdout


def time_setup(folder: Path) -> float:
    """Seconds of `make setup` in a fresh clone."""
    clone = folder / "clone"
    _run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)])
    started = time.perf_counter()
    _run(["make", "setup"], cwd=clone)
    return time.perf_counter() - started


def platform_environment(folder: Path) -> dict[str, str]:
    """An isolated platform on free ports."""
    return {
        **os.environ,
        "STORAGE": "local",
        "RUNTIME_DIR": str(folder / "runtime"),
        "DATA_DIR": str(folder / "runtime" / "data"),
        "MAGE_DATA_DIR": str(folder / "runtime" / "mage_data"),
        "EVIDENTLY_WORKSPACE": str(folder / "runtime" / "evidently"),
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{services.free_port()}",
        "MAGE_PORT": str(services.free_port()),
        "EVIDENTLY_UI_PORT": str(services.free_port()),
        "DEFAULT_OWNER_EMAIL": "owner@example.com",
        "DEFAULT_OWNER_PASSWORD": secrets.token_urlsafe(16),
        "MLFLOW_EXPERIMENT_NAME": "bench-lifecycle",
        "MODEL_NAME": "bench-lifecycle",
        "DATA_PATH": "",
        "BATCH_DATA_PATH": "",
    }


def _summary(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values):6.1f} s, worst {max(values):6.1f} s (n={len(values)})"
    )


def main() -> None:
    """Print the figures."""
    days = os.environ.get("BENCH_DAYS", "28")
    drift_day = os.environ.get("BENCH_DRIFT_DAY", "15")
    per_day = os.environ.get("BENCH_PLAYERS_PER_DAY", "1000")
    model = os.environ.get("BENCH_MODEL_KIND", "")
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-lifecycle-") as tmp:
        folder = Path(tmp)
        if os.environ.get("BENCH_SKIP_SETUP") != "1":
            print(f"make setup from nothing (fresh clone):     {time_setup(folder):7.1f} s")
        env = platform_environment(folder)
        try:
            started = time.perf_counter()
            _run([GAMING_MLOPS, "up"], env)
            print(
                f"gaming-mlops up until 3 services answer:   {time.perf_counter() - started:7.1f} s"
            )
            arguments = ["--days", days, "--drift-day", drift_day, "--players-per-day", per_day]
            if model:
                arguments += ["--model", model]
            started = time.perf_counter()
            output = _run([GAMING_MLOPS, "lifecycle", *arguments, "--json"], env)
            total = time.perf_counter() - started
        finally:
            subprocess.run([GAMING_MLOPS, "down"], env=env, capture_output=True, check=False)
    summary = json.loads(output.strip().splitlines()[-1])
    records = summary["days"]
    walls = [float(day["wall_seconds"]) for day in records]
    print(f"lifecycle: {days} days, {per_day} players a day, model {model or 'default'}")
    setup_seconds = sum(summary["setup"]["seconds"].values())
    print(f"  set-up (prepare, train, select):        {setup_seconds:7.1f} s")
    print(f"  every day:           {_summary(walls)}")
    quiet = [w for w, d in zip(walls, records) if not d["retrain"] and d["day"] % 7 not in (0, 1)]
    print(f"  ordinary days:       {_summary(quiet)}")
    print(f"  drift days:          {_summary([w for w, d in zip(walls, records) if d['retrain']])}")
    week_ends = [w for w, d in zip(walls, records) if d["day"] % 7 == 0]
    print(f"  week ends (training): {_summary(week_ends)}")
    print(f"  whole lifecycle:      {total:7.1f} s")
    for week in summary["weeks"]:
        print(
            f"  week {week['week']}: accuracy {week['accuracy']}, stale {week['stale_accuracy']}, "
            f"retrains {week['retrains']}, promotions {week['promotions']}"
        )


if __name__ == "__main__":
    main()
