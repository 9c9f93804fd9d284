"""Cost of keeping the Evidently workspace in S3 (STORAGE=s3), against moto's S3 server.

Prints wall time (median of REPEATS runs, with min and max) of: adding one day's snapshots
(drift suite + three reports) to a local workspace, the same with the S3 sync (pull, add,
push), a pull with nothing new (what a running UI does every 30 s), and filling a fresh folder
from the bucket (a new machine, or the UI's first start), on a workspace of DAYS days. Also the
objects and bytes in the bucket. The loopback moto server stands in for S3: real S3 adds the
network's latency per request (one list per pull, two per push, one request per file).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import boto3

from machine_learning import services, simulator
from machine_learning.monitoring import (
    add_to_workspace,
    build_reports,
    run_monitoring,
    workspace_files,
    workspace_sync,
)
from machine_learning.monitoring.columns import monitoring_frame
from machine_learning.storage import S3Storage

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
DAYS = int(os.environ.get("BENCH_DAYS", "30"))
START = dt.datetime(2024, 1, 1, 12)
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def _frame(players: int, seed: int):
    frame = simulator.simulate_players(players, seed=seed)
    frame["prediction"] = frame["EngagementLevel"]
    return monitoring_frame(frame)


def day_items(reference, current, day: int) -> list:
    """A day's drift suite and three reports (as the pipelines make them)."""
    stamp = START + dt.timedelta(days=day)
    suite = run_monitoring(reference, current, timestamp=stamp).suite
    return [suite, *build_reports(reference, current, timestamp=stamp).values()]


def fill(folder: Path, storage: S3Storage, template: list, days: int) -> None:
    """``days`` days of snapshots: copies of the template's with new ids and timestamps."""
    add_to_workspace(folder, template, storage=storage)
    [project] = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    originals = sorted((project / "snapshots").glob("*.json"))
    for day in range(1, days):
        for original in originals:
            text = original.read_text(encoding="utf-8").replace(original.stem, str(uuid.uuid4()))
            day_stamp = (START + dt.timedelta(days=day)).isoformat()
            text = text.replace(START.isoformat(), day_stamp)
            target = project / "snapshots" / f"{uuid.uuid4()}.json"
            target.write_text(text, encoding="utf-8")
    with workspace_files.locked(folder):
        workspace_sync.push(folder, storage)


def _timed(function: Callable[[int], object], repeats: int = REPEATS) -> list[float]:
    times = []
    for index in range(repeats):
        started = time.perf_counter()
        function(index)
        times.append(time.perf_counter() - started)
    return times


def _line(name: str, times: list[float]) -> str:
    return (
        f"  {name:<44} median {statistics.median(times):6.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f})"
    )


def main() -> int:
    """Run the benchmark and print the figures."""
    os.environ.update(MOTO_ENV)
    print(f"load average {os.getloadavg()[0]:.1f}; {DAYS} days; {REPEATS} repeats")
    reference, current = _frame(5000, seed=1), _frame(2000, seed=2)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        moto = services.start_moto_server(root / "moto.log")
        try:
            boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1").create_bucket(
                Bucket="bench"
            )
            storage = S3Storage("bench", "bench", endpoint_url=moto.url)
            writer = root / "writer"
            fill(writer, storage, day_items(reference, current, 0), DAYS)
            keys = storage.list_keys(workspace_sync.WORKSPACE_PREFIX)
            size = sum(len(storage.read_bytes(key)) for key in keys)
            print(f"  bucket: {len(keys)} objects, {size / 2**20:.1f} MiB")
            days = [day_items(reference, current, DAYS + i) for i in range(REPEATS)]
            local_days = [day_items(reference, current, DAYS + i) for i in range(REPEATS)]
            local = Path(shutil.copytree(writer, root / "local"))
            (local / workspace_sync.STATE_FILE).unlink()
            results = {
                "add a day, local workspace": _timed(
                    lambda i: add_to_workspace(local, local_days[i])
                ),
                "add a day, S3 sync (pull + add + push)": _timed(
                    lambda i: add_to_workspace(writer, days[i], storage=storage)
                ),
                "pull with nothing new (UI, every 30 s)": _timed(
                    lambda i: workspace_sync.pull(writer, storage)
                ),
                f"fill a fresh folder ({len(keys)} files)": _timed(
                    lambda i: workspace_sync.pull(root / f"fresh-{i}", storage)
                ),
            }
        finally:
            moto.stop()
    for name, times in results.items():
        print(_line(name, times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
