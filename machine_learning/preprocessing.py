"""The reference preprocessing recipe: encodings, features, the transformer and the split."""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from machine_learning.schema import (
    CATEGORICAL_FEATURES,
    CODE_TO_LABEL,
    FEATURE_COLUMNS,
    ID_COLUMN,
    LABEL_TO_CODE,
    NUMERIC_FEATURES,
    TARGET_COLUMN,
)

TEST_SIZE = 0.2
SPLIT_SEED = 42


def purchases_to_text(values: pd.Series) -> pd.Series:
    """InGamePurchases 0/1 -> No/Yes (text values are kept)."""
    return values.map(lambda v: {0: "No", 1: "Yes", "0": "No", "1": "Yes"}.get(v, v))


def engagement_to_code(values: pd.Series) -> pd.Series:
    """EngagementLevel Low/Medium/High -> 0/1/2."""
    codes = values.map(LABEL_TO_CODE)
    if codes.isna().any():
        unknown = sorted(set(values[codes.isna()].astype(str)))
        raise ValueError(f"{TARGET_COLUMN}: unknown levels {unknown}")
    return codes.astype("int64")


def code_to_engagement(codes: pd.Series) -> pd.Series:
    """0/1/2 -> Low/Medium/High."""
    return codes.map(CODE_TO_LABEL)


def clean_players(frame: pd.DataFrame) -> pd.DataFrame:
    """Reference cleaning on validated rows: exact duplicates dropped, purchases as text."""
    cleaned = frame.drop_duplicates().reset_index(drop=True)
    cleaned["InGamePurchases"] = purchases_to_text(cleaned["InGamePurchases"])
    return cleaned


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """Model input: the feature columns in schema order (PlayerID and target dropped)."""
    return frame.loc[:, list(FEATURE_COLUMNS)]


def target(frame: pd.DataFrame) -> pd.Series:
    """Encoded target 0/1/2."""
    return engagement_to_code(frame[TARGET_COLUMN])


def player_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The player feature table (PlayerID + features) saved for lookups."""
    columns = [ID_COLUMN, *FEATURE_COLUMNS] if ID_COLUMN in frame else list(FEATURE_COLUMNS)
    return frame.loc[:, columns]


def build_preprocessor() -> ColumnTransformer:
    """Mean-imputed scaled numbers; most-frequent-imputed one-hot categories (unseen tolerated)."""
    numeric = Pipeline([("imputer", SimpleImputer(strategy="mean")), ("scaler", StandardScaler())])
    categorical = Pipeline(
        [
            ("imputer", SimpleImputer(strategy="most_frequent")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    return ColumnTransformer(
        [
            ("num", numeric, list(NUMERIC_FEATURES)),
            ("cat", categorical, list(CATEGORICAL_FEATURES)),
        ]
    )


def split_train_test(
    frame: pd.DataFrame, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified train/test split of labelled rows with a fixed seed."""
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[TARGET_COLUMN]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)
