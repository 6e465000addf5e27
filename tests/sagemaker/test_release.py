"""Deploying from the registry against moto: which version deploys, its handoff, the rollback's choice.

The make targets that run these (deploy-model, rollback, deploy's approval) are rehearsed end to
end in tests/rehearsal/; here each decision is checked on its own, with every request shape-checked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ml import cli
from ml.sagemaker import approval, registry, release
from ml.sagemaker.aws import Aws, split_s3
from ml.sagemaker.tf_outputs import SetupError
from tests.sagemaker.sm_fixtures import ROLE
from tests.sagemaker.test_registry import GROUP, registered  # noqa: F401  (the fixture)


def approved(aws: Aws, tmp_path: Path, *numbers: int) -> list[registry.Version]:
    for n in numbers:
        approval.approve(aws, GROUP, n, f"approve {n}", True, tmp_path, say=lambda _: None)
    return registry.versions(aws, GROUP)


def serve(aws: Aws, arn: str, name: str = "churn-serverless") -> str:
    """An endpoint whose model was made from package version arn, as Terraform makes it."""
    model = f"churn-model-{arn.rsplit('/', 1)[1]}"
    aws.sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn})
    config = f"{model}-config"
    aws.sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    if name in [e["EndpointName"] for e in aws.sm.list_endpoints()["Endpoints"]]:
        aws.sm.delete_endpoint(EndpointName=name)
    aws.sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    return name


def test_the_latest_approved_version_deploys_by_default_and_only_approved_ones(registered, tmp_path: Path) -> None:  # noqa: F811
    aws, _arns, _created = registered
    found = registry.versions(aws, GROUP)
    with pytest.raises(SetupError, match=r"no Approved version in the registry yet: make approve"):
        release.deployable(found, None)
    with pytest.raises(SetupError, match=r"version 2 is PendingManualApproval: only an Approved version deploys"):
        release.deployable(found, 2)
    found = approved(aws, tmp_path, 1, 2)
    assert release.deployable(found, None).number == 2 and release.deployable(found, 1).number == 1
    assert found[0].approved_at and found[0].approved_at.endswith("Z")
    assert [v.approved_at for v in registry.versions(aws, GROUP)] == [v.approved_at for v in found]


def test_version_spec(tmp_path: Path) -> None:
    bundle = tmp_path / "build" / "model"
    assert release.version_number("", bundle) is None and release.version_number(" 3 ", bundle) == 3
    for bad in ("0", "v2", "-1", "1.5"):
        with pytest.raises(SetupError, match="a version number"):
            release.version_number(bad, bundle)
    with pytest.raises(SetupError, match=r"VERSION=trained: .*registered.json is missing"):
        release.version_number("trained", bundle)
    release.record_registered(bundle, "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/7")
    assert release.version_number("trained", bundle) == 7


def test_a_zip_that_does_not_match_its_registered_hash_is_not_deployed(registered, tmp_path: Path) -> None:  # noqa: F811
    aws, _arns, _created = registered
    v = approved(aws, tmp_path, 1)[0]
    bundle = tmp_path / "build" / "model"
    bundle.mkdir(parents=True)
    (bundle / "keep").write_text("the bundle deployed before")
    bucket, key = split_s3(v.prefix + registry.ZIP_FILE)
    aws.s3.put_object(Bucket=bucket, Key=key, Body=b"PK tampered")
    with pytest.raises(SetupError, match="does not match the SHA-256 registered beside it"):
        release.write_handoff(aws, v, bundle, [v])
    assert [p.name for p in bundle.iterdir()] == ["keep"]
    assert not (tmp_path / "build" / "model.auto.tfvars.json").exists()


def test_a_bundle_no_version_has_is_not_replaced_by_a_deploy(
    registered,  # noqa: F811
    local_bundle: Path,
    tmp_path: Path,
) -> None:
    """build/model trained here and never published is local work: deploy-model refuses to replace it."""
    aws, _arns, _created = registered
    found = approved(aws, tmp_path, 1)
    bundle = tmp_path / "build" / "model"
    shutil.copytree(local_bundle, bundle)
    (bundle / "model.tar.gz").write_bytes((bundle / "model.tar.gz").read_bytes() + b"\0")  # another model
    before = {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()}
    with pytest.raises(SetupError, match=r"holds a model that no registry version has .* `make publish` it"):
        release.write_handoff(aws, found[0], bundle, found)
    assert {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()} == before
    shutil.copy(local_bundle / "model.tar.gz", bundle / "model.tar.gz")  # version 1's own model: replaceable
    path, values = release.write_handoff(aws, found[0], bundle, found)
    assert values["model_version"] == "1" and path.is_file()


def test_rollback_goes_to_the_approved_version_before_the_one_serving(registered, tmp_path: Path) -> None:  # noqa: F811
    aws, arns, _created = registered
    found = approved(aws, tmp_path, 1, 2)
    endpoint = serve(aws, arns[1])
    assert release.serving_package(aws, endpoint) == arns[1]
    left, to = release.rollback_pair(found, arns[1])
    assert (left.number, to.number) == (2, 1)
    with pytest.raises(SetupError, match="no Approved version before version 1"):
        release.rollback_pair(found, arns[0])
    with pytest.raises(SetupError, match="not a version of this registry"):
        release.rollback_pair(found, None)


def test_cli_handoff_then_rollback_rejects_the_version_left(
    registered,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What make deploy-model and make rollback run, around their make apply."""
    aws, arns, _created = registered
    approved(aws, tmp_path, 1, 2)
    bundle = tmp_path / "build" / "model"
    base = ["registry", "--group", GROUP, "--model", str(bundle)]
    assert cli.main([*base, "handoff"]) == 0
    tfvars = json.loads((tmp_path / "build" / "model.auto.tfvars.json").read_text())
    assert tfvars["model_package_arn"] == arns[1] and tfvars["model_version"] == "2"
    serve(aws, arns[1])
    assert cli.main([*base, "rollback", "prepare", "--endpoint-name", "churn-serverless"]) == 0
    out = capsys.readouterr().out
    assert "churn-serverless serves version 2: back to version 1" in out
    tfvars = json.loads((tmp_path / "build" / "model.auto.tfvars.json").read_text())
    assert tfvars["model_package_arn"] == arns[0] and tfvars["model_version"] == "1"
    # make apply runs here; then:
    assert cli.main([*base, "rollback", "finish", "--note", 'alarm "5xx" fired']) == 0
    versions = registry.versions(aws, GROUP)
    assert [v.status for v in versions] == ["Approved", "Rejected"]
    assert versions[1].note.startswith("rolled back to version 1 on ")
    assert versions[1].note.endswith('alarm "5xx" fired')
    assert release.deployable(versions, None).number == 1, "the default deploy is the version serving again"
    assert cli.main([*base, "rollback", "finish"]) == 2
    assert "no rollback was prepared" in capsys.readouterr().err


def test_a_note_longer_than_the_registry_keeps_is_refused_before_anything_changes(
    registered,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aws, arns, _created = registered
    with pytest.raises(SetupError, match="NOTE is 1025 characters: the registry keeps at most 1024"):
        approval.approve(aws, GROUP, 1, "x" * 1025, False, tmp_path)
    assert registry.versions(aws, GROUP)[0].status == "PendingManualApproval"
    approved(aws, tmp_path, 1, 2)
    serve(aws, arns[1])
    bundle = tmp_path / "build" / "model"
    base = ["registry", "--group", GROUP, "--model", str(bundle)]
    long = ["--note", "y" * 1000, "--endpoint-name", "churn-serverless"]
    assert cli.main([*base, "rollback", "prepare", *long]) == 2  # with its prefix, over 1024: before the apply
    assert "the registry keeps at most 1024" in capsys.readouterr().err
    assert not (tmp_path / "build" / "model.auto.tfvars.json").exists()


def test_approving_an_approved_version_changes_nothing(registered, tmp_path: Path) -> None:  # noqa: F811
    aws, _arns, _created = registered
    before = approved(aws, tmp_path, 1)[0]
    said: list[str] = []
    again = approval.approve(aws, GROUP, 1, "other note", False, tmp_path, said.append)
    assert again == before and said == [f"version 1 is already Approved ({before.approved_at}): approve 1"]


def test_compare_scores_versions_with_other_features_on_the_same_customers(
    registered,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A challenger with other features (the notebook preset has no derived columns) is compared on the
    same customers: each version encodes the registered raw rows with its own schema."""
    aws, _arns, _created = registered
    a, b = registry.versions(aws, GROUP)
    fewer = registry.Version(**{**b.__dict__, "schema": {**b.schema, "columns": b.schema["columns"][:-1]}})
    with pytest.raises(SetupError, match=r"version 2's model takes 72 columns, its feature schema encodes 71"):
        approval.compare(aws, a, fewer, tmp_path)
    mine, theirs = approval.compare(aws, a, b, tmp_path)
    assert mine.version == 1 and theirs.version == 2 and sum(mine.confusion.values()) == sum(theirs.confusion.values())
