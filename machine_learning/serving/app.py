"""The FastAPI app: predictions, health, readiness, model info, metrics and the OpenAPI document.

``POST /v1/predictions`` reads the body itself (bounded: HTTP 413 past the limit), validates it
with the request model straight from JSON (HTTP 422 naming record, field and problem) and
writes the response JSON directly: the framework's generic body handling costs more than the
prediction on the fast path. The outermost middleware answers that one route itself, as plain
ASGI (FastAPI's routing, dependency solving and response classes cost about 180 µs a request,
twice the model); the FastAPI route with the same logic stays for the OpenAPI document. No
exception escapes a request: anything unexpected is logged and answered with HTTP 500.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, Sequence

import numpy as np
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from machine_learning.schema import CLASS_LABELS, ID_COLUMN
from machine_learning.serving.engines import Prediction
from machine_learning.serving.holder import LoadedModel, ModelHolder
from machine_learning.serving.metrics import ServiceMetrics
from machine_learning.serving.schemas import (
    MAX_RECORDS,
    ErrorResponse,
    HealthResponse,
    ModelInfo,
    PredictionRequest,
    PredictionResponse,
    ReadyResponse,
    RegistryStatus,
    ValidationErrorResponse,
    records_to_columns,
)

LOGGER = logging.getLogger(__name__)

API_TITLE = "Gaming engagement prediction service"
API_VERSION = "1.0.0"
DEFAULT_MAX_BODY_BYTES = 1_048_576
MAX_REPORTED_PROBLEMS = 100
STARTUP_CHECK_SECONDS = 20.0  # longest wait for the first registry check before serving
PREDICTIONS_PATH = "/v1/predictions"
_ENDPOINTS = frozenset({PREDICTIONS_PATH, "/health", "/ready", "/v1/model", "/metrics"})
_JSON = "application/json"
_JSON_BYTES = _JSON.encode()
_MESSAGES = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field (not in the schema)",
}


class BodyTooLarge(Exception):
    """The request body is over the limit."""


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def _json(status: int, payload: Any) -> Response:
    return Response(content=_dumps(payload), status_code=status, media_type=_JSON)


def _declared_length(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == b"content-length":
            return value
    return b""


async def receive_body(scope, receive, limit: int) -> bytes:
    """The body of a plain ASGI request, or :class:`BodyTooLarge` as soon as it passes ``limit``
    bytes (:class:`ClientDisconnect` if the client leaves first)."""
    declared = _declared_length(scope["headers"])
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        body += message.get("body", b"")
        if len(body) > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            return body


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or :class:`BodyTooLarge` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def _problem(item: dict[str, Any]) -> dict[str, Any]:
    """A pydantic error -> record index, field and problem."""
    loc = item["loc"]
    record = field = None
    if len(loc) >= 2 and loc[0] == "records" and isinstance(loc[1], int):
        record = loc[1]
        field = str(loc[2]) if len(loc) >= 3 else None
    elif loc:
        field = str(loc[0])
    problem = _MESSAGES.get(item["type"], item["msg"])
    if item["type"] not in ("missing", "json_invalid") and "input" in item:
        shown = repr(item["input"])
        problem += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return {"record": record, "field": field, "problem": problem, "type": item["type"]}


def validation_payload(error: ValidationError) -> dict[str, Any]:
    """The HTTP 422 body: every problem (the first 100) with record index and field."""
    items = error.errors(include_url=False, include_context=False)
    shown = items[:MAX_REPORTED_PROBLEMS]
    detail = f"{len(items)} problem(s) in the request body"
    if len(items) > len(shown):
        detail += f"; the first {len(shown)} are listed"
    return {"detail": detail, "errors": [_problem(item) for item in shown]}


def prediction_body(loaded: LoadedModel, records: Sequence[Any], result: Prediction) -> bytes:
    """The response JSON of a prediction (probabilities rounded to 6 decimals).

    Written with string formatting: every value is a validated int or None, a known label or a
    finite float, and this is several times faster than building and encoding dicts.
    """
    probabilities = result.probabilities.round(6)
    if not np.isfinite(probabilities).all():
        raise ValueError("the model returned non-finite probabilities")
    low, medium, high = CLASS_LABELS
    items = [
        f'{{"PlayerID":{_json_id(record.get(ID_COLUMN))},"engagement_level":"{CLASS_LABELS[code]}",'
        f'"probabilities":{{"{low}":{p_low!r},"{medium}":{p_medium!r},"{high}":{p_high!r}}}}}'
        for record, code, (p_low, p_medium, p_high) in zip(
            records, result.codes.tolist(), probabilities.tolist()
        )
    ]
    return f'{{"model":{loaded.ref_json},"predictions":[{",".join(items)}]}}'.encode()


def _json_id(value: int | None) -> str:
    return "null" if value is None else str(int(value))


class Predictor:  # pylint: disable=too-few-public-methods
    """The logic of ``POST /v1/predictions`` once the body is read: status and response JSON."""

    def __init__(self, holder: ModelHolder | None, metrics: ServiceMetrics, limit: int) -> None:
        self.holder = holder
        self.metrics = metrics
        self.limit = limit
        self._too_large = _dumps({"detail": f"request body is over the limit of {limit} bytes"})

    def answer(self, body: bytes) -> tuple[int, bytes]:
        """Validate, predict with the model in service (read once) and write the response."""
        try:
            parsed = PredictionRequest.model_validate_json(body)
        except ValidationError as error:
            self.metrics.rejected.labels("invalid").inc()
            return 422, _dumps(validation_payload(error))
        holder = self.holder
        loaded = holder.current if holder else None  # read once: this request's model
        if loaded is None:
            self.metrics.rejected.labels("no_model").inc()
            return 503, _dumps({"detail": _readiness(holder).detail})
        try:
            engine = loaded.engine
            if hasattr(engine, "predict_records"):  # no columns needed (the compact engine)
                result = engine.predict_records(parsed.records)
            else:
                result = engine.predict(records_to_columns(parsed.records))
            content = prediction_body(loaded, parsed.records, result)
        except Exception:  # pylint: disable=broad-exception-caught  # never crash the worker
            LOGGER.exception("prediction failed (model version %s)", loaded.info.version)
            return 500, _dumps({"detail": "prediction failed; the error is in the service log"})
        self.metrics.records.inc(len(parsed.records))
        return 200, content

    def too_large(self) -> tuple[int, bytes]:
        """HTTP 413 (and counted)."""
        self.metrics.rejected.labels("too_large").inc()
        return 413, self._too_large

    async def __call__(self, scope, receive, send) -> int:
        """Answer one request as plain ASGI; returns the status sent."""
        try:
            status, content = self.answer(await receive_body(scope, receive, self.limit))
        except BodyTooLarge:
            status, content = self.too_large()
        except ClientDisconnect:
            status, content = 400, _dumps({"detail": "client disconnected"})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", _JSON_BYTES),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
        return status


class MetricsMiddleware:
    """Counts requests and errors and times them, by endpoint (unknown paths as 'other').

    ``POST /v1/predictions`` is answered here by ``predictor`` (the hot path, without the
    framework); everything else goes on to the app.
    """

    def __init__(self, app, metrics: ServiceMetrics, predictor: Predictor | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.predictor = predictor
        self._counters: dict[tuple[str, str, int], Any] = {}  # labelled children, looked up once
        self._timers: dict[str, Any] = {}

    def _note(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        key = (endpoint, method, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.metrics.requests.labels(
                endpoint, method, str(status)
            )
        counter.inc()
        timer = self._timers.get(endpoint)
        if timer is None:
            timer = self._timers[endpoint] = self.metrics.latency.labels(endpoint)
        timer.observe(seconds)
        if status >= 500:
            self.metrics.errors.labels(endpoint).inc()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path, method = scope["path"], scope["method"]
        if path == PREDICTIONS_PATH and method == "POST" and self.predictor is not None:
            status = 500
            try:
                status = await self.predictor(scope, receive, send)
            finally:
                self._note(path, method, status, time.perf_counter() - started)
            return
        status = 500

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            endpoint = path if path in _ENDPOINTS else "other"
            self._note(endpoint, method, status, time.perf_counter() - started)


def _registry_status(holder: ModelHolder | None) -> RegistryStatus:
    if holder is None:
        return RegistryStatus(
            tracking_uri="", model_name="", alias="", reachable=None, poll_seconds=0
        )
    state, source = holder.state, holder.source
    return RegistryStatus(
        tracking_uri=source.tracking_uri,
        model_name=source.model_name,
        alias=source.alias,
        reachable=state.reachable,
        last_checked=state.last_checked,
        last_error=state.last_error,
        poll_seconds=holder.poll_seconds,
    )


def _readiness(holder: ModelHolder | None) -> ReadyResponse:
    loaded = holder.current if holder else None
    registry = _registry_status(holder)
    if loaded is None:
        detail = "no model loaded yet"
        if registry.last_error:
            detail += f": {registry.last_error}"
    else:
        detail = f"serving {loaded.info.name} version {loaded.info.version}"
        if registry.reachable is False:
            detail += (
                " (registry unreachable: keeping the loaded model until it answers again; "
                f"last error: {registry.last_error})"
            )
        elif registry.last_error:
            detail += f" (last registry check: {registry.last_error})"
    return ReadyResponse(
        ready=loaded is not None,
        model=loaded.ref() if loaded else None,
        registry=registry,
        detail=detail,
    )


def _model_info(loaded: LoadedModel) -> ModelInfo:
    choice = loaded.choice.as_dict()
    return ModelInfo(
        name=loaded.info.name,
        version=loaded.info.version,
        alias=loaded.alias,
        run_id=loaded.info.run_id,
        metrics=loaded.info.metrics,
        loaded_at=loaded.loaded_at,
        engine=loaded.engine.name,
        verification=choice["verification"],
        fallback_reason=choice["fallback_reason"],
    )


def _request_body_openapi() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": {"$ref": "#/components/schemas/PredictionRequest"}}},
        }
    }


def _install_openapi(app: FastAPI) -> None:
    """The generated document plus the request schema (the route reads its body itself)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            request = PredictionRequest.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(request.pop("$defs", {}))
            schemas["PredictionRequest"] = request
            document["components"]["schemas"] = dict(sorted(schemas.items()))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error(detail: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": detail}


async def first_check(holder: ModelHolder, timeout: float = STARTUP_CHECK_SECONDS) -> None:
    """Ask the registry once (and load the model) before the server takes connections.

    With several worker processes on one port, a worker still starting takes no connection,
    so nothing reaches a worker that has not yet tried to load the model. Past ``timeout``
    (a registry slow to answer) the server starts anyway: /ready then says why it is not ready.
    """
    try:
        await asyncio.wait_for(asyncio.to_thread(holder.refresh), timeout)
    except asyncio.TimeoutError:
        LOGGER.warning("no answer from the registry within %.0f s; starting anyway", timeout)


def create_app(
    holder: ModelHolder | None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    poll: bool = True,
    freeze_gc: bool = False,
) -> FastAPI:
    """The service around ``holder`` (None: no model source, for the OpenAPI document).

    With ``poll`` the holder's background polling runs for the app's lifetime. With
    ``freeze_gc`` (the server process: `gaming-mlops serve`), every object alive once the first
    model is loaded (the libraries, the model) is moved out of the garbage collector's reach
    (:func:`gc.freeze`): a full collection over those 240,000 objects takes about 100 ms,
    and a request that waits for one is a tail latency. Objects made later are collected as
    usual.
    """
    metrics = holder.metrics if holder else ServiceMetrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if holder is not None and poll:
            await first_check(holder)
            if freeze_gc:
                gc.collect()
                gc.freeze()
            holder.start()
        try:
            yield
        finally:
            if holder is not None and poll:
                holder.stop()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=(
            "Predicts a player's engagement level (Low, Medium, High) with the model that the "
            "MLflow registry alias points to. See docs/serving.md."
        ),
        lifespan=lifespan,
    )
    predictor = Predictor(holder, metrics, max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics, predictor=predictor)
    _install_openapi(app)
    _add_prediction_route(app, predictor)
    _add_status_routes(app, holder, metrics)
    return app


def _add_prediction_route(app: FastAPI, predictor: Predictor) -> None:
    """The route as FastAPI sees it (the OpenAPI document); MetricsMiddleware answers it."""

    @app.post(
        PREDICTIONS_PATH,
        summary="Predict the engagement level of one or many players",
        description=(
            f"1 to {MAX_RECORDS} records per request; a body over SERVICE_MAX_BODY_BYTES "
            f"(default {DEFAULT_MAX_BODY_BYTES}) gets HTTP 413. Every prediction of a response "
            "comes from the one model version named in `model`."
        ),
        response_model=None,
        openapi_extra=_request_body_openapi(),
        responses={
            200: {"model": PredictionResponse, "description": "one prediction per record"},
            413: _error("request body over the size limit"),
            422: {"model": ValidationErrorResponse, "description": "invalid request body"},
            500: _error("unexpected error (logged)"),
            503: _error("no model loaded yet"),
        },
    )
    async def predict(request: Request) -> Response:
        try:
            status, content = predictor.answer(await read_body(request, predictor.limit))
        except BodyTooLarge:
            status, content = predictor.too_large()
        except ClientDisconnect:
            return _json(400, {"detail": "client disconnected"})
        return Response(content=content, status_code=status, media_type=_JSON)


def _add_status_routes(app: FastAPI, holder: ModelHolder | None, metrics: ServiceMetrics) -> None:
    @app.get("/health", response_model=HealthResponse, summary="The process is up")
    async def health() -> HealthResponse:
        return HealthResponse()

    @app.get(
        "/ready",
        response_model=ReadyResponse,
        summary="A model is loaded (registry state in the details)",
        responses={503: {"model": ReadyResponse, "description": "no model loaded yet"}},
    )
    async def ready() -> Any:
        readiness = _readiness(holder)
        if not readiness.ready:
            return JSONResponse(status_code=503, content=readiness.model_dump(mode="json"))
        return readiness

    @app.get(
        "/v1/model",
        response_model=ModelInfo,
        summary="The model in service: name, version, alias, metrics, loaded-at, engine",
        responses={503: _error("no model loaded yet")},
    )
    async def model_info() -> Any:
        loaded = holder.current if holder else None
        if loaded is None:
            return _json(503, {"detail": _readiness(holder).detail})
        return _model_info(loaded)

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
    )
    async def prometheus_metrics() -> Response:
        return Response(content=metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the service (it does not depend on the model)."""
    return create_app(None, poll=False).openapi()


def openapi_text() -> str:
    """The OpenAPI document as written to docs/openapi.json."""
    return json.dumps(openapi_document(), indent=2) + "\n"
