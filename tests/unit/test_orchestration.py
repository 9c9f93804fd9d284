"""Running Mage pipelines without Mage: a stand-in `mage` command checks the run's command
line, environment, logging and failure handling; the Mage project's files are checked too."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from machine_learning import mage_server, orchestration
from machine_learning.config import load_settings

STAND_IN = """
import json, os, sys, time
args = sys.argv[1:]
print("args", json.dumps(args))
print("MAGE_DATA_DIR", os.environ["MAGE_DATA_DIR"])
variables = json.loads(args[args.index("--runtime-vars") + 1])
time.sleep(variables.get("sleep", 0))
if variables.get("fail"):
    print("Exception: block failed")
    sys.exit(1)
if not variables.get("silent"):
    print("Pipeline run completed.")
"""


@pytest.fixture()
def stand_in(clean_env, monkeypatch):
    """`mage` replaced by a script that prints what it got and succeeds or fails on request."""
    script = clean_env / "mage_stand_in.py"
    script.write_text(STAND_IN, encoding="utf-8")
    monkeypatch.setenv("MAGE_DATA_DIR", str(clean_env / "mage_data"))
    monkeypatch.setattr(orchestration, "mage_executable", lambda: [sys.executable, str(script)])
    return clean_env


def test_a_run_gets_its_project_pipeline_variables_and_mage_data_dir(stand_in):
    result = orchestration.run_pipeline("batch_inference", {"day": "2026-11-23"})
    log = result.log_path.read_text(encoding="utf-8")
    assert f'"run", "{orchestration.MAGE_PROJECT}", "batch_inference"' in log
    assert '"--runtime-vars", "{\\"day\\": \\"2026-11-23\\"}"' in log
    assert f"MAGE_DATA_DIR {stand_in / 'mage_data'}" in log
    assert result.log_path.parent == load_settings().mage_data_dir / "run_logs"
    assert result.as_dict()["pipeline"] == "batch_inference"


@pytest.mark.usefixtures("stand_in")
@pytest.mark.parametrize("variables", [{"fail": True}, {"silent": True}])
def test_a_failed_run_raises_with_the_end_of_its_log(variables):
    with pytest.raises(orchestration.PipelineRunError, match="prepare_data failed") as error:
        orchestration.run_pipeline("prepare_data", variables)
    assert "log:" in str(error.value)
    if variables.get("fail"):
        assert "Exception: block failed" in str(error.value)


@pytest.mark.usefixtures("stand_in")
def test_a_run_that_hangs_is_stopped():
    with pytest.raises(orchestration.PipelineRunError, match="did not finish within 1 s"):
        orchestration.run_pipeline("prepare_data", {"sleep": 30}, timeout=1)


@pytest.mark.usefixtures("stand_in")
def test_a_sequence_stops_at_the_first_failure():
    done = []
    with pytest.raises(orchestration.PipelineRunError, match="prepare_data failed"):
        orchestration.run_sequence(
            {"fail": True}, pipelines=("prepare_data", "training_workflow"), on_result=done.append
        )
    assert not done
    with pytest.raises(ValueError, match="unknown pipeline"):
        orchestration.run_pipeline("nope")


@pytest.mark.usefixtures("clean_env")
def test_the_server_needs_real_owner_credentials():
    owner = orchestration.OwnerCredentials("owner@example.com", "admin")
    assert "admin" not in repr(owner)
    with pytest.raises(ValueError, match="other than 'admin'"):
        orchestration.start_mage_server(owner)


def test_the_queue_fix_replaces_the_worker_pool_loop():
    from mage_ai.orchestration.queue import process_queue  # pylint: disable=import-outside-toplevel

    original = process_queue.poll_job_and_execute
    try:
        mage_server.apply_queue_fix()
        assert process_queue.poll_job_and_execute is mage_server.poll_job_and_execute_forever
    finally:
        process_queue.poll_job_and_execute = original


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_every_pipeline_has_blocks_that_exist_and_a_trigger():
    project = orchestration.MAGE_PROJECT
    folders = {"data_loader": "data_loaders", "transformer": "transformers"}
    folders.update(data_exporter="data_exporters", custom="custom")
    for pipeline in orchestration.PIPELINES:
        metadata = _yaml(project / "pipelines" / pipeline / "metadata.yaml")
        assert metadata["uuid"] == pipeline and metadata["run_pipeline_in_one_process"] is True
        for block in metadata["blocks"]:
            source = project / folders[block["type"]] / f"{block['uuid']}.py"
            text = source.read_text()
            assert "from machine_learning import" in text and len(text.splitlines()) < 20
        triggers = _yaml(project / "pipelines" / pipeline / "triggers.yaml")["triggers"]
        kinds = sorted(trigger["schedule_type"] for trigger in triggers)
        # A schedule, plus an API trigger (the lifecycle runs them through it); or API only.
        assert kinds in (["api", "time"], ["api"]), (pipeline, kinds)
        for trigger in triggers:
            assert trigger["status"] == "active" and trigger["pipeline_uuid"] == pipeline
            # Committed in the form Mage writes (with last_enabled_at), so `mage start` keeps it.
            assert trigger["last_enabled_at"] is not None and trigger["token"] is None
