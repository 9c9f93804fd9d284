"""The storage layout: valid, distinct keys per day, dates as ISO strings."""

from __future__ import annotations

import datetime as dt

import pytest

from machine_learning import layout
from machine_learning.storage import LocalStorage

DAY = dt.date(2024, 3, 9)

DAILY_KEYS = {
    "rejected": lambda day: layout.rejected("batch", day),
    "batch_input": layout.batch_input,
    "predictions": layout.predictions,
    "labels": layout.labels,
    "current": layout.current,
    "report": lambda day: layout.report(day, "drift", "json"),
}


@pytest.mark.parametrize("name", list(DAILY_KEYS))
def test_daily_keys_take_a_date_or_its_iso_string(name):
    key = DAILY_KEYS[name]
    assert key(DAY) == key("2024-03-09")
    assert "2024-03-09" in key(DAY)


@pytest.mark.parametrize("name", list(DAILY_KEYS))
def test_daily_keys_differ_between_days(name):
    key = DAILY_KEYS[name]
    assert key(DAY) != key(DAY + dt.timedelta(days=1))


def test_every_key_is_distinct():
    keys = [layout.RAW_PLAYERS, layout.PROCESSED_PLAYERS, layout.PLAYER_FEATURES, layout.REFERENCE]
    keys += [key(DAY) for key in DAILY_KEYS.values()]
    assert len(set(keys)) == len(keys)


def test_every_key_is_a_valid_storage_key(tmp_path):
    store = LocalStorage(tmp_path)
    keys = [layout.RAW_PLAYERS, layout.PROCESSED_PLAYERS, layout.PLAYER_FEATURES, layout.REFERENCE]
    keys += [key(DAY) for key in DAILY_KEYS.values()]
    for key in keys:
        store.write_bytes(key, b"x")
    assert store.list_keys() == sorted(keys)


def test_rejected_rows_are_kept_per_stage():
    assert layout.rejected("prepare", DAY) != layout.rejected("batch", DAY)
    assert layout.rejected("prepare", DAY).startswith("rejected/prepare/")


def test_report_extension_may_have_a_dot():
    assert layout.report(DAY, "drift", ".html") == layout.report(DAY, "drift", "html")
    assert layout.report(DAY, "drift", "html").endswith("/drift.html")
    assert layout.report(DAY, "drift", "html") != layout.report(DAY, "drift", "json")
