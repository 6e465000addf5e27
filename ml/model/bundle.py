"""The model bundle: the one artifact layout every part reads.

<out>/model.tar.gz        exactly one member, ``xgboost-model`` (what the SageMaker
                          XGBoost container writes and loads; any extra file breaks /ping)
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

MODEL_ARCHIVE = "model.tar.gz"
MODEL_MEMBER = "xgboost-model"
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
    """A deterministic tar.gz (fixed mtime/owner) holding only ``xgboost-model``."""
    with tempfile.TemporaryDirectory() as tmp:
        # UBJSON: what the container itself writes (save_model to a bare name) and loads.
        model_path = Path(tmp) / f"{MODEL_MEMBER}.ubj"
        booster.save_model(str(model_path))
        payload = model_path.read_bytes()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(MODEL_MEMBER)
        info.size, info.mode, info.mtime = len(payload), 0o644, 0
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(raw.getvalue(), mtime=0)


def load_archive(path: Path) -> xgb.Booster:
    """Load the single booster from a model.tar.gz, refusing anything the container would."""
    with tarfile.open(path, "r:gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        if names != [MODEL_MEMBER] or not members[0].isfile():
            raise ValueError(f"{path}: must hold exactly one file '{MODEL_MEMBER}', found {names}")
        member = tar.extractfile(members[0])
        if member is None:  # isfile() was checked above; this keeps the type honest
            raise ValueError(f"{path}: '{MODEL_MEMBER}' cannot be read")
        payload = member.read()
    booster = xgb.Booster()
    booster.load_model(bytearray(payload))
    return booster


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
