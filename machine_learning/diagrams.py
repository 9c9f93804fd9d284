"""Diagrams generated from the code, so that they cannot go stale silently.

- One DAG per Mage pipeline, read from ``mlops/pipelines/<name>/metadata.yaml`` (blocks, their
  types and upstream blocks), ``triggers.yaml`` (schedules) and each block's file (the library
  function it calls): ``images/pipelines/<name>.dot`` and ``.svg``.
- The platform's flows (``images/platform_flows.dot`` and ``.svg``): the pipelines with their
  schedules, storage keys from :mod:`machine_learning.layout`, MLflow, Evidently, the
  retraining loop and online inference.

``python -m machine_learning.diagrams`` (``make diagrams``) writes the DOT sources and renders
them with Graphviz's ``dot``; ``--check`` only says which committed sources differ from the code
(what ``tests/unit/test_diagrams.py`` asserts, without needing ``dot``).
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import yaml

from machine_learning import layout
from machine_learning.config import PROJECT_ROOT

MLOPS = PROJECT_ROOT / "mlops"
IMAGES = PROJECT_ROOT / "images"
PIPELINE_FOLDER = "pipelines"  # under images/
OVERVIEW = "platform_flows"
BLOCK_FOLDERS = {
    "data_loader": "data_loaders",
    "transformer": "transformers",
    "data_exporter": "data_exporters",
    "custom": "custom",
}
# Fill colours close to Mage's own block colours.
BLOCK_COLOURS = {
    "data_loader": "#cfe2ff",
    "transformer": "#e2d9f3",
    "data_exporter": "#fff3cd",
    "custom": "#e9ecef",
}
TRIGGER_COLOURS = {"time": "#d1e7dd", "api": "#f8d7da"}
DAYS = {"0": "Sundays", "1": "Mondays", "2": "Tuesdays", "3": "Wednesdays", "4": "Thursdays"}
DAYS.update({"5": "Fridays", "6": "Saturdays", "7": "Sundays"})
FONT = "Helvetica"


class DiagramError(RuntimeError):
    """Pipeline metadata that cannot be drawn, or Graphviz missing (the message says which)."""


@dataclass(frozen=True)
class Block:
    """A Mage block: its id, type, neighbours and the library functions its file calls."""

    uuid: str
    type: str
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    calls: tuple[str, ...]


@dataclass(frozen=True)
class Trigger:
    """A trigger of ``triggers.yaml``."""

    name: str
    schedule_type: str
    interval: str | None
    status: str

    @property
    def schedule(self) -> str:
        """When it fires, in words (cron expressions are UTC)."""
        if self.schedule_type == "api":
            return "on demand (API trigger)"
        if self.schedule_type != "time" or not self.interval:
            return self.schedule_type
        return cron_text(self.interval)


@dataclass(frozen=True)
class Pipeline:
    """A Mage pipeline as its files describe it."""

    uuid: str
    description: str
    blocks: tuple[Block, ...]
    triggers: tuple[Trigger, ...]

    @property
    def roots(self) -> list[str]:
        """The blocks without upstream blocks (where a run starts)."""
        return [block.uuid for block in self.blocks if not block.upstream]

    @property
    def schedules(self) -> list[str]:
        """The active time triggers' schedules, in words."""
        return [
            trigger.schedule
            for trigger in self.triggers
            if trigger.schedule_type == "time" and trigger.status == "active"
        ]


def cron_text(expression: str) -> str:
    """A daily or weekly cron expression in words (``0 20 * * *`` -> ``daily 20:00 UTC``)."""
    fields = expression.split()
    if len(fields) == 5 and fields[0].isdigit() and fields[1].isdigit():
        minute, hour, day_of_month, month, day_of_week = fields
        at = f"{int(hour):02d}:{int(minute):02d} UTC"
        if (day_of_month, month, day_of_week) == ("*", "*", "*"):
            return f"daily {at}"
        if (day_of_month, month) == ("*", "*") and day_of_week in DAYS:
            return f"{DAYS[day_of_week]} {at}"
    return f"cron {expression} (UTC)"


def pipeline_names(project: Path = MLOPS) -> list[str]:
    """The pipelines of the Mage project (folders with a ``metadata.yaml``), sorted."""
    return sorted(path.parent.name for path in (project / "pipelines").glob("*/metadata.yaml"))


def library_calls(block_file: Path) -> tuple[str, ...]:
    """``module.function`` of every call to a ``machine_learning`` module in a block file."""
    tree = ast.parse(block_file.read_text(encoding="utf-8"), filename=str(block_file))
    modules = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("machine_learning")
        for alias in node.names
    }
    calls = [
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in modules
    ]
    return tuple(dict.fromkeys(calls))


def _read_yaml(path: Path) -> dict:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise DiagramError(f"{path}: cannot be read ({error})") from error
    if not isinstance(content, dict):
        raise DiagramError(f"{path}: expected a mapping at the top")
    return content


def _block(entry: dict, project: Path, source: Path) -> Block:
    uuid, kind = entry.get("uuid"), entry.get("type")
    if not uuid or kind not in BLOCK_FOLDERS:
        raise DiagramError(f"{source}: block {uuid!r} has no uuid or an unknown type {kind!r}")
    block_file = project / BLOCK_FOLDERS[kind] / f"{uuid}.py"
    if not block_file.is_file():
        raise DiagramError(f"{source}: block {uuid!r} has no file {block_file}")
    return Block(
        uuid=uuid,
        type=kind,
        upstream=tuple(entry.get("upstream_blocks") or ()),
        downstream=tuple(entry.get("downstream_blocks") or ()),
        calls=library_calls(block_file),
    )


def load_pipeline(name: str, project: Path = MLOPS) -> Pipeline:
    """A pipeline from its ``metadata.yaml`` and ``triggers.yaml``."""
    folder = project / "pipelines" / name
    metadata = _read_yaml(folder / "metadata.yaml")
    triggers_file = folder / "triggers.yaml"
    triggers = (_read_yaml(triggers_file).get("triggers") or []) if triggers_file.exists() else []
    return Pipeline(
        uuid=metadata.get("uuid") or name,
        description=" ".join(str(metadata.get("description") or "").split()),
        blocks=tuple(
            _block(entry, project, folder / "metadata.yaml") for entry in metadata["blocks"]
        ),
        triggers=tuple(
            Trigger(
                name=str(item["name"]),
                schedule_type=str(item.get("schedule_type")),
                interval=item.get("schedule_interval"),
                status=str(item.get("status")),
            )
            for item in triggers
        ),
    )


def metadata_problems(pipeline: Pipeline) -> list[str]:
    """Inconsistencies of a pipeline's block graph (unknown blocks, one-sided links, cycles)."""
    blocks = {block.uuid: block for block in pipeline.blocks}
    problems = []
    for block in pipeline.blocks:
        for other in block.upstream + block.downstream:
            if other not in blocks:
                problems.append(f"{pipeline.uuid}: {block.uuid} names an unknown block {other}")
        for upstream in block.upstream:
            if upstream in blocks and block.uuid not in blocks[upstream].downstream:
                problems.append(
                    f"{pipeline.uuid}: {block.uuid} has upstream {upstream}, "
                    f"but {upstream} does not list it downstream"
                )
        for downstream in block.downstream:
            if downstream in blocks and block.uuid not in blocks[downstream].upstream:
                problems.append(
                    f"{pipeline.uuid}: {block.uuid} has downstream {downstream}, "
                    f"but {downstream} does not list it upstream"
                )
    if not pipeline.roots and pipeline.blocks:
        problems.append(f"{pipeline.uuid}: every block has an upstream block (a cycle)")
    return problems


# --------------------------------------------------------------------------- DOT


def quote(text: str) -> str:
    """A DOT string literal (quotes and backslashes escaped, newlines as ``\\n``)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _attributes(**values: str) -> str:
    return ", ".join(f"{key}={quote(value)}" for key, value in values.items())


def _header(name: str, title: str, rankdir: str = "LR") -> list[str]:
    return [
        f"digraph {quote(name)} {{",
        f"  graph [{_attributes(rankdir=rankdir, label=title, labelloc='t', fontname=FONT)},"
        ' fontsize="13", nodesep="0.35", ranksep="0.5"];',
        f'  node [shape="box", style="rounded,filled", fontname="{FONT}", fontsize="10"];',
        f'  edge [fontname="{FONT}", fontsize="9", color="#555555"];',
    ]


def _wrap(text: str, width: int = 70) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def pipeline_dot(pipeline: Pipeline) -> str:
    """The DOT source of a pipeline's DAG: its triggers, then its blocks and their edges."""
    title = pipeline.uuid + ("\n" + _wrap(pipeline.description) if pipeline.description else "")
    lines = _header(pipeline.uuid, title)
    for trigger in pipeline.triggers:
        label = f"{trigger.name}\n{trigger.schedule}"
        if trigger.status != "active":
            label += f"\n({trigger.status})"
        colour = TRIGGER_COLOURS.get(trigger.schedule_type, "#ffffff")
        lines.append(
            f"  {quote('trigger:' + trigger.name)} [{_attributes(label=label, shape='note')}, "
            f'style="filled", fillcolor="{colour}"];'
        )
    for block in pipeline.blocks:
        label = "\n".join(
            [block.uuid, block.type.replace("_", " "), *(f"{c}()" for c in block.calls)]
        )
        lines.append(
            f"  {quote(block.uuid)} [{_attributes(label=label)}, "
            f'fillcolor="{BLOCK_COLOURS[block.type]}"];'
        )
    for trigger in pipeline.triggers:
        for root in pipeline.roots:
            lines.append(
                f"  {quote('trigger:' + trigger.name)} -> {quote(root)} "
                '[style="dashed", color="#888888", arrowhead="open"];'
            )
    for block in pipeline.blocks:
        for upstream in block.upstream:
            lines.append(f"  {quote(upstream)} -> {quote(block.uuid)};")
    return "\n".join([*lines, "}"]) + "\n"


# The overview: nodes that are not pipelines, and the flows between them and the pipelines.
DAY = "<day>"
EXTERNAL_NODES: dict[str, tuple[str, str, str]] = {  # id -> (label, shape, fill colour)
    "players": ("Players\nDATA_PATH (Kaggle CSV) or simulator", "cylinder", "#f8f9fa"),
    "labels": (f"True labels, revealed later\n{layout.labels(DAY)}", "cylinder", "#f8f9fa"),
    "mlflow": (
        "MLflow\ntracking server + model registry\naliases candidate, production, best",
        "cylinder",
        "#fde2c8",
    ),
    "reports": (
        f"Reports (JSON for machines, HTML for people)\n{layout.report(DAY, '*', '*')}",
        "folder",
        "#f8f9fa",
    ),
    "evidently": ("Evidently workspace and UI\ndashboard over time", "cylinder", "#d7f0f7"),
    "client": ("Client\n(online requests)", "oval", "#ffffff"),
    "service": ("Prediction service\ngaming-mlops serve (FastAPI)", "box", "#e9ecef"),
}
RETRAINING = {"color": "#c0392b", "fontcolor": "#c0392b"}
BACK = {"constraint": "false"}  # drawn without pulling the target up the page
FLOWS: tuple[tuple[str, str, str, dict[str, str]], ...] = (  # source, target, label, style
    ("players", "prepare_data", layout.RAW_PLAYERS, {}),
    ("prepare_data", "training_workflow", layout.PROCESSED_PLAYERS, {}),
    ("labels", "training_workflow", "labelled days", {}),
    ("training_workflow", "mlflow", "run, new version @candidate", {}),
    ("mlflow", "select_best_model", "@candidate vs @production", {}),
    ("labels", "select_best_model", "latest labelled days", {}),
    ("select_best_model", "mlflow", "promote @production if better", BACK),
    ("players", "batch_inference", layout.batch_input(DAY), BACK),
    ("mlflow", "batch_inference", "models:/<name>@production", {}),
    ("batch_inference", "performance_monitor", layout.current(DAY), {}),
    ("batch_inference", "performance_reports", layout.current(DAY), {}),
    ("labels", "performance_reports", "true performance", {}),
    ("performance_monitor", "reports", "drift tests, decision", {}),
    ("performance_reports", "reports", "quality, drift, performance", {}),
    ("performance_monitor", "evidently", "snapshots", {}),
    ("performance_reports", "evidently", "snapshots", {}),
    ("performance_monitor", "ml_retraining", "drift: retrain", {**RETRAINING, "penwidth": "2"}),
    ("ml_retraining", "training_workflow", "runs", {**RETRAINING, **BACK, "style": "dashed"}),
    ("ml_retraining", "select_best_model", "then runs", {**RETRAINING, **BACK, "style": "dashed"}),
    ("client", "online_inference", "Mage API trigger", {}),
    ("client", "service", "HTTP POST", {}),
    ("mlflow", "online_inference", "@production", {}),
    ("mlflow", "service", "@production (hot swap)", {}),
)


def overview_problems(names: Iterable[str]) -> list[str]:
    """Pipelines missing from the overview's flows, and flows naming unknown nodes."""
    names = set(names)
    ends = {end for source, target, _, _ in FLOWS for end in (source, target)}
    problems = [f"pipeline {n} is in no flow of the overview" for n in sorted(names - ends)]
    known = names | set(EXTERNAL_NODES)
    problems += [f"a flow names an unknown node {n}" for n in sorted(ends - known)]
    return problems


def overview_dot(pipelines: Sequence[Pipeline]) -> str:
    """The DOT source of the platform's flows (pipelines labelled with their schedules)."""
    title = "Gaming engagement MLOps platform: data, models, monitoring"
    lines = _header(OVERVIEW, title, rankdir="TB")
    for node, (label, shape, colour) in EXTERNAL_NODES.items():
        lines.append(
            f"  {quote(node)} [{_attributes(label=label, shape=shape, fillcolor=colour)}];"
        )
    for pipeline in pipelines:
        when = pipeline.schedules or ["on demand"]
        label = "\n".join([f"Mage: {pipeline.uuid}", *when])
        lines.append(f'  {quote(pipeline.uuid)} [{_attributes(label=label)}, fillcolor="#cfe2ff"];')
    for source, target, label, style in FLOWS:
        lines.append(f"  {quote(source)} -> {quote(target)} [{_attributes(label=label, **style)}];")
    return "\n".join([*lines, "}"]) + "\n"


# --------------------------------------------------------------------------- files


def diagram_sources(project: Path = MLOPS) -> dict[str, str]:
    """Relative path under ``images/`` (without extension) -> DOT source, for every diagram."""
    pipelines = [load_pipeline(name, project) for name in pipeline_names(project)]
    problems = [p for pipeline in pipelines for p in metadata_problems(pipeline)]
    problems += overview_problems(pipeline.uuid for pipeline in pipelines)
    if problems:
        raise DiagramError("cannot draw the pipelines: " + "; ".join(problems))
    sources = {f"{PIPELINE_FOLDER}/{p.uuid}": pipeline_dot(p) for p in pipelines}
    sources[OVERVIEW] = overview_dot(pipelines)
    return sources


def stale_diagrams(images: Path = IMAGES, project: Path = MLOPS) -> list[str]:
    """The ``.dot`` files under ``images`` that are missing or differ from the code."""
    stale = []
    for name, source in diagram_sources(project).items():
        path = images / f"{name}.dot"
        if not path.is_file() or path.read_text(encoding="utf-8") != source:
            stale.append(str(path))
    return stale


def render(dot_file: Path, output: Path) -> None:
    """Render a DOT file with Graphviz's ``dot`` (format from the output's extension)."""
    executable = shutil.which("dot")
    if executable is None:
        raise DiagramError(
            "Graphviz's 'dot' is missing: `make setup-browser` (or apt-get install graphviz)"
        )
    completed = subprocess.run(
        [executable, f"-T{output.suffix.lstrip('.')}", str(dot_file), "-o", str(output)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise DiagramError(f"dot failed on {dot_file}: {completed.stderr.strip()}")


def write_diagrams(
    images: Path = IMAGES, project: Path = MLOPS, image_format: str = "svg"
) -> list[Path]:
    """Write every diagram's DOT source and render it; returns the images written."""
    written = []
    for name, source in diagram_sources(project).items():
        dot_file = images / f"{name}.dot"
        dot_file.parent.mkdir(parents=True, exist_ok=True)
        dot_file.write_text(source, encoding="utf-8")
        output = dot_file.with_suffix(f".{image_format}")
        render(dot_file, output)
        written.append(output)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m machine_learning.diagrams [--check]``."""
    parser = argparse.ArgumentParser(description="Generate the diagrams in images/ from the code.")
    parser.add_argument("--check", action="store_true", help="only list stale diagrams")
    parser.add_argument("--images", type=Path, default=IMAGES)
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_diagrams(args.images)
            for path in stale:
                print(f"stale: {path} (run `make diagrams`)")
            return 1 if stale else 0
        for path in write_diagrams(args.images):
            print(path.relative_to(args.images.parent) if args.images == IMAGES else path)
    except DiagramError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
