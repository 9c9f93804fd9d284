"""Bad files through the command line, each `gaming-mlops` command a real process against a real
MLflow server: `predict` quarantines bad rows and scores the rest (also for a file of hundreds
of MB, read in chunks with bounded memory), `train` and `monitor` do the same or fail with one
clear line, `simulate` refuses what it cannot write. Exit code 1 and `error: ...` for a
user's mistake, never a traceback; no output file is left behind by a failed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from bad_input_helpers import (
    assert_rejects_match,
    assert_user_error,
    formula_cells,
    platform_env,
    players_with_bad_rows,
    read_text_csv,
    register_production,
    run_cli,
)

from machine_learning import simulator
from machine_learning.schema import ID_COLUMN, PREDICTION_COLUMN, TARGET_COLUMN
from machine_learning.validation import REASON_COLUMN, ROW_COLUMN

pytestmark = pytest.mark.integration

LARGE_FILE_MB = 300


@pytest.fixture(scope="module")
def env(mlflow_server, tmp_path_factory) -> dict[str, str]:
    """An isolated platform with a small production model on the session's MLflow server."""
    name, _ = register_production(mlflow_server.url)
    return platform_env(tmp_path_factory.mktemp("cli"), mlflow_server.url, name)


def _json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_predict_quarantines_bad_rows_and_scores_the_rest(env, tmp_path):
    bad = players_with_bad_rows(rows=60)
    source = bad.write(tmp_path / "players.csv")
    output = tmp_path / "out" / "predictions.csv"

    summary = _json(
        run_cli("predict", "--input", str(source), "--output", str(output), "--json", env=env)
    )

    assert summary["rows_in"] == 60 == summary["predicted"] + summary["rejected"]
    assert summary["rejected"] == len(bad.reasons)
    predictions, rejected = read_text_csv(output), read_text_csv(summary["rejects"])
    assert predictions[ID_COLUMN].tolist() == bad.valid_ids
    assert set(predictions[PREDICTION_COLUMN]) <= {"Low", "Medium", "High"}
    assert_rejects_match(rejected, bad)
    assert formula_cells(output) == [] and formula_cells(summary["rejects"]) == []
    by_row = rejected.set_index(ROW_COLUMN)
    assert by_row.loc["18", "Gender"] == "'=cmd|' /C calc'!A0"  # kept, as text


def _players_text(rows: int = 5, labelled: bool = False) -> tuple[str, list[str]]:
    frame = simulator.simulate_players(rows, seed=2).astype(str)
    if not labelled:
        frame = frame.drop(columns=[TARGET_COLUMN])
    return ",".join(frame.columns), [",".join(row) for row in frame.to_numpy()]


HEADER, ROWS = _players_text()
CP1252_ROW = ROWS[1].replace(",Male,", ",M\u00e4nnlich,").replace(",Female,", ",Fr\u00e4u,")
FILE_PROBLEMS = [
    pytest.param(b"", "is empty", id="empty"),
    pytest.param(f"{HEADER}\n".encode(), "has a header but no data rows", id="header only"),
    pytest.param(
        f"{HEADER}\n{ROWS[0]}\n{CP1252_ROW}\n".encode("cp1252"),
        "is not UTF-8 text: line 3",
        id="cp1252 bytes",
    ),
    pytest.param(f"{HEADER}\n{ROWS[0]}\n{ROWS[1][:20]}\n".encode(), "row 2 has", id="cut row"),
    pytest.param(
        f"{HEADER.replace('Gender,', '')}\n{ROWS[0].replace(',Female,', ',')}\n".encode(),
        "missing columns: Gender",
        id="missing column",
    ),
    pytest.param(
        f"{HEADER},Score\n{ROWS[0]},3\n".encode(), "unknown columns: Score", id="unknown column"
    ),
    pytest.param(
        f"{HEADER.replace(',', chr(9))}\n{ROWS[0].replace(',', chr(9))}\n".encode(),
        "must be comma-separated, not '\\t'-separated",
        id="tab separated",
    ),
]


@pytest.mark.parametrize(("content", "message"), FILE_PROBLEMS)
def test_predict_refuses_a_bad_file_in_one_line_and_writes_nothing(env, tmp_path, content, message):
    source = tmp_path / "players.csv"
    source.write_bytes(content)
    output = tmp_path / "out" / "predictions.csv"
    result = run_cli("predict", "--input", str(source), "--output", str(output), env=env)
    assert_user_error(result, message)
    assert not output.parent.exists() or not list(output.parent.iterdir())


def test_train_reports_and_reconciles_the_rejected_rows(env, tmp_path):
    bad = players_with_bad_rows(rows=400, labelled=True)
    source = bad.write(tmp_path / "labelled.csv")
    summary = _json(
        run_cli(
            "train",
            "--data",
            str(source),
            "--model",
            "hist_gradient_boosting",
            "--alias",
            "rel",
            "--json",
            env=env,
        )
    )
    assert summary["rows_in"] == 400 == summary["accepted"] + summary["rejected"]
    assert summary["rejected"] == len(bad.reasons)
    assert summary["train_rows"] + summary["test_rows"] == summary["accepted"]


def test_train_refuses_a_file_without_one_valid_row(env, tmp_path):
    header, rows = _players_text(6, labelled=True)
    source = tmp_path / "labelled.csv"
    source.write_text(
        header
        + "\n"
        + "\n".join(
            r.replace(",Low", ",Extreme")
            .replace(",Medium", ",Extreme")
            .replace(",High", ",Extreme")
            for r in rows
        )
        + "\n",
        encoding="utf-8",
    )
    assert_user_error(run_cli("train", "--data", str(source), env=env), "no valid labelled players")
    (tmp_path / "header.csv").write_text(header + "\n", encoding="utf-8")
    assert_user_error(
        run_cli("train", "--data", str(tmp_path / "header.csv"), env=env), "header but no data rows"
    )


def test_simulate_refuses_an_output_it_cannot_write(env, tmp_path):
    folder = tmp_path / "a-folder.csv"
    folder.mkdir()
    assert_user_error(run_cli("simulate", "-n", "10", "--out", str(folder), env=env), str(folder))
    assert_user_error(run_cli("simulate", "-n", "-5", "--out", str(tmp_path / "x.csv"), env=env))
    assert not (tmp_path / "x.csv").exists()


def test_monitor_decides_on_the_valid_rows_and_refuses_unreadable_files(env, tmp_path):
    reference = tmp_path / "reference.csv"
    simulator.simulate_players(300, seed=4).to_csv(reference, index=False)
    current = players_with_bad_rows(rows=200, seed=8).write(tmp_path / "current.csv")
    args = ["monitor", "--reference", str(reference), "--no-html", "--json"]

    summary = _json(run_cli(*args, "--current", str(current), env=env))
    assert isinstance(summary["retrain"], bool)

    broken = tmp_path / "broken.csv"
    broken.write_bytes(current.read_bytes()[:-40] + b"\xff\xfe\n")
    assert_user_error(run_cli(*args, "--current", str(broken), env=env), "not UTF-8 text")
    header_only = tmp_path / "header.csv"
    header_only.write_text(current.read_text().splitlines()[0] + "\n", encoding="utf-8")
    assert_user_error(run_cli(*args, "--current", str(header_only), env=env), "no data rows")
    all_bad = tmp_path / "all-bad.csv"
    frame = read_text_csv(current).assign(Age="-1")
    all_bad.write_text(frame.to_csv(index=False), encoding="utf-8")
    result = run_cli(*args, "--current", str(all_bad), env=env)
    assert_user_error(result, f"{all_bad}: no valid rows to monitor", after_model=True)
    labelled = tmp_path / "predicted.csv"
    frame = read_text_csv(reference).assign(prediction="Extreme")
    labelled.write_text(frame.to_csv(index=False), encoding="utf-8")
    result = run_cli(*args, "--current", str(labelled), env=env)
    assert_user_error(result, "prediction: unknown labels ['Extreme']", after_model=True)


# --------------------------------------------------------------------------- a very large file

PEAK_MEMORY = (
    "import resource, sys\n"
    "from machine_learning.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(f'peak_rss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@pytest.fixture()
def large_file(tmp_path):
    """A players file of about LARGE_FILE_MB MB (some 4.7 million rows, ~470x a daily batch),
    with known bad rows: one per block of 20,000 rows, and the last row repeats the first
    PlayerID (a duplicate across chunks). Deleted after the test."""
    frame = simulator.simulate_players(20_000, seed=9).drop(columns=[TARGET_COLUMN]).astype(str)
    frame.loc[777, "Age"] = "-1"
    frame.loc[1234, "Gender"] = "=cmd|' /C calc'!A0"
    header = ",".join(frame.columns)
    rest = [",".join(row) for row in frame.drop(columns=[ID_COLUMN]).to_numpy()]
    path = tmp_path / "huge.csv"
    rows = 0
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(header + "\n")
        while stream.tell() < LARGE_FILE_MB * 2**20:
            ids = np.arange(rows, rows + len(rest))
            stream.write("\n".join(f"{i},{r}" for i, r in zip(ids, rest)) + "\n")
            rows += len(rest)
        stream.write(f"0,{rest[0]}\n")  # the first PlayerID again
    yield path, rows + 1, len(rest)
    for leftover in tmp_path.iterdir():
        leftover.unlink()


def test_a_file_hundreds_of_mb_is_scored_in_bounded_memory(env, large_file, tmp_path):
    path, rows, block = large_file
    output = tmp_path / "predictions.csv"
    command = [
        sys.executable,
        "-c",
        PEAK_MEMORY,
        "predict",
        "--input",
        str(path),
        "--output",
        str(output),
        "--json",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=1800,
        check=False,
    )
    summary = _json(result)
    peak_mib = int(result.stderr.rsplit("peak_rss_kib=", 1)[1].split()[0]) / 1024

    blocks = (rows - 1) // block
    assert summary["rows_in"] == rows == summary["predicted"] + summary["rejected"]
    assert summary["rejected"] == 2 * blocks + 1
    rejected = read_text_csv(summary["rejects"])
    expected_rows = sorted(
        [b * block + 778 for b in range(blocks)]
        + [b * block + 1235 for b in range(blocks)]
        + [rows]
    )
    assert [int(r) for r in rejected[ROW_COLUMN]] == expected_rows
    assert rejected[REASON_COLUMN].iloc[-1] == f"{ID_COLUMN}: duplicate of an earlier row (0)"
    assert formula_cells(summary["rejects"]) == []
    with open(output, "rb") as stream:
        assert (
            sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 24), b""))
            == summary["predicted"] + 1
        )
    # Whole-file reading took over 3 GiB for 300 MB; chunks keep the process near 1 GiB.
    assert peak_mib < 2048, f"peak memory {peak_mib:.0f} MiB"
    print(f"{path.stat().st_size / 2**20:.0f} MiB, {rows} rows: peak RSS {peak_mib:.0f} MiB")
