"""Helpers of the serving unit tests: an in-memory model source and request bodies."""

from __future__ import annotations

import threading
from typing import Any

from machine_learning.registry import RegistryError, VersionInfo
from machine_learning.serving.holder import ModelHolder

MODEL_NAME = "unit-model"
BODY_LIMIT = 64 * 1024  # the test client's body limit


def record(**changes: Any) -> dict[str, Any]:
    """One valid player record (changes applied; a value of ... removes the field)."""
    base: dict[str, Any] = {
        "PlayerID": 9000,
        "Age": 31,
        "Gender": "Female",
        "Location": "Europe",
        "GameGenre": "RPG",
        "PlayTimeHours": 12.5,
        "InGamePurchases": "Yes",
        "GameDifficulty": "Hard",
        "SessionsPerWeek": 12,
        "AvgSessionDurationMinutes": 95,
        "PlayerLevel": 60,
        "AchievementsUnlocked": 25,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def body(*records: dict[str, Any]) -> dict[str, Any]:
    """A request body with ``records`` (default: one valid record)."""
    return {"records": list(records) or [record()]}


class InMemorySource:
    """A registry stand-in: fitted models by version, an alias, and a switch to make it fail."""

    tracking_uri = "memory://unit"
    model_name = MODEL_NAME

    def __init__(self, models: dict[str, Any], version: str | None, alias: str = "production"):
        self.models = models
        self.version = version
        self.alias = alias
        self.unreachable = False
        self.unreachable_error: Exception = ConnectionError("connection refused (simulated)")
        self.loads: list[str] = []
        self._lock = threading.Lock()

    def current_version(self) -> VersionInfo:
        """The version the alias points to (ConnectionError when 'unreachable')."""
        if self.unreachable:
            raise self.unreachable_error
        if self.version is None:
            raise RegistryError(f"no model '{MODEL_NAME}' with alias '{self.alias}'")
        return VersionInfo(
            name=MODEL_NAME,
            version=self.version,
            run_id=f"run-{self.version}",
            aliases=(self.alias,),
            metrics={"accuracy": 0.9},
        )

    def load(self, version: VersionInfo) -> Any:
        """The model of ``version`` (raises what is stored there if it is an exception)."""
        with self._lock:
            self.loads.append(version.version)
        model = self.models[version.version]
        if isinstance(model, Exception):
            raise model
        return model


def make_holder(models, version="1", sample_columns=None, **options) -> ModelHolder:
    """A holder over an in-memory source, refreshed once."""
    source = InMemorySource(models, version)
    holder = ModelHolder(source, sample_columns, **options)
    holder.refresh()
    return holder
