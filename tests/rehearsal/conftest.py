"""The deploy rehearsal, run once per session: tests/rehearsal/test_deploy_rehearsal.py checks its
steps, tests/rehearsal/test_deployed_stack.py the stack it built, tests/rehearsal/test_deploy_role.py
the permissions its AWS calls needed.

One path, the workflows' (NAME churn, the default; state in the bootstrap's bucket), from a clean
checkout, each step signed as the one who runs it: the deploy role's key for the train and
deploy workflows' steps, a person's for approving, rolling back and publishing a laptop's bundle.
terraform/bootstrap -> STATE_BUCKET=… make init -> the train workflow (make apply-base, make train
BACKEND=sagemaker: version 1, pending) -> a person approves it -> the deploy workflow (make
deploy-model: version 1) -> (the stack checks) -> make smoke -> then a release, as
docs/releasing.md has a team do it: version 2 trained (PRESET=notebook) and version 3, a
challenger made worse on purpose, published; `python -m ml registry compare 3 2`; make approve
refuses 3 and approves 2; make deploy-model (version 2: the endpoint updated in place, the Lambda
follows); make rollback (version 1 again, version 2 Rejected); make deploy-model in realtime mode
(a new, guarded endpoint) -> make plan CHECK=1 -> version 2 approved again and deployed while
SageMaker rolls the update back behind Terraform's back (the deploy fails and keeps the old
configuration) -> a laptop's `make deploy` (the same targets in one command: train, approve as
the person it runs as, deploy-model) -> make destroy. The bootstrap's apply goes on while the path
starts: its bucket exists within a second, and the rest of its minute is the provider waiting for
the lifecycle rules to settle (three equal reads, 10 s apart).

A laptop's `make deploy` differs from this only in `make init` (no STATE_BUCKET: local state,
no backend file; tests/terraform/test_bootstrap.py checks that init). Rehearsing it as a second
full path cost ~95 s of CPU, a third of make test's budget, for those few lines.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.rehearsal.stack_checks")  # its asserts explain themselves too

from tests.rehearsal import deployed_lambda  # noqa: E402  (after the rewrite hook)
from tests.rehearsal.aws_server import HARNESS_KEY  # noqa: E402
from tests.rehearsal.fidelity import ROLL_BACK_NEXT_UPDATE  # noqa: E402
from tests.rehearsal.harness import (  # noqa: E402
    PERSON_KEY,
    Aws,
    Step,
    aws_server,
    backend_args,
    checkout,
    critical_path,
    deploy_env,
    endpoint_model,
    make,
    run,
)
from tests.rehearsal.stack_checks import DeployedStack, run_all  # noqa: E402
from tests.shared import made_once  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TEAM_NAME = "churn"  # the default NAME (the workflows' vars.NAME || 'churn')
REPOSITORY = "example-org/churn"
LAPTOP_DEPLOY = ("deploy", "AUTO_APPROVE=1", "SMOKE=0", "PRESET=notebook")  # the champion's recipe: not costlier
APPLY_BASE = ("apply-base", "AUTO_APPROVE=1")
TRAIN = ("train", "BACKEND=sagemaker")
APPROVE_V1 = ("approve", "VERSION=1", "NOTE=the first model")
TRAIN_V2 = ("train", "BACKEND=sagemaker", "PRESET=notebook")
PUBLISH_WORSE = ("publish", "MODEL=build/worse")
COMPARE = "python -m ml registry compare 3 2"
APPROVE_WORSE = ("approve", "VERSION=3", "NOTE=worse on purpose")
APPROVE_V2 = ("approve", "VERSION=2", 'NOTE=the lab\'s "notebook" recipe')
DEPLOY_MODEL = ("deploy-model", "AUTO_APPROVE=1")
ROLLBACK = ("rollback", "AUTO_APPROVE=1", "NOTE=rehearsed")
REAPPROVE_V2 = ("approve", "VERSION=2", "NOTE=again, after the fix")
DEPLOY_V2 = ("deploy-model", "VERSION=2", "AUTO_APPROVE=1")


@dataclass
class Rehearsal:
    requests_log: Path
    steps: list[Step] = field(default_factory=list)  # in order
    snapshots: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)  # the bootstrap's deploy-role policy
    state_bucket: str = ""

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.requests_log.read_text().splitlines()]

    def step(self, command: str, nth: int = 0) -> Step:
        return [s for s in self.steps if s.command == command][nth]


def inventory(aws: Aws, prefix: str) -> dict[str, list[str]]:
    """Everything named <prefix>-… in the stand-in, by kind."""
    s3, lam, sm, api, iam = (aws.client(n) for n in ("s3", "lambda", "sagemaker", "apigatewayv2", "iam"))
    cw, cf, logs, sns = (aws.client(n) for n in ("cloudwatch", "cloudfront", "logs", "sns"))
    scaling = aws.client("application-autoscaling")
    p = prefix + "-"
    return {
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(p)),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(p)),
        "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(p)],
        "models": [m["ModelName"] for m in sm.list_models()["Models"] if m["ModelName"].startswith(p)],
        "endpoint_configs": [
            c["EndpointConfigName"]
            for c in sm.list_endpoint_configs()["EndpointConfigs"]
            if c["EndpointConfigName"].startswith(p)
        ],
        "endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"].startswith(p)],
        "apis": [a["Name"] for a in api.get_apis()["Items"] if a["Name"].startswith(p)],
        "log_groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"] if p in g["logGroupName"]],
        "topics": [t["TopicArn"] for t in sns.list_topics()["Topics"] if f":{p}" in t["TopicArn"]],
        "alarms": sorted(a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=p)["MetricAlarms"]),
        "dashboards": [d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix=p)["DashboardEntries"]],
        "distributions": [
            d["Id"] for d in cf.list_distributions()["DistributionList"].get("Items", []) if d["Comment"].startswith(p)
        ],
        "scalable_targets": [
            t["ResourceId"]
            for t in scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
            if t["ResourceId"].startswith(f"endpoint/{p}")
        ],
        "training_jobs": [
            j["TrainingJobName"]
            for j in sm.list_training_jobs()["TrainingJobSummaries"]
            if j["TrainingJobName"].startswith(p)
        ],
    }


def tf_outputs(tree: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        ["terraform", f"-chdir={tree / 'terraform'}", "output", "-json"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return {k: v["value"] for k, v in json.loads(proc.stdout or "{}").items()}


def apply_bootstrap(aws: Aws, workdir: Path, env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """terraform/bootstrap as docs/team.md has an administrator apply it (here: the harness's key).

    Its provider has no test endpoint variable: an override file (Terraform's own mechanism)
    points it at the stand-in. Returns the state bucket and the deploy role's policy as stored.
    """
    root = workdir / "bootstrap"
    shutil.copytree(
        ROOT / "terraform" / "bootstrap", root, ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate*")
    )
    endpoints = "".join(f'    {s} = "{aws.url}"\n' for s in ("iam", "s3", "sts"))
    (root / "rehearsal_override.tf").write_text(
        'provider "aws" {\n  s3_use_path_style           = true\n  skip_credentials_validation = true\n'
        "  skip_requesting_account_id  = true\n  skip_metadata_api_check     = true\n"
        f"  endpoints {{\n{endpoints}  }}\n}}\n"
    )
    # The same CLI configuration (the offline provider mirror, where the machine has one) as make's.
    rc = workdir / "bootstrap.terraform.rc"
    subprocess.run(["sh", str(ROOT / "scripts" / "tf_cli_config.sh"), str(rc)], check=True)
    admin = dict(env, AWS_ACCESS_KEY_ID=HARNESS_KEY, TF_CLI_CONFIG_FILE=str(rc))
    for args in (
        ["init", "-input=false", "-no-color"],
        [
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            f"-var=github_repository={REPOSITORY}",
            f"-var=name_prefix={TEAM_NAME}",
        ],
    ):
        proc = subprocess.run(["terraform", *args], cwd=root, env=admin, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    out = subprocess.run(["terraform", "output", "-json"], cwd=root, env=admin, capture_output=True, text=True)
    values = {k: v["value"] for k, v in json.loads(out.stdout).items()}
    role = values["deploy_role_arn"].rsplit("/", 1)[1]
    doc = aws.client("iam").get_role_policy(RoleName=role, PolicyName=f"deploy-{TEAM_NAME}")["PolicyDocument"]
    return values["state_bucket"], json.loads(doc) if isinstance(doc, str) else doc


def state_bucket(aws: Aws, bootstrap: threading.Thread, timeout: float = 120) -> str:
    """The bootstrap's state bucket (tfstate-<name>-…), as soon as it exists."""
    s3, deadline = aws.client("s3"), time.monotonic() + timeout
    while time.monotonic() < deadline and bootstrap.is_alive():
        names = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"tfstate-{TEAM_NAME}-")]
        if names:
            return str(names[0])
        time.sleep(0.5)
    raise RuntimeError("no state bucket yet")


def serving(aws: Aws, name: str) -> dict[str, Any]:
    """What SageMaker serves and what the Lambda says: the endpoint's configuration, model and package."""
    sm, lam = aws.client("sagemaker"), aws.client("lambda")
    endpoints = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"] if e["EndpointName"].startswith(name)]
    (endpoint,) = endpoints
    config, model, package = endpoint_model(aws, endpoint)
    env = lam.get_function_configuration(FunctionName=f"{name}-invoker")["Environment"]["Variables"]
    return {"endpoint": endpoint, "config": config, "model": model, "package": package, "lambda": env}


def statuses(aws: Aws, name: str) -> dict[str, str]:
    sm = aws.client("sagemaker")
    listed = sm.list_model_packages(ModelPackageGroupName=name)["ModelPackageSummaryList"]
    return {p["ModelPackageArn"].rsplit("/", 1)[1]: p["ModelApprovalStatus"] for p in listed}


def churner(tree: Path) -> dict[str, Any]:
    """The deployed bundle's example churner (what make smoke sends)."""
    record: dict[str, Any] = json.loads((tree / "build" / "model" / "feature_schema.json").read_text())["examples"][
        "churner"
    ]
    return record


def worse_bundle(aws: Aws, tree: Path) -> None:
    """build/worse: version 2's bundle with a booster trained on inverted labels (worse on purpose),
    on version 2's registered test customers."""
    import xgboost as xgb

    from ml.data.dataset import parse_raw
    from ml.features.schema import encode_frame, labels
    from ml.model.bundle import MODEL_ARCHIVE, Bundle, model_archive_bytes
    from ml.sagemaker.registry import TEST_FILE

    arn = json.loads((tree / "build" / "registered.json").read_text())["model_package_arn"]
    spec = aws.client("sagemaker").describe_model_package(ModelPackageName=arn)["InferenceSpecification"]
    bucket, key = spec["Containers"][0]["ModelDataUrl"].removeprefix("s3://").split("/", 1)
    body = aws.client("s3").get_object(Bucket=bucket, Key=key.rsplit("/", 1)[0] + "/" + TEST_FILE)["Body"].read()
    customers = parse_raw(body, "version 2's test customers")
    x = encode_frame(customers, Bundle(tree / "build" / "model").schema())
    inverted = xgb.DMatrix(x, label=1 - labels(customers))
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": 7}, inverted, num_boost_round=5)
    shutil.copytree(tree / "build" / "model", tree / "build" / "worse")
    (tree / "build" / "worse" / MODEL_ARCHIVE).write_bytes(model_archive_bytes(booster))


def release_path(aws: Aws, tree: Path, env: dict[str, str], r: Rehearsal) -> None:
    """From version 1 serving to the realtime endpoint, as docs/releasing.md runs a release."""
    steps, snap = r.steps, r.snapshots
    realtime = dict(env, TF_VAR_endpoint_mode="realtime")
    person = dict(env, AWS_ACCESS_KEY_ID=PERSON_KEY)
    if make(tree, env, *TRAIN_V2, log=steps).returncode != 0:
        return
    worse_bundle(aws, tree)
    make(tree, person, *PUBLISH_WORSE, log=steps)
    snap["registered"] = statuses(aws, TEAM_NAME)
    python = [str(tree / ".venv" / "bin" / "python"), "-m", "ml", "registry", "--group", TEAM_NAME]
    run(tree, person, [*python, "compare", "3", "2"], COMPARE, steps)
    make(tree, person, *APPROVE_WORSE, log=steps)
    if make(tree, person, *APPROVE_V2, log=steps).returncode != 0:
        return
    if make(tree, env, *DEPLOY_MODEL, log=steps).returncode != 0:
        return
    snap["v2 serving"] = serving(aws, TEAM_NAME)
    snap["v2 answer"] = deployed_lambda.invoke(aws, tree, TEAM_NAME, churner(tree))
    snap["v2 tfvars"] = json.loads((tree / "build" / "model.auto.tfvars.json").read_text())
    snap["v2 inventory"] = inventory(aws, TEAM_NAME)
    if make(tree, person, *ROLLBACK, log=steps).returncode != 0:
        return
    snap["rolled back"] = serving(aws, TEAM_NAME)
    snap["answer after rollback"] = deployed_lambda.invoke(aws, tree, TEAM_NAME, churner(tree))
    snap["after rollback"] = statuses(aws, TEAM_NAME)
    if make(tree, realtime, *DEPLOY_MODEL, log=steps).returncode != 0:
        return
    snap["second deploy"] = inventory(aws, TEAM_NAME)
    snap["second outputs"] = tf_outputs(tree, env)
    snap["realtime serving"] = serving(aws, TEAM_NAME)
    make(tree, realtime, "plan", "CHECK=1", log=steps)
    # SageMaker rolls the next update back by itself (an alarm fired while it baked): the deploy must say so.
    make(tree, dict(realtime, AWS_ACCESS_KEY_ID=PERSON_KEY), *REAPPROVE_V2, log=steps)
    host, port = aws.url.removeprefix("http://").split(":")
    armed = http.client.HTTPConnection(host, int(port), timeout=10)
    armed.request("POST", ROLL_BACK_NEXT_UPDATE)
    assert armed.getresponse().status == 200
    make(tree, realtime, *DEPLOY_V2, log=steps)
    snap["after the rolled-back update"] = serving(aws, TEAM_NAME)
    snap["rolled-back inventory"] = inventory(aws, TEAM_NAME)
    # A laptop's make deploy, as the person it runs as: train, approve what it trained, deploy it.
    make(tree, dict(realtime, AWS_ACCESS_KEY_ID=PERSON_KEY), *LAPTOP_DEPLOY, log=steps)
    snap["laptop deploy"] = serving(aws, TEAM_NAME)
    snap["laptop inventory"] = inventory(aws, TEAM_NAME)


def team_path(aws: Aws, workdir: Path, r: Rehearsal) -> None:
    steps = r.steps
    env = deploy_env(aws, TEAM_NAME)
    done: dict[str, Any] = {}

    def bootstrap() -> None:
        try:
            done["result"] = apply_bootstrap(aws, workdir, env)
        except BaseException as exc:  # re-raised below
            done["error"] = exc

    applying = threading.Thread(target=bootstrap)
    applying.start()
    tree = checkout(workdir / "team")  # while the bootstrap makes its bucket
    try:
        bucket = state_bucket(aws, applying)
    except RuntimeError:
        applying.join()
        raise done.get("error") or RuntimeError("terraform/bootstrap created no state bucket") from None
    r.snapshots["clean checkout has build/"] = (tree / "build").exists()
    env.update(STATE_BUCKET=bucket, BACKEND_ARGS=backend_args(), AWS_ENDPOINT_URL_S3=aws.url)
    realtime = dict(env, TF_VAR_endpoint_mode="realtime")
    person = dict(env, AWS_ACCESS_KEY_ID=PERSON_KEY)
    if make(tree, env, "init", log=steps).returncode == 0:
        first = (
            make(tree, env, *APPLY_BASE, log=steps).returncode == 0  # the train workflow
            and make(tree, env, *TRAIN, log=steps).returncode == 0
            and make(tree, person, *APPROVE_V1, log=steps).returncode == 0  # a person approves
            and make(tree, env, *DEPLOY_MODEL, log=steps).returncode == 0  # the deploy workflow
        )
        if first:
            r.snapshots["deploy"] = inventory(aws, TEAM_NAME)
            r.snapshots["outputs"] = tf_outputs(tree, env)
            r.snapshots["v1 serving"] = serving(aws, TEAM_NAME)
            build = tree / "build"
            stack = DeployedStack(
                aws,
                TEAM_NAME,
                r.snapshots["outputs"],
                json.loads((build / "model.auto.tfvars.json").read_text()),
                json.loads((build / "model" / "feature_schema.json").read_text()),
                lambda: inventory(aws, TEAM_NAME),
            )
            r.snapshots["stack checks"] = run_all(stack)  # tests/rehearsal/test_deployed_stack.py
            make(tree, env, "smoke", log=steps)
            release_path(aws, tree, env, r)
        make(tree, realtime, "destroy", "AUTO_APPROVE=1", log=steps)
        r.snapshots["after destroy"] = inventory(aws, TEAM_NAME)
        s3 = aws.client("s3")
        r.snapshots["state objects"] = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        r.snapshots["local state files"] = [str(p) for p in (tree / "terraform").glob("*.tfstate")]
    applying.join()
    if "error" in done:
        raise done["error"]
    r.state_bucket, r.policy = done["result"]
    assert r.state_bucket == bucket


def run_rehearsal(workdir: Path) -> Rehearsal:
    r = Rehearsal(workdir / "requests.jsonl")
    with critical_path(), aws_server(workdir) as aws:
        team_path(aws, workdir, r)
    return r


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    """The whole rehearsal, once per session (made_once: other workers read what it wrote)."""

    def make_it(out: Path) -> None:
        out.mkdir()
        try:
            r = run_rehearsal(out)
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)  # made_once: no half-made rehearsal for the next caller
            raise
        saved = {
            "steps": [asdict(s) for s in r.steps],
            "snapshots": r.snapshots,
            "policy": r.policy,
            "state_bucket": r.state_bucket,
        }
        (out / "rehearsal.json").write_text(json.dumps(saved))

    out = made_once(tmp_path_factory, "deploy-rehearsal", make_it)
    saved = json.loads((out / "rehearsal.json").read_text())
    steps = [Step(**s) for s in saved["steps"]]
    return Rehearsal(out / "requests.jsonl", steps, saved["snapshots"], saved["policy"], saved["state_bucket"])
