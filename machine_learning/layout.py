"""The storage layout: which key holds what. Dates are ISO ``YYYY-MM-DD``.

raw/players.csv                              raw labelled players (training input)
processed/players.csv                        validated, cleaned, labelled players
features/players.csv                         player features (PlayerID + features)
rejected/<stage>/<date>.csv                  rejected rows with their reasons
batch/<date>/players.csv                     the day's players to score
predictions/<date>/predictions.csv           the day's predictions
labels/<date>/labels.csv                     true labels revealed for a day's players
truth/<date>/labels.csv                      a simulated day's labels, held back until revealed
monitoring/reference/reference.csv           reference data (train + test sets, with predictions)
monitoring/current/<date>/current.csv        the day's inputs with predictions
reports/<date>/<name>.json|.html             monitoring results and reports
lifecycle/<run>/days/<date>.json             a lifecycle run's record of each simulated day
"""

from __future__ import annotations

import datetime as dt

RAW_PLAYERS = "raw/players.csv"
PROCESSED_PLAYERS = "processed/players.csv"
PLAYER_FEATURES = "features/players.csv"
REFERENCE = "monitoring/reference/reference.csv"


def _day(day: dt.date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def rejected(stage: str, day: dt.date | str) -> str:
    """Rejected rows of ``stage`` (e.g. 'prepare', 'batch') on ``day``."""
    return f"rejected/{stage}/{_day(day)}.csv"


def batch_input(day: dt.date | str) -> str:
    """The day's players to score."""
    return f"batch/{_day(day)}/players.csv"


def predictions(day: dt.date | str) -> str:
    """The day's predictions."""
    return f"predictions/{_day(day)}/predictions.csv"


def labels(day: dt.date | str) -> str:
    """True labels of the day's players, once revealed."""
    return f"labels/{_day(day)}/labels.csv"


def current(day: dt.date | str) -> str:
    """The day's monitoring 'current' data (inputs with predictions)."""
    return f"monitoring/current/{_day(day)}/current.csv"


def report(day: dt.date | str, name: str, extension: str) -> str:
    """A monitoring result or report of ``day``."""
    return f"reports/{_day(day)}/{name}.{extension.lstrip('.')}"


def held_labels(day: dt.date | str) -> str:
    """True labels of a simulated day, held back until the lifecycle reveals them."""
    return f"truth/{_day(day)}/labels.csv"


def lifecycle_day(run: str, day: dt.date | str) -> str:
    """A lifecycle run's record of one simulated day."""
    return f"lifecycle/{run}/days/{_day(day)}.json"
