"""Keep an Evidently workspace folder in step with an S3 bucket (STORAGE=s3), through boto3.

Evidently 0.4.23 reaches S3 only through s3fs, which does not co-install with the pinned
botocore; so the workspace stays a local folder that Evidently reads and writes, and its files
are copied to and from the bucket around each change::

    <S3_PREFIX>/evidently/workspace/<project-id>/metadata.json
    <S3_PREFIX>/evidently/workspace/<project-id>/snapshots/<snapshot-id>.json
    <S3_PREFIX>/evidently/quarantine/...        unreadable files moved out of the workspace

The bucket is the source of truth. :func:`pull` brings the folder up to the bucket (new and
changed files, and files deleted there); :func:`push` sends the files added or changed in the
folder since the last sync, and deletes in the bucket the files deleted in the folder since
then (a re-run day's replaced snapshots). Files that other writers added meanwhile are left
alone. What was synced is remembered in ``.s3-sync.json`` in the folder. Hold the folder's
lock (:func:`workspace_files.locked`) around a pull, an update and a push.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from machine_learning.monitoring import workspace_files as files
from machine_learning.storage import S3Storage, Storage

WORKSPACE_PREFIX = "evidently/workspace/"
QUARANTINE_PREFIX = "evidently/quarantine/"
STATE_FILE = ".s3-sync.json"


@dataclass
class SyncResult:
    """What one pull or push did (relative paths of the workspace files)."""

    pulled: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    removed_locally: list[str] = field(default_factory=list)
    deleted_remotely: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # pulled files found unreadable
    moved_to_quarantine: list[str] = field(default_factory=list)  # in the bucket, by a push
    problems: list[str] = field(default_factory=list)


def is_synced(storage: Storage | None) -> bool:
    """Whether the workspace is mirrored to ``storage`` (S3); locally the folder is all."""
    return isinstance(storage, S3Storage)


def remote_uri(storage: S3Storage) -> str:
    """The bucket location of the workspace, for messages."""
    return storage.uri(WORKSPACE_PREFIX) + "/"


def remote_versions(storage: S3Storage, prefix: str = WORKSPACE_PREFIX) -> dict[str, str]:
    """Relative key -> version (ETag and size) of the objects under ``prefix``."""
    base = f"{storage.prefix}/{prefix}" if storage.prefix else prefix
    versions = {}
    paginator = storage.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=storage.bucket, Prefix=base):
        for item in page.get("Contents", []):
            versions[item["Key"][len(base) :]] = f"{item['ETag'].strip(chr(34))}:{item['Size']}"
    return versions


def _load_state(folder: Path, storage: S3Storage) -> dict[str, dict[str, Any]]:
    """The files as of the last sync with this bucket location (empty for another location)."""
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or state.get("remote") != remote_uri(storage):
        return {}
    return dict(state.get("files", {}))


def _save_state(folder: Path, storage: S3Storage, state: dict[str, dict[str, Any]]) -> None:
    payload = json.dumps({"remote": remote_uri(storage), "files": state}, indent=1, sort_keys=True)
    temporary = folder / f"{STATE_FILE}.{os.getpid()}.tmp"
    temporary.write_text(payload, encoding="utf-8")
    os.replace(temporary, folder / STATE_FILE)


def _entry(version: str | None, stat: os.stat_result) -> dict[str, Any]:
    return {"version": version, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _unchanged(stat: os.stat_result | None, entry: dict[str, Any] | None) -> bool:
    """Whether a local file is as it was at the last sync."""
    return (
        stat is not None
        and entry is not None
        and (stat.st_size, stat.st_mtime_ns) == (entry.get("size"), entry.get("mtime_ns"))
    )


def _pull_file(
    folder: Path, storage: S3Storage, relative: str, version: str, result: SyncResult
) -> dict[str, Any]:
    """Download one file; an unreadable one goes to the quarantine instead of the workspace."""
    data = storage.read_bytes(WORKSPACE_PREFIX + relative)
    problem = files.file_problem(relative, data)
    if problem is None:
        result.pulled.append(relative)
        return _entry(version, files.write_atomically(folder, relative, data))
    target = files.quarantine_path(folder, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    (folder / relative).unlink(missing_ok=True)
    result.quarantined.append(relative)
    result.problems.append(
        f"{storage.uri(WORKSPACE_PREFIX + relative)}: {problem}; not placed in the workspace, "
        f"copy kept at {target}"
    )
    return {"version": version, "quarantined": True}


def pull(folder: Path, storage: S3Storage) -> SyncResult:
    """Bring ``folder`` up to the bucket: new or changed files are downloaded (checked first),
    files deleted in the bucket since the last sync are deleted locally."""
    result = SyncResult()
    folder.mkdir(parents=True, exist_ok=True)
    state = _load_state(folder, storage)
    local = files.local_files(folder)
    remote = {
        k: v for k, v in remote_versions(storage).items() if files.WORKSPACE_FILE.fullmatch(k)
    }
    for relative, version in sorted(remote.items()):  # metadata before its snapshots
        entry = state.get(relative)
        if entry is not None and entry.get("version") == version:
            if entry.get("quarantined") or _unchanged(local.get(relative), entry):
                continue
        state[relative] = _pull_file(folder, storage, relative, version, result)
    for relative in sorted(set(state) - set(remote)):
        entry = state.pop(relative)
        if relative in local and not entry.get("quarantined"):
            (folder / relative).unlink()
            result.removed_locally.append(relative)
    _save_state(folder, storage, state)
    return result


def _move_to_quarantine(storage: S3Storage, relative: str) -> None:
    data = storage.read_bytes(WORKSPACE_PREFIX + relative)
    storage.write_bytes(QUARANTINE_PREFIX + relative, data)
    storage.delete(WORKSPACE_PREFIX + relative)


def push(folder: Path, storage: S3Storage) -> SyncResult:
    """Send the files added or changed in ``folder`` since the last sync; delete in the bucket
    the files deleted locally since then; move unreadable ones to the bucket's quarantine."""
    result = SyncResult()
    state = _load_state(folder, storage)
    local = files.local_files(folder)
    remote = remote_versions(storage)
    for relative, stat in sorted(local.items()):
        entry = state.get(relative)
        if entry is not None and not entry.get("quarantined") and _unchanged(stat, entry):
            continue
        storage.write_bytes(WORKSPACE_PREFIX + relative, (folder / relative).read_bytes())
        result.pushed.append(relative)
        state[relative] = _entry(None, stat)
    for relative, entry in sorted(state.items()):
        if relative in local:
            continue
        known = remote.get(relative) == entry.get("version")  # nobody replaced it meanwhile
        if entry.get("quarantined") and known:
            _move_to_quarantine(storage, relative)
            result.moved_to_quarantine.append(relative)
        elif known:
            storage.delete(WORKSPACE_PREFIX + relative)
            result.deleted_remotely.append(relative)
        del state[relative]
    if result.pushed:
        remote = remote_versions(storage)
        for relative in result.pushed:
            state[relative]["version"] = remote.get(relative)
    _save_state(folder, storage, state)
    return result
