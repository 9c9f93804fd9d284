"""The files of an Evidently workspace folder: which ones Evidently reads, whether it can read
them, unreadable ones moved aside, and a lock that serialises the processes writing the folder.

Evidently 0.4.23 keeps a project in ``<project-id>/metadata.json`` and each snapshot in
``<project-id>/snapshots/<snapshot-id>.json``. One unreadable file (a snapshot cut short by a
crash, a file that is not JSON) makes the whole workspace fail to open, and ``evidently ui``
fail to start. Unreadable files are therefore moved to ``.quarantine/`` in the folder (kept for
inspection, ignored by Evidently). Dot-entries of the folder (``.quarantine/``, ``.lock``,
the S3 sync state) are never read by Evidently.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Iterator

METADATA = "metadata.json"
SNAPSHOTS = "snapshots"
QUARANTINE = ".quarantine"
LOCK_FILE = ".lock"
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The files Evidently reads, relative to the workspace folder ('/'-separated).
WORKSPACE_FILE = re.compile(rf"{_UUID}/(?:{METADATA}|{SNAPSHOTS}/{_UUID}\.json)")


class WorkspaceError(RuntimeError):
    """The Evidently workspace cannot be used (the message names the folder and the problem)."""


def is_metadata(relative: str) -> bool:
    """Whether a workspace file is a project's metadata (else a snapshot)."""
    return relative.endswith("/" + METADATA)


def file_problem(relative: str, data: bytes) -> str | None:
    """Why Evidently cannot read this workspace file (``relative`` tells its kind), else None."""
    # pylint: disable=import-outside-toplevel
    from evidently._pydantic_compat import ValidationError, parse_obj_as
    from evidently.suite.base_suite import Snapshot
    from evidently.ui.base import Project

    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        return f"not UTF-8 text (byte {error.start})"
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
    kind, model = ("project metadata", Project) if is_metadata(relative) else ("snapshot", Snapshot)
    try:
        parse_obj_as(model, document)
    except (ValidationError, TypeError, ValueError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"not an Evidently {kind} ({first_line})"
    return None


def _project_folders(folder: Path) -> list[Path]:
    """The sub-folders that Evidently opens as projects (those with a metadata file)."""
    if not folder.is_dir():
        return []
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and (entry / METADATA).exists()
    )


def unreadable_files(folder: Path) -> list[tuple[str, str]]:
    """``(relative path, problem)`` of every entry that would stop Evidently opening ``folder``.

    A project whose metadata is unreadable is reported as its whole folder (its snapshots cannot
    be attributed to a project without it).
    """
    found: list[tuple[str, str]] = []
    for project in _project_folders(folder):
        problem = file_problem(f"{project.name}/{METADATA}", (project / METADATA).read_bytes())
        if problem:
            found.append((project.name, problem))
            continue
        snapshots = project / SNAPSHOTS
        for entry in sorted(snapshots.iterdir()) if snapshots.is_dir() else []:
            relative = entry.relative_to(folder).as_posix()
            if not entry.is_file() or not WORKSPACE_FILE.fullmatch(relative):
                found.append((relative, "not a snapshot file named <snapshot-id>.json"))
                continue
            problem = file_problem(relative, entry.read_bytes())
            if problem:
                found.append((relative, problem))
    return found


def quarantine_path(folder: Path, relative: str) -> Path:
    """Where an unreadable entry is kept: ``.quarantine/<relative>`` (suffixed if taken)."""
    target = folder / QUARANTINE / relative
    if target.exists():
        target = target.with_name(f"{target.name}.{time.time_ns()}")
    return target


def quarantine(folder: Path, relative: str) -> Path:
    """Move an entry of the workspace to its quarantine path; returns where it went."""
    target = quarantine_path(folder, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(folder / relative), str(target))
    return target


def quarantine_unreadable(folder: Path) -> list[tuple[str, str]]:
    """Move every unreadable entry to the quarantine; returns ``(relative path, message)``."""
    moved = []
    for relative, problem in unreadable_files(folder):
        target = quarantine(folder, relative)
        moved.append((relative, f"{relative}: {problem}; moved to {target}"))
    return moved


def write_atomically(folder: Path, relative: str, data: bytes) -> os.stat_result:
    """Write a workspace file whole (temporary file, then rename), then touch it.

    The temporary file lives in ``.sync-tmp/`` (never read by Evidently). The final touch gives
    a running ``evidently ui`` a 'modified' event for the complete file: its watcher ignores
    renames, and would otherwise not see the new snapshot.
    """
    target = folder / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = folder / ".sync-tmp"
    staging.mkdir(exist_ok=True)
    temporary = staging / f"{target.name}.{os.getpid()}.{time.time_ns()}.tmp"
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    os.utime(target)
    return target.stat()


def local_files(folder: Path) -> dict[str, os.stat_result]:
    """The workspace files Evidently reads, relative path -> stat."""
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.glob("*/**/*.json"):
        relative = path.relative_to(folder).as_posix()
        if WORKSPACE_FILE.fullmatch(relative) and path.is_file():
            found[relative] = path.stat()
    return found


@contextlib.contextmanager
def locked(folder: Path, timeout: float = 120.0) -> Iterator[None]:
    """Hold the workspace's lock file (one writer or sync at a time, across processes)."""
    if folder.exists() and not folder.is_dir():
        raise WorkspaceError(f"the Evidently workspace {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_FILE, "a+b")  # pylint: disable=consider-using-with
    except OSError as error:
        raise WorkspaceError(f"the Evidently workspace {folder} is not usable: {error}") from error
    with handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as error:
                if time.monotonic() > deadline:
                    raise WorkspaceError(
                        f"the Evidently workspace {folder} stayed locked for {timeout:.0f} s "
                        f"(another process holds {folder / LOCK_FILE})"
                    ) from error
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
