"""Batch scoring of player files of any size: chunk by chunk, in bounded memory.

A players file (CSV, or Parquet for large volumes) is read in chunks of ``chunk_rows`` rows,
each chunk validated with :class:`machine_learning.validation.ChunkValidator` (row numbers and
duplicate PlayerIDs span the chunks) and scored; predictions, rejected rows and optionally the
scored inputs (monitoring's 'current' data) are written chunk after chunk, each output
appearing atomically once complete. Memory depends on the chunk size, not on the file size.

The outputs are the in-memory path's, to the byte: the same validation, the same prediction
frame as :func:`machine_learning.inference.score_players`, and CSV text as
:func:`machine_learning.storage.write_csv` writes it. Two things make it fast:

* predictions come from :mod:`machine_learning.fast_trees` (bit-identical to scikit-learn,
  verified on the first rows; otherwise scikit-learn itself predicts);
* CSV rows are formatted by Arrow, with every float that Arrow would spell differently from
  Python (integral, below 1e-4 or from 1e16) formatted by Python, and only when all text is
  plain (no quote, separator, line break or formula-like start); otherwise pandas writes it.

Parquet output keeps types: identical values, read back with ``pandas.read_parquet``.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from machine_learning import (
    data_sources,
    fast_trees,
    layout,
    preprocessing,
    simulator,
    training,
)
from machine_learning.inference import PROBABILITY_COLUMNS
from machine_learning.schema import (
    CATEGORICAL_FEATURES,
    CLASS_LABELS,
    ID_COLUMN,
    NUMERIC_COLUMNS,
    PREDICTION_COLUMN,
    TARGET_COLUMN,
)
from machine_learning.storage import (
    Storage,
    StorageError,
    download_file,
    local_path,
    neutralise_formulas,
    read_csv,
    upload_file,
)
from machine_learning.validation import (
    REASON_COLUMN,
    ROW_COLUMN,
    ChunkValidator,
    check_columns,
)

CSV = "csv"
PARQUET = "parquet"
FORMATS = (CSV, PARQUET)
DEFAULT_CHUNK_ROWS = 100_000
CSV_BYTES_PER_ROW = 64  # about the size of a player row in a CSV file (65-72 bytes)
MODEL_VERSION_COLUMN = "model_version"  # as in machine_learning.pipelines
VERIFICATION_ROWS = 2000  # rows on which compiled trees must equal scikit-learn, bit for bit
# Compiling the trees takes about half a second: worth it from about this many rows.
COMPILE_MIN_ROWS = 50_000


def file_format(path: Path | str) -> str:
    """``parquet`` for ``.parquet`` / ``.pq`` files, else ``csv``."""
    return PARQUET if Path(path).suffix.lower() in {".parquet", ".pq"} else CSV


def estimated_rows(path: Path) -> int:
    """About how many rows a players file holds (exact for Parquet); 0 when unreadable."""
    path = Path(path)
    try:
        if file_format(path) == PARQUET:
            return pq.ParquetFile(path).metadata.num_rows
        return path.stat().st_size // CSV_BYTES_PER_ROW
    except (OSError, pa.ArrowInvalid):
        return 0


# --------------------------------------------------------------------------- reading


@contextmanager
def bounded_arrow_memory() -> Iterator[None]:
    """Arrow allocations from jemalloc while inside (when this pyarrow has it).

    Arrow's default allocator here (mimalloc) keeps freed blocks: reading a 10-million-row CSV
    chunk by chunk grew the process to about 1 GiB with 200 MiB in use; with jemalloc, which
    returns freed memory to the system, it stayed near 400 MiB.
    """
    previous = pa.default_memory_pool()
    try:
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        yield
        return
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def read_chunks(path: Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The rows of a players file in chunks: CSV as text (validation types it), Parquet typed."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    path = Path(path)
    if file_format(path) == CSV:
        yield from data_sources.iter_players_csv(path, chunk_rows * CSV_BYTES_PER_ROW)
        return
    yield from _parquet_chunks(path, chunk_rows)


def check_input(path: Path) -> int:
    """Fail early (StorageError, SchemaError) on a file that cannot be scored; about how many
    rows it holds. Reads the header (CSV) or the schema (Parquet) only."""
    path = Path(path)
    if file_format(path) == PARQUET:
        names = next(_parquet_chunks(path, 1)).columns
    else:
        names = next(data_sources.iter_players_csv(path, 1 << 16)).columns
    check_columns(names)
    return estimated_rows(path)


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if not path.is_file():
        raise StorageError(f"{path}: no such file")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise StorageError(f"{path} is not a readable Parquet file: {error}") from error
    if parquet.metadata.num_rows == 0:
        raise StorageError(f"{path} has no data rows")
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        yield batch.to_pandas()


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class ScoredChunk:
    """One chunk's predictions, scored inputs and rejected rows (as inference.ScoredBatch)."""

    predictions: pd.DataFrame
    scored_inputs: pd.DataFrame
    rejected: pd.DataFrame


class ChunkScorer:
    """Validates and scores chunks of one table in order, exactly as ``score_players`` would."""

    def __init__(self, model, compile_trees: bool = True) -> None:
        self.model = model
        self.engine: fast_trees.CompiledPipeline | None = None
        self._compile = compile_trees  # on the first valid rows, verified on them too
        self.validator = ChunkValidator()
        self._classes = np.asarray(model.classes_)

    @property
    def engine_name(self) -> str:
        """Which engine predicts: compiled trees or scikit-learn."""
        return "compiled trees" if self.engine is not None else "scikit-learn"

    def _compile_engine(self, valid: pd.DataFrame) -> None:
        self._compile = False
        sample = pd.concat(
            [default_verification_sample(), valid.head(VERIFICATION_ROWS)], ignore_index=True
        )
        self.engine = fast_trees.compile_pipeline(
            self.model, preprocessing.features(sample), CATEGORICAL_FEATURES
        )

    def _probabilities(self, valid: pd.DataFrame) -> np.ndarray:
        inputs = preprocessing.features(valid)
        if self.engine is not None:
            return self.engine.predict_proba(inputs)
        with training.limited_threads():
            return self.model.predict_proba(inputs)

    def predict(self, valid: pd.DataFrame) -> pd.DataFrame:
        """As :func:`machine_learning.inference.predict_frame`, vectorised."""
        columns = ([ID_COLUMN] if ID_COLUMN in valid else []) + [
            PREDICTION_COLUMN,
            *PROBABILITY_COLUMNS,
        ]
        if valid.empty:
            return pd.DataFrame(columns=columns)
        if self._compile:
            self._compile_engine(valid)
        probabilities = self._probabilities(valid)
        result = {}
        if ID_COLUMN in valid:
            result[ID_COLUMN] = valid[ID_COLUMN].to_numpy()
        codes = self._classes[probabilities.argmax(axis=1)]
        labels = np.array(CLASS_LABELS + (np.nan,), dtype=object)
        known = np.isin(codes, np.arange(len(CLASS_LABELS)))
        result[PREDICTION_COLUMN] = labels[np.where(known, codes, len(CLASS_LABELS))]
        for code, label in enumerate(CLASS_LABELS):
            where = np.flatnonzero(self._classes == code)
            result[f"prob_{label}"] = probabilities[:, where[0]] if len(where) else 0.0
        return pd.DataFrame(result, columns=columns)

    def score(self, raw: pd.DataFrame) -> ScoredChunk:
        """Validate the next chunk and score its valid rows."""
        result = self.validator.validate(raw)
        predictions = self.predict(result.valid)
        scored = result.valid.reset_index(drop=True).copy()
        scored[PREDICTION_COLUMN] = predictions[PREDICTION_COLUMN].to_numpy()
        for column in PROBABILITY_COLUMNS:
            scored[column] = predictions[column].to_numpy()
        return ScoredChunk(predictions, scored, result.rejected)


def default_verification_sample(rows: int = VERIFICATION_ROWS) -> pd.DataFrame:
    """Simulated players (with a few missing and unknown values) to verify compiled trees on."""
    frame = simulator.simulate_players(rows, seed=7)
    frame["InGamePurchases"] = preprocessing.purchases_to_text(frame["InGamePurchases"])
    frame = frame.astype({column.name: "float64" for column in NUMERIC_COLUMNS})
    rng = np.random.default_rng(7)
    for column in frame.columns.drop([ID_COLUMN, TARGET_COLUMN]):
        frame.loc[rng.random(rows) < 0.01, column] = np.nan
    return frame


# --------------------------------------------------------------------------- writing


_UNSAFE_TEXT = r'[",\r\n]|^[=+\-@\t\r]'  # needs quoting, or a formula to neutralise


def _python_float_text(values: np.ndarray) -> pa.Array:
    """Floats as pandas writes them (Python's repr; NaN as empty), built by Arrow where equal."""
    text = pc.cast(pa.array(values, type=pa.float64()), pa.string())
    size = np.abs(values)
    own = ~np.isnan(values) & ((values == np.floor(values)) | (size < 1e-4) | (size >= 1e16))
    # Arrow switches to an exponent earlier than Python (1.00000000005e+10 for 10000000000.5).
    exponent = pc.match_substring(text, "e")  # pylint: disable=no-member
    own |= np.asarray(exponent.to_numpy(zero_copy_only=False), dtype=bool) & ~np.isnan(values)
    if own.any():
        strings = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
        strings[own] = [repr(float(value)) for value in values[own]]
        text = pa.array(strings, type=pa.string())
    blank = pa.array(np.isnan(values))
    return pc.if_else(blank, pa.scalar("", pa.string()), text)  # pylint: disable=no-member


def _arrow_column(values: pd.Series) -> pa.Array | None:
    """A column as Arrow CSV would write it like pandas, or None when pandas must write it."""
    kind = values.dtype
    if pd.api.types.is_integer_dtype(kind) and not pd.api.types.is_extension_array_dtype(kind):
        return pa.array(values.to_numpy())
    if kind == np.float64:
        return _python_float_text(values.to_numpy())
    if kind == object or pd.api.types.is_string_dtype(kind):
        try:
            text = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        unsafe = pc.match_substring_regex(text, _UNSAFE_TEXT)  # pylint: disable=no-member
        if pc.any(unsafe).as_py():  # pylint: disable=no-member
            return None
        return pc.fill_null(text, "")
    return None


def csv_rows(frame: pd.DataFrame) -> bytes:
    """The data rows of ``frame`` exactly as ``write_csv`` writes them (no header)."""
    columns = [_arrow_column(frame[name]) for name in frame.columns]
    if frame.empty or any(column is None for column in columns):
        text = neutralise_formulas(frame).to_csv(index=False, header=False)
        return text.encode("utf-8")
    table = pa.Table.from_arrays(columns, names=[str(name) for name in frame.columns])
    sink = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    pacsv.write_csv(table, sink, options)
    return sink.getvalue()


class _AtomicFile:
    """A file written under a temporary name and renamed into place when complete."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        os.close(handle)
        self.temporary = Path(name)

    def commit(self) -> None:
        """Flush to disk and rename into place."""
        with open(self.temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        """Remove the temporary file (after an error)."""
        self.temporary.unlink(missing_ok=True)


class TableWriter:
    """Frames appended to one CSV or Parquet file; the file appears only once complete."""

    def __init__(self, path: Path, fmt: str | None = None) -> None:
        self.format = fmt or file_format(path)
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        self.rows = 0
        self._file = _AtomicFile(path)
        self._stream = open(self._file.temporary, "wb")  # pylint: disable=consider-using-with
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._header: list[str] | None = None

    @property
    def path(self) -> Path:
        """Where the file appears."""
        return self._file.path

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (the first frame's columns decide the header/schema)."""
        if self._header is None:
            self._header = [str(name) for name in frame.columns]
            if self.format == CSV:
                self._stream.write(frame.head(0).to_csv(index=False).encode("utf-8"))
        elif [str(name) for name in frame.columns] != self._header:
            raise ValueError(f"{self.path}: columns changed between chunks")
        if self.format == CSV:
            if len(frame):
                self._stream.write(csv_rows(frame))
        else:
            self._write_parquet(frame)
        self.rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        if self._schema is None:
            self._schema = parquet_schema(frame)
            self._parquet = pq.ParquetWriter(self._stream, self._schema)
        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        self._parquet.write_table(table)

    def close(self, ok: bool) -> None:
        """Finish the file (``ok``) or throw it away."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            self._stream.close()
            if ok:
                self._file.commit()
        finally:
            self._file.discard()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close(error is None)


_KNOWN_TYPES: dict[str, pa.DataType] = {
    ID_COLUMN: pa.int64(),
    ROW_COLUMN: pa.int64(),
    REASON_COLUMN: pa.string(),
    PREDICTION_COLUMN: pa.string(),
    TARGET_COLUMN: pa.string(),
    **{name: pa.string() for name in CATEGORICAL_FEATURES},
    **{c.name: pa.int64() if c.integer else pa.float64() for c in NUMERIC_COLUMNS},
    **{name: pa.float64() for name in PROBABILITY_COLUMNS},
}


def parquet_schema(frame: pd.DataFrame) -> pa.Schema:
    """The schema of an output: the table's known columns typed, rejected rows as text."""
    text = ROW_COLUMN in frame.columns  # rejected rows keep the raw cells as text
    fields = []
    inferred = pa.Schema.from_pandas(frame, preserve_index=False)
    for name in frame.columns:
        if name == ROW_COLUMN:
            kind = pa.int64()
        elif text and name != REASON_COLUMN:
            kind = pa.string()
        else:
            kind = _KNOWN_TYPES.get(name, inferred.field(str(name)).type)
        fields.append(pa.field(str(name), pa.string() if kind == pa.null() else kind))
    return pa.schema(fields)


# --------------------------------------------------------------------------- whole files


@dataclass
class ScoringSummary:  # pylint: disable=too-many-instance-attributes
    """What a scoring run read, wrote and how long each part took."""

    rows_in: int = 0
    predicted: int = 0
    rejected: int = 0
    chunks: int = 0
    engine: str = ""
    seconds: dict[str, float] = field(
        default_factory=lambda: {"read": 0.0, "score": 0.0, "write": 0.0}
    )
    outputs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rows_in": self.rows_in,
            "predicted": self.predicted,
            "rejected": self.rejected,
            "chunks": self.chunks,
            "engine": self.engine,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            **self.outputs,
        }


@dataclass(frozen=True)
class Outputs:
    """Where a scoring run writes: predictions and rejects always, scored inputs optionally."""

    predictions: Path
    rejects: Path
    current: Path | None = None
    fmt: str | None = None  # default: from each file's suffix
    constant_columns: Mapping[str, str] = field(default_factory=dict)  # added to predictions


def _timed(summary: ScoringSummary, part: str, started: float) -> float:
    now = time.perf_counter()
    summary.seconds[part] += now - started
    return now


def score_file(
    model,
    input_path: Path,
    outputs: Outputs,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    compile_trees: bool | None = None,
) -> ScoringSummary:
    """Score a players file of any size chunk by chunk (see the module's docstring).

    ``compile_trees``: predict with compiled trees (verified bit-identical); None = when the
    file has at least ``COMPILE_MIN_ROWS`` rows. A bad file (absent, not CSV/Parquet, wrong
    columns) fails before anything is written; on any error no output file appears (earlier
    outputs at those paths are left as they were).
    """
    if compile_trees is None:
        compile_trees = estimated_rows(input_path) >= COMPILE_MIN_ROWS
    summary = ScoringSummary()
    started = time.perf_counter()
    with ExitStack() as stack:
        stack.enter_context(bounded_arrow_memory())
        chunks = read_chunks(input_path, chunk_rows)
        first = next(chunks)
        scorer = ChunkScorer(model, compile_trees)
        predictions = stack.enter_context(TableWriter(outputs.predictions, outputs.fmt))
        rejects = stack.enter_context(TableWriter(outputs.rejects, outputs.fmt))
        current = (
            stack.enter_context(TableWriter(outputs.current, outputs.fmt))
            if outputs.current is not None
            else None
        )
        for chunk in itertools.chain([first], chunks):
            started = _timed(summary, "read", started)
            scored = scorer.score(chunk)
            predicted = scored.predictions
            for name, value in outputs.constant_columns.items():
                predicted[name] = value
            started = _timed(summary, "score", started)
            predictions.write(predicted)
            rejects.write(scored.rejected)
            if current is not None:
                current.write(scored.scored_inputs)
            started = _timed(summary, "write", started)
            summary.chunks += 1
    summary.engine = scorer.engine_name
    summary.predicted, summary.rejected = predictions.rows, rejects.rows
    summary.rows_in = summary.predicted + summary.rejected
    summary.outputs = {"predictions": str(outputs.predictions), "rejects": str(outputs.rejects)}
    if outputs.current is not None:
        summary.outputs["current"] = str(outputs.current)
    return summary


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True)
class StoredOutputs:
    """Storage keys of a scoring run's outputs (format from each key's suffix)."""

    predictions: str
    rejects: str
    current: str | None = None
    constant_columns: Mapping[str, str] = field(default_factory=dict)
    keep_empty_rejects: bool = True  # False: no rejected row removes an earlier rejects object


def score_stored(
    model,
    storage: Storage,
    input_key: str,
    outputs: StoredOutputs,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ScoringSummary:
    """:func:`score_file` on storage objects: local files directly; other storage (S3) through
    a local working folder, objects streamed to and from it (multipart, never whole in memory).
    """
    with tempfile.TemporaryDirectory(prefix="batch-scoring-") as folder:
        work = Path(folder)
        source = local_path(storage, input_key)
        if source is None:
            source = download_file(storage, input_key, work / Path(input_key).name)

        def place(key: str | None, name: str) -> Path | None:
            if key is None:
                return None
            path = local_path(storage, key)
            return path if path is not None else work / f"{name}{Path(key).suffix}"

        files = Outputs(
            place(outputs.predictions, "predictions"),
            place(outputs.rejects, "rejects"),
            place(outputs.current, "current"),
            constant_columns=outputs.constant_columns,
        )
        summary = score_file(model, source, files, chunk_rows)
        published = {"predictions": outputs.predictions, "current": outputs.current}
        if summary.rejected or outputs.keep_empty_rejects:
            published["rejects"] = outputs.rejects
        else:
            files.rejects.unlink(missing_ok=True)
            storage.delete(outputs.rejects)
        for name, key in published.items():
            if key is not None and local_path(storage, key) is None:
                upload_file(storage, key, getattr(files, name))
        summary.outputs = {name: storage.uri(key) for name, key in published.items() if key}
    return summary


def score_batch_day(
    model, model_version: str, storage: Storage, day: dt.date | str, chunk_rows: int | None = None
) -> dict[str, Any]:
    """The batch_inference pipeline's outputs for ``day``, scored chunk by chunk.

    Reads ``batch/<day>/players.csv`` and writes what ``predict_batch`` + ``save_predictions``
    write, byte for byte: the predictions (with ``model_version``), monitoring's 'current' data,
    and the rejected rows (an empty rejects object is removed, as ``_replace_csv`` does).
    Returns ``save_predictions``'s summary, plus ``rows_in``, ``engine`` and ``chunks``.
    """
    summary = score_stored(
        model,
        storage,
        layout.batch_input(day),
        StoredOutputs(
            predictions=layout.predictions(day),
            rejects=layout.rejected("batch", day),
            current=layout.current(day),
            constant_columns={MODEL_VERSION_COLUMN: str(model_version)},
            keep_empty_rejects=False,
        ),
        chunk_rows or DEFAULT_CHUNK_ROWS,
    )
    return {
        "day": day if isinstance(day, str) else day.isoformat(),
        "predicted": summary.predicted,
        "rejected": summary.rejected,
        "predictions": summary.outputs["predictions"],
        "current": summary.outputs["current"],
        "model_version": str(model_version) if summary.predicted else None,
        "rows_in": summary.rows_in,
        "engine": summary.engine,
        "chunks": summary.chunks,
    }


# --------------------------------------------------------------------------- sampling


def sample_file(
    path: Path, rows: int, seed: int = 42, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> pd.DataFrame:
    """A uniform random sample of ``rows`` rows of a file of any size, read chunk by chunk.

    Every row gets a seeded random key; the rows with the smallest keys are kept (so memory
    holds at most ``rows`` + one chunk). The sample keeps the file's order. Used to monitor
    inputs too large for Evidently at once.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame | None = None
    keys = np.empty(0)
    offset = 0
    with bounded_arrow_memory():
        for chunk in read_chunks(path, chunk_rows):
            chunk = chunk.set_axis(np.arange(offset, offset + len(chunk)))
            offset += len(chunk)
            keys = np.concatenate([keys, rng.random(len(chunk))])
            kept = chunk if kept is None else pd.concat([kept, chunk])
            if len(kept) > rows:
                best = np.argpartition(keys, rows - 1)[:rows]
                kept, keys = kept.iloc[best], keys[best]
    if kept is None:
        raise StorageError(f"{path} has no data rows")
    return kept.sort_index().reset_index(drop=True)


def sample_stored(
    storage: Storage, key: str, rows: int, seed: int = 42, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> pd.DataFrame:
    """:func:`sample_file` of a storage object (S3: streamed to a local file first)."""
    path = local_path(storage, key)
    if path is not None:
        return sample_file(path, rows, seed, chunk_rows)
    with tempfile.TemporaryDirectory(prefix="batch-sample-") as folder:
        local = download_file(storage, key, Path(folder) / Path(key).name)
        return sample_file(local, rows, seed, chunk_rows)


def read_for_monitoring(
    storage: Storage, key: str, sample_rows: int, seed: int = 42
) -> pd.DataFrame:
    """A stored CSV for monitoring, as text: whole when it holds up to about twice
    ``sample_rows`` rows, else a uniform sample of ``sample_rows`` rows read chunk by chunk
    (Evidently holds its inputs in memory; a sample of 50,000 keeps its decisions)."""
    path = local_path(storage, key)
    if path is not None:
        if estimated_rows(path) <= 2 * sample_rows:
            return read_csv(storage, key, as_text=True)
        return sample_file(path, sample_rows, seed)
    with tempfile.TemporaryDirectory(prefix="monitoring-input-") as folder:
        local = download_file(storage, key, Path(folder) / Path(key).name)
        if estimated_rows(local) <= 2 * sample_rows:
            return read_csv(storage, key, as_text=True)
        return sample_file(local, sample_rows, seed)
