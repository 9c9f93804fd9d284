"""Online prediction over HTTP: this service vs `mlflow models serve` of the same registered model.

One run, same machine, same records: a gradient boosting model with the reference parameters
(150 trees, depth 4) is trained on simulated players, registered on a local MLflow server and
aliased 'production'. Both servers run on 127.0.0.1 with one worker; one keep-alive client
(http.client) sends requests one after another. Printed: median and p99 latency of single-record
requests, and throughput of 100-record requests, with ratios; then the in-process cost of the
two engines (ONNX Runtime vs scikit-learn) for context. MLflow's payload is the same records as
`dataframe_records`; it answers labels only (its pyfunc calls `predict`), this service labels
and probabilities. Then the Mage API-trigger round trip of the same model (online_inference
pipeline, request to predictions read back through Mage's API) on the first MAGE_ROUNDS single
records. Targets (issue 6): p50 <= 1 ms, p99 <= 5 ms, >= 20,000 records/s.

    .venv/bin/python benchmarks/bench_serving.py      (BENCH_SINGLE=2000 BENCH_BATCHES=300)
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from common import Timing, load_average, quick, record, repeats, timed
from threadpoolctl import threadpool_limits

from machine_learning import jobs, preprocessing, services, simulator, tracking
from machine_learning.schema import FEATURE_COLUMNS
from machine_learning.serving import engines

AREA = "online"
SINGLE = int(os.environ.get("BENCH_SINGLE", "500" if quick() else "2000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "90" if quick() else "300"))
BATCH_SIZE = 100
PLAYERS = 30_025
BIN = Path(sys.executable).parent
MAGE_ROUNDS = int(os.environ.get("BENCH_MAGE_ROUNDS", "20"))
MAGE_BATCHES = int(os.environ.get("BENCH_MAGE_BATCHES", "5"))


def _records(count: int, seed: int) -> list[dict]:
    """Simulated players as request records (InGamePurchases as No/Yes, as the model knows it)."""
    frame = simulator.simulate_players(count, seed=seed).loc[:, ["PlayerID", *FEATURE_COLUMNS]]
    frame["InGamePurchases"] = preprocessing.purchases_to_text(frame["InGamePurchases"])
    return json.loads(frame.to_json(orient="records"))


class Target:
    """One server: where it listens and how a list of records becomes its request body."""

    def __init__(self, name: str, url: str, path: str, wrap: Callable[[list[dict]], dict]):
        host, port = url.removeprefix("http://").split(":")
        self.name, self.path, self.wrap = name, path, wrap
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def post(self, body: bytes) -> None:
        """One request; fails loudly on anything but HTTP 200."""
        self.connection.request("POST", self.path, body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.name}: HTTP {response.status}: {payload[:300]!r}")


def _latencies(target: Target, bodies: list[bytes]) -> list[float]:
    for body in bodies[:200]:  # warm-up
        target.post(body)
    times = []
    for body in bodies:
        started = time.perf_counter()
        target.post(body)
        times.append(time.perf_counter() - started)
    return times


def _throughput(target: Target, bodies: list[bytes]) -> Timing:
    """Records/s of repeated passes over the batch requests."""
    for body in bodies[:20]:
        target.post(body)
    rates = []
    passes = max(1, repeats())
    size = max(1, len(bodies) // passes)
    for start in range(0, size * passes, size):
        began = time.perf_counter()
        for body in bodies[start : start + size]:
            target.post(body)
        rates.append(size * BATCH_SIZE / (time.perf_counter() - began))
    return Timing(tuple(rates))


def _measure(target: Target, singles: list[dict], batches: list[list[dict]]) -> dict:
    single_bodies = [json.dumps(target.wrap([r])).encode() for r in singles]
    batch_bodies = [json.dumps(target.wrap(b)).encode() for b in batches]
    times = sorted(_latencies(target, single_bodies))
    return {
        "latency_ms": Timing(tuple(t * 1e3 for t in times)),
        "p50_ms": statistics.median(times) * 1e3,
        "p99_ms": times[int(len(times) * 0.99) - 1] * 1e3,
        "records_per_s": _throughput(target, batch_bodies),
    }


def _register(server_url: str) -> tuple[str, str]:
    processed = jobs.prepare_players(simulator.simulate_players(PLAYERS, seed=1)).processed
    train, test = preprocessing.split_train_test(processed)
    name = f"bench-serving-{uuid.uuid4().hex[:6]}"
    with threadpool_limits(limits=1):
        result = tracking.train_and_track(
            train,
            test,
            tracking_uri=server_url,
            experiment_name=name,
            model_name=name,
            alias="production",
        )
    return result.model_version, name


def _start_ours(server_url: str, name: str, folder: Path) -> services.ManagedProcess:
    port = services.free_port()
    url = f"http://{services.HOST}:{port}"
    command = [str(BIN / "gaming-mlops"), "serve", "--port", str(port)]
    env = {"MLFLOW_TRACKING_URI": server_url, "MODEL_NAME": name}
    process = services.start_process(
        "serving", command, f"{url}/health", url, folder / "serving.log", env=env
    )
    services.wait_for_http(f"{url}/ready", 120, process.process)
    return process


def _start_mlflow_serve(server_url: str, uri: str, folder: Path) -> services.ManagedProcess:
    port = services.free_port()
    url = f"http://{services.HOST}:{port}"
    command = [str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local"]
    command += ["-h", services.HOST, "-p", str(port), "-w", "1"]
    # It runs `uvicorn` from PATH: the environment's own bin folder must come first.
    env = {"MLFLOW_TRACKING_URI": server_url, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    log = folder / "mlflow-serve.log"
    try:
        return services.start_process("mlflow-serve", command, f"{url}/ping", url, log, env, 180)
    except services.ServiceError:
        print(log.read_text(encoding="utf-8", errors="replace")[-2000:])
        raise


def _engine_costs(model, records: list[dict]) -> None:
    columns = engines.frame_columns(pd.DataFrame(records))
    onnx, sklearn = engines.OnnxEngine.from_model(model), engines.SklearnEngine(model)
    for size in (1, BATCH_SIZE):
        part = {k: v[:size] for k, v in columns.items()}
        runs = 200 if size == 1 else 50
        costs = {}
        for engine in (sklearn, onnx):
            engine.predict(part)
            costs[engine.name] = Timing(
                tuple(t * 1e6 for t in timed(lambda e=engine, p=part: e.predict(p), runs).values)
            )
        record(AREA, f"in process, scikit-learn, {size} record(s)", costs[sklearn.name], "µs")
        record(
            AREA,
            f"in process, ONNX Runtime, {size} record(s)",
            costs[onnx.name],
            "µs",
            reference="scikit-learn",
            ratio=costs[onnx.name].median / costs[sklearn.name].median,
        )


def _record(label: str, figures: dict, ours: dict | None) -> None:
    """The figures of one server (with ratios to this service's)."""
    versus = {} if ours is None else {"reference": "this service"}
    record(
        AREA,
        f"{label}: single-record latency p50 (min-max of the requests)",
        figures["latency_ms"],
        "ms",
        ratio=None if ours is None else figures["p50_ms"] / ours["p50_ms"],
        target="<= 1 ms" if ours is None else "",
        met=figures["p50_ms"] <= 1 if ours is None else None,
        **versus,
    )
    record(
        AREA,
        f"{label}: single-record latency p99",
        figures["p99_ms"],
        "ms",
        ratio=None if ours is None else figures["p99_ms"] / ours["p99_ms"],
        target="<= 5 ms" if ours is None else "",
        met=figures["p99_ms"] <= 5 if ours is None else None,
        **versus,
    )
    rate = figures["records_per_s"]
    record(
        AREA,
        f"{label}: throughput of {BATCH_SIZE}-record requests",
        rate,
        "records/s",
        ratio=None if ours is None else rate.median / ours["records_per_s"].median,
        target=">= 20,000" if ours is None else "",
        met=rate.median >= 20_000 if ours is None else None,
        **versus,
    )


def _ours_body(records: list[dict]) -> dict:
    return {"records": records}


def _mlflow_body(records: list[dict]) -> dict:
    return {"dataframe_records": records}


def _run_servers(folder: Path, singles: list[dict], batches: list[list[dict]]):
    """Figures of both servers, and the registered model (for the in-process comparison)."""
    results: dict[str, dict[str, float]] = {}
    tracking_server = services.start_mlflow_server(folder / "mlflow")
    started: list[services.ManagedProcess] = [tracking_server]
    try:
        version, name = _register(tracking_server.url)
        ours = _start_ours(tracking_server.url, name, folder)
        started.append(ours)
        target = Target("this service", ours.url, "/v1/predictions", _ours_body)
        results["this service"] = _measure(target, singles, batches)
        try:
            theirs = _start_mlflow_serve(tracking_server.url, f"models:/{name}/{version}", folder)
            started.append(theirs)
            target = Target("mlflow models serve", theirs.url, "/invocations", _mlflow_body)
            results["mlflow models serve"] = _measure(target, singles, batches)
        except (services.ServiceError, RuntimeError) as error:
            print(f"mlflow models serve could not be measured: {error}")
        mage = _measure_mage(
            folder, tracking_server.url, name, singles[:MAGE_ROUNDS], batches[:MAGE_BATCHES]
        )
        if mage:
            results["Mage API trigger"] = mage
        import mlflow  # pylint: disable=import-outside-toplevel

        mlflow.set_tracking_uri(tracking_server.url)
        model = mlflow.sklearn.load_model(f"models:/{name}/{version}")
    finally:
        for process in reversed(started):
            process.stop()
    return results, model


def _measure_mage(  # pylint: disable=too-many-locals
    folder: Path, tracking_uri: str, name: str, records: list[dict], batches: list[list[dict]]
) -> dict[str, float] | None:
    """Latency of one-record online-inference requests through Mage's API trigger."""
    # pylint: disable=import-outside-toplevel
    import secrets

    from machine_learning import orchestration
    from machine_learning.mage_api import MageClient

    os.environ.update(
        {
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MODEL_NAME": name,
            "DATA_DIR": str(folder / "data"),
            "RUNTIME_DIR": str(folder / "runtime"),
            "MAGE_DATA_DIR": str(folder / "mage_data"),
        }
    )
    owner = orchestration.OwnerCredentials("bench@example.com", secrets.token_urlsafe(16))
    try:
        server = orchestration.start_mage_server(
            owner, project=orchestration.project_copy(folder), log_path=folder / "mage.log"
        )
    except services.ServiceError as error:
        print(f"Mage API trigger could not be measured: {error}")
        return None
    try:
        client = MageClient(server.url)
        client.login(owner.email, owner.password)
        schedule = client.api_trigger("online_inference")
        client.predict(records[:1], schedule)  # fills the model cache
        times = []
        for one in records:
            started = time.perf_counter()
            client.predict([one], schedule)
            times.append(time.perf_counter() - started)
        rates = []
        for batch in batches:
            started = time.perf_counter()
            client.predict(batch, schedule)
            rates.append(len(batch) / (time.perf_counter() - started))
    finally:
        server.stop()
    ordered = sorted(times)
    return {
        "latency_ms": Timing(tuple(t * 1e3 for t in ordered)),
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "records_per_s": Timing(tuple(rates)),
    }


def main() -> int:
    """Run both servers on the same records and print the figures."""
    rng = np.random.default_rng(0)
    pool = _records(5000, seed=11)
    singles = [pool[i] for i in rng.integers(0, len(pool), SINGLE)]
    batches = [[pool[i] for i in rng.integers(0, len(pool), BATCH_SIZE)] for _ in range(BATCHES)]
    print(
        f"# serving benchmark: {SINGLE} single-record requests, {BATCHES} x {BATCH_SIZE}-record "
        f"requests; {load_average()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        results, model = _run_servers(Path(tmp), singles, batches)
    ours = results["this service"]
    for label, figures in results.items():
        _record(label, figures, None if label == "this service" else ours)
    with threadpool_limits(limits=1):
        _engine_costs(model, pool)
    return 0


if __name__ == "__main__":
    sys.exit(main())
