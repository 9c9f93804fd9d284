"""Bad input into `prepare_data` (DATA_PATH ingested by ``load_raw_players``, validated by
``clean_players``): every bad row is quarantined with its reason in the rejected-rows file, the
valid rows are processed, counts reconcile, and a file that cannot be read fails clearly before
anything is written to storage. No server is needed: preparation does not touch MLflow."""

from __future__ import annotations

import datetime as dt

import pytest
from bad_input_helpers import (
    assert_rejects_match,
    formula_cells,
    players_with_bad_rows,
    read_text_csv,
)

from machine_learning import jobs, layout, pipelines, simulator
from machine_learning.schema import ID_COLUMN, TARGET_COLUMN
from machine_learning.storage import LocalStorage, StorageError
from machine_learning.validation import REASON_COLUMN, SchemaError

DAY = dt.date(2024, 3, 1)
VARIABLES = {"day": DAY.isoformat()}


@pytest.fixture()
def data_path(tmp_path, monkeypatch):
    """Local storage in tmp_path and DATA_PATH pointing at tmp_path/input.csv (not yet written)."""
    monkeypatch.setenv("STORAGE", "local")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing may reach MLflow
    path = tmp_path / "input.csv"
    monkeypatch.setenv("DATA_PATH", str(path))
    return path


@pytest.fixture()
def storage(tmp_path) -> LocalStorage:
    """The storage that the pipeline steps write to."""
    return LocalStorage(tmp_path / "data")


def _prepare() -> tuple:
    raw = pipelines.load_raw_players(VARIABLES)
    return raw, pipelines.clean_players(raw, VARIABLES)


def test_every_bad_row_is_quarantined_with_its_reason_and_the_rest_is_prepared(data_path, storage):
    bad = players_with_bad_rows(rows=80, labelled=True)
    bad.write(data_path)

    raw, processed = _prepare()
    saved = pipelines.save_processed(processed, VARIABLES)

    rejected_path = storage.root / layout.rejected("prepare", DAY)
    rejected = read_text_csv(rejected_path)
    assert len(raw) == 80 == len(processed) + len(rejected)  # in = accepted + rejected
    assert saved["rows"] == len(processed) and saved["rejected"] == str(rejected_path)
    assert_rejects_match(rejected, bad)
    assert processed[ID_COLUMN].astype(str).tolist() == bad.valid_ids
    for key in (layout.RAW_PLAYERS, layout.PROCESSED_PLAYERS, layout.PLAYER_FEATURES):
        assert formula_cells(storage.root / key) == [], key
    assert formula_cells(rejected_path) == []


def test_quarantined_payloads_are_kept_but_neutralised(data_path, storage):
    bad = players_with_bad_rows(rows=80, labelled=True)
    bad.write(data_path)
    _prepare()
    rejected = read_text_csv(storage.root / layout.rejected("prepare", DAY))
    gender = rejected.set_index("source_row").loc["18", "Gender"]  # the first injection's row
    assert gender == "'=cmd|' /C calc'!A0"  # the raw value, behind a quote: text, not a formula
    reasons = " ".join(rejected[REASON_COLUMN])
    assert "\t" not in reasons and not any(r.startswith("=") for r in rejected[REASON_COLUMN])


def test_a_missing_label_is_rejected_in_preparation(data_path, storage):
    frame = simulator.simulate_players(20, seed=3).astype(str)
    frame.loc[[4, 9], TARGET_COLUMN] = ""
    data_path.write_text(frame.to_csv(index=False), encoding="utf-8")
    _, processed = _prepare()
    rejected = read_text_csv(storage.root / layout.rejected("prepare", DAY))
    assert rejected["source_row"].tolist() == ["5", "10"]
    assert set(rejected[REASON_COLUMN]) == {f"{TARGET_COLUMN}: missing value"}
    assert len(processed) == 18


def test_when_every_row_is_bad_the_step_fails_and_the_reasons_are_kept(data_path, storage):
    frame = simulator.simulate_players(15, seed=3).astype(str)
    frame["Age"] = "-1"
    data_path.write_text(frame.to_csv(index=False), encoding="utf-8")
    raw = pipelines.load_raw_players(VARIABLES)
    with pytest.raises(ValueError, match="no valid labelled players among 15 raw rows"):
        pipelines.clean_players(raw, VARIABLES)
    rejected = read_text_csv(storage.root / layout.rejected("prepare", DAY))
    assert len(rejected) == 15


HEADER = ",".join(simulator.simulate_players(1, seed=1).columns)
ROW = simulator.simulate_players(1, seed=1).astype(str).iloc[0].str.cat(sep=",")
LATIN_ROW = ROW.replace(",Male,", ",M\u00e4le,")

FILE_PROBLEMS = [  # content, error, message, whether the file was ingested before the error
    pytest.param(b"", StorageError, "is empty", False, id="empty file"),
    pytest.param(b"\n\n  \n", StorageError, "is empty", False, id="blank lines only"),
    pytest.param(
        f"{HEADER}\n".encode(), StorageError, "header but no data rows", False, id="header only"
    ),
    pytest.param(
        f"{HEADER}\n{ROW}\n{LATIN_ROW}\n".encode("latin-1"),
        StorageError,
        "is not UTF-8 text: line 3",
        False,
        id="latin-1 bytes",
    ),
    pytest.param(
        f"{HEADER}\n{ROW}\n".encode("utf-16"),
        StorageError,
        "not UTF-8 text",
        False,
        id="UTF-16 file",
    ),
    pytest.param(
        f"{HEADER}\n{ROW}\n1,2\n".encode(),
        StorageError,
        "row 2 has 2 fields ('1,2')",
        False,
        id="truncated row",
    ),
    pytest.param(
        f"{HEADER}\n{ROW},extra\n".encode(),
        StorageError,
        "row 1 has 14 fields",
        False,
        id="row with an extra field",
    ),
    pytest.param(
        f"{HEADER},Age\n{ROW},30\n".encode(),
        SchemaError,
        "duplicated columns: Age",
        False,
        id="duplicated column",
    ),
    pytest.param(
        f"{HEADER.replace(',', ';')}\n{ROW.replace(',', ';')}\n".encode(),
        SchemaError,
        "must be comma-separated, not ';'-separated",
        True,
        id="semicolon separated",
    ),
    pytest.param(
        f"{HEADER.replace('Age', 'Ages')}\n{ROW}\n".encode(),
        SchemaError,
        "missing columns: Age; unknown columns: Ages",
        True,
        id="renamed column",
    ),
]


@pytest.mark.parametrize(("content", "error", "message", "ingested"), FILE_PROBLEMS)
def test_a_bad_file_fails_clearly_and_nothing_is_prepared(
    data_path, storage, content, error, message, ingested
):
    """A file that cannot be read is not ingested; one with wrong columns is (a copy of the
    input, as every run makes), and preparation stops at validation."""
    data_path.write_bytes(content)
    with pytest.raises(error) as raised:
        _prepare()
    assert message in str(raised.value)
    if error is StorageError:
        assert str(data_path) in str(raised.value)
    assert storage.list_keys() == ([layout.RAW_PLAYERS] if ingested else [])


def test_missing_target_column_is_a_schema_error_naming_it(data_path):
    frame = simulator.simulate_players(5, seed=3).drop(columns=[TARGET_COLUMN])
    data_path.write_text(frame.to_csv(index=False), encoding="utf-8")
    raw = pipelines.load_raw_players(VARIABLES)
    with pytest.raises(SchemaError, match=f"missing columns: {TARGET_COLUMN}"):
        pipelines.clean_players(raw, VARIABLES)


def test_wrong_types_in_a_typed_frame_are_rejected_not_coerced():
    """A frame from code (not a file): booleans, lists and None are not silently numbers."""
    frame = simulator.simulate_players(6, seed=3).astype(object)
    frame.loc[0, "Age"] = True
    frame.loc[1, "Gender"] = ["Male"]
    frame.loc[2, "PlayTimeHours"] = "3,5"
    frame.loc[3, "Age"] = None  # a missing value: imputed, not rejected
    prepared = jobs.prepare_players(frame)
    reasons = dict(zip(prepared.rejected["source_row"], prepared.rejected[REASON_COLUMN]))
    assert reasons == {
        1: "Age: not a number ('True')",
        2: "Gender: unknown category '['Male']' (allowed: Male, Female)",
        3: "PlayTimeHours: not a number ('3,5')",
    }
    assert prepared.summary == {"rows_in": 6, "accepted": 3, "rejected": 3}
