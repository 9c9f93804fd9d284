"""`gaming-mlops monitor` and `gaming-mlops report` on files that carry predictions (no MLflow)."""

from __future__ import annotations

import json

import pytest

from machine_learning import cli, layout
from machine_learning.monitoring import open_workspace

DAY = "2024-02-05"


@pytest.fixture()
def files(clean_env, monkeypatch, scored_reference, scored_current):
    """Reference and current CSVs with predictions; local storage and workspace under tmp_path."""
    tmp_path = clean_env  # DATA_DIR is tmp_path/data, MLflow unreachable
    monkeypatch.setenv("EVIDENTLY_WORKSPACE", str(tmp_path / "ws"))
    paths = {"reference": tmp_path / "reference.csv"}
    scored_reference.to_csv(paths["reference"], index=False)
    for scenario in ("none", "longer_sessions"):
        paths[scenario] = tmp_path / f"current-{scenario}.csv"
        scored_current(scenario).to_csv(paths[scenario], index=False)
    return paths


def _run(capsys, *args: str) -> tuple[int, dict, str]:
    code = cli.main(list(args))
    out = capsys.readouterr().out
    return code, json.loads(out.strip().splitlines()[-1]), out


def _run_on(capsys, command: str, files, current: str):
    """``command`` on the reference file and one current file, JSON summary, no HTML."""
    return _run(
        capsys,
        command,
        "--reference",
        str(files["reference"]),
        "--current",
        str(files[current]),
        "--day",
        DAY,
        "--no-html",
        "--json",
    )


def test_monitor_undrifted_says_no_retraining(files, capsys, tmp_path):
    code, summary, out = _run_on(capsys, "monitor", files, "none")
    assert code == 0
    assert summary["retrain"] is False and summary["reasons"] == []
    assert {"share_of_drifted_columns", "drifted_columns"} <= set(summary)
    assert "decision: no retraining" in out
    decision = tmp_path / "data" / layout.report(DAY, "monitoring_decision", "json")
    assert json.loads(decision.read_text())["retrain"] is False
    [project] = open_workspace(tmp_path / "ws").list_projects()
    assert [str(s.id) for s in project.list_snapshots()] == summary["snapshots"]


def test_monitor_drifted_says_retrain_with_reasons(files, capsys):
    code, summary, out = _run_on(capsys, "monitor", files, "longer_sessions")
    assert code == 0
    assert summary["retrain"] is True
    named = {r["column"] for r in summary["reasons"]}
    assert {"AvgSessionDurationMinutes", "SessionsPerWeek"} <= named
    assert {"AvgSessionDurationMinutes", "SessionsPerWeek"} <= set(summary["drifted_columns"])
    assert "decision: RETRAIN" in out and "reason [key_column_drift]" in out


def test_report_with_labels_adds_true_performance(files, capsys, tmp_path):
    code, summary, out = _run_on(capsys, "report", files, "none")
    assert code == 0
    assert summary["reports"] == [
        "data_quality",
        "data_drift",
        "prediction_drift",
        "classification_performance",
    ]
    assert 0.5 < summary["performance"]["accuracy"] <= 1.0
    assert "true performance on 1000 rows" in out
    assert (tmp_path / "data" / layout.report(DAY, "classification_metrics", "json")).is_file()


def test_report_joins_a_labels_file(files, capsys, tmp_path, scored_current):
    unlabelled = tmp_path / "unlabelled.csv"
    scored_current("none").drop(columns=["EngagementLevel"]).to_csv(unlabelled, index=False)
    labels = tmp_path / "labels.csv"
    scored_current("none")[["PlayerID", "EngagementLevel"]].head(400).to_csv(labels, index=False)
    code, summary, _ = _run(
        capsys,
        "report",
        "--reference",
        str(files["reference"]),
        "--current",
        str(unlabelled),
        "--labels",
        str(labels),
        "--day",
        DAY,
        "--no-html",
        "--json",
    )
    assert code == 0
    assert summary["performance"]["rows"] == 400


def test_report_without_labels_has_no_performance(files, capsys, tmp_path, scored_current):
    unlabelled = tmp_path / "unlabelled.csv"
    scored_current("none").drop(columns=["EngagementLevel"]).to_csv(unlabelled, index=False)
    code, summary, _ = _run(
        capsys,
        "report",
        "--reference",
        str(files["reference"]),
        "--current",
        str(unlabelled),
        "--day",
        DAY,
        "--no-html",
        "--json",
    )
    assert code == 0
    assert summary["performance"] is None
    assert "classification_performance" not in summary["reports"]


def test_user_mistakes_are_one_line_errors(files, capsys, tmp_path):
    code = cli.main(
        ["monitor", "--reference", str(tmp_path / "absent.csv"), "--current", str(files["none"])]
    )
    assert code == 1
    assert "absent.csv: no such file" in capsys.readouterr().err
    code = cli.main(
        [
            "monitor",
            "--reference",
            str(files["reference"]),
            "--current",
            str(files["none"]),
            "--day",
            "May 1",
        ]
    )
    assert code == 1
    assert "--day must be YYYY-MM-DD" in capsys.readouterr().err
