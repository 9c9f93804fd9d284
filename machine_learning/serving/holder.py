"""The model in service: loaded from a registry alias, re-checked periodically, swapped atomically.

A background thread asks the registry which version the alias points to. When it moved, the
new version is loaded, its engine chosen (fast path verified, or scikit-learn) and smoke-tested,
all off the request path; then one attribute assignment swaps it in. A request reads
:attr:`ModelHolder.current` once and uses that model to the end, so no request fails or waits
during a swap. When the registry is unreachable, the model in service stays and the failure is
recorded for ``/ready``, the logs and the metrics.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Protocol

from machine_learning import registry
from machine_learning.registry import RegistryError, VersionInfo
from machine_learning.serving.engines import Columns, EngineChoice, choose_engine
from machine_learning.serving.metrics import ServiceMetrics

LOGGER = logging.getLogger(__name__)
_SMOKE_ROWS = 8


class ModelSource(Protocol):
    """Where versions come from: the MLflow registry, or an in-memory stand-in in tests."""

    tracking_uri: str
    model_name: str
    alias: str

    def current_version(self) -> VersionInfo:
        """The version the alias points to now (raises when it cannot tell)."""
        ...  # pylint: disable=unnecessary-ellipsis

    def load(self, version: VersionInfo) -> Any:
        """The fitted model of ``version``."""
        ...  # pylint: disable=unnecessary-ellipsis


@dataclass(frozen=True)
class RegistrySource:
    """The MLflow model registry at ``tracking_uri``."""

    tracking_uri: str
    model_name: str
    alias: str = registry.PRODUCTION
    _last: dict[str, VersionInfo] = field(default_factory=dict, compare=False, repr=False)

    def current_version(self) -> VersionInfo:
        """The version that ``alias`` points to. One request while it stays the same version
        (its run's metrics are fetched when it changes): polls are cheap for the server and
        for the requests they share the process with."""
        client = registry.client_for(self.tracking_uri)
        version = registry.model_version_by_alias(client, self.model_name, self.alias)
        last = self._last.get("info")
        if last is not None and last.version == str(version.version):
            return last
        info = registry.version_info(client, version)
        self._last["info"] = info
        return info

    def load(self, version: VersionInfo) -> Any:
        """Load exactly ``version`` (not the alias, which may have moved on meanwhile)."""
        return registry.load_model(self.tracking_uri, version.uri)


def _registry_answered(error: Exception) -> bool:
    """True when the registry answered, only without the alias (it is reachable)."""
    unavailable = getattr(registry, "RegistryUnavailableError", ())  # a RegistryError if present
    return isinstance(error, RegistryError) and not isinstance(error, unavailable)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LoadedModel:
    """A registered version ready to predict."""

    info: VersionInfo
    alias: str
    choice: EngineChoice
    loaded_at: datetime = field(default_factory=_now)

    @property
    def engine(self):
        """The engine that predicts for this model."""
        return self.choice.engine

    def ref(self) -> dict[str, str]:
        """Name, version, alias and engine (what every response names)."""
        return {
            "name": self.info.name,
            "version": self.info.version,
            "alias": self.alias,
            "engine": self.engine.name,
        }

    @cached_property
    def ref_json(self) -> str:
        """:meth:`ref` as compact JSON, written once per model (every response carries it)."""
        return json.dumps(self.ref(), separators=(",", ":"))


@dataclass
class RegistryState:
    """The outcome of the last registry check."""

    reachable: bool | None = None
    last_checked: datetime | None = None
    last_error: str | None = None


class ModelHolder:  # pylint: disable=too-many-instance-attributes
    """Holds the current model and keeps it in step with the registry alias."""

    def __init__(  # pylint: disable=too-many-arguments
        self,
        source: ModelSource,
        sample: Columns,
        *,
        poll_seconds: float = 10.0,
        fast_path: bool = True,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.source = source
        self.poll_seconds = poll_seconds
        self.fast_path = fast_path
        self.metrics = metrics or ServiceMetrics()
        self.state = RegistryState()
        self.current: LoadedModel | None = None
        self._sample = sample
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Check the alias once; load and swap in a new version. True if a swap happened."""
        with self._refresh_lock:
            try:
                info = self.source.current_version()
            except Exception as error:  # pylint: disable=broad-exception-caught
                self._record_failure(error, reachable=_registry_answered(error))
                return False
            self._record_success()
            current = self.current
            if current is not None and current.info.version == info.version:
                return False
            try:
                loaded = self._prepare(info)
            except Exception as error:  # pylint: disable=broad-exception-caught
                self._record_failure(error, reachable=True, what=f"loading version {info.version}")
                return False
            self._swap(loaded, current)
            return True

    def _prepare(self, info: VersionInfo) -> LoadedModel:
        """Load, choose the engine and smoke-test it, all before anyone can see it."""
        model = self.source.load(info)
        choice = choose_engine(model, self._sample, fast=self.fast_path)
        smoke = {name: values[:_SMOKE_ROWS] for name, values in self._sample.items()}
        choice.engine.predict(smoke)  # a model that cannot predict is never swapped in
        return LoadedModel(info=info, alias=self.source.alias, choice=choice)

    def _swap(self, loaded: LoadedModel, previous: LoadedModel | None) -> None:
        self.current = loaded  # one reference assignment: atomic for every reader
        self.metrics.model_loaded(
            loaded.info.name, loaded.info.version, loaded.alias, loaded.engine.name
        )
        LOGGER.info(
            "serving %s version %s (alias %s, engine %s)%s",
            loaded.info.name,
            loaded.info.version,
            loaded.alias,
            loaded.engine.name,
            f", replacing version {previous.info.version}" if previous else "",
        )

    def _record_success(self) -> None:
        if self.state.reachable is False:
            LOGGER.info("registry %s is reachable again", self.source.tracking_uri)
        self.state = RegistryState(reachable=True, last_checked=_now())
        self.metrics.registry_reachable.set(1)

    def _record_failure(self, error: Exception, reachable: bool, what: str = "") -> None:
        message = f"{what + ': ' if what else ''}{type(error).__name__}: {error}"[:500]
        self.state = RegistryState(reachable=reachable, last_checked=_now(), last_error=message)
        self.metrics.registry_reachable.set(1 if reachable else 0)
        self.metrics.registry_failures.inc()
        serving = self.current
        kept = f"keeping version {serving.info.version} in service" if serving else "no model yet"
        LOGGER.warning(
            "registry %s (model %s, alias %s): %s; %s",
            self.source.tracking_uri,
            self.source.model_name,
            self.source.alias,
            message,
            kept,
        )

    def start(self) -> None:
        """Check now and then every ``poll_seconds``, in a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the polling thread (a load in progress finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.poll_seconds)
