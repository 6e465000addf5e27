"""A model update that SageMaker rolls back, applied for real: Terraform and the AWS provider against moto.

SageMaker rolls a guarded update back by itself and the provider still reports the update as a
success (terraform-provider-aws#48997); create_before_destroy would then delete the old
configuration and model, which the endpoint runs again. The endpoint's postcondition must stop
the apply first. moto has no UpdateEndpoint: tests/terraform/moto_gaps.py answers it, and while
``rollback.on`` answers as SageMaker does after a rollback (InService, on the old configuration).

Three applies of module.endpoint (what `make apply` changes when only the model is new), realtime,
so the update carries the deployment guardrails: the first deploy; a new model that SageMaker
rolls back (the apply fails naming the configuration the endpoint runs, which still exists, as
does its model; the post-apply check says the same); the same model again, now taken (the
endpoint is updated first, then the old configuration and model go).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from ml.sagemaker import rollout_check
from tests.terraform.moto_gaps import moto_gaps_filled
from tests.terraform.tf_helpers import TF_DIR, aws_env, init_copy, lambda_zip, moto_server, run_tf

pytestmark = [pytest.mark.terraform, pytest.mark.integration]

PREFIX = "rb"
REGION = "us-east-1"
ENDPOINT = f"{PREFIX}-rt-m5-large"


def _model_url(run: int) -> str:
    return f"s3://{PREFIX}-data-20250101000000000000000001/models/run-{run}/model.tar.gz"


def _flat(text: str) -> str:
    """Terraform's diagnostics wrap long messages: one line, single spaces."""
    return " ".join(text.split())


def test_a_rolled_back_update_keeps_the_old_configuration_until_an_update_sticks(tmp_path: Path, tf_env) -> None:
    pytest.importorskip("moto.server")
    env = dict(aws_env(tf_env, REGION), AWS_MAX_ATTEMPTS="2")
    fixtures = TF_DIR / "tests" / "fixtures"
    zip_path = tmp_path / "invoker.zip"
    with moto_gaps_filled() as rollback, moto_server() as url:
        tfvars = tmp_path / "stack.tfvars.json"
        tfvars.write_text(
            json.dumps(
                {
                    "aws_endpoint_url": url,
                    "name_prefix": PREFIX,
                    "region": REGION,
                    "web_dir": str(fixtures / "web"),
                    "feature_schema_path": str(fixtures / "feature_schema.json"),
                    "lambda_zip_path": str(zip_path),
                    "lambda_zip_sha256": lambda_zip(zip_path),
                    "endpoint_mode": "realtime",
                }
            )
        )
        workdir = init_copy(tmp_path / "terraform", env)

        def apply(run: int, check: bool = True) -> Any:
            args = ["apply", "-auto-approve", "-input=false", "-no-color", "-target=module.endpoint"]
            return run_tf(
                [*args, f"-var-file={tfvars}", f"-var=model_data_url={_model_url(run)}"], workdir, env, check=check
            )

        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        sm, cw = session.client("sagemaker", endpoint_url=url), session.client("cloudwatch", endpoint_url=url)

        apply(1)
        live = sm.describe_endpoint(EndpointName=ENDPOINT)
        first = live["EndpointConfigName"]
        (first_model,) = [
            v["ModelName"] for v in sm.describe_endpoint_config(EndpointConfigName=first)["ProductionVariants"]
        ]
        assert live["LastDeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"], "realtime: a guarded endpoint"

        rollback.on = True  # SageMaker will roll the next update back
        failed = apply(2, check=False)
        said = _flat(failed.stdout + failed.stderr)
        (update,) = [c for c in rollback.calls if c[0] == "UpdateEndpoint"]
        second = update[1]
        assert failed.returncode != 0, said
        assert (
            f"SageMaker rolled endpoint {ENDPOINT} back to configuration {first} (Terraform applied {second})" in said
        )
        # Nothing the endpoint runs was deleted: its configuration and model are there, kept by Terraform.
        assert not [c for c in rollback.calls if c[0].startswith("Delete")], rollback.calls
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == first
        assert sm.describe_endpoint_config(EndpointConfigName=first)["EndpointConfigName"] == first
        assert sm.describe_model(ModelName=first_model)["ModelName"] == first_model
        # What `make apply` prints after the failed apply: the post-apply check, on Terraform's outputs.
        shown = json.loads(run_tf(["output", "-json"], workdir, env).stdout)
        verdict = rollout_check.check(sm, cw, {k: v["value"] for k, v in shown.items()})
        assert not verdict.ok
        assert verdict.message.startswith(f"SageMaker rolled endpoint {ENDPOINT} back to configuration {first}; ")
        assert f"The configuration it runs, {first}, still exists" in verdict.message

        rollback.on = False  # the retry is taken
        taken = _flat(apply(2).stdout)
        assert sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == second
        assert "(deposed object" in taken and f"Destroying... [id={first}]" in taken
        calls = rollback.calls
        retried = max(i for i, call in enumerate(calls) if call == ("UpdateEndpoint", second))
        assert retried < calls.index(("DeleteEndpointConfig", first)) < calls.index(("DeleteModel", first_model)), calls
        assert rollout_check.check(sm, cw, {"endpoint_name": ENDPOINT, "endpoint_configuration_name": second}).ok
