"""The diagrams in images/ are current (regenerated from the Mage metadata and compared with the
committed DOT sources, no Graphviz needed), and every pipeline has its page and image."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from machine_learning import diagrams
from machine_learning.config import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"
PIPELINES = diagrams.pipeline_names()
NODE = re.compile(r'^  "((?:[^"\\]|\\.)*)" \[', re.MULTILINE)
SVG_NODE = re.compile(r'<g id="node\d+" class="node">\s*<title>([^<]*)</title>')


def test_the_project_has_the_eight_pipelines():
    assert len(PIPELINES) == 8 and "performance_monitor" in PIPELINES


def test_committed_diagrams_are_current():
    stale = diagrams.stale_diagrams()
    assert not stale, f"stale diagrams (run `make diagrams` and commit): {stale}"


@pytest.mark.parametrize("name", [*(f"pipelines/{p}" for p in PIPELINES), diagrams.OVERVIEW])
def test_each_image_draws_the_nodes_of_its_source(name):
    source = (diagrams.IMAGES / f"{name}.dot").read_text(encoding="utf-8")
    image = (diagrams.IMAGES / f"{name}.svg").read_text(encoding="utf-8")
    unescape = {"&#45;": "-", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
    drawn = set()
    for title in SVG_NODE.findall(image):
        for entity, char in unescape.items():
            title = title.replace(entity, char)
        drawn.add(title)
    assert drawn == set(NODE.findall(source))


@pytest.mark.parametrize("name", PIPELINES)
def test_a_pipeline_diagram_shows_its_blocks_edges_and_triggers(name):
    pipeline = diagrams.load_pipeline(name)
    source = diagrams.pipeline_dot(pipeline)
    for block in pipeline.blocks:
        assert f'  "{block.uuid}" [' in source
        for upstream in block.upstream:
            assert f'  "{upstream}" -> "{block.uuid}";' in source
    for trigger in pipeline.triggers:
        assert f'"trigger:{trigger.name}"' in source and trigger.schedule in source


@pytest.mark.parametrize("name", PIPELINES)
def test_every_pipeline_has_its_page(name):
    page = DOCS / "pipelines" / f"{name}.md"
    assert page.is_file(), f"{page} is missing"
    text = page.read_text(encoding="utf-8")
    assert f"](../../images/pipelines/{name}.svg)" in text
    pipeline = diagrams.load_pipeline(name)
    for block in pipeline.blocks:
        assert f"`{block.uuid}`" in text, f"{page} does not mention block {block.uuid}"
    for trigger in pipeline.triggers:
        assert f"`{trigger.name}`" in text, f"{page} does not mention trigger {trigger.name}"
        if trigger.schedule_type == "time":
            assert f"`{trigger.interval}`" in text and trigger.schedule.split()[0] in text
    assert f"](pipelines/{name}.md)" in (DOCS / "pipelines.md").read_text(encoding="utf-8")


def test_block_files_name_their_library_functions():
    pipeline = diagrams.load_pipeline("batch_inference")
    calls = {block.uuid: block.calls for block in pipeline.blocks}
    assert calls == {
        "load_batch": ("pipelines.load_batch",),
        "predict_batch": ("pipelines.predict_batch",),
        "save_predictions": ("pipelines.save_predictions",),
    }


@pytest.mark.parametrize(
    "expression, words",
    [
        ("0 20 * * *", "daily 20:00 UTC"),
        ("30 23 * * *", "daily 23:30 UTC"),
        ("0 1 * * 6", "Saturdays 01:00 UTC"),
        ("0 6 * * 1", "Mondays 06:00 UTC"),
        ("*/5 * * * *", "cron */5 * * * * (UTC)"),
        ("0 6 1 * *", "cron 0 6 1 * * (UTC)"),
    ],
)
def test_cron_in_words(expression, words):
    assert diagrams.cron_text(expression) == words


def test_labels_are_quoted_for_dot():
    assert diagrams.quote('say "hi"\nback\\slash') == '"say \\"hi\\"\\nback\\\\slash"'


def copy_project(tmp_path: Path) -> Path:
    project = Path(shutil.copytree(diagrams.MLOPS, tmp_path / "mlops", dirs_exist_ok=True))
    return project


def test_one_sided_links_are_reported(tmp_path):
    project = copy_project(tmp_path)
    metadata = project / "pipelines" / "batch_inference" / "metadata.yaml"
    text = metadata.read_text(encoding="utf-8")
    metadata.write_text(text.replace("  - predict_batch\n", "  - save_predictions\n", 1))
    problems = diagrams.metadata_problems(diagrams.load_pipeline("batch_inference", project))
    assert problems and all("batch_inference: " in p for p in problems)
    with pytest.raises(diagrams.DiagramError, match="cannot draw the pipelines"):
        diagrams.diagram_sources(project)


def test_a_new_pipeline_makes_the_diagrams_stale(tmp_path):
    project = copy_project(tmp_path)
    shutil.copytree(project / "pipelines" / "ml_retraining", project / "pipelines" / "extra")
    metadata = project / "pipelines" / "extra" / "metadata.yaml"
    metadata.write_text(
        metadata.read_text(encoding="utf-8").replace("uuid: ml_retraining", "uuid: extra")
    )
    with pytest.raises(diagrams.DiagramError, match="pipeline extra is in no flow"):
        diagrams.stale_diagrams(project=project)


def test_a_changed_schedule_makes_its_diagrams_stale(tmp_path):
    project = copy_project(tmp_path)
    trigger = project / "pipelines" / "batch_inference" / "triggers.yaml"
    trigger.write_text(trigger.read_text(encoding="utf-8").replace("0 20 * * *", "0 21 * * *"))
    assert diagrams.stale_diagrams(project=project) == [
        str(diagrams.IMAGES / "pipelines" / "batch_inference.dot"),
        str(diagrams.IMAGES / f"{diagrams.OVERVIEW}.dot"),  # it shows the schedules too
    ]


def test_a_changed_block_graph_makes_its_diagram_stale(tmp_path):
    """Drop the edge load_training_data -> save_reference_data: first on one side only."""
    project = copy_project(tmp_path)
    metadata = project / "pipelines" / "training_workflow" / "metadata.yaml"
    text = metadata.read_text(encoding="utf-8")
    upstream = "  - train_candidate\n  - load_training_data\n  uuid: save_reference_data"
    downstream = "  - train_candidate\n  - save_reference_data\n"
    assert text.count(upstream) == 1 and text.count(downstream) == 1
    one_sided = text.replace(upstream, "  - train_candidate\n  uuid: save_reference_data")
    metadata.write_text(one_sided, encoding="utf-8")
    problems = diagrams.metadata_problems(diagrams.load_pipeline("training_workflow", project))
    assert len(problems) == 1
    assert "load_training_data has downstream save_reference_data" in problems[0]
    metadata.write_text(one_sided.replace(downstream, "  - train_candidate\n"), encoding="utf-8")
    assert diagrams.stale_diagrams(project=project) == [
        str(diagrams.IMAGES / "pipelines" / "training_workflow.dot")
    ]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is absent")
def test_rendering_writes_every_image(tmp_path):
    written = diagrams.write_diagrams(images=tmp_path)
    assert len(written) == len(PIPELINES) + 1
    assert all(path.stat().st_size > 1000 and path.suffix == ".svg" for path in written)
    assert not diagrams.stale_diagrams(images=tmp_path)
