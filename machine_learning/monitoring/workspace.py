"""The Evidently workspace: project "Online gaming engagement", its dashboard, its snapshots.

The workspace is a folder that ``evidently ui --workspace <folder>`` serves; snapshots added
while the UI runs appear without a restart. Creating the project and its dashboard is
idempotent: panels are matched by title, so running twice does not duplicate anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from evidently.renderers.html_widgets import WidgetSize
from evidently.report import Report
from evidently.test_suite import TestSuite
from evidently.tests.base_test import TestStatus
from evidently.ui.base import Project
from evidently.ui.dashboards import (
    CounterAgg,
    DashboardPanelCounter,
    DashboardPanelPlot,
    DashboardPanelTestSuite,
    DashboardPanelTestSuiteCounter,
    PanelValue,
    PlotType,
    ReportFilter,
    TestSuitePanelType,
)
from evidently.ui.dashboards.base import DashboardPanel
from evidently.ui.workspace import Workspace

from machine_learning.monitoring import reports
from machine_learning.monitoring.suites import SUITE_TAG
from machine_learning.schema import CLASS_LABELS, KEY_DRIFT_COLUMNS, PREDICTION_COLUMN

PROJECT_NAME = "Online gaming engagement"
PROJECT_DESCRIPTION = (
    "Daily drift tests and reports of the engagement model's inputs and predictions; "
    "weekly true accuracy and macro F1 once labels arrive."
)

WorkspaceLike = Workspace | str | Path


def open_workspace(workspace: WorkspaceLike) -> Workspace:
    """The local workspace at a folder (created if absent); a Workspace is returned as is."""
    if isinstance(workspace, (str, Path)):
        return Workspace.create(str(workspace))
    return workspace


def find_project(workspace: WorkspaceLike, name: str = PROJECT_NAME) -> Project | None:
    """The project called exactly ``name`` (the first by id when several), else None."""
    matches = [p for p in open_workspace(workspace).list_projects() if p.name == name]
    return min(matches, key=lambda p: str(p.id)) if matches else None


def ensure_project(workspace: WorkspaceLike, name: str = PROJECT_NAME) -> Project:
    """The project called ``name``, created when absent."""
    workspace = open_workspace(workspace)
    project = find_project(workspace, name)
    if project is None:
        project = workspace.create_project(name, description=PROJECT_DESCRIPTION)
    return project


def _tagged(tag: str, test_suites: bool = False) -> ReportFilter:
    return ReportFilter(metadata_values={}, tag_values=[tag], include_test_suites=test_suites)


def _column_drift(column: str) -> PanelValue:
    return PanelValue(
        metric_id="ColumnDriftMetric",
        metric_args={"column_name.name": column},
        field_path="drift_score",
        legend=column,
    )


def _plot(title: str, tag: str, values: list[PanelValue], plot_type: PlotType, half: bool = True):
    return DashboardPanelPlot(
        title=title,
        filter=_tagged(tag),
        values=values,
        plot_type=plot_type,
        size=WidgetSize.HALF if half else WidgetSize.FULL,
    )


def _counters() -> list[DashboardPanel]:
    return [
        DashboardPanelCounter(
            title="Drift of the model's inputs and predictions; true performance per week",
            text=PROJECT_NAME,
            filter=ReportFilter(metadata_values={}, tag_values=[]),
            agg=CounterAgg.NONE,
        ),
        DashboardPanelCounter(
            title="Latest share of drifted columns",
            filter=_tagged(reports.DATA_DRIFT),
            value=PanelValue(metric_id="DatasetDriftMetric", field_path="share_of_drifted_columns"),
            agg=CounterAgg.LAST,
            size=WidgetSize.HALF,
        ),
        DashboardPanelTestSuiteCounter(
            title="Latest drift tests passed",
            filter=_tagged(SUITE_TAG, test_suites=True),
            agg=CounterAgg.LAST,
            statuses=[TestStatus.SUCCESS],
            size=WidgetSize.HALF,
        ),
    ]


def _plots() -> list[DashboardPanel]:
    rows = PanelValue(
        metric_id="DatasetSummaryMetric", field_path="current.number_of_rows", legend="rows scored"
    )
    share = PanelValue(
        metric_id="DatasetDriftMetric", field_path="share_of_drifted_columns", legend="share"
    )
    class_shares = [
        PanelValue(
            metric_id="ColumnCategoryMetric",
            metric_args={"column_name.name": PREDICTION_COLUMN, "category": label},
            field_path="current.category_ratio",
            legend=label,
        )
        for label in CLASS_LABELS
    ]
    quality = [
        PanelValue(
            metric_id="ClassificationQualityMetric", field_path=f"current.{field}", legend=name
        )
        for field, name in (("accuracy", "accuracy"), ("f1", "macro F1"))
    ]
    return [
        _plot("Rows scored per day", reports.DATA_QUALITY, [rows], PlotType.BAR),
        _plot("Share of drifted columns", reports.DATA_DRIFT, [share], PlotType.LINE),
        _plot(
            "Drift score: " + " and ".join(KEY_DRIFT_COLUMNS),
            reports.DATA_DRIFT,
            [_column_drift(c) for c in KEY_DRIFT_COLUMNS],
            PlotType.LINE,
        ),
        _plot(
            "Prediction drift score",
            reports.PREDICTION_DRIFT,
            [_column_drift(PREDICTION_COLUMN)],
            PlotType.LINE,
        ),
        _plot("Prediction class shares", reports.PREDICTION_DRIFT, class_shares, PlotType.BAR),
        _plot(
            "True accuracy and macro F1 per week",
            reports.CLASSIFICATION_PERFORMANCE,
            quality,
            PlotType.LINE,
        ),
    ]


def dashboard_panels() -> list[DashboardPanel]:
    """The dashboard's panels, in display order (titles are unique: they identify panels)."""
    suite_panel = DashboardPanelTestSuite(
        title="Drift tests per day: passed and failed",
        filter=_tagged(SUITE_TAG, test_suites=True),
        panel_type=TestSuitePanelType.AGGREGATE,
        time_agg="1D",
        size=WidgetSize.FULL,
    )
    return [*_counters(), *_plots(), suite_panel]


def ensure_dashboard(workspace: WorkspaceLike, name: str = PROJECT_NAME) -> Project:
    """The project with the dashboard's panels; existing panels keep their ids, none duplicate.

    Panels of the same title are replaced by the current definition (same id); panels added by
    hand under other titles are kept after ours. The project is saved only when it changed.
    """
    project = ensure_project(workspace, name)
    existing = {panel.title: panel for panel in project.dashboard.panels}
    wanted = dashboard_panels()
    for panel in wanted:
        if panel.title in existing:
            panel.id = existing[panel.title].id
    titles = {panel.title for panel in wanted}
    panels = wanted + [p for p in project.dashboard.panels if p.title not in titles]
    if [p.json() for p in panels] != [p.json() for p in project.dashboard.panels]:
        project.dashboard.panels = panels
        project.save()
    return project


def _same_slot(snapshot, item: Report | TestSuite) -> bool:
    """Whether a stored snapshot is an earlier run of ``item``: same kind, tags and timestamp."""
    return (
        snapshot.id != item.id
        and snapshot.is_report == isinstance(item, Report)
        and sorted(snapshot.tags) == sorted(item.tags)
        and snapshot.timestamp == item.timestamp
    )


def add_to_workspace(
    workspace: WorkspaceLike,
    items: Iterable[Report | TestSuite],
    name: str = PROJECT_NAME,
    replace: bool = True,
) -> list[str]:
    """Add run reports / test suites as snapshots of the project (dashboard ensured first).

    Returns the snapshot ids. Each snapshot keeps its item's timestamp, which places it on the
    dashboard's time axis (pass a day's timestamp when building reports for a past day).
    ``replace``: an earlier snapshot of the same kind, tags and timestamp (a re-run of the same
    day) is deleted, so that re-running a day does not double its points.
    """
    workspace = open_workspace(workspace)
    project = ensure_dashboard(workspace, name)
    items = list(items)
    if replace:
        for snapshot in project.list_snapshots():
            if any(_same_slot(snapshot, item) for item in items):
                workspace.delete_snapshot(project.id, snapshot.id)
    ids = []
    for item in items:
        workspace.add_snapshot(project.id, item.to_snapshot())
        ids.append(str(item.id))
    return ids


def default_workspace(settings: object) -> Path:
    """The workspace folder: ``settings.evidently_workspace`` (EVIDENTLY_WORKSPACE), else
    ``evidently/`` next to the local data folder."""
    configured = getattr(settings, "evidently_workspace", None)
    if configured:
        return Path(configured)
    return Path(getattr(settings, "data_dir")).parent / "evidently"
