"""The deployed invoker, answering as Lambda would run it (moto runs no Lambda: it needs Docker).

Its code is the checkout's build/invoker.zip, checked against the function's CodeSha256, so it
is the code deployed. Its environment is the function's, as moto stores it, with what the
Lambda runtime adds (region, credentials). It is called with an API Gateway HTTP API event, in
a Python process of its own. Its endpoint is a model server (ml serve, the container's
contract) serving the archive the endpoint's model was made from: the endpoint's
configuration, its model, that model's package version and its ModelDataUrl, all read back
from the stand-in. What it answers is what a caller of the deployed API would get, CloudFront
and API Gateway aside.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ml.serving.local_stack import start_model_server, stop_process, wait_ready
from tests.rehearsal.harness import REGION, Aws, endpoint_model
from tests.shared import free_port

# The Lambda runtime's part: the code's folder on the path, handler.handler called with the event.
CALL = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); import handler; "
    "print(json.dumps(handler.handler(json.load(sys.stdin))))"
)


def served_archive(aws: Aws, endpoint: str) -> bytes:
    sm = aws.client("sagemaker")
    _config, _model, package = endpoint_model(aws, endpoint)
    url = sm.describe_model_package(ModelPackageName=package)["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, key = url.removeprefix("s3://").split("/", 1)
    body: bytes = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def invoke(aws: Aws, tree: Path, name: str, record: dict[str, Any]) -> dict[str, Any]:
    """POST /predict of one customer, answered by the deployed function: (status, body as JSON)."""
    function = aws.client("lambda").get_function_configuration(FunctionName=f"{name}-invoker")
    code = (tree / "build" / "invoker.zip").read_bytes()
    digest = base64.b64encode(hashlib.sha256(code).digest()).decode()
    assert digest == function["CodeSha256"], "build/invoker.zip is not the deployed function's code"
    env = dict(function["Environment"]["Variables"])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "model").mkdir()
        (work / "model" / "model.tar.gz").write_bytes(served_archive(aws, env["ENDPOINT_NAME"]))
        with zipfile.ZipFile(tree / "build" / "invoker.zip") as archive:
            archive.extractall(work / "code")
        port = free_port()
        server = start_model_server(work / "model", "127.0.0.1", port)
        try:
            wait_ready("127.0.0.1", port, server)
            event = {
                "version": "2.0",
                "routeKey": "POST /predict",
                "rawPath": "/predict",
                "rawQueryString": "",
                "headers": {"content-type": "application/json"},
                "requestContext": {"http": {"method": "POST", "path": "/predict", "sourceIp": "127.0.0.1"}},
                "body": json.dumps(record),
                "isBase64Encoded": False,
            }
            runtime = {
                **env,
                "AWS_ACCESS_KEY_ID": "lambda",
                "AWS_SECRET_ACCESS_KEY": "lambda",
                "AWS_REGION": REGION,  # the Lambda runtime sets both
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{port}",
                "AWS_LAMBDA_FUNCTION_NAME": function["FunctionName"],
            }
            done = subprocess.run(
                [sys.executable, "-c", CALL, str(work / "code")],
                input=json.dumps(event),
                env=runtime,
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            stop_process(server)
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"status": answer["statusCode"], "body": json.loads(answer["body"])}
