"""Prometheus metrics of the service, in a registry of its own (one per app)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# From 50 µs to 2.5 s: single records take well under a millisecond on the fast path.
LATENCY_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class ServiceMetrics:  # pylint: disable=too-many-instance-attributes
    """Counters, the latency histogram and the model gauges of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "serving_requests",
            "HTTP requests by endpoint, method and status code.",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "serving_request_duration_seconds",
            "Time from request start to the end of the response, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "serving_errors",
            "Requests that ended in a server error (HTTP 5xx), by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "serving_rejected_requests",
            "Requests rejected before prediction, by reason (invalid, too_large, no_model).",
            ["reason"],
            registry=self.registry,
        )
        self.records = Counter(
            "serving_predicted_records", "Records predicted.", registry=self.registry
        )
        self.model_version = Gauge(
            "serving_model_version",
            "Registered version number of the model in service (0 = none).",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "serving_model_info",
            "1 for the model in service, with its name, version, alias and engine.",
            ["name", "version", "alias", "engine"],
            registry=self.registry,
        )
        self.swaps = Counter(
            "serving_model_swaps", "Models loaded and swapped in.", registry=self.registry
        )
        self.registry_reachable = Gauge(
            "serving_registry_reachable",
            "1 if the last registry check succeeded, 0 if it failed.",
            registry=self.registry,
        )
        self.registry_failures = Counter(
            "serving_registry_failures",
            "Registry checks or model loads that failed.",
            registry=self.registry,
        )
        self.worker = Gauge(
            "serving_worker_info",
            "1, labelled with the process id of the worker whose metrics these are (with several "
            "workers each answers /metrics for itself).",
            ["pid"],
            registry=self.registry,
        )
        self.worker.labels(str(os.getpid())).set(1)

    def model_loaded(self, name: str, version: str, alias: str, engine: str) -> None:
        """Point the model gauges at a newly swapped-in model."""
        self.model_info.clear()
        self.model_info.labels(name, version, alias, engine).set(1)
        self.model_version.set(float(version) if version.isdigit() else 0)
        self.swaps.inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)
