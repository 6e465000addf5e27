"""Clear errors when Terraform has not been applied (no state, missing output, no terraform)."""

from __future__ import annotations

import argparse
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ml.sagemaker import tf_outputs
from ml.sagemaker.tf_outputs import SetupError


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    tf_outputs.outputs.cache_clear()
    yield
    tf_outputs.outputs.cache_clear()


def fake_terraform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdout: str = "{}", code: int = 0, stderr: str = ""
) -> None:
    exe = tmp_path / "terraform"
    exe.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\necho '{stderr}' >&2\nexit {code}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TERRAFORM", str(exe))
    monkeypatch.setenv("CHURN_TERRAFORM_DIR", str(tmp_path))


def test_terraform_absent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "no-such-terraform"))
    with pytest.raises(SetupError, match="terraform is not on PATH"):
        tf_outputs.resolve("data_bucket")


def test_no_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_terraform(tmp_path, monkeypatch, "{}")
    with pytest.raises(SetupError, match=r"no outputs .*make apply.*CHURN_DATA_BUCKET"):
        tf_outputs.resolve("data_bucket")


def test_output_missing_or_null(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_terraform(
        tmp_path,
        monkeypatch,
        '{"data_bucket": {"value": "b-1", "type": "string"}, "endpoint_name": {"value": null, "type": "string"}}',
    )
    assert tf_outputs.resolve("data_bucket") == "b-1"
    with pytest.raises(SetupError, match="'endpoint_name' is not set: deploy a model first"):
        tf_outputs.resolve("endpoint_name")
    with pytest.raises(SetupError, match="'sagemaker_role_arn' is not set: run `make apply`"):
        tf_outputs.resolve("sagemaker_role_arn")


def test_terraform_error_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_terraform(tmp_path, monkeypatch, "", code=1, stderr="Error: Backend initialization required")
    with pytest.raises(SetupError, match="Backend initialization required"):
        tf_outputs.resolve("data_bucket")


def test_flag_then_environment_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "absent"))
    assert tf_outputs.resolve("data_bucket", "from-flag") == "from-flag"
    monkeypatch.setenv("CHURN_DATA_BUCKET", "from-env")
    assert tf_outputs.resolve("data_bucket") == "from-env"


def _train_args(**over: Any) -> argparse.Namespace:
    base = {
        "data": "synthetic",
        "rows": 300,
        "seed": 1,
        "out": None,
        "preset": "default",
        "backend": "sagemaker",
        "tune": False,
        "instance_count": 1,
        "bucket": None,
        "role_arn": None,
    }
    return argparse.Namespace(**{**base, **over})


@pytest.mark.parametrize("command", ["train", "score", "publish"])
def test_clis_exit_2_with_a_message(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    local_bundle: Path,
) -> None:
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "absent"))
    if command == "train":
        from ml.sagemaker import training

        code = training.main(_train_args(out=tmp_path / "model"))
    elif command == "score":
        from ml.sagemaker import batch

        code = batch.main(
            argparse.Namespace(
                model=local_bundle, input=tmp_path / "in.csv", output=tmp_path / "out.csv", bucket=None, role_arn=None
            )
        )
    else:
        from ml.sagemaker import publish

        code = publish.main(["--model", str(local_bundle)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: terraform is not on PATH") and "Traceback" not in err
