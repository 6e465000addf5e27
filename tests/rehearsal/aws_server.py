"""The rehearsal's AWS: a moto server, plus what moto lacks for the deploy path, plus a request log.

    python -m tests.rehearsal.aws_server --port PORT --log requests.jsonl

In front of moto's own WSGI application (the one ``moto_server`` runs), one middleware:
- logs every request (method, path, query, X-Amz-Target, the signing key id, small bodies, the
  answer's status) as one JSON line: the permission check (tests/rehearsal/actions.py) reads it;
- after a successful CreateTrainingJob, trains the job as the container would
  (tests/rehearsal/container.py), so DescribeTrainingJob's artifact exists when the caller looks;
- answers as AWS does where moto does not (tests/rehearsal/fidelity.py).
CloudFront distributions are Deployed at once (moto's state manager), instead of after one poll.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tests.rehearsal.fidelity import Fixes, Request

# The key the harness itself signs with: its calls (the trainer's, the checks') are not the deploy's.
HARNESS_KEY = "HARNESSHARNESSHARNES"
LOGGED_BODY_LIMIT = 64 * 1024  # big S3 uploads are logged without their body


def signing(headers: dict[str, str]) -> tuple[str, str]:
    """(access key id, signing service) from a SigV4 Authorization header."""
    auth = headers.get("authorization", "")
    if "Credential=" not in auth:
        return "", ""
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return (scope[0], scope[3]) if len(scope) >= 5 else (scope[0], "")


class Middleware:
    def __init__(self, app: Callable[..., Iterable[bytes]], log_path: Path, base_url: Callable[[], str]):
        self.app, self.log_path, self.base_url = app, log_path, base_url
        self.lock = threading.Lock()
        self.fixes = Fixes()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wsgi import get_input_stream

        body = get_input_stream(environ).read()
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        key_id, service = signing(headers)
        req = Request(
            service,
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            headers.get("x-amz-target", ""),
            body,
        )
        own = self.fixes.answer(req)
        if own is not None:
            status, response_headers, answer = own.status, [("Content-Type", own.content_type)], own.body
        else:
            forward = self.fixes.for_moto(req)
            self._rewind(environ, forward, changed=forward is not body)
            seen: list[tuple[str, list[tuple[str, str]]]] = []
            answer = b"".join(self.app(environ, lambda st, hd, exc_info=None: seen.append((st, hd))))
            status, response_headers = seen[0]
            answer = self.fixes.after(req, int(status.split()[0]), answer)
        response_headers = [(k, v) for k, v in response_headers if k.lower() != "content-length"]
        start_response(status, [*response_headers, ("Content-Length", str(len(answer)))])
        code = int(status.split()[0])
        if req.target == "SageMaker.CreateTrainingJob" and code == 200:
            self._train(json.loads(body or b"{}")["TrainingJobName"])
        self._log(
            {
                "key": key_id,
                "service": service,
                "method": req.method,
                "path": req.path,
                "query": req.query,
                "target": req.target,
                "content_type": environ.get("CONTENT_TYPE", ""),
                "body": body.decode("utf-8", "replace") if len(body) <= LOGGED_BODY_LIMIT else None,
                "status": code,
            }
        )
        return [answer]

    @staticmethod
    def _rewind(environ: dict[str, Any], body: bytes, changed: bool) -> None:
        """Hand moto the body read here (its checksums dropped when the body was rewritten)."""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        if changed:
            for name in [k for k in environ if k.startswith(("HTTP_CONTENT_MD5", "HTTP_X_AMZ_CHECKSUM"))]:
                environ.pop(name)

    # -- training --------------------------------------------------------------------------
    def _train(self, job_name: str) -> None:
        import boto3

        from tests.rehearsal.container import train_job

        session = boto3.Session(aws_access_key_id=HARNESS_KEY, aws_secret_access_key="x", region_name="us-east-1")
        sm, s3 = (session.client(n, endpoint_url=self.base_url()) for n in ("sagemaker", "s3"))
        try:
            url = train_job(sm, s3, job_name)
            self._log({"key": HARNESS_KEY, "trained": job_name, "artifact": url})
        except Exception:  # the job "succeeded" in moto; its caller will find no artifact and say so
            self._log({"key": HARNESS_KEY, "training_failed": job_name, "error": traceback.format_exc()})

    def _log(self, entry: dict[str, Any]) -> None:
        with self.lock, self.log_path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


def serve(port: int, log_path: Path) -> None:
    from moto.moto_api import state_manager
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state_manager.set_transition(model_name="cloudfront::distribution", transition={"progression": "immediate"})
    app = Middleware(DomainDispatcherApplication(create_backend_app), log_path, lambda: f"http://127.0.0.1:{port}")
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(args.port, args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
