"""A small client of the Mage server's REST API: log in, list pipelines and triggers, run a
pipeline through its API trigger and read a block's output (e.g. online inference).

Log in: ``POST /api/sessions`` with Mage's frontend client id as ``X-API-KEY``; the session
token then travels as the ``oauth_token`` cookie. API triggers are asynchronous: the POST to
``/api/pipeline_schedules/<id>/pipeline_runs/<token>`` returns the pipeline run; its block
outputs are read once it has completed.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import requests

# Mage's public frontend client id (mage_ai.settings.server.OAUTH2_APPLICATION_CLIENT_ID).
MAGE_CLIENT_ID = "zkWlN0PkIKSN0C11CfUHUj84OT5XOJ6tDZ6bDRO2"
FINISHED = ("completed", "failed", "cancelled")
ONLINE_PIPELINE = "online_inference"
ONLINE_BLOCK = "predict_records"


class MageApiError(RuntimeError):
    """An API call that failed, or a pipeline run that did not complete."""


class MageClient:
    """Calls to one Mage server (``base_url`` like ``http://127.0.0.1:6789``)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["X-API-KEY"] = MAGE_CLIENT_ID

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError as error:
            raise MageApiError(f"{response.url}: HTTP {response.status_code}, not JSON") from error
        if response.status_code >= 400 or "error" in payload:
            error = payload.get("error", {})
            raise MageApiError(
                f"{response.request.method} {response.url}: HTTP {response.status_code} "
                f"{error.get('message') or error.get('type') or payload}"
            )
        return payload

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET ``/api/<path>`` as the logged-in user."""
        url = f"{self.base_url}/api/{path.lstrip('/')}"
        return self._json(self.session.get(url, params=params, timeout=self.timeout))

    def login(self, email: str, password: str) -> None:
        """Open a session (the token is kept as the ``oauth_token`` cookie)."""
        response = self.session.post(
            f"{self.base_url}/api/sessions",
            json={"session": {"email": email, "password": password}},
            timeout=self.timeout,
        )
        token = self._json(response)["session"]["token"]
        self.session.cookies.set("oauth_token", token)

    def pipelines(self) -> list[dict[str, Any]]:
        """Every pipeline of the project."""
        return self.get("pipelines")["pipelines"]

    def pipeline_schedules(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        """Every trigger (pipeline schedule), or those of ``pipeline``."""
        path = f"pipelines/{pipeline}/pipeline_schedules" if pipeline else "pipeline_schedules"
        return self.get(path)["pipeline_schedules"]

    def api_trigger(self, pipeline: str) -> dict[str, Any]:
        """The active API trigger of ``pipeline`` (with its ``id`` and ``token``)."""
        for schedule in self.pipeline_schedules(pipeline):
            if schedule.get("schedule_type") == "api" and schedule.get("status") == "active":
                return schedule
        raise MageApiError(f"pipeline {pipeline} has no active API trigger")

    def trigger(self, schedule: Mapping[str, Any], variables: Mapping[str, Any]) -> int:
        """Start a run through an API trigger; returns the pipeline run's id."""
        url = (
            f"{self.base_url}/api/pipeline_schedules/{schedule['id']}"
            f"/pipeline_runs/{schedule['token']}"
        )
        response = requests.post(
            url, json={"pipeline_run": {"variables": dict(variables)}}, timeout=self.timeout
        )
        return int(self._json(response)["pipeline_run"]["id"])

    def pipeline_run(self, run_id: int) -> dict[str, Any]:
        """A pipeline run (``status``: initial, running, completed, failed, cancelled)."""
        return self.get(f"pipeline_runs/{run_id}")["pipeline_run"]

    def wait_for_run(
        self, run_id: int, timeout: float = 120.0, poll: float = 0.1
    ) -> dict[str, Any]:
        """Wait until the run finishes; :class:`MageApiError` unless it completed."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.pipeline_run(run_id)
            if run["status"] in FINISHED:
                break
            if time.monotonic() > deadline:
                raise MageApiError(
                    f"pipeline run {run_id} still '{run['status']}' after {timeout} s"
                )
            time.sleep(poll)
        if run["status"] != "completed":
            raise MageApiError(f"pipeline run {run_id} of {run['pipeline_uuid']}: {run['status']}")
        return run

    def block_output(self, run_id: int, block_uuid: str) -> Any:
        """The output of ``block_uuid`` in a finished run (see :func:`decode_output`); a table
        comes back with up to 1,000 rows (Mage's sample size; its ``sample_count`` parameter
        fails with a TypeError in 0.9.80)."""
        block_runs = self.get("block_runs", pipeline_run_id=run_id)["block_runs"]
        matches = [b for b in block_runs if b["block_uuid"] == block_uuid]
        if not matches:
            raise MageApiError(f"pipeline run {run_id} has no block run of {block_uuid}")
        outputs = self.get(f"block_runs/{matches[0]['id']}/outputs")["outputs"]
        if not outputs:
            raise MageApiError(f"block {block_uuid} of run {run_id} has no output")
        return decode_output(outputs[0])

    def predict(
        self, records: Sequence[Mapping[str, Any]], schedule: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Online inference through the API trigger: one result row per record sent."""
        schedule = schedule or self.api_trigger(ONLINE_PIPELINE)
        run_id = self.trigger(schedule, {"records": list(records)})
        self.wait_for_run(run_id)
        return self.block_output(run_id, ONLINE_BLOCK)


def decode_output(output: Mapping[str, Any]) -> Any:
    """A block output as Mage's API returns it, back to Python: a table (DataFrame or dict
    output) becomes a list of row dicts; a text output its text."""
    sample = output.get("sample_data")
    if output.get("type") == "table" and isinstance(sample, Mapping) and "columns" in sample:
        return [dict(zip(sample["columns"], row)) for row in sample.get("rows") or []]
    return output.get("text_data") if output.get("text_data") is not None else sample
