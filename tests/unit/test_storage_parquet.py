"""Parquet beside CSV in storage, and large objects moved through local files."""

from __future__ import annotations

import pandas as pd
import pytest

from machine_learning import storage as st
from machine_learning.storage import LocalStorage, StorageError


def test_parquet_round_trip_keeps_types(tmp_path, players):
    storage = LocalStorage(tmp_path)
    uri = st.write_parquet(storage, "batch/players.parquet", players)
    assert uri == str(tmp_path / "batch" / "players.parquet")
    pd.testing.assert_frame_equal(st.read_parquet(storage, "batch/players.parquet"), players)


def test_parquet_as_text_reads_like_csv_as_text(tmp_path):
    storage = LocalStorage(tmp_path)
    frame = pd.DataFrame({"Age": [20, None], "Gender": ["Male", None], "Hours": [1.5, 2.0]})
    st.write_parquet(storage, "t.parquet", frame)
    text = st.read_parquet(storage, "t.parquet", as_text=True)
    assert text.to_dict("list") == {
        "Age": ["20.0", ""],
        "Gender": ["Male", ""],
        "Hours": ["1.5", "2.0"],
    }
    assert all(text[column].dtype == object for column in text)


def test_tables_pick_their_format_from_the_key(tmp_path, players):
    storage = LocalStorage(tmp_path)
    st.write_table(storage, "a.parquet", players.head(5))
    st.write_table(storage, "a.csv", players.head(5))
    assert (tmp_path / "a.parquet").read_bytes()[:4] == b"PAR1"
    assert (tmp_path / "a.csv").read_text(encoding="utf-8").startswith("PlayerID,Age")
    for key in ("a.parquet", "a.csv"):
        assert len(st.read_table(storage, key)) == 5
    assert st.is_parquet_key("x/Y.PQ") and not st.is_parquet_key("x.csv")


def test_a_bad_parquet_object_is_a_clear_error(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write_bytes("bad.parquet", b"PAR1 but not really")
    with pytest.raises(StorageError, match="bad.parquet is not a readable Parquet file"):
        st.read_parquet(storage, "bad.parquet")


def test_files_move_in_and_out_of_local_storage_atomically(tmp_path):
    storage = LocalStorage(tmp_path / "store")
    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * 100_000)
    uri = st.upload_file(storage, "deep/key/big.bin", source)
    assert uri == str(tmp_path / "store" / "deep" / "key" / "big.bin")
    assert st.local_path(storage, "deep/key/big.bin").read_bytes() == source.read_bytes()
    assert not list((tmp_path / "store" / "deep" / "key").glob(".*"))  # no temporary left
    copy = st.download_file(storage, "deep/key/big.bin", tmp_path / "copy.bin")
    assert copy.read_bytes() == source.read_bytes()
    with pytest.raises(StorageError, match="no object 'absent'"):
        st.download_file(storage, "absent", tmp_path / "nothing")
