"""Schemathesis fuzzes the real service through the OpenAPI document it serves: at least 1,000
generated requests, no 5xx response, every response conforming to the document.

Schemathesis runs from its own environment (.venv-fuzz, `make setup-fuzz`): it cannot be
installed beside mage-ai (typing_extensions and pytest pins), so the test calls its `st` CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from serving_service_helpers import register_versions, start_service

ST = Path(__file__).resolve().parents[3] / ".venv-fuzz" / "bin" / "st"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not ST.exists(), reason=f"{ST} is missing: `make setup-fuzz` creates the fuzz environment"
    ),
]
MAX_EXAMPLES = 1000  # per operation; the parameterless GETs run out early, /v1/predictions does not
MIN_REQUESTS = 1000
SEED = "20240611"
CHECKS = "not_a_server_error,response_schema_conformance"


@pytest.fixture(scope="module")
def service(mlflow_server, serving_split, tmp_path_factory):
    """The service over one 'production' version (stopped after the module)."""
    registered = register_versions(mlflow_server.url, serving_split, 1)
    process = start_service(registered, tmp_path_factory.mktemp("fuzz") / "serving.log")
    yield process
    process.stop()


def run_schemathesis(url: str, workdir: Path) -> subprocess.CompletedProcess:
    """`st run` against the served document, in ``workdir`` (its `.schemathesis/` cache goes
    there, not into the repository); JSON run report and HAR of every request beside it."""
    command = [
        str(ST),
        "run",
        f"{url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--workers",
        "4",
        "--no-shrink",
        "--request-timeout",
        "10",
        "--report",
        "json,har",
        "--report-json-path",
        str(workdir / "report.json"),
        "--report-har-path",
        str(workdir / "requests.har"),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=240, check=False, cwd=workdir
    )


def test_schemathesis_finds_no_server_error(service, tmp_path):
    report_path, har_path = tmp_path / "report.json", tmp_path / "requests.har"
    result = run_schemathesis(service.url, tmp_path)
    output = result.stdout[-6000:] + result.stderr[-2000:]

    assert result.returncode == 0, output
    report = json.loads(report_path.read_text())
    assert report["complete"] and report["exit_code"] == 0, output
    assert report["operations"]["tested"] == report["operations"]["total"] == 5, output
    assert report["test_cases"]["with_failures"] == 0 and not report["failures"], output
    assert not report["errors"], output

    entries = json.loads(har_path.read_text())["log"]["entries"]
    server_errors = [entry for entry in entries if entry["response"]["status"] >= 500]
    assert len(entries) >= MIN_REQUESTS, f"only {len(entries)} requests\n{output}"
    assert not server_errors, json.dumps(server_errors[:3], indent=1)
    accepted = sum(entry["response"]["status"] == 200 for entry in entries)
    assert accepted > 0, "no generated request was accepted"
