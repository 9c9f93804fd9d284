"""The player table: its 13 columns, their types, allowed categories and plausible ranges.

Ranges are physical limits (what a real player could report), not the observed minimum and
maximum of the Kaggle sample: a 50-year-old player or a drifted session length is valid data
that monitoring must see, not a rejected row.
"""

from __future__ import annotations

from dataclasses import dataclass

ID_COLUMN = "PlayerID"
# The largest PlayerID: every id up to it is exact as a float64 and as a JSON number (2**53 - 1).
MAX_PLAYER_ID = 2**53 - 1
TARGET_COLUMN = "EngagementLevel"
PREDICTION_COLUMN = "prediction"

CLASS_LABELS: tuple[str, ...] = ("Low", "Medium", "High")
LABEL_TO_CODE: dict[str, int] = {label: code for code, label in enumerate(CLASS_LABELS)}
CODE_TO_LABEL: dict[int, str] = dict(enumerate(CLASS_LABELS))


@dataclass(frozen=True)
class NumericColumn:
    """A numeric column with inclusive physical bounds."""

    name: str
    minimum: float
    maximum: float
    integer: bool = True


@dataclass(frozen=True)
class CategoricalColumn:
    """A text column with a closed set of allowed values."""

    name: str
    categories: tuple[str, ...]


NUMERIC_COLUMNS: tuple[NumericColumn, ...] = (
    NumericColumn("Age", 0, 120),
    NumericColumn("PlayTimeHours", 0, 24, integer=False),
    NumericColumn("SessionsPerWeek", 0, 7 * 24),
    NumericColumn("AvgSessionDurationMinutes", 0, 24 * 60),
    NumericColumn("PlayerLevel", 0, 10_000),
    NumericColumn("AchievementsUnlocked", 0, 100_000),
)

CATEGORICAL_COLUMNS: tuple[CategoricalColumn, ...] = (
    CategoricalColumn("Gender", ("Male", "Female")),
    CategoricalColumn("Location", ("USA", "Europe", "Asia", "Other")),
    CategoricalColumn("GameGenre", ("Action", "RPG", "Simulation", "Sports", "Strategy")),
    CategoricalColumn("InGamePurchases", ("No", "Yes")),
    CategoricalColumn("GameDifficulty", ("Easy", "Medium", "Hard")),
)

# Column order of the Kaggle files.
RAW_COLUMNS: tuple[str, ...] = (
    ID_COLUMN,
    "Age",
    "Gender",
    "Location",
    "GameGenre",
    "PlayTimeHours",
    "InGamePurchases",
    "GameDifficulty",
    "SessionsPerWeek",
    "AvgSessionDurationMinutes",
    "PlayerLevel",
    "AchievementsUnlocked",
    TARGET_COLUMN,
)

NUMERIC_FEATURES: tuple[str, ...] = tuple(c.name for c in NUMERIC_COLUMNS)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(c.name for c in CATEGORICAL_COLUMNS)
FEATURE_COLUMNS: tuple[str, ...] = tuple(
    c for c in RAW_COLUMNS if c in NUMERIC_FEATURES or c in CATEGORICAL_FEATURES
)
# Columns whose drift alone forces retraining (the reference design's rule).
KEY_DRIFT_COLUMNS: tuple[str, ...] = ("AvgSessionDurationMinutes", "SessionsPerWeek")

NUMERIC_BY_NAME: dict[str, NumericColumn] = {c.name: c for c in NUMERIC_COLUMNS}
CATEGORICAL_BY_NAME: dict[str, CategoricalColumn] = {c.name: c for c in CATEGORICAL_COLUMNS}
