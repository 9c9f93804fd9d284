"""Request and response models of the service, derived from :mod:`machine_learning.schema`.

A record has every feature field (same names, bounds and categories as the dataset; numbers
strictly typed, whole numbers for integer columns) and an optional PlayerID; unknown fields
are rejected. InGamePurchases accepts No/Yes or the dataset's 0/1. Records validate into plain
dicts (a TypedDict), and 0/1 become No/Yes when the records are turned into columns: both are
several times cheaper than model instances and per-field Python validators.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Mapping, Optional, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

from machine_learning.schema import (
    CATEGORICAL_BY_NAME,
    CATEGORICAL_FEATURES,
    CLASS_LABELS,
    FEATURE_COLUMNS,
    ID_COLUMN,
    NUMERIC_BY_NAME,
    NUMERIC_FEATURES,
    CategoricalColumn,
    NumericColumn,
)

MAX_RECORDS = 1000
_PURCHASES = {0: "No", 1: "Yes", "No": "No", "Yes": "Yes"}


def _numeric_field(column: NumericColumn) -> Any:
    kind = int if column.integer else float
    bounds = f"{column.minimum:g} to {column.maximum:g}"
    field = Field(
        title=column.name,
        ge=column.minimum,
        le=column.maximum,
        strict=True,
        description=f"{'whole number' if column.integer else 'number'}, {bounds}",
        **({} if column.integer else {"allow_inf_nan": False}),
    )
    return Annotated[kind, field]


def _categorical_field(column: CategoricalColumn) -> Any:
    if column.name == "InGamePurchases":
        description = "No/Yes (or the dataset's 0/1)"
        return Annotated[
            Literal["No", "Yes", 0, 1], Field(title=column.name, description=description)
        ]
    description = ", ".join(column.categories)
    return Annotated[Literal[column.categories], Field(title=column.name, description=description)]


def _record_fields() -> dict[str, Any]:
    player_id = Annotated[
        int, Field(ge=0, strict=True, title=ID_COLUMN, description="optional; echoed back")
    ]
    fields: dict[str, Any] = {ID_COLUMN: NotRequired[Optional[player_id]]}
    for name in FEATURE_COLUMNS:  # the dataset's column order
        numeric = NUMERIC_BY_NAME.get(name)
        fields[name] = (
            _numeric_field(numeric) if numeric else _categorical_field(CATEGORICAL_BY_NAME[name])
        )
    return fields


PlayerRecord = TypedDict("PlayerRecord", _record_fields())  # type: ignore[misc]
PlayerRecord.__doc__ = "One player: the dataset's feature fields, PlayerID optional."
PlayerRecord.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]


class PredictionRequest(BaseModel):
    """One or many player records."""

    model_config = ConfigDict(extra="forbid")

    records: list[PlayerRecord] = Field(  # type: ignore[valid-type]
        ..., min_length=1, max_length=MAX_RECORDS, description=f"1 to {MAX_RECORDS} records"
    )


class ClassProbabilities(BaseModel):
    """Probability of each engagement level (they sum to 1)."""

    Low: float
    Medium: float
    High: float


class RecordPrediction(BaseModel):
    """The prediction for one record, in request order."""

    PlayerID: Optional[int] = None
    engagement_level: Literal[CLASS_LABELS]  # type: ignore[valid-type]
    probabilities: ClassProbabilities


class ModelRef(BaseModel):
    """The registered model version that served a request."""

    name: str
    version: str
    alias: str
    engine: str = Field(..., description="onnxruntime (fast path) or sklearn (fallback)")


class PredictionResponse(BaseModel):
    """Predictions for every record, all made by the one model version named in ``model``."""

    model: ModelRef
    predictions: list[RecordPrediction]


class FieldProblem(BaseModel):
    """One validation problem: which record, which field, what is wrong."""

    record: Optional[int] = Field(None, description="index in `records` (0-based), if any")
    field: Optional[str] = Field(None, description="field name, if any")
    problem: str
    type: str = Field(..., description="machine-readable problem type")


class ValidationErrorResponse(BaseModel):
    """HTTP 422: the body does not match the request schema."""

    detail: str
    errors: list[FieldProblem]


class ErrorResponse(BaseModel):
    """Any other error (HTTP 404, 413, 500, 503)."""

    detail: str


class HealthResponse(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class RegistryStatus(BaseModel):
    """What the service last learned from the model registry."""

    model_config = ConfigDict(protected_namespaces=())

    tracking_uri: str
    model_name: str
    alias: str
    reachable: Optional[bool] = Field(None, description="null before the first check")
    last_checked: Optional[datetime] = None
    last_error: Optional[str] = None
    poll_seconds: float


class ReadyResponse(BaseModel):
    """Ready when a model is loaded; registry problems are reported, not fatal."""

    ready: bool
    model: Optional[ModelRef] = None
    registry: RegistryStatus
    detail: str


class ModelInfo(BaseModel):
    """The model in service."""

    name: str
    version: str
    alias: str
    run_id: str
    metrics: dict[str, float]
    loaded_at: datetime
    engine: str
    verification: Optional[dict[str, Any]] = None
    fallback_reason: Optional[str] = None


def records_to_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Validated records -> engine columns (float64 numbers, ``str`` categories, No/Yes)."""
    columns = {
        name: np.array([r[name] for r in records], dtype=np.float64) for name in NUMERIC_FEATURES
    }
    for name in CATEGORICAL_FEATURES:
        values = [r[name] for r in records]
        if name == "InGamePurchases":
            values = [_PURCHASES[v] for v in values]
        columns[name] = np.array(values, dtype=object)
    return columns
