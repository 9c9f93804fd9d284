"""What every benchmark script shares: repeats, timing, and the figures for RESULTS.md.

A script prints its figures and, when run by ``run_all.py`` (``make bench``), also appends
each one as a JSON line to the file named by ``BENCH_RESULTS``; ``run_all.py`` turns them into
one Markdown table. Settings (environment):

    BENCH_REPEATS   runs per timing (default 3; the median is reported with min and max)
    BENCH_QUICK     1: smaller inputs and fewer runs, for a quick look (minutes, not the figures)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

RESULTS_ENV = "BENCH_RESULTS"
ROOT = Path(__file__).resolve().parent.parent


def quick() -> bool:
    """Whether BENCH_QUICK asks for the short version."""
    return os.environ.get("BENCH_QUICK", "").strip().lower() in {"1", "true", "yes"}


def repeats(default: int = 3) -> int:
    """Runs per timing: BENCH_REPEATS, else ``default`` (2 when quick)."""
    value = os.environ.get("BENCH_REPEATS", "").strip()
    if value:
        return max(1, int(value))
    return min(default, 2) if quick() else default


def load_average() -> str:
    """The 1/5/15-minute load averages and the CPU count, for the record."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f}/{five:.1f}/{fifteen:.1f} on {os.cpu_count()} CPUs"


@dataclass(frozen=True)
class Timing:
    """Repeated measurements of one thing."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        """The fastest (smallest) run."""
        return min(self.values)

    @property
    def high(self) -> float:
        """The slowest (largest) run."""
        return max(self.values)

    def per(self, amount: float) -> "Timing":
        """``amount`` divided by each value (seconds -> rows/s); min and max swap."""
        return Timing(tuple(amount / value for value in self.values))

    def describe(self, unit: str = "s", digits: int = 2) -> str:
        """``median (min-max)``."""
        return (
            f"{self.median:,.{digits}f} {unit} "
            f"({self.low:,.{digits}f}-{self.high:,.{digits}f}, {len(self.values)} runs)"
        )


def timed(function: Callable[[], Any], runs: int | None = None, warm_up: bool = False) -> Timing:
    """Wall time of ``runs`` calls of ``function``."""
    if warm_up:
        function()
    times = []
    for _ in range(runs or repeats()):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return Timing(tuple(times))


@dataclass
class Figure:  # pylint: disable=too-many-instance-attributes
    """One row of RESULTS.md."""

    area: str
    name: str
    value: float
    unit: str
    low: float | None = None
    high: float | None = None
    runs: int = 1
    reference: str = ""  # what the ratio compares with
    ratio: float | None = None
    target: str = ""  # e.g. "<= 1.10"
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def record(  # pylint: disable=too-many-arguments
    area: str,
    name: str,
    measured: Timing | float,
    unit: str,
    *,
    reference: str = "",
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
    note: str = "",
) -> Figure:
    """Print a figure and append it to the run's results file (when ``make bench`` runs)."""
    if isinstance(measured, Timing):
        figure = Figure(
            area, name, measured.median, unit, measured.low, measured.high, len(measured.values)
        )
    else:
        figure = Figure(area, name, float(measured), unit)
    figure.reference, figure.ratio, figure.target, figure.met, figure.note = (
        reference,
        ratio,
        target,
        met,
        note,
    )
    spread = (
        f" ({figure.low:,.4g}-{figure.high:,.4g}, {figure.runs} runs)"
        if figure.low is not None and figure.runs > 1
        else ""
    )
    versus = f"  x{ratio:.2f} vs {reference}" if ratio is not None else ""
    verdict = "" if met is None else ("  [target met]" if met else "  [target MISSED]")
    print(f"  {area} | {name}: {figure.value:,.4g} {unit}{spread}{versus}{verdict}", flush=True)
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(asdict(figure)) + "\n")
    return figure


def run_child(arguments: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python <arguments>`` and return the JSON object its last output line prints."""
    completed = subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(arguments)} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (MiB)."""
    import resource  # pylint: disable=import-outside-toplevel

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
