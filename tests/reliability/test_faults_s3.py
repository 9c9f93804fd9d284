"""S3 endpoint down, hung or slow: botocore's standard retry mode retries a bounded number of
times with exponential backoff, then a StorageError names the endpoint and the object; a writer
killed with SIGKILL in the middle of an upload (single PUT or multipart) leaves no partial
object: the key is absent, or still holds its previous complete content.

The endpoint is moto's S3 server, reached directly or through a fault proxy (a TCP relay that
stays silent, or throttles the upload so that the kill lands mid-transfer)."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import boto3
import pytest

from machine_learning import services
from machine_learning.storage import S3Storage, StorageError

pytestmark = pytest.mark.integration

MB = 1024 * 1024
KEY = "predictions/2024-05-07/predictions.csv"
WRITER = """
import random, sys
from machine_learning.storage import S3Storage
bucket, endpoint, key, size, seed = sys.argv[1:6]
data = random.Random(int(seed)).randbytes(int(size))
print("writing", flush=True)
S3Storage(bucket, endpoint_url=endpoint).write_bytes(key, data)
print("written", flush=True)
"""


def payload(size: int, seed: int) -> bytes:
    """The bytes the writer process writes for ``size`` and ``seed``."""
    return random.Random(seed).randbytes(size)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def count_attempts(storage: S3Storage) -> list[str]:
    """Every HTTP attempt the storage's client makes, by operation (botocore's own event)."""
    attempts: list[str] = []

    def note(event_name: str, **_) -> None:
        attempts.append(event_name.rsplit(".", 1)[-1])

    storage.client.meta.events.register("before-send.s3", note)
    return attempts


def test_a_refusing_endpoint_fails_after_bounded_retries_naming_it(moto_server):
    endpoint = f"http://{services.HOST}:{services.free_port()}"  # nothing listens there
    storage = S3Storage("bucket", endpoint_url=endpoint, max_attempts=3, timeouts=(1, 1))
    attempts = count_attempts(storage)
    operations = {
        "write": lambda: storage.write_bytes(KEY, b"PlayerID\n1\n"),
        "read": lambda: storage.read_bytes(KEY),
        "listing": lambda: storage.exists(KEY),
    }
    for action, operation in operations.items():
        attempts.clear()
        started = time.monotonic()
        with pytest.raises(StorageError) as failure:
            operation()
        print(f"\n{action}: {len(attempts)} attempts in {time.monotonic() - started:.1f} s")
        assert len(attempts) == 3
        message = str(failure.value)
        assert f"S3 {action} of s3://bucket/{KEY} at {endpoint} failed after 3 attempts" in message
        assert "Could not connect to the endpoint URL" in message
    assert moto_server.url != endpoint


def test_a_hung_endpoint_is_retried_then_the_write_goes_through(
    fault_proxy, s3_bucket, moto_server
):
    fault_proxy.silent_first = 1  # the first connection is accepted and never answered
    storage = S3Storage(s3_bucket, endpoint_url=fault_proxy.url, max_attempts=3, timeouts=(1, 1))
    attempts = count_attempts(storage)
    storage.write_bytes(KEY, b"PlayerID,prediction\n1,High\n")
    assert attempts == ["PutObject", "PutObject"]
    assert fault_proxy.connections == 2
    direct = S3Storage(s3_bucket, endpoint_url=moto_server.url)
    assert direct.read_bytes(KEY) == b"PlayerID,prediction\n1,High\n"


def test_an_endpoint_that_never_answers_fails_after_bounded_retries(fault_proxy, s3_bucket):
    fault_proxy.silent = True
    storage = S3Storage(s3_bucket, endpoint_url=fault_proxy.url, max_attempts=3, timeouts=(1, 1))
    attempts = count_attempts(storage)
    with pytest.raises(StorageError) as failure:
        storage.write_bytes(KEY, b"PlayerID\n1\n")
    assert len(attempts) == 3 and fault_proxy.connections == 3
    message = str(failure.value)
    assert f"S3 write of s3://{s3_bucket}/{KEY} at {fault_proxy.url} failed after 3 attempts" in (
        message
    )
    assert "Read timeout" in message


def kill_writer_mid_upload(fault_proxy, bucket: str, size: int, seed: int) -> None:
    """Start a writer process through the throttled proxy; SIGKILL it with 40 % uploaded."""
    fault_proxy.bytes_per_second = 8 * MB
    command = [sys.executable, "-c", WRITER, bucket, fault_proxy.url, KEY, str(size), str(seed)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 120
        while fault_proxy.forwarded < 0.4 * size:
            assert writer.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the upload never got under way"
            time.sleep(0.01)
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    print(f"\nkilled with {fault_proxy.forwarded / MB:.1f} of {size / MB:.0f} MB sent")
    fault_proxy.bytes_per_second = None


def incomplete_uploads(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    return [
        upload["Key"] for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    ]


@pytest.mark.parametrize(
    "size", [6 * MB, 20 * MB], ids=["single-put-6MB", "multipart-20MB"]  # threshold: 8 MB
)
def test_a_writer_killed_mid_upload_leaves_no_object(fault_proxy, s3_bucket, moto_server, size):
    kill_writer_mid_upload(fault_proxy, s3_bucket, size, seed=1)
    direct = S3Storage(s3_bucket, endpoint_url=moto_server.url)
    assert not direct.exists(KEY)
    assert direct.list_keys() == []
    with pytest.raises(StorageError, match="no object"):
        direct.read_bytes(KEY)
    if size > 8 * MB:  # the multipart upload was begun and is left incomplete (invisible)
        assert incomplete_uploads(moto_server.url, s3_bucket) == [KEY]

    direct.write_bytes(KEY, payload(size, 1))  # the rerun
    assert digest(direct.read_bytes(KEY)) == digest(payload(size, 1))
    assert direct.list_keys() == [KEY]


def test_a_writer_killed_mid_overwrite_leaves_the_previous_object(
    fault_proxy, s3_bucket, moto_server
):
    direct = S3Storage(s3_bucket, endpoint_url=moto_server.url)
    previous = payload(12 * MB, 2)
    direct.write_bytes(KEY, previous)
    kill_writer_mid_upload(fault_proxy, s3_bucket, 20 * MB, seed=3)
    assert digest(direct.read_bytes(KEY)) == digest(previous)
    assert direct.list_keys() == [KEY]
