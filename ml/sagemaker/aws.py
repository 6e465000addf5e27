"""AWS plumbing shared by the SageMaker modules: clients, S3 transfers, waiting on jobs.

One ``Aws`` object owns the boto3 session and its clients, so tests (and the SageMaker SDK)
see the same clients: a hook registered on ``aws.sm`` sees every SageMaker call.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ml.config import SAGEMAKER_XGBOOST_VERSION
from ml.data.dataset import DataValidationError
from ml.sagemaker.tf_outputs import SetupError

if TYPE_CHECKING:  # typed clients (types-boto3, dev only): mypy checks each call's keyword arguments
    from sagemaker.session import Session
    from types_boto3_s3 import S3Client
    from types_boto3_sagemaker import SageMakerClient
    from types_boto3_sagemaker_runtime import SageMakerRuntimeClient

DEFAULT_REGION = "us-east-1"
TERMINAL_OK = "Completed"
TERMINAL_BAD = ("Failed", "Stopped")
TELEMETRY_OPT_OUT: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


class JobFailed(RuntimeError):
    """A SageMaker job ended Failed or Stopped; the message carries its FailureReason."""


@dataclass
class Aws:
    session: boto3.Session
    # Opting out of the SDK's telemetry means passing it a config, which it re-validates
    # against its JSON schema on every lookup (~0.5 s each, ~15 s per job start on a slow
    # machine). Worth it for a real run; the tests turn it off.
    telemetry_opt_out: bool = True
    # One client per service, created on first use and shared by the SDK session.
    _s3: S3Client | None = field(default=None, repr=False)
    _sm: SageMakerClient | None = field(default=None, repr=False)
    _runtime: SageMakerRuntimeClient | None = field(default=None, repr=False)

    @classmethod
    def create(cls, region: str | None = None) -> Aws:
        region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        session = boto3.Session(region_name=region)
        if session.region_name is None:
            session = boto3.Session(region_name=DEFAULT_REGION)
        return cls(session)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            self._s3 = self.session.client("s3")
        return self._s3

    @property
    def sm(self) -> SageMakerClient:
        if self._sm is None:
            self._sm = self.session.client("sagemaker")
        return self._sm

    @property
    def runtime(self) -> SageMakerRuntimeClient:
        if self._runtime is None:
            self._runtime = self.session.client("sagemaker-runtime")
        return self._runtime

    def sagemaker_session(self, bucket: str) -> Session:
        """A SageMaker SDK session over this object's own clients (telemetry off)."""
        import_sagemaker()
        from sagemaker.session import Session as SdkSession

        session = functools.partial(
            SdkSession,
            boto_session=self.session,
            sagemaker_client=self.sm,
            sagemaker_runtime_client=self.runtime,
            default_bucket=bucket,
        )
        # Without a config the SDK reads its default config files (no telemetry opt-out there).
        return session(sagemaker_config=TELEMETRY_OPT_OUT) if self.telemetry_opt_out else session()


def import_sagemaker() -> ModuleType:
    """The SDK, quietly (no 'not applying SDK defaults' lines, no v3 banner)."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    for name in ("sagemaker", "sagemaker.config"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import sagemaker
    except ImportError:
        raise SetupError("the SageMaker SDK is not installed: pip install -e '.[aws]'") from None
    return sagemaker


def image_uri(region: str) -> str:
    """The built-in XGBoost container pinned to the local library's version."""
    from sagemaker import image_uris

    import_sagemaker()
    return str(image_uris.retrieve("xgboost", region, version=SAGEMAKER_XGBOOST_VERSION))


# ---------------------------------------------------------------------------------------- S3


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def sha256_of(source: bytes | Path) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _md5(source: bytes | Path) -> str:
    if isinstance(source, bytes):
        return hashlib.md5(source, usedforsecurity=False).hexdigest()
    digest = hashlib.md5(usedforsecurity=False)
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def upload_if_changed(
    s3: S3Client, bucket: str, key: str, source: bytes | Path, content_type: str = "text/csv"
) -> bool:
    """Upload unless the object already holds these bytes (sha256 metadata, else a plain-MD5 ETag).

    Returns True when it uploaded. Each object carries its sha256 as metadata, so multipart
    uploads (whose ETag is not an MD5) are recognised too.
    """
    digest = sha256_of(source)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        head = None
    if head is not None:
        if head.get("Metadata", {}).get("sha256") == digest:
            return False
        etag = head.get("ETag", "").strip('"')
        if "-" not in etag and etag == _md5(source):
            return False
    metadata = {"sha256": digest}
    if isinstance(source, bytes):
        s3.put_object(Bucket=bucket, Key=key, Body=source, Metadata=metadata, ContentType=content_type)
    else:
        s3.upload_file(str(source), bucket, key, ExtraArgs={"Metadata": metadata, "ContentType": content_type})
    return True


def download(s3: S3Client, uri: str, target: Path) -> Path:
    bucket, key = split_s3(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        s3.download_file(bucket, key, str(target))
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound"):
            raise JobFailed(f"{uri}: the job reported this output but it is not in S3") from None
        raise
    return target


# ------------------------------------------------------------------------------------ waiting


def clock_text(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60:d}m{seconds % 60:02d}s"


def wait_for(
    describe: Callable[[], Mapping[str, Any]],
    kind: str,
    name: str,
    status_key: str,
    poll_s: float = 30.0,
    say: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    heartbeat_s: float = 120.0,
) -> Mapping[str, Any]:
    """Poll until the job ends; print each status transition with the elapsed time.

    Completed -> the last description; Failed/Stopped -> JobFailed with FailureReason.
    """
    started = time.monotonic()
    last_state, last_said = None, started
    while True:
        desc = describe()
        status = desc[status_key]
        secondary = desc.get("SecondaryStatus")
        now = time.monotonic()
        state = (status, secondary)
        if state != last_state:
            detail = f" / {secondary}" if secondary and secondary != status else ""
            transitions = desc.get("SecondaryStatusTransitions") or []
            message = transitions[-1].get("StatusMessage") if transitions else None
            counters = desc.get("TrainingJobStatusCounters")
            if counters:
                message = ", ".join(f"{k} {v}" for k, v in counters.items() if v)
            say(
                f"  [{clock_text(now - started)}] {kind} {name}: {status}{detail}"
                + (f" ({message})" if message else "")
            )
            last_state, last_said = state, now
        elif now - last_said >= heartbeat_s:
            say(f"  [{clock_text(now - started)}] {kind} {name}: still {status}")
            last_said = now
        if status == TERMINAL_OK:
            return desc
        if status in TERMINAL_BAD:
            reason = desc.get("FailureReason") or "no reason given"
            raise JobFailed(f"{kind} {name} {status.lower()} after {clock_text(now - started)}: {reason}")
        sleep(poll_s)


def run_cli(action: Callable[[], int]) -> int:
    """Run a command's body: bad setup or input exits 2, AWS or job failures 1, one line each."""
    try:
        return action()
    except NoCredentialsError:
        message, code = "no AWS credentials (set AWS_PROFILE or run `aws configure`)", 2
    except FileNotFoundError as err:
        message, code = f"{err.filename}: no such file", 2
    except (SetupError, DataValidationError, ValueError, OSError) as err:
        message, code = str(err), 2
    except JobFailed as err:
        message, code = str(err), 1
    except (ClientError, BotoCoreError) as err:
        message, code = f"AWS: {err}", 1
    print(f"error: {message}", file=sys.stderr)
    return code
