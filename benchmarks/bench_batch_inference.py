"""Batch inference: the in-memory path vs chunked scoring, where the time goes, and 10 million.

Simulated players (CSV as the pipelines read them; Parquet for the scale run), the two model
kinds trained on 30,025 players. Every measurement runs in a fresh process (so peak memory is
that path's alone), single-threaded, BENCH_REPEATS times (median, min, max):

* in memory: the batch_inference pipeline's way: the whole CSV read as text, validated and
  scored at once (``inference.score_players``), predictions and rejects written (``write_csv``);
* chunked: ``batch_scoring.score_file``, the same outputs byte for byte (a test asserts it),
  100,000 rows per chunk, trees compiled to bit tables from 100,000 rows;
* floor: reading the CSV (chunked, as text) plus predicting the valid rows with the same
  engine, nothing else: the chunked path's total should be within 1.3x of it;
* scale: 10 million players (BENCH_SCALE_ROWS) Parquet to Parquet, and CSV to CSV, once each:
  rows/s in wall time and per CPU second, and peak memory (targets: >= 100,000 rows/s on one
  core, < 1 GiB).
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from common import Timing, load_average, quick, record, repeats, run_child
from threadpoolctl import threadpool_limits

from machine_learning import (
    batch_scoring,
    inference,
    jobs,
    preprocessing,
    simulator,
    training,
)
from machine_learning.storage import LocalStorage, read_csv, write_csv
from machine_learning.validation import ChunkValidator

AREA = "batch inference"
SCALE_AREA = "scale (10M players)"
GB, HIST = training.GRADIENT_BOOSTING, training.HIST_GRADIENT_BOOSTING
SIZES = (10_000, 100_000) if quick() else (10_000, 100_000, 1_000_000)
SCALE_ROWS = int(os.environ.get("BENCH_SCALE_ROWS", 1_000_000 if quick() else 10_000_000))
GENERATION_ROWS = 500_000
GIB = 1024.0


# --------------------------------------------------------------------------- inputs


def _players(rows: int, seed: int, first_id: int):
    batch = simulator.split_labels(simulator.simulate_players(rows, seed=seed, first_id=first_id))
    return pa.Table.from_pandas(batch[0], preserve_index=False)


def write_players(path: Path, rows: int, seed: int = 2) -> Path:
    """Simulated players to score, written in pieces (CSV, or Parquet with purchases as text)."""
    parquet = batch_scoring.file_format(path) == batch_scoring.PARQUET
    writer = None
    with open(path, "wb") as sink:
        for start in range(0, rows, GENERATION_ROWS):
            table = _players(min(GENERATION_ROWS, rows - start), seed + start, 100_000 + start)
            if parquet:  # as the CSV holds it (validation reads 0/1 integers more slowly)
                column = table.schema.get_field_index("InGamePurchases")
                purchases = pc.cast(table.column(column), pa.string())
                table = table.set_column(column, "InGamePurchases", purchases)
                writer = writer or pq.ParquetWriter(sink, table.schema)
                writer.write_table(table)
            else:
                options = pacsv.WriteOptions(include_header=start == 0, quoting_style="none")
                pacsv.write_csv(table, sink, options)
        if writer is not None:
            writer.close()
    return path


# --------------------------------------------------------------------------- children


def _in_memory(model, source: Path, folder: Path) -> dict:
    storage = LocalStorage(folder)
    raw = read_csv(LocalStorage(source.parent), source.name, as_text=True)
    scored = inference.score_players(model, raw)
    write_csv(storage, "predictions.csv", scored.predictions)
    write_csv(storage, "rejects.csv", scored.rejected)
    return {}


def _chunked(model, source: Path, folder: Path) -> dict:
    suffix = source.suffix
    outputs = batch_scoring.Outputs(folder / f"predictions{suffix}", folder / f"rejects{suffix}")
    summary = batch_scoring.score_file(model, source, outputs)
    return {"parts": summary.seconds, "engine": summary.engine, "rows": summary.rows_in}


def _floor(model, source: Path, _: Path) -> dict:
    """CPU seconds of reading (chunked, as text) and of predicting the valid rows, apart."""
    started = time.process_time()
    with batch_scoring.bounded_arrow_memory():
        chunks = list(batch_scoring.read_chunks(source))
    read = time.process_time() - started
    validator, valid = ChunkValidator(), []
    for chunk in chunks:
        valid.append(preprocessing.features(validator.validate(chunk).valid))
    del chunks
    compiled = batch_scoring.estimated_rows(source) >= batch_scoring.COMPILE_MIN_ROWS
    scorer = batch_scoring.ChunkScorer(model, compiled)
    scorer.predict(validator.validate(next(batch_scoring.read_chunks(source, 2000))).valid)
    engine = scorer.engine if scorer.engine is not None else model
    started = time.process_time()
    for features in valid:
        engine.predict_proba(features)
    return {"parts": {"read": read, "predict": time.process_time() - started}}


MODES = {"memory": _in_memory, "chunked": _chunked, "floor": _floor, "baseline": None}


def child(mode: str, model_file: str, source: str, runs: int) -> int:
    """One measurement in this fresh process; prints a JSON line."""
    with open(model_file, "rb") as stream:
        model = pickle.load(stream)
    results = []
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory() as folder:
        for _ in range(runs if MODES[mode] else 0):
            wall, cpu = time.perf_counter(), time.process_time()
            extra = MODES[mode](model, Path(source), Path(folder))
            results.append(
                {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, **extra}
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"runs": results, "peak_mib": peak}))
    return 0


def _measure(mode: str, model_file: Path, source: Path, runs: int) -> dict:
    result = run_child([__file__, "--child", mode, str(model_file), str(source), str(runs)])
    result["wall"] = Timing(tuple(run["wall"] for run in result["runs"])) if runs else None
    result["cpu"] = Timing(tuple(run["cpu"] for run in result["runs"])) if runs else None
    return result


# --------------------------------------------------------------------------- figures


def _sizes(models: dict[str, Path], folder: Path, baseline: float) -> None:
    for rows in SIZES:
        source = write_players(folder / f"players-{rows}.csv", rows)
        label = f"{rows:,} players"
        memory = _measure("memory", models[GB], source, repeats())
        chunked = _measure("chunked", models[GB], source, repeats())
        fast, slow = chunked["wall"].per(rows), memory["wall"].per(rows)
        record(AREA, f"{label}, in memory (the pipeline's way)", slow, "rows/s")
        record(
            AREA,
            f"{label}, chunked",
            fast,
            "rows/s",
            reference="in memory",
            ratio=fast.median / slow.median,
            note=f"{label}: {chunked['runs'][-1]['engine']} predict; CPU time "
            f"{rows / chunked['cpu'].median:,.0f} rows per CPU second chunked vs "
            f"{rows / memory['cpu'].median:,.0f} in memory.",
        )
        if rows == 100_000:
            _hist(label, models[HIST], source, rows)
        if rows == max(SIZES):
            _memory(label, memory, chunked, baseline)
            _floor_figures(label, models[GB], source, chunked)


def _memory(label: str, memory: dict, chunked: dict, baseline: float) -> None:
    record(AREA, f"{label}: peak memory in memory", memory["peak_mib"], "MiB")
    record(
        AREA,
        f"{label}: peak memory chunked",
        chunked["peak_mib"],
        "MiB",
        reference="in memory",
        ratio=chunked["peak_mib"] / memory["peak_mib"],
        note=f"Peak resident memory of the whole process; Python, the libraries and the model "
        f"alone take {baseline:.0f} MiB.",
    )


def _floor_figures(label: str, model: Path, source: Path, chunked: dict) -> None:
    """Chunked scoring against reading + predicting alone, in CPU seconds (robust to load)."""
    floor = _measure("floor", model, source, 1)["runs"][0]["parts"]
    parts, last = chunked["runs"][-1]["parts"], chunked["runs"][-1]["wall"]
    total = chunked["cpu"]
    lowest = floor["read"] + floor["predict"]
    record(AREA, f"{label}: reading the CSV (floor part, CPU s)", floor["read"], "s")
    record(AREA, f"{label}: predicting the valid rows (floor part, CPU s)", floor["predict"], "s")
    record(
        AREA,
        f"{label}: chunked scoring, all of it (CPU s)",
        total,
        "s",
        reference="floor = reading + predicting",
        ratio=total.median / lowest,
        target="<= 1.3",
        met=total.median / lowest <= 1.3,
        note=f"{label} chunked (last run, wall time): reading {parts['read'] / last:.0%}, "
        f"validating + predicting {parts['score'] / last:.0%}, writing "
        f"{parts['write'] / last:.0%}. The floor is measured in its own process, in CPU "
        f"seconds like the total: reading {floor['read']:.1f} s "
        f"({floor['read'] / lowest:.0%}), predicting with the chunked path's own engine "
        f"{floor['predict']:.1f} s ({floor['predict'] / lowest:.0%}).",
    )


def _hist(label: str, model: Path, source: Path, rows: int) -> None:
    memory = _measure("memory", model, source, repeats())
    chunked = _measure("chunked", model, source, repeats())
    slow, fast = memory["wall"].per(rows), chunked["wall"].per(rows)
    record(AREA, f"{label}, hist kind, in memory", slow, "rows/s")
    record(
        AREA,
        f"{label}, hist kind, chunked",
        fast,
        "rows/s",
        reference="hist kind in memory",
        ratio=fast.median / slow.median,
    )


def _scale(models: dict[str, Path], folder: Path) -> None:
    label = f"{SCALE_ROWS / 1e6:g}M players"
    runs = [(GB, ".parquet"), (HIST, ".parquet"), (HIST, ".csv")]
    for kind, suffix in runs:
        source = folder / f"scale{suffix}"
        if not source.exists():
            write_players(source, SCALE_ROWS, seed=5)
        result = _measure("chunked", models[kind], source, 1)
        wall, cpu = result["wall"].median, result["cpu"].median
        name = f"{label}, {kind}, {suffix[1:]} in and out"
        record(
            SCALE_AREA,
            f"{name}: rows/s",
            SCALE_ROWS / wall,
            "rows/s",
            target=">= 100,000 on one core",
            met=SCALE_ROWS / cpu >= 100_000,
            note=f"{name}: one run, single-threaded, {result['runs'][0]['engine']}; "
            f"{SCALE_ROWS / cpu:,.0f} rows per CPU second (the target is judged on these: "
            f"wall time also counts the other processes on this shared machine).",
        )
        record(
            SCALE_AREA,
            f"{name}: peak memory",
            result["peak_mib"],
            "MiB",
            target="< 1 GiB",
            met=result["peak_mib"] < GIB,
        )


def main() -> int:
    """Train, generate inputs, measure, record."""
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        return child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    print(f"# batch inference benchmark: sizes {SIZES}, scale {SCALE_ROWS:,}; {load_average()}")
    processed = jobs.prepare_players(simulator.simulate_players(30_025, seed=1)).processed
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder, models = Path(tmp), {}
        for kind in (GB, HIST):
            models[kind] = folder / f"{kind}.pkl"
            models[kind].write_bytes(pickle.dumps(training.fit(processed, kind, threads=1)))
        baseline = _measure("baseline", models[GB], folder, 0)["peak_mib"]
        _sizes(models, folder, baseline)
        _scale(models, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
