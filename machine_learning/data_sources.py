"""Where players come from: the embedded simulator (default) or a real CSV the user points to.

A players CSV is read strictly, every cell as text (validation types it): UTF-8, a header, and
on every row exactly as many fields as the header has. A file that breaks one of these rules
fails as a whole, with a message naming the file and the offending lines; a row with bad
values is validation's business (rejected with its reason, the other rows go on).

:func:`read_players_csv` reads a file at once (up to ``MAX_WHOLE_FILE_BYTES``);
:func:`iter_players_csv` reads a file of any size in chunks (what
:mod:`machine_learning.batch_scoring` scores, writing each output atomically).
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from machine_learning import simulator
from machine_learning.storage import StorageError
from machine_learning.validation import SchemaError

DEFAULT_TRAINING_PLAYERS = 30_025  # the size of the real training file
# Files read at once stay under this size (in memory a table of text cells takes about ten
# times its file size); `gaming-mlops predict` streams files of any size.
MAX_WHOLE_FILE_BYTES = 256 * 2**20
CHUNK_BYTES = 8 * 2**20  # about 120,000 player rows per chunk
_HEADER_BYTES = 1 << 20
_MALFORMED_SHOWN = 5


def _players_file(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise StorageError(f"{path}: no such file")
    return path


def read_players_csv(path: Path, max_bytes: int = MAX_WHOLE_FILE_BYTES) -> pd.DataFrame:
    """Read a whole player CSV as text; clear errors for absent, empty, oversized or bad files."""
    path = _players_file(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise StorageError(
            f"{path} is {size / 2**20:.0f} MiB, over the {max_bytes / 2**20:.0f} MiB read at "
            "once: split it (`gaming-mlops predict` scores files of any size piece by piece)"
        )
    chunks = list(iter_players_csv(path))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def iter_players_csv(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[pd.DataFrame]:
    """The rows of a player CSV as text, in chunks of about ``chunk_bytes`` of the file.

    Raises :class:`StorageError` for a file that is absent, empty, only a header, not UTF-8,
    or has rows with more or fewer fields than the header (up to five are named), and
    :class:`SchemaError` for a header that repeats a column.
    """
    path = _players_file(path)
    header = _read_header(path)
    if first_invalid_utf8(path) is not None:  # checked first: the parser would garble it
        raise _not_utf8(path)
    malformed: list[pacsv.InvalidRow] = []
    rows = 0
    try:
        for batch in _open_csv(path, header, malformed, chunk_bytes):
            if malformed:
                break
            if batch.num_rows:
                rows += batch.num_rows
                yield _as_text(batch).to_pandas()
    except pa.ArrowInvalid as error:
        raise StorageError(f"{path} is not a readable CSV file: {error}") from error
    if malformed:
        raise _malformed_error(path, len(header), malformed)
    if rows == 0:
        raise StorageError(f"{path} has a header but no data rows")


def _as_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Every column as text (a header name spelt differently from ours may have been typed)."""
    if all(field.type == pa.string() for field in batch.schema):
        return batch
    return batch.cast(pa.schema([(field.name, pa.string()) for field in batch.schema]))


def _read_header(path: Path) -> list[str]:
    """The column names of the file's first line (checked: UTF-8, no repeated name)."""
    with open(path, "rb") as stream:
        start = stream.read(_HEADER_BYTES)
    if not start.strip():
        raise StorageError(f"{path} is empty (no header, no rows)")
    line = start.lstrip(b"\r\n").split(b"\n", 1)[0]
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_utf8(path) from error
    names = next(csv.reader([text.rstrip("\r")]))
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SchemaError(f"{path}: duplicated columns: {', '.join(repeated)}")
    return names


def _open_csv(
    path: Path, header: list[str], malformed: list, chunk_bytes: int
) -> pacsv.CSVStreamingReader:
    def quarantine(row: pacsv.InvalidRow) -> str:
        malformed.append(row)
        return "skip"

    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False, block_size=chunk_bytes),
        parse_options=pacsv.ParseOptions(invalid_row_handler=quarantine, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _malformed_error(path: Path, fields: int, rows: list) -> StorageError:
    def shown(row) -> str:
        text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
        where = f"row {row.number - 1}" if row.number is not None else "a row"
        return f"{where} has {row.actual_columns} fields ({text!r})"

    listed = "; ".join(shown(row) for row in rows[:_MALFORMED_SHOWN])
    more = f"; and {len(rows) - _MALFORMED_SHOWN} more" if len(rows) > _MALFORMED_SHOWN else ""
    return StorageError(
        f"{path} is not a well-formed CSV file: {len(rows)} row(s) without the header's "
        f"{fields} fields: {listed}{more}"
    )


def _not_utf8(path: Path) -> StorageError:
    found = first_invalid_utf8(path)
    where = f": line {found[1]}, byte {found[0]} ({found[2]!r})" if found else ""
    return StorageError(f"{path} is not UTF-8 text{where}; save it as UTF-8")


def first_invalid_utf8(path: Path, block_bytes: int = 1 << 20) -> tuple[int, int, bytes] | None:
    """(byte offset, line number, the byte) of the first byte that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1
    with open(path, "rb") as stream:
        while True:
            block = stream.read(block_bytes)
            pending = decoder.getstate()[0]  # an incomplete character from the previous block
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                data = pending + block
                at = offset - len(pending) + error.start
                line = lines + data.count(b"\n", 0, error.start)
                return at, line, data[error.start : error.start + 1]
            if not block:
                return None
            offset += len(block)
            lines += block.count(b"\n")


def training_players(
    data_path: Path | None, seed: int = 42, players: int = DEFAULT_TRAINING_PLAYERS
) -> pd.DataFrame:
    """Labelled players for training: the real file when given, else simulated ones."""
    if data_path is not None:
        return read_players_csv(data_path)
    return simulator.simulate_players(players, seed=seed)
