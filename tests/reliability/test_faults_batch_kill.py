"""A process killed (SIGKILL) while it writes a day's batch predictions: what is visible is
always complete (absent, or the previous output), and rerunning the same day leaves exactly one
complete output. The process runs the batch_inference blocks' steps (load_batch, predict_batch,
save_predictions) against local storage and the session's real MLflow server."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from machine_learning import layout, pipelines, simulator
from machine_learning.schema import ID_COLUMN
from machine_learning.storage import LocalStorage, write_csv

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 5, 7)
PLAYERS = 20_000  # outputs of 1-3 MB: their writes last long enough (ms) to be caught
TRIES = 5
BAD_ROWS = 25
VARIABLES = {"day": DAY.isoformat(), "simulate_missing_batch": False}
STEPS = f"""
from machine_learning import pipelines
variables = {VARIABLES!r}
scored = pipelines.predict_batch(pipelines.load_batch(variables), variables)
print(pipelines.save_predictions(scored, variables), flush=True)
"""
OUTPUTS = (layout.predictions(DAY), layout.current(DAY), layout.rejected("batch", DAY))


@pytest.fixture()
def day_batch(platform, split, register) -> pd.DataFrame:
    """A production model, and the day's batch in storage (with some invalid rows)."""
    register(platform.tracking_uri, platform.name, split, alias="production")
    batch = simulator.daily_players(130, PLAYERS, seed=4).drop(columns=["EngagementLevel"])
    batch.loc[batch.index[:BAD_ROWS], "Age"] = 300
    write_csv(LocalStorage(Path(platform.env["DATA_DIR"])), layout.batch_input(DAY), batch)
    return batch


def hidden_temporaries(folder: Path) -> list[str]:
    """Temporary files of unfinished writes in ``folder`` (dot-names, never listed as keys)."""
    return sorted(p.name for p in folder.glob(".*.tmp")) if folder.is_dir() else []


def run_steps(log: Path, kill_in: Path) -> bool:
    """Run the steps for DAY in a process, SIGKILLed as soon as a write into ``kill_in`` has
    begun. True when it was killed mid-write (False: it finished first)."""
    with open(log, "ab") as output:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-c", STEPS], stdout=output, stderr=output
        )
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if hidden_temporaries(kill_in):
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.001)
    assert process.wait(timeout=5) == 0, log.read_text()[-3000:]
    return False


def rerun() -> dict:
    """The same steps for the same day, run here to the end."""
    scored = pipelines.predict_batch(pipelines.load_batch(VARIABLES), VARIABLES)
    return pipelines.save_predictions(scored, VARIABLES)


def kill_mid_write(log: Path, folder: Path, reset=None) -> list[str]:
    """Run the steps and SIGKILL them mid-write into ``folder`` (the write lasts milliseconds:
    a try whose process finished first is done again, after ``reset``); what stays hidden."""
    for _ in range(TRIES):
        if run_steps(log, kill_in=folder):
            return hidden_temporaries(folder)
        if reset is not None:
            reset()
    raise AssertionError(f"none of {TRIES} tries was killed mid-write")


def assert_one_complete_output(storage: LocalStorage, batch: pd.DataFrame) -> None:
    valid_ids = set(batch[ID_COLUMN].iloc[BAD_ROWS:])
    for prefix in ("predictions/", "monitoring/current/", "rejected/batch/"):
        day_keys = [k for k in storage.list_keys(prefix) if DAY.isoformat() in k]
        assert len(day_keys) == 1, f"{prefix}: {day_keys}"
    predictions = pd.read_csv(storage.uri(layout.predictions(DAY)))
    current = pd.read_csv(storage.uri(layout.current(DAY)))
    rejected = pd.read_csv(storage.uri(layout.rejected("batch", DAY)))
    for frame in (predictions, current):
        assert len(frame) == len(valid_ids) and set(frame[ID_COLUMN]) == valid_ids
        assert frame["prediction"].isin(["Low", "Medium", "High"]).all()
    assert len(rejected) == BAD_ROWS and len(predictions) + len(rejected) == len(batch)


def assert_visible_objects_complete(storage: LocalStorage, batch: pd.DataFrame) -> None:
    """Every visible output of the day parses and has all its rows (or is absent)."""
    assert not [k for k in storage.list_keys() if k.rsplit("/", 1)[-1].startswith(".")]
    for key in (layout.predictions(DAY), layout.current(DAY)):
        if storage.exists(key):
            assert len(pd.read_csv(storage.uri(key))) == len(batch) - BAD_ROWS, key


def test_a_batch_killed_mid_write_leaves_complete_outputs_and_reruns_cleanly(
    platform, day_batch, tmp_path
):
    storage = LocalStorage(Path(platform.env["DATA_DIR"]))
    predictions_folder = Path(storage.uri(layout.predictions(DAY))).parent
    log = tmp_path / "steps.log"

    # 1. The first run of the day is killed while the predictions are being written.
    def reset() -> None:
        for key in OUTPUTS:
            storage.delete(key)

    left_behind = kill_mid_write(log, predictions_folder, reset)
    assert left_behind, "killed mid-write: the temporary file stays, hidden"
    assert not storage.exists(layout.predictions(DAY))
    assert_visible_objects_complete(storage, day_batch)

    # 2. The rerun writes one complete output of each kind.
    assert rerun()["predicted"] == PLAYERS - BAD_ROWS
    assert_one_complete_output(storage, day_batch)
    first = {key: Path(storage.uri(key)).read_bytes() for key in OUTPUTS}

    # 3. A later rerun killed mid-write keeps the previous, complete outputs.
    current_folder = Path(storage.uri(layout.current(DAY))).parent
    assert kill_mid_write(log, current_folder)
    assert_visible_objects_complete(storage, day_batch)
    assert Path(storage.uri(layout.current(DAY))).read_bytes() == first[layout.current(DAY)]

    # 4. And the next rerun again leaves exactly one complete output, the same as before.
    rerun()
    assert_one_complete_output(storage, day_batch)
    assert {key: Path(storage.uri(key)).read_bytes() for key in OUTPUTS} == first
    print(f"\nleft hidden by the kills: {left_behind} {hidden_temporaries(current_folder)}")
