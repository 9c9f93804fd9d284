"""The Evidently UI process: ``python -m machine_learning.monitoring.evidently_ui``.

It prepares the workspace folder, then serves it with Evidently's own UI server (what
``evidently ui`` runs, in this process: Evidently is imported once), on 127.0.0.1:

- unreadable files are moved aside (one would stop ``evidently ui`` from starting), and the
  project with its dashboard is ensured: Evidently 0.4.23's file watcher stops following the
  folder when a project appears while it runs, so the project must exist before;
- with S3 storage (``--bucket``, else the settings' when ``STORAGE=s3``; ``--local`` never),
  the folder is first pulled from the bucket (``<S3_PREFIX>/evidently/workspace/``), then pulled
  again every ``--every`` seconds while the UI runs, so that snapshots written elsewhere appear
  without a restart (new files are placed whole, then touched: the watcher follows such
  "modified" events). Locally, snapshots written to the folder appear directly.

:func:`machine_learning.monitoring.ui.start_ui` starts it from Python.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from evidently.ui.app import run_local  # what `evidently ui` runs

from machine_learning import services
from machine_learning.config import load_settings
from machine_learning.monitoring import workspace_files, workspace_sync
from machine_learning.monitoring.ui import DEFAULT_SYNC_SECONDS
from machine_learning.monitoring.workspace import WORKSPACE_FAULTS, update_workspace
from machine_learning.storage import S3Storage, Storage, storage_from_settings

LOGGER = logging.getLogger("machine_learning.monitoring.evidently_ui")


def prepare(workspace: Path, storage: Storage | None) -> None:
    """Pull (S3), move unreadable files aside, ensure the project and dashboard, push (S3)."""
    update = update_workspace(workspace, [], storage)
    for problem in update.problems:
        LOGGER.error("Evidently workspace: %s", problem)
    LOGGER.info(
        "workspace %s ready (pulled %d files, pushed %d)",
        workspace,
        update.pulled,
        update.pushed,
    )


def pull_once(workspace: Path, storage: S3Storage) -> None:
    """One periodic pull (under the folder's lock); faults are logged, the UI keeps running."""
    try:
        with workspace_files.locked(workspace):
            result = workspace_sync.pull(workspace, storage)
    except WORKSPACE_FAULTS as error:
        LOGGER.error("could not pull the workspace: %s: %s", type(error).__name__, error)
        return
    for problem in result.problems:
        LOGGER.error("Evidently workspace: %s", problem)
    if result.pulled or result.removed_locally:
        LOGGER.info("pulled %d files, removed %d", len(result.pulled), len(result.removed_locally))


def _keep_pulling(workspace: Path, storage: S3Storage, every: float) -> threading.Thread:
    """A daemon thread that pulls the workspace every ``every`` seconds."""

    def loop() -> None:
        while True:
            time.sleep(every)
            pull_once(workspace, storage)

    thread = threading.Thread(target=loop, name="workspace-pull", daemon=True)
    thread.start()
    return thread


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Prepare an Evidently workspace and serve it.")
    parser.add_argument("--workspace", type=Path, help="workspace folder (EVIDENTLY_WORKSPACE)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--every", type=float, default=DEFAULT_SYNC_SECONDS, help="pull period")
    parser.add_argument("--bucket", help="S3 bucket (default: the settings' when STORAGE=s3)")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--local", action="store_true", help="serve the folder as it is")
    return parser


def _storage(args: argparse.Namespace) -> Storage | None:
    """The bucket to mirror: the arguments', else the settings' when STORAGE=s3."""
    if args.local:
        return None
    if args.bucket:
        return S3Storage(args.bucket, args.prefix, args.endpoint_url, args.region)
    settings = load_settings()
    return storage_from_settings(settings) if settings.storage == "s3" else None


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the workspace, then serve it (see the module's docstring)."""
    args = _parser().parse_args(argv)
    if args.every <= 0:
        raise SystemExit(f"--every must be a number of seconds greater than 0, got {args.every}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    workspace = Path(args.workspace or load_settings().evidently_workspace)
    storage = _storage(args)
    prepare(workspace, storage)
    if isinstance(storage, S3Storage):
        _keep_pulling(workspace, storage, args.every)
    run_local(services.HOST, args.port, str(workspace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
