"""The Evidently workspace: project "Online gaming engagement", its dashboard, its snapshots.

The workspace is a folder that ``evidently ui --workspace <folder>`` serves; snapshots added
while the UI runs appear without a restart. Creating the project and its dashboard is
idempotent: panels are matched by title, so running twice does not duplicate anything.

With S3 storage the folder is mirrored to the bucket (:mod:`.workspace_sync`): pulled before
snapshots are added, the new files pushed after. A missing folder is recreated (from the bucket
with S3); unreadable files are moved aside (:mod:`.workspace_files`) and reported, so that a
damaged workspace never stops the monitoring decision (:func:`publish_to_workspace`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
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

from machine_learning.monitoring import persistence, reports
from machine_learning.monitoring import workspace_files as files
from machine_learning.monitoring import workspace_sync as sync
from machine_learning.monitoring.suites import SUITE_TAG
from machine_learning.monitoring.workspace_files import WorkspaceError
from machine_learning.schema import CLASS_LABELS, KEY_DRIFT_COLUMNS, PREDICTION_COLUMN
from machine_learning.storage import Storage, StorageError

PROJECT_NAME = "Online gaming engagement"
PROJECT_DESCRIPTION = (
    "Daily drift tests and reports of the engagement model's inputs and predictions; "
    "weekly true accuracy and macro F1 once labels arrive."
)

WorkspaceLike = Workspace | str | Path
LOGGER = logging.getLogger(__name__)
# What a damaged or unreachable workspace raises (Evidently's parse errors are ValueErrors).
WORKSPACE_FAULTS = (OSError, ValueError, StorageError, WorkspaceError, BotoCoreError, ClientError)
_T = TypeVar("_T")


def open_repaired(folder: str | Path) -> tuple[Workspace, list[tuple[str, str]]]:
    """The workspace at ``folder`` (created if absent), with unreadable files moved aside.

    Returns it with ``(relative path, message)`` per entry moved to ``.quarantine/``; raises
    :class:`WorkspaceError` when it cannot be opened and no unreadable file explains why.
    """
    folder = Path(folder)
    try:
        return Workspace.create(str(folder)), []
    except (ValueError, TypeError, KeyError) as error:
        moved = files.quarantine_unreadable(folder)
        if not moved:
            raise WorkspaceError(
                f"the Evidently workspace {folder} cannot be opened: {error}"
            ) from error
    return Workspace.create(str(folder)), moved


def open_workspace(workspace: WorkspaceLike) -> Workspace:
    """The local workspace at a folder (created if absent, unreadable files moved aside and
    logged); a Workspace is returned as is."""
    if isinstance(workspace, (str, Path)):
        opened, moved = open_repaired(workspace)
        for _, message in moved:
            LOGGER.warning("Evidently workspace: %s", message)
        return opened
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


@dataclass
class WorkspaceUpdate:  # pylint: disable=too-many-instance-attributes
    """What adding snapshots did: their ids, the sync with the bucket, files moved aside and
    the problems met (empty when all went well)."""

    workspace: str
    remote: str | None = None
    snapshot_ids: list[str] = field(default_factory=list)
    added: bool = False
    created: bool = False
    pulled: int = 0
    pushed: int = 0
    removed_locally: int = 0
    deleted_remotely: int = 0
    quarantined: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def absorb(self, result: sync.SyncResult) -> bool:
        """Count a pull's or push's work; True."""
        self.pulled += len(result.pulled)
        self.pushed += len(result.pushed)
        self.removed_locally += len(result.removed_locally)
        self.deleted_remotely += len(result.deleted_remotely)
        self.quarantined += result.quarantined
        self.problems += result.problems
        return True

    def as_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)


def _add_snapshots(
    workspace: Workspace, items: list[Report | TestSuite], name: str, replace: bool
) -> list[str]:
    project = ensure_dashboard(workspace, name)
    if replace:
        for snapshot in project.list_snapshots():
            if any(_same_slot(snapshot, item) for item in items):
                workspace.delete_snapshot(project.id, snapshot.id)
    ids = []
    for item in items:
        workspace.add_snapshot(project.id, item.to_snapshot())
        ids.append(str(item.id))
    return ids


def _attempt(update: WorkspaceUpdate, failure: str, action: Callable[[], _T]) -> _T | None:
    """``action()``; a workspace fault becomes a problem of ``update`` (and None)."""
    try:
        return action()
    except WORKSPACE_FAULTS as error:
        update.problems.append(f"{failure}: {type(error).__name__}: {error}")
        return None


def _open_for_update(
    folder: Path, remote: Storage | None, update: WorkspaceUpdate
) -> Workspace | None:
    """Open the folder; unreadable files are moved aside (and restored from the bucket when it
    holds a readable copy)."""
    opened, moved = open_repaired(folder)
    update.quarantined += [relative for relative, _ in moved]
    update.problems += [message for _, message in moved]
    if moved and remote is not None:
        restored = _attempt(
            update,
            f"could not restore the moved files from {update.remote}",
            lambda: update.absorb(sync.pull(folder, remote)),
        )
        if restored:
            opened = Workspace.create(str(folder))
    return opened


def _update_folder(
    folder: Path,
    items: list[Report | TestSuite],
    remote: Storage | None,
    options: tuple[str, bool],
    update: WorkspaceUpdate,
) -> None:
    """Pull, add, push (the caller holds the folder's lock)."""
    name, replace = options
    pulled = remote is None or _attempt(
        update,
        f"could not pull the workspace from {update.remote} (snapshots are added locally and "
        "sent with the next successful push)",
        lambda: update.absorb(sync.pull(folder, remote)),
    )
    update.created = not files.local_files(folder)
    opened = _attempt(
        update,
        f"could not open the Evidently workspace {folder}",
        lambda: _open_for_update(folder, remote, update),
    )
    if opened is None:
        return
    ids = _attempt(
        update,
        f"could not add {len(items)} snapshot(s) to the Evidently workspace {folder}",
        lambda: _add_snapshots(opened, items, name, replace),
    )
    if ids is not None:
        update.snapshot_ids, update.added = ids, True
    if remote is not None and pulled:
        _attempt(
            update,
            f"could not push the workspace to {update.remote} (files are sent with the next push)",
            lambda: update.absorb(sync.push(folder, remote)),
        )


def update_workspace(
    workspace: WorkspaceLike,
    items: Iterable[Report | TestSuite] = (),
    storage: Storage | None = None,
    name: str = PROJECT_NAME,
    replace: bool = True,
) -> WorkspaceUpdate:
    """Add ``items`` as snapshots of the project (none: only ensure the project and dashboard).

    With S3 ``storage`` the folder is pulled from the bucket first and the new files pushed
    after, under the folder's lock; other storages leave the folder as the only copy.
    Workspace faults (unreadable files, an unusable folder, an unreachable bucket) never raise:
    they are in ``problems``, and ``added`` says whether the snapshots were added.
    """
    items = list(items)
    remote = storage if sync.is_synced(storage) else None
    if not isinstance(workspace, (str, Path)):
        if remote is not None:
            raise TypeError("syncing with the bucket needs the workspace folder, not a Workspace")
        update = WorkspaceUpdate(workspace=str(getattr(workspace, "path", "workspace")))
        ids = _attempt(
            update,
            "could not add snapshots to the Evidently workspace",
            lambda: _add_snapshots(workspace, items, name, replace),
        )
        update.snapshot_ids, update.added = ids or [], ids is not None
        return update
    folder = Path(workspace)
    update = WorkspaceUpdate(str(folder), remote=sync.remote_uri(remote) if remote else None)
    try:
        with files.locked(folder):
            _update_folder(folder, items, remote, (name, replace), update)
    except WorkspaceError as error:
        update.problems.append(str(error))
    return update


def add_to_workspace(
    workspace: WorkspaceLike,
    items: Iterable[Report | TestSuite],
    name: str = PROJECT_NAME,
    replace: bool = True,
    storage: Storage | None = None,
) -> list[str]:
    """Add run reports / test suites as snapshots of the project (dashboard ensured first).

    Returns the snapshot ids. Each snapshot keeps its item's timestamp, which places it on the
    dashboard's time axis (pass a day's timestamp when building reports for a past day).
    ``replace``: an earlier snapshot of the same kind, tags and timestamp (a re-run of the same
    day) is deleted, so that re-running a day does not double its points. ``storage``: S3
    storage mirrors the folder to the bucket (see :func:`update_workspace`).

    Repaired faults are logged; :class:`WorkspaceError` when the snapshots could not be added
    (:func:`publish_to_workspace` reports instead of raising).
    """
    update = update_workspace(workspace, items, storage, name, replace)
    for problem in update.problems:
        LOGGER.warning("Evidently workspace: %s", problem)
    if not update.added:
        raise WorkspaceError("; ".join(update.problems))
    return update.snapshot_ids


def _day_of(items: list[Report | TestSuite]) -> dt.date:
    """The day of the run that made the items: their latest timestamp (earlier ones are
    back-filled days); today without items."""
    stamps = [item.timestamp for item in items if item.timestamp is not None]
    return max(stamps).date() if stamps else dt.date.today()


def publish_to_workspace(
    workspace: WorkspaceLike,
    items: Iterable[Report | TestSuite],
    storage: Storage,
    name: str = PROJECT_NAME,
) -> WorkspaceUpdate:
    """The pipelines' dashboard step: :func:`update_workspace`, never raising for workspace
    faults, so that the monitoring decision goes on.

    Problems are logged as errors and recorded in ``reports/<day>/workspace_problems.json`` of
    ``storage`` (the day of the items' latest timestamp; one entry per incident).
    """
    items = list(items)
    update = update_workspace(workspace, items, storage, name)
    if not update.problems:
        LOGGER.info(
            "Evidently workspace %s: %d snapshot(s) added (pulled %d, pushed %d files)",
            update.workspace,
            len(update.snapshot_ids),
            update.pulled,
            update.pushed,
        )
        return update
    for problem in update.problems:
        LOGGER.error("Evidently workspace: %s", problem)
    try:
        uri = persistence.save_workspace_problems(storage, _day_of(items), update.as_dict())
        LOGGER.error("Evidently workspace problems recorded in %s", uri)
    except WORKSPACE_FAULTS as error:
        LOGGER.error("could not record the Evidently workspace problems: %s", error)
    return update


def default_workspace(settings: object) -> Path:
    """The workspace folder: ``settings.evidently_workspace`` (EVIDENTLY_WORKSPACE), else
    ``evidently/`` next to the local data folder."""
    configured = getattr(settings, "evidently_workspace", None)
    if configured:
        return Path(configured)
    return Path(getattr(settings, "data_dir")).parent / "evidently"
