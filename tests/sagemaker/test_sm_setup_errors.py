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

ROLE_ARN = "arn:aws:iam::123456789012:role/team-b2-sagemaker"


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
        "name": "churn",
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
                model=local_bundle,
                input=tmp_path / "in.csv",
                output=tmp_path / "out.csv",
                bucket=None,
                role_arn=None,
                name="churn",
            )
        )
    else:
        from ml.sagemaker import publish

        code = publish.main(["--model", str(local_bundle)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: terraform is not on PATH") and "Traceback" not in err


@pytest.mark.parametrize("command", ["train", "score"])
def test_a_bad_name_exits_2_naming_the_rule(capsys: pytest.CaptureFixture[str], command: str) -> None:
    from ml import cli

    argv = [command, "--backend", "sagemaker", "--name", "Team_B"]
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--input", "in.csv", "--output", "out.csv"] if command == "score" else argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "argument --name: name 'Team_B' must be 2-16 characters" in err


def test_the_name_reaches_the_jobs_without_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make train NAME=x` passes --name x: nothing else (no environment variable) is needed."""
    from ml import cli
    from ml.sagemaker import training
    from ml.sagemaker.aws import Aws

    seen: dict[str, Any] = {}

    def fake_train(*args: Any, **kwargs: Any) -> Any:
        seen.update(sm=args[6] if len(args) > 6 else kwargs["sm"])
        raise SetupError("stop here")

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(training, "load", lambda *_: (None, None))
    monkeypatch.setattr(training, "prepare", lambda *_: None)
    monkeypatch.setattr(Aws, "create", classmethod(lambda cls, *_: None))
    argv = ["train", "--backend", "sagemaker", "--name", "team-b2", "--bucket", "b", "--role-arn", ROLE_ARN]
    assert cli.main(argv) == 2
    assert seen["sm"].name == "team-b2" and seen["sm"].base_job_name == "team-b2-xgb"
    assert cli.main(["train", "--backend", "sagemaker", "--bucket", "b", "--role-arn", ROLE_ARN]) == 2
    assert seen["sm"].name == "churn"
