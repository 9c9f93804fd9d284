"""Local storage (S3 is covered by the integration tests) and the CSV helpers."""

from __future__ import annotations

import pandas as pd
import pytest

from machine_learning import storage
from machine_learning.config import Settings
from machine_learning.storage import LocalStorage, StorageError


@pytest.fixture()
def store(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "root")


def _files(store: LocalStorage) -> list[str]:
    return sorted(
        p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file()
    )


def test_write_then_read_round_trips(store):
    store.write_bytes("raw/players.csv", b"a,b\n1,2\n")
    assert store.read_bytes("raw/players.csv") == b"a,b\n1,2\n"
    assert store.exists("raw/players.csv")
    assert (store.root / "raw" / "players.csv").is_file()


def test_write_leaves_no_temporary_file(store):
    for index in range(3):
        store.write_bytes("a/b/c.csv", f"version {index}".encode())
    assert _files(store) == ["a/b/c.csv"]


def test_overwrite_replaces_the_content(store):
    store.write_bytes("key.json", b"a much longer first version")
    store.write_bytes("key.json", b"short")
    assert store.read_bytes("key.json") == b"short"


def test_failed_write_keeps_the_old_content_and_no_temporary_file(store, monkeypatch):
    store.write_bytes("key.csv", b"old")

    def broken_replace(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.write_bytes("key.csv", b"new")
    monkeypatch.undo()
    assert store.read_bytes("key.csv") == b"old"
    assert _files(store) == ["key.csv"]


def test_list_keys_is_sorted_filtered_by_prefix_and_hides_temporary_files(store):
    for key in ("reports/2024-01-02/a.json", "raw/players.csv", "reports/2024-01-01/b.json"):
        store.write_bytes(key, b"x")
    (store.root / "raw" / ".players.csv.123.tmp").write_bytes(b"partial")
    assert store.list_keys() == [
        "raw/players.csv",
        "reports/2024-01-01/b.json",
        "reports/2024-01-02/a.json",
    ]
    assert store.list_keys("reports/") == ["reports/2024-01-01/b.json", "reports/2024-01-02/a.json"]
    assert store.list_keys("labels") == []


def test_list_keys_of_a_missing_root_is_empty(tmp_path):
    assert not LocalStorage(tmp_path / "absent").list_keys()


def test_missing_key_raises_storage_error_naming_it(store):
    with pytest.raises(StorageError, match="no object 'predictions/2024-01-01/predictions.csv'"):
        store.read_bytes("predictions/2024-01-01/predictions.csv")
    assert not store.exists("predictions/2024-01-01/predictions.csv")


def test_folder_is_not_an_object(store):
    store.write_bytes("batch/2024-01-01/players.csv", b"x")
    assert not store.exists("batch")
    with pytest.raises(StorageError, match="'batch'"):
        store.read_bytes("batch")
    with pytest.raises(StorageError, match="players.csv/more"):
        store.read_bytes("batch/2024-01-01/players.csv/more")


@pytest.mark.parametrize("key", ["", "/", "..", "../outside.csv", "a/../../b", "a//b", "./a"])
def test_invalid_keys_are_rejected(store, key):
    with pytest.raises(StorageError, match="invalid storage key"):
        store.write_bytes(key, b"x")
    with pytest.raises(StorageError, match="invalid storage key"):
        store.read_bytes(key)
    assert not store.root.parent.joinpath("outside.csv").exists()


def test_surrounding_slashes_are_ignored(store):
    store.write_bytes("/raw/players.csv/", b"x")
    assert store.list_keys() == ["raw/players.csv"]


def test_delete_removes_and_tolerates_absent_keys(store):
    store.write_bytes("a.csv", b"x")
    store.delete("a.csv")
    store.delete("a.csv")
    assert not store.exists("a.csv")
    assert not store.list_keys()


def test_uri_is_the_file_path(store):
    assert store.uri("raw/players.csv") == str(store.root / "raw" / "players.csv")


def test_local_settings_select_local_storage(tmp_path):
    backend = storage.storage_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(backend, LocalStorage)
    assert backend.root == tmp_path


def test_neutralise_formulas_quotes_risky_text_only():
    frame = pd.DataFrame(
        {
            "text": ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", "plain", "-5", "-1.5e3"],
            "number": [-1, 2, 3, 4, 5, 6, 7],
        }
    )
    safe = storage.neutralise_formulas(frame)
    assert safe["text"].tolist() == [
        "'=cmd|' /C calc'!A0",
        "'+1+1",
        "'@SUM(A1)",
        "'-2+3",
        "plain",
        "-5",
        "-1.5e3",
    ]
    assert safe["number"].tolist() == frame["number"].tolist()
    assert frame.loc[0, "text"].startswith("=")  # the input is not modified


def test_neutralise_formulas_quotes_tab_and_carriage_return_prefixes():
    safe = storage.neutralise_formulas(pd.DataFrame({"text": ["\t=1", "\r=1"]}))
    assert safe["text"].str.startswith("'").all()


def test_neutralise_formulas_keeps_missing_values():
    safe = storage.neutralise_formulas(pd.DataFrame({"text": ["=1", None]}, dtype=object))
    assert safe.loc[0, "text"] == "'=1"
    assert pd.isna(safe.loc[1, "text"])


def test_write_csv_neutralises_and_read_csv_reads_back(store):
    frame = pd.DataFrame({"Gender": ['=HYPERLINK("x")', "Male"], "Age": [-3, 20]})
    uri = storage.write_csv(store, "rejected/batch/2024-01-01.csv", frame)
    assert uri == store.uri("rejected/batch/2024-01-01.csv")
    back = storage.read_csv(store, "rejected/batch/2024-01-01.csv")
    assert back["Gender"].tolist() == ['\'=HYPERLINK("x")', "Male"]
    assert back["Age"].tolist() == [-3, 20]


def test_read_csv_as_text_keeps_every_cell_as_text(store):
    store.write_bytes("a.csv", b"Age,Gender\n007,\nNA,Male\n")
    frame = storage.read_csv(store, "a.csv", as_text=True)
    assert frame["Age"].tolist() == ["007", "NA"]
    assert frame["Gender"].tolist() == ["", "Male"]


@pytest.mark.parametrize("data", [b"", b"  \n\n", b"\r\n"])
def test_read_csv_bytes_rejects_empty_input(data):
    with pytest.raises(StorageError, match="upload.csv is empty"):
        storage.read_csv_bytes(data, source="upload.csv")


def test_read_csv_bytes_rejects_non_utf8_input_naming_the_byte():
    data = "Location\nEurope\nMünchen\n".encode("latin-1")
    position = data.index("ü".encode("latin-1"))
    with pytest.raises(StorageError, match=rf"upload.csv is not UTF-8 text \(byte {position}\b"):
        storage.read_csv_bytes(data, source="upload.csv")


def test_read_csv_bytes_accepts_a_byte_order_mark():
    frame = storage.read_csv_bytes("\ufeffPlayerID,Age\n1,20\n".encode("utf-8"))
    assert list(frame.columns) == ["PlayerID", "Age"]


def test_write_json_writes_utf8(store):
    storage.write_json(store, "reports/2024-01-01/summary.json", '{"city": "München"}')
    assert store.read_bytes("reports/2024-01-01/summary.json").decode("utf-8") == (
        '{"city": "München"}'
    )
