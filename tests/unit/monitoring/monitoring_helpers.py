"""Crafted drift-suite results shaped like Evidently 0.4.23's ``TestSuite.as_dict()``."""

from __future__ import annotations

from typing import Any


def column_stats(score: float, detected: bool, stattest: str = "Wasserstein distance (normed)"):
    """One column's drift parameters as Evidently writes them."""
    return {"stattest": stattest, "score": score, "threshold": 0.1, "detected": detected}


def crafted_suite(
    drifted: tuple[str, ...] = (),
    columns: tuple[str, ...] = (
        "prediction",
        "Age",
        "PlayTimeHours",
        "SessionsPerWeek",
        "AvgSessionDurationMinutes",
        "PlayerLevel",
        "AchievementsUnlocked",
        "Gender",
        "Location",
        "GameGenre",
        "InGamePurchases",
        "GameDifficulty",
    ),
    extra_tests: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """A suite result shaped like ``TestSuite.as_dict()`` with the given columns drifted."""
    features = {c: column_stats(0.5 if c in drifted else 0.01, c in drifted) for c in columns}
    share = sum(c in drifted for c in columns) / len(columns)
    tests = [
        {
            "name": "Share of Drifted Columns",
            "description": f"The drift is detected for {share:.0%} columns.",
            "status": "FAIL" if share >= 0.3 else "SUCCESS",
            "group": "data_drift",
            "parameters": {"condition": {"lt": 0.3}, "features": features},
        }
    ]
    for column in columns:
        tests.append(
            {
                "name": "Drift per Column",
                "description": f"The drift score for the feature **{column}** is ...",
                "status": "FAIL" if column in drifted else "SUCCESS",
                "group": "data_drift",
                "parameters": {**features[column], "column_name": column},
            }
        )
    tests.extend(extra_tests)
    failed = sum(t["status"] == "FAIL" for t in tests)
    return {
        "tests": tests,
        "summary": {
            "total_tests": len(tests),
            "failed_tests": failed,
            "success_tests": len(tests) - failed,
        },
    }


OUT_OF_RANGE = {
    "name": "Share of Out-of-Range Values",
    "description": (
        "The share of values out of range in the column **PlayTimeHours** is 0.0002 "
        "(2 out of 10009)."
    ),
    "status": "FAIL",
    "group": "data_quality",
    "parameters": {"condition": {"eq": 0}, "value": 0.0002, "left": None, "right": None},
}
