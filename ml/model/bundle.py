"""The model bundle: the one artifact layout every part reads.

<out>/model.tar.gz        two members: ``xgboost-model`` (what the SageMaker XGBoost
                          container's training writes) and ``code/inference.py`` (the
                          inference script, ``ml/serving/inference.py``, that the 3.0-5
                          image runs in script mode: ``SCRIPT_ENVIRONMENT``)
<out>/feature_schema.json encoding + decision (cutoff, costs) + example customers
<out>/metrics.json        data source, split, hyperparameters, metrics, costs, cutoff
<out>/report/             plots and an HTML page
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xgboost as xgb

from ml.atomic import atomic_dir
from ml.serving import inference

MODEL_ARCHIVE = "model.tar.gz"
MODEL_MEMBER = inference.MODEL_FILE
SCRIPT_MEMBER = "code/inference.py"  # where the SageMaker SDK's repack puts an entry point
SCRIPT_SOURCE = Path(inference.__file__)
# The model container's environment for script mode (Terraform's and Batch Transform's model):
# the image imports SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY, the archive's code/.
SCRIPT_ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
SCHEMA_FILE = "feature_schema.json"
METRICS_FILE = "metrics.json"
REPORT_DIR = "report"


@dataclass(frozen=True)
class Bundle:
    path: Path

    @property
    def model_archive(self) -> Path:
        return self.path / MODEL_ARCHIVE

    @property
    def schema_path(self) -> Path:
        return self.path / SCHEMA_FILE

    def schema(self) -> dict[str, Any]:
        return _json_object(self.schema_path)

    def metrics(self) -> dict[str, Any]:
        return _json_object(self.path / METRICS_FILE)

    def booster(self) -> xgb.Booster:
        return load_archive(self.model_archive)


def _json_object(path: Path) -> dict[str, Any]:
    """A bundle JSON file, which must hold an object."""
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


def model_archive_bytes(booster: xgb.Booster) -> bytes:
    """A deterministic tar.gz (fixed mtime/owner): the booster and the inference script."""
    with tempfile.TemporaryDirectory() as tmp:
        # UBJSON: what the container itself writes (save_model to a bare name) and loads.
        model_path = Path(tmp) / f"{MODEL_MEMBER}.ubj"
        booster.save_model(str(model_path))
        return repack(model_path.read_bytes())


def repack(model_payload: bytes) -> bytes:
    """A servable archive around a booster file's bytes (a training job's, unchanged)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, payload in ((MODEL_MEMBER, model_payload), (SCRIPT_MEMBER, SCRIPT_SOURCE.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(payload), 0o644, 0
            tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0)


def archive_members(path: Path) -> dict[str, bytes]:
    """The archive's files: ``xgboost-model``, and ``code/inference.py`` unless it is a training
    job's output; anything else is refused (the image would load or import it)."""
    with tarfile.open(path, "r:gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        if names not in ([MODEL_MEMBER], [MODEL_MEMBER, SCRIPT_MEMBER]) or not all(m.isfile() for m in members):
            raise ValueError(f"{path}: must hold the files '{MODEL_MEMBER}' and '{SCRIPT_MEMBER}', found {names}")
        files = {}
        for member in members:
            handle = tar.extractfile(member)
            if handle is None:  # isfile() was checked above; this keeps the type honest
                raise ValueError(f"{path}: '{member.name}' cannot be read")
            files[member.name] = handle.read()
    return files


def load_archive(path: Path) -> xgb.Booster:
    """The booster of a bundle's or a training job's archive, refusing anything the container would."""
    booster = xgb.Booster()
    booster.load_model(bytearray(archive_members(path)[MODEL_MEMBER]))
    return booster


def check_servable(path: Path) -> None:
    """What the endpoint runs: a loadable booster and the inference script beside it."""
    load_archive(path)
    if SCRIPT_MEMBER not in archive_members(path):
        raise ValueError(f"{path}: no '{SCRIPT_MEMBER}' (made before script mode): train again to repack it")


def write_bundle(
    out_dir: Path,
    booster: xgb.Booster,
    schema: dict[str, Any],
    metrics: dict[str, Any],
    write_report: Callable[[Path], None] | None = None,
) -> Bundle:
    """Write all four parts into a temp dir, then swap it in: the old bundle survives any failure."""
    with atomic_dir(Path(out_dir)) as tmp:
        (tmp / MODEL_ARCHIVE).write_bytes(model_archive_bytes(booster))
        (tmp / SCHEMA_FILE).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        if write_report is not None:
            write_report(tmp / REPORT_DIR)
    return Bundle(Path(out_dir))
