"""The command line without servers: `simulate`, every `--help`, and the user-error paths."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
import typer

from machine_learning import cli, jobs, registry
from machine_learning.schema import RAW_COLUMNS, TARGET_COLUMN
from machine_learning.validation import validate_frame

# Options of the core commands; other commands (servers, monitoring) get the generic checks.
COMMAND_OPTIONS = {
    "simulate": ("--players", "--seed", "--out", "--drift", "--labels", "--json"),
    "train": ("--data", "--model", "--alias", "--json"),
    "evaluate": ("--data", "--model-uri", "--json"),
    "predict": ("--input", "--output", "--rejects", "--model-uri", "--json"),
    "promote": ("--metric", "--version", "--alias", "--json"),
}

ALL_COMMANDS = sorted(typer.main.get_command(cli.app).commands)


def _refuse(*_args, **_kwargs):
    raise AssertionError("this command must fail before it contacts MLflow")


@pytest.fixture(autouse=True)
def no_mlflow(clean_env, monkeypatch):
    """Every test runs without servers; reaching MLflow would fail the test."""
    monkeypatch.setattr(registry, "load_model", _refuse)
    monkeypatch.setattr(registry, "client_for", _refuse)
    monkeypatch.setattr(jobs, "train_model", _refuse)
    return clean_env


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_user_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 1
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_core_commands_are_known():
    assert set(COMMAND_OPTIONS) <= set(ALL_COMMANDS)


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_help_of_every_command(capsys, command):
    code, out, err = _run(capsys, command, "--help")
    assert code == 0
    assert not err
    assert "Usage" in out and command in out
    for option in COMMAND_OPTIONS.get(command, ("--help",)):
        assert option in out, option


def test_no_arguments_shows_the_commands(capsys):
    code, out, _ = _run(capsys)
    assert code == 0
    for command in ALL_COMMANDS:
        assert command in out


def test_simulate_writes_valid_players(capsys, tmp_path):
    out_file = tmp_path / "nested" / "folder" / "players.csv"
    code, out, err = _run(capsys, "simulate", "-n", "250", "--seed", "3", "--out", str(out_file))
    assert code == 0, err
    frame = pd.read_csv(out_file)
    assert list(frame.columns) == list(RAW_COLUMNS)
    assert len(frame) == 250
    assert validate_frame(frame, require_target=True).rejected.empty
    assert str(out_file) in out
    assert not [p for p in out_file.parent.iterdir() if p.name != "players.csv"]  # no temp files


def test_simulate_json_summary_is_the_last_line(capsys, tmp_path):
    out_file = tmp_path / "players.csv"
    code, out, _ = _run(
        capsys, "simulate", "-n", "20", "--out", str(out_file), "--drift", "concept", "--json"
    )
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary == {"players": 20, "seed": 42, "drift": "concept", "output": str(out_file)}


def test_simulate_same_seed_same_file(capsys, tmp_path):
    files = [tmp_path / name for name in ("a.csv", "b.csv", "c.csv")]
    for path, seed in zip(files, ("5", "5", "6")):
        assert _run(capsys, "simulate", "-n", "50", "--seed", seed, "--out", str(path))[0] == 0
    assert files[0].read_bytes() == files[1].read_bytes()
    assert files[0].read_bytes() != files[2].read_bytes()


def test_simulate_without_labels(capsys, tmp_path):
    out_file = tmp_path / "players.csv"
    assert _run(capsys, "simulate", "-n", "10", "--no-labels", "--out", str(out_file))[0] == 0
    frame = pd.read_csv(out_file)
    assert list(frame.columns) == [c for c in RAW_COLUMNS if c != TARGET_COLUMN]


def test_simulate_applies_the_drift(capsys, tmp_path):
    means = {}
    for drift in ("none", "shorter_sessions"):
        path = tmp_path / f"{drift}.csv"
        assert _run(capsys, "simulate", "-n", "2000", "--drift", drift, "--out", str(path))[0] == 0
        means[drift] = pd.read_csv(path)["AvgSessionDurationMinutes"].mean()
    assert means["shorter_sessions"] < means["none"]


def test_unknown_drift_scenario_is_a_user_error(capsys, tmp_path):
    out_file = tmp_path / "players.csv"
    code, out, err = _run(capsys, "simulate", "--drift", "meteor", "--out", str(out_file))
    _assert_user_error(code, out, err, "unknown drift scenario 'meteor'", "shorter_sessions")
    assert not out_file.exists()


def test_negative_player_count_is_a_user_error(capsys, tmp_path):
    code, out, err = _run(capsys, "simulate", "-n", "-3", "--out", str(tmp_path / "p.csv"))
    _assert_user_error(code, out, err, "players", "-3")


def test_unknown_model_kind_is_a_user_error(capsys):
    code, out, err = _run(capsys, "train", "--model", "random_forest")
    _assert_user_error(code, out, err, "'random_forest'", "hist_gradient_boosting")


def test_train_with_missing_file_is_a_user_error(capsys, tmp_path):
    missing = tmp_path / "absent.csv"
    code, out, err = _run(capsys, "train", "--data", str(missing))
    _assert_user_error(code, out, err, str(missing), "no such file")


def test_train_with_empty_file_is_a_user_error(capsys, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, out, err = _run(capsys, "train", "--data", str(empty))
    _assert_user_error(code, out, err, "empty")


def test_train_with_wrong_columns_is_a_user_error(capsys, tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("PlayerID,Score\n1,2\n", encoding="utf-8")
    code, out, err = _run(capsys, "train", "--data", str(wrong))
    _assert_user_error(code, out, err, "missing columns: Age", "unknown columns: Score")


def test_evaluate_with_missing_file_fails_before_loading_the_model(capsys, tmp_path):
    missing = tmp_path / "absent.csv"
    code, out, err = _run(capsys, "evaluate", "--data", str(missing))
    _assert_user_error(code, out, err, str(missing), "no such file")


def test_predict_with_missing_file_is_a_user_error(capsys, tmp_path):
    missing, output = tmp_path / "absent.csv", tmp_path / "predictions.csv"
    code, out, err = _run(capsys, "predict", "--input", str(missing), "--output", str(output))
    _assert_user_error(code, out, err, str(missing), "no such file")
    assert not output.exists()


def test_predict_with_non_utf8_file_is_a_user_error(capsys, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Location\nMünchen\n".encode("latin-1"))
    output = tmp_path / "predictions.csv"
    code, out, err = _run(capsys, "predict", "--input", str(latin), "--output", str(output))
    _assert_user_error(code, out, err, "not UTF-8")


def test_missing_required_option_is_a_usage_error(capsys):
    code, _, err = _run(capsys, "simulate")
    assert code == 2
    assert "--out" in err
    assert "Traceback" not in err


def test_console_entry_point_exits_with_the_code(capsys, monkeypatch, tmp_path):
    missing = tmp_path / "absent.csv"
    monkeypatch.setattr(sys, "argv", ["gaming-mlops", "train", "--data", str(missing)])
    with pytest.raises(SystemExit) as done:
        cli.run()
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_a_command_exit_code_is_the_process_exit_code(monkeypatch):
    """A command that ends with typer.Exit(code=N) makes the CLI exit with N, not 0."""

    def failing() -> None:
        raise typer.Exit(code=3)

    monkeypatch.setattr(cli, "app", typer.Typer())
    cli.app.command("failing")(failing)
    cli.app.command("other")(lambda: None)
    assert cli.main(["failing"]) == 3
    assert cli.main(["other"]) == 0
