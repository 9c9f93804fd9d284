"""The S3 storage backend against moto's S3 server."""

from __future__ import annotations

import pandas as pd
import pytest

from machine_learning import layout
from machine_learning.storage import S3Storage, StorageError, read_csv, write_csv

pytestmark = pytest.mark.integration


@pytest.fixture()
def storage(moto_server, s3_bucket) -> S3Storage:
    """A prefixed S3 storage in a fresh bucket."""
    return S3Storage(s3_bucket, prefix="platform", endpoint_url=moto_server.url)


def test_round_trip_list_and_delete(storage):
    storage.write_bytes(layout.predictions("2026-01-05"), b"a,b\n1,2\n")
    storage.write_bytes(layout.predictions("2026-01-06"), b"a,b\n3,4\n")
    assert storage.read_bytes(layout.predictions("2026-01-05")) == b"a,b\n1,2\n"
    assert storage.list_keys("predictions/") == [
        layout.predictions("2026-01-05"),
        layout.predictions("2026-01-06"),
    ]
    assert storage.exists(layout.predictions("2026-01-06"))
    storage.delete(layout.predictions("2026-01-06"))
    assert not storage.exists(layout.predictions("2026-01-06"))
    assert storage.uri("x/y.csv") == f"s3://{storage.bucket}/platform/x/y.csv"


def test_overwrite_replaces_and_missing_key_is_named(storage):
    storage.write_bytes("k/v.txt", b"old")
    storage.write_bytes("k/v.txt", b"new")
    assert storage.read_bytes("k/v.txt") == b"new"
    with pytest.raises(StorageError, match="no object 'k/absent.txt'"):
        storage.read_bytes("k/absent.txt")


def test_csv_helpers_and_large_multipart_object(storage, players):
    write_csv(storage, layout.PROCESSED_PLAYERS, players)
    back = read_csv(storage, layout.PROCESSED_PLAYERS)
    pd.testing.assert_frame_equal(back, players, check_dtype=False)
    big = b"x" * (20 * 1024 * 1024)  # above boto3's multipart threshold
    storage.write_bytes("big/blob.bin", big)
    assert storage.read_bytes("big/blob.bin") == big
