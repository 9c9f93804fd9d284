"""Monitoring thresholds: the retraining rule's limits and the drift tests' settings."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from machine_learning.schema import KEY_DRIFT_COLUMNS


@dataclass(frozen=True)
class MonitoringThresholds:
    """Limits of the retraining rule (defaults: the reference design's).

    ``drift_share``: retrain when the share of drifted columns is above it.
    ``key_columns``: columns whose drift alone forces retraining.
    ``retrain_on_prediction_drift``: retrain when the predicted class mix drifted.
    ``stattest`` / ``stattest_threshold``: drift test and its threshold for every column
    (``None``: Evidently's defaults - Wasserstein distance 0.1 for numbers and Jensen-Shannon
    distance 0.1 for categories above 1,000 rows; K-S / chi-squared p-value 0.05 below).
    """

    drift_share: float = 0.3
    key_columns: tuple[str, ...] = KEY_DRIFT_COLUMNS
    retrain_on_prediction_drift: bool = True
    stattest: str | None = None
    stattest_threshold: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.drift_share <= 1.0:
            raise ValueError(f"drift_share must be within [0, 1], got {self.drift_share}")
        if self.stattest_threshold is not None and self.stattest_threshold < 0:
            raise ValueError(f"stattest_threshold must be >= 0, got {self.stattest_threshold}")

    def with_overrides(self, **changes: Any) -> "MonitoringThresholds":
        """A copy with some fields changed."""
        return replace(self, **changes)


# Settings fields (machine_learning.config.Settings) that, when the lead adds them, override
# the defaults: Settings field name -> MonitoringThresholds field name.
SETTINGS_FIELDS: dict[str, str] = {
    "monitoring_drift_share": "drift_share",
    "monitoring_stattest": "stattest",
    "monitoring_stattest_threshold": "stattest_threshold",
}


def thresholds_from_settings(settings: object) -> MonitoringThresholds:
    """Thresholds from Settings: its ``monitoring_*`` fields when present, else the defaults."""
    known = {f.name for f in fields(MonitoringThresholds)}
    changes = {
        target: getattr(settings, source)
        for source, target in SETTINGS_FIELDS.items()
        if target in known and getattr(settings, source, None) is not None
    }
    return MonitoringThresholds(**changes)
