"""Storage: one small interface, a local-folder backend (default) and an S3 backend (boto3).

Writes are atomic: a local write goes to a temporary file in the same folder and is renamed
into place; an S3 object becomes visible only when its upload completes. Keys are '/'-separated
relative paths; :mod:`machine_learning.layout` says which key holds what.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, TypeVar

import pandas as pd

from machine_learning.config import Settings

_T = TypeVar("_T")


class StorageError(RuntimeError):
    """A key that cannot be read or written (the message names it)."""


class Storage(ABC):
    """What every backend provides."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's content; :class:`StorageError` when absent."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Write the object atomically (replacing any previous content)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether the object exists."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys under ``prefix``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object if present."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """Where the object lives, for people and for tools that take a URI."""


def _check_key(key: str) -> str:
    clean = key.strip("/")
    if not clean or any(part in {"", ".", ".."} for part in clean.split("/")):
        raise StorageError(f"invalid storage key {key!r}")
    return clean


class LocalStorage(Storage):
    """Objects as files under a root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise StorageError(f"no object '{key}' in {self.root}") from error

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str = "") -> list[str]:
        if not self.root.exists():
            return []
        keys = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )
        return sorted(k for k in keys if k.startswith(prefix.strip("/")))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return str(self._path(key))


# Bounded retries by botocore's "standard" mode (exponential backoff with jitter, retried on
# connection errors, timeouts, throttling and 5xx), then a StorageError naming endpoint and key.
S3_MAX_ATTEMPTS = 4
S3_CONNECT_TIMEOUT = 5.0
S3_READ_TIMEOUT = 30.0


class S3Storage(Storage):
    """Objects in an S3 bucket under an optional prefix (any S3-compatible endpoint)."""

    def __init__(  # pylint: disable=too-many-arguments
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client=None,
        *,
        max_attempts: int = S3_MAX_ATTEMPTS,
        timeouts: tuple[float, float] = (S3_CONNECT_TIMEOUT, S3_READ_TIMEOUT),
    ) -> None:
        if client is None:
            # pylint: disable=import-outside-toplevel
            import boto3
            from botocore.config import Config

            retries = {"mode": "standard", "total_max_attempts": max_attempts}
            config = Config(retries=retries, connect_timeout=timeouts[0], read_timeout=timeouts[1])
            client = boto3.client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _call(self, action: str, target: str, operation: Callable[[], _T]) -> _T:
        """Run one S3 operation; a failure left after botocore's retries names endpoint and key."""
        # pylint: disable=import-outside-toplevel
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation()
        except (BotoCoreError, ClientError, Boto3Error) as error:
            attempts = (self.client.meta.config.retries or {}).get("total_max_attempts")
            tried = f" after {attempts} attempts" if attempts else ""
            raise StorageError(
                f"S3 {action} of {target} at {self.client.meta.endpoint_url} failed{tried}: {error}"
            ) from error

    def _key(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def read_bytes(self, key: str) -> bytes:
        def read() -> bytes:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()

        try:
            return self._call("read", self.uri(key), read)
        except StorageError as error:
            if isinstance(error.__cause__, self.client.exceptions.NoSuchKey):
                raise StorageError(
                    f"no object '{key}' in s3://{self.bucket}/{self.prefix}"
                ) from error.__cause__
            raise

    def write_bytes(self, key: str, data: bytes) -> None:
        # upload_fileobj switches to multipart for large objects; either way S3 shows the
        # object only once the upload has completed (a writer killed mid-upload leaves none).
        self._call(
            "write",
            self.uri(key),
            lambda: self.client.upload_fileobj(io.BytesIO(data), self.bucket, self._key(key)),
        )

    def exists(self, key: str) -> bool:
        response = self._call(
            "listing",
            self.uri(key),
            lambda: self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=self._key(key), MaxKeys=1
            ),
        )
        return any(item["Key"] == self._key(key) for item in response.get("Contents", []))

    def list_keys(self, prefix: str = "") -> list[str]:
        full_prefix = f"{self.prefix}/" if self.prefix else ""
        search = full_prefix + prefix.strip("/")

        def listing() -> list[str]:
            paginator = self.client.get_paginator("list_objects_v2")
            keys = []
            for page in paginator.paginate(Bucket=self.bucket, Prefix=search):
                keys.extend(item["Key"][len(full_prefix) :] for item in page.get("Contents", []))
            return keys

        return sorted(self._call("listing", f"s3://{self.bucket}/{search}", listing))

    def delete(self, key: str) -> None:
        self._call(
            "delete",
            self.uri(key),
            lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)),
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def storage_from_settings(settings: Settings) -> Storage:
    """The backend that ``settings`` select."""
    if settings.storage == "s3":
        return S3Storage(
            settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url, settings.aws_region
        )
    return LocalStorage(settings.data_dir)


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would execute (``=cmd|...``) with a quote."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or str(safe[column].dtype) == "string":
            text = safe[column].astype("string")
            risky = text.str.startswith(_FORMULA_PREFIXES).fillna(False)
            # A plain negative number is not a formula.
            risky &= pd.to_numeric(text, errors="coerce").isna()
            safe[column] = text.where(~risky, "'" + text)
    return safe


def write_csv(storage: Storage, key: str, frame: pd.DataFrame) -> str:
    """Write ``frame`` as CSV (formula-like text neutralised) and return its URI."""
    storage.write_bytes(key, neutralise_formulas(frame).to_csv(index=False).encode("utf-8"))
    return storage.uri(key)


def read_csv(storage: Storage, key: str, as_text: bool = False) -> pd.DataFrame:
    """Read a CSV object (``as_text``: every column as string, for validation)."""
    data = storage.read_bytes(key)
    return read_csv_bytes(data, as_text=as_text, source=storage.uri(key))


def read_csv_bytes(data: bytes, as_text: bool = False, source: str = "input") -> pd.DataFrame:
    """Parse CSV bytes; a file that is empty or not UTF-8 raises a clear :class:`StorageError`."""
    if not data.strip():
        raise StorageError(f"{source} is empty (no header, no rows)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offending = data[error.start : error.start + 1]
        raise StorageError(
            f"{source} is not UTF-8 text (byte {error.start}: {offending!r})"
        ) from error
    return pd.read_csv(
        io.StringIO(text), dtype=str if as_text else None, keep_default_na=not as_text
    )


def write_json(storage: Storage, key: str, payload: str) -> str:
    """Write a JSON document and return its URI."""
    storage.write_bytes(key, payload.encode("utf-8"))
    return storage.uri(key)


# ------------------------------------------------------------------ Parquet and large objects
# Parquet sits beside CSV (CSV stays the default interchange format): typed columns, compressed,
# read in row groups. Large objects move between storage and a local file without being held
# in memory (S3: multipart transfers), for the chunked batch scoring.

PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet_key(key: str) -> bool:
    """Whether ``key`` names a Parquet object (by its suffix)."""
    return key.lower().endswith(PARQUET_SUFFIXES)


def write_parquet(storage: Storage, key: str, frame: pd.DataFrame) -> str:
    """Write ``frame`` as Parquet (column types kept, no index) and return its URI."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    storage.write_bytes(key, buffer.getvalue())
    return storage.uri(key)


def read_parquet(storage: Storage, key: str, as_text: bool = False) -> pd.DataFrame:
    """Read a Parquet object (``as_text``: every cell as text, missing as '', like read_csv)."""
    return read_parquet_bytes(storage.read_bytes(key), as_text=as_text, source=storage.uri(key))


def read_parquet_bytes(data: bytes, as_text: bool = False, source: str = "input") -> pd.DataFrame:
    """Parse Parquet bytes; anything else raises a clear :class:`StorageError`."""
    import pyarrow as pa  # pylint: disable=import-outside-toplevel

    try:
        frame = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    except (pa.ArrowException, OSError, ValueError) as error:
        raise StorageError(f"{source} is not a readable Parquet file: {error}") from error
    if as_text:
        frame = frame.astype("string").fillna("").astype(object)
    return frame


def write_table(storage: Storage, key: str, frame: pd.DataFrame) -> str:
    """Write ``frame`` as Parquet when ``key`` ends in .parquet / .pq, else as CSV."""
    if is_parquet_key(key):
        return write_parquet(storage, key, frame)
    return write_csv(storage, key, frame)


def read_table(storage: Storage, key: str, as_text: bool = False) -> pd.DataFrame:
    """Read a Parquet or CSV object, by its key's suffix."""
    if is_parquet_key(key):
        return read_parquet(storage, key, as_text=as_text)
    return read_csv(storage, key, as_text=as_text)


def local_path(storage: Storage, key: str) -> Path | None:
    """The file behind ``key`` when the storage is a local folder, else None."""
    return Path(storage.uri(key)) if isinstance(storage, LocalStorage) else None


def _s3_transfer(storage: "S3Storage", action: str, key: str, transfer: Callable[[str], None]):
    """Run a boto3 file transfer on the object's full key; failures name the object."""
    # pylint: disable=import-outside-toplevel
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    uri = storage.uri(key)
    try:
        transfer(uri[len(f"s3://{storage.bucket}/") :])
    except (BotoCoreError, ClientError, Boto3Error) as error:
        raise StorageError(f"S3 {action} of {uri} failed: {error}") from error


def download_file(storage: Storage, key: str, path: Path) -> Path:
    """Copy the object to the local file ``path`` (streamed; S3: multipart download)."""
    path = Path(path)
    if isinstance(storage, S3Storage):
        if not storage.exists(key):
            raise StorageError(f"no object '{key}' in s3://{storage.bucket}/{storage.prefix}")
        _s3_transfer(
            storage,
            "download",
            key,
            lambda full: storage.client.download_file(storage.bucket, full, str(path)),
        )
    elif isinstance(storage, LocalStorage):
        source = Path(storage.uri(key))
        if not source.is_file():
            raise StorageError(f"no object '{key}' in {storage.root}")
        shutil.copyfile(source, path)
    else:
        path.write_bytes(storage.read_bytes(key))
    return path


def upload_file(storage: Storage, key: str, path: Path) -> str:
    """Publish the local file ``path`` as the object ``key`` atomically; returns its URI."""
    if isinstance(storage, S3Storage):  # the object appears once the upload completes
        _s3_transfer(
            storage,
            "upload",
            key,
            lambda full: storage.client.upload_file(str(path), storage.bucket, full),
        )
    elif isinstance(storage, LocalStorage):
        target = Path(storage.uri(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        os.close(handle)
        try:
            shutil.copyfile(path, temporary)
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
    else:
        storage.write_bytes(key, Path(path).read_bytes())
    return storage.uri(key)
