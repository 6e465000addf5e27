"""Training end to end: the bundle, the cutoff (never from test), atomic writes, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml.config import DEFAULT, NOTEBOOK
from ml.data import raw_schema as rs
from ml.data.dataset import Provenance
from ml.data.split import split_frame
from ml.features.encoder import FeatureEncoder
from ml.features.schema import encode_frame
from ml.model import pipeline
from ml.model.bundle import SCRIPT_SOURCE, Bundle, load_archive, write_bundle

ROOT = Path(__file__).resolve().parents[2]
FAST = DEFAULT.replace(cv_folds=3)


def test_bundle_layout_and_contents(bundle_dir):
    bundle = Bundle(bundle_dir)
    assert sorted(p.name for p in bundle_dir.iterdir()) == [
        "feature_schema.json",
        "metrics.json",
        "model.tar.gz",
        "report",
    ]
    with tarfile.open(bundle.model_archive) as tar:
        # the booster and the inference script the image runs in script mode, nothing else
        assert tar.getnames() == ["xgboost-model", "code/inference.py"]
        script = tar.extractfile("code/inference.py")
        assert script is not None and script.read() == SCRIPT_SOURCE.read_bytes()
    booster = xgb.Booster()
    with tarfile.open(bundle.model_archive) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster.load_model(bytearray(member.read()))
    assert booster.num_features() == len(bundle.schema()["columns"])
    metrics = bundle.metrics()
    test = metrics["evaluation"]["test"]
    for key in ("auc", "confusion_at_0.5", "confusion_at_cutoff", "cost", "cost_per_1000", "do_nothing_cost"):
        assert key in test
    assert metrics["cutoff"]["method"] == "cv" and 0 < metrics["cutoff"]["value"] < 1
    assert metrics["data"]["sha256"] and metrics["data"]["source"].startswith("synthetic")
    assert metrics["costs"] == {"tn": 0.0, "fp": 100.0, "tp": 100.0, "fn": 500.0}
    schema = bundle.schema()
    assert schema["decision"]["cutoff"] == metrics["cutoff"]["value"]
    encoder = FeatureEncoder(schema)
    for example in schema["examples"].values():
        assert len(encoder.encode(example)) == encoder.width
    assert (bundle_dir / "report" / "index.html").is_file()


def test_model_archive_is_deterministic(bundle_dir):
    from ml.model.bundle import model_archive_bytes

    booster = load_archive(bundle_dir / "model.tar.gz")
    assert model_archive_bytes(booster) == model_archive_bytes(booster)


@pytest.mark.parametrize("settings", [FAST, NOTEBOOK], ids=["cv", "validation"])
def test_cutoff_never_depends_on_test_labels(synthetic_frame, settings):
    """Flip every test-split label: the cutoff (and the model) must not move."""
    provenance = Provenance("synthetic", "0" * 64, len(synthetic_frame))
    test_index = split_frame(synthetic_frame, settings.split, settings.seed)["test"].index
    flipped = synthetic_frame.copy()
    flipped.loc[test_index, rs.LABEL] = flipped.loc[test_index, rs.LABEL].map({"True.": "False.", "False.": "True."})
    results = []
    for frame in (synthetic_frame, flipped):
        prep = pipeline.prepare(settings, frame, provenance)
        booster, cutoff, _ = pipeline.train_local(prep, settings)
        results.append((cutoff.value, booster.inplace_predict(prep.x["test"].astype(np.float32))))
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])


def test_failed_bundle_write_keeps_previous_bundle(bundle_dir, tmp_path):
    import shutil

    target = tmp_path / "model"
    shutil.copytree(bundle_dir, target)
    before = {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}
    booster = load_archive(target / "model.tar.gz")

    def broken_report(out: Path) -> None:
        out.mkdir()
        (out / "half.png").write_bytes(b"\x89PNG")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_bundle(target, booster, {"x": 1}, {"y": 2}, broken_report)
    assert {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp dir left behind
    load_archive(target / "model.tar.gz")


def test_killed_training_leaves_previous_bundle_loadable(bundle_dir, tmp_path):
    """SIGKILL a real training run while it writes the bundle: the old one is intact."""
    import shutil
    import signal

    target = tmp_path / "model"
    shutil.copytree(bundle_dir, target)
    before = (target / "model.tar.gz").read_bytes()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import time, ml.model.bundle as b\n"
                "orig = b.model_archive_bytes\n"
                "def slow(booster):\n"
                "    data = orig(booster); print('writing', flush=True); time.sleep(30); return data\n"
                "b.model_archive_bytes = slow\n"
                "from ml.cli import main\n"
                f"main(['train', '--data', 'synthetic', '--rows', '400', '--out', {str(target)!r}])\n"
            ),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert (target / "model.tar.gz").read_bytes() == before
    load_archive(target / "model.tar.gz")
    assert json.loads((target / "metrics.json").read_text())


def test_cli_train_and_score_end_to_end(tmp_path, synthetic_frame):
    out = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, "-m", "ml", "train", "--data", "synthetic", "--rows", "800", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for text in ("AUC", "TN", "cutoff", "chosen on", "per 1,000 customers", "doing nothing"):
        assert text in result.stdout
    raw = tmp_path / "customers.csv"
    # Without label and phone: scoring accepts both shapes.
    synthetic_frame.head(50).drop(columns=["Phone", rs.LABEL]).to_csv(raw, index=False)
    outputs = []
    for name in ("a.csv", "b.csv"):
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "ml",
                "score",
                "--model",
                str(out),
                "--input",
                str(raw),
                "--output",
                str(tmp_path / name),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    lines = outputs[0].decode().splitlines()
    assert lines[0].endswith(",churn_probability,will_churn") and len(lines) == 51
    assert lines[1].startswith(",".join(raw.read_text().splitlines()[1].split(",")))
    # Scores are the bundle booster's on the same encoded rows.
    bundle = Bundle(out)
    x = encode_frame(synthetic_frame.head(50), bundle.schema())
    expected = bundle.booster().inplace_predict(x.astype(np.float32))
    got = np.array([float(line.split(",")[-2]) for line in lines[1:]])
    assert np.allclose(got, expected, atol=1e-7)


def test_cli_score_with_labels_prints_auc_and_cost(bundle_dir, tmp_path, synthetic_frame):
    raw = tmp_path / "labelled.csv"
    synthetic_frame.head(300).to_csv(raw, index=False)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml",
            "score",
            "--model",
            str(bundle_dir),
            "--input",
            str(raw),
            "--output",
            str(tmp_path / "o.csv"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0 and "AUC" in res.stdout and "cost $" in res.stdout


def test_cli_score_bad_input_writes_nothing(bundle_dir, tmp_path, synthetic_frame):
    raw = tmp_path / "bad.csv"
    frame = synthetic_frame.head(10).copy()
    frame["Day Mins"] = frame["Day Mins"].astype(object)
    frame.loc[frame.index[7], "Day Mins"] = "lots"
    frame.to_csv(raw, index=False)
    out = tmp_path / "scored.csv"
    res = subprocess.run(
        [sys.executable, "-m", "ml", "score", "--model", str(bundle_dir), "--input", str(raw), "--output", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "line 9, column 'Day Mins'" in res.stderr and not out.exists()


def _examples_check(frame, settings, label: str) -> None:
    """Train on ``frame``; the page's examples are no row of it and sit on their side of the cutoff."""
    provenance = Provenance(label, "0" * 64, len(frame))
    prep = pipeline.prepare(settings, frame, provenance)
    booster, cutoff, _ = pipeline.train_local(prep, settings)
    examples = pipeline.page_examples(booster, prep, cutoff.value)
    fields = prep.schema["required"]
    rows = {
        tuple(str(r[f]) if isinstance(r[f], str) else float(r[f]) for f in fields)
        for r in frame[fields].to_dict("records")
    }
    encoder = FeatureEncoder(prep.schema)
    for name, record in examples.items():
        assert sorted(record) == sorted(fields)
        key = tuple(str(record[f]) if isinstance(record[f], str) else float(record[f]) for f in fields)
        assert key not in rows, f"{label}: the {name} example is a row of the data"
    scores = {
        name: float(booster.inplace_predict(np.array([encoder.encode(r)], dtype=np.float32))[0])
        for name, r in examples.items()
    }
    assert scores["churner"] > cutoff.value > scores["loyal"], (label, scores, cutoff.value)


def test_page_examples_are_synthetic_on_synthetic_data(synthetic_frame):
    _examples_check(synthetic_frame, FAST, "synthetic")


def test_page_examples_are_synthetic_on_the_real_file():
    from tests.conftest import REAL_DATA

    if not REAL_DATA.is_file():
        pytest.skip(f"{REAL_DATA} is not on this machine")
    from ml.data.dataset import load

    frame, _ = load(str(REAL_DATA))
    for settings in (FAST, NOTEBOOK):
        _examples_check(frame, settings, f"real/{settings.preset}")


def test_examples_are_not_rows_even_when_the_typical_customer_is_one(synthetic_frame):
    """A group of identical customers: their typical customer is their row, so it must be refused."""
    from ml.model.examples import synthetic_examples

    prep = pipeline.prepare(FAST, synthetic_frame, Provenance("synthetic", "0" * 64, len(synthetic_frame)))
    booster, cutoff, _ = pipeline.train_local(prep, FAST)
    clones = pd.concat([prep.parts["train"].head(1)] * 20, ignore_index=True)
    with pytest.raises(ValueError, match="differs from every data row"):
        synthetic_examples(prep.schema, clones, np.ones(20), np.full(20, 0.9), clones, booster, cutoff.value)
