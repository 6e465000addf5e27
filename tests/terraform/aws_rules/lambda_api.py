"""Lambda and the HTTP API in front of it."""

from __future__ import annotations

import re

from tests.terraform.aws_rules.core import (
    UNKNOWN,
    Check,
    Plan,
    _as_list,
    _member,
    _shape,
    _string_problem,
    rule,
    verdict,
)

# -- Lambda -------------------------------------------------------------------------------

LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"


@rule(
    "LAMBDA-NAME-HANDLER",
    "A function name is 1-64 characters of letters, digits, - and _; the handler at most 128 "
    "characters without whitespace.",
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
)
def _lambda_name(plan: Plan) -> Check:
    for fn in plan.resources("aws_lambda_function"):
        problems: list[str | None] = []
        name = fn.get("function_name")
        if isinstance(name, str) and not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):
            problems.append(f"function_name {name!r} must be 1-64 characters of a-z, A-Z, 0-9, - and _")
        handler = fn.get("handler")
        if isinstance(handler, str):
            problems.append(_string_problem(handler, _member("lambda", "CreateFunction", "Handler"), "handler"))
        yield verdict(fn.address, problems)


@rule(
    "LAMBDA-LIMITS",
    "A function's timeout is 1-900 seconds and its memory 128-10,240 MB.",
    LAMBDA_QUOTAS,
)
def _lambda_limits(plan: Plan) -> Check:
    for fn in plan.resources("aws_lambda_function"):
        timeout, memory = fn.get("timeout"), fn.get("memory_size")
        if isinstance(timeout, int) and not 1 <= timeout <= 900:
            yield fn.address, f"timeout = {timeout} s: Lambda allows 1-900"
        elif isinstance(memory, int) and not 128 <= memory <= 10240:
            yield fn.address, f"memory_size = {memory} MB: Lambda allows 128-10,240"
        else:
            yield fn.address, None


# Set by the Lambda runtime; CreateFunction refuses them in the function's environment.
LAMBDA_RESERVED_ENV = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}  # fmt: skip


@rule(
    "LAMBDA-ENV",
    "A function's environment is at most 4 KB (names and values), its names match [a-zA-Z][a-zA-Z0-9_]+ "
    "and none is one of the runtime's reserved variables.",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html",
)
def _lambda_env(plan: Plan) -> Check:
    pattern = _shape("lambda", "EnvironmentVariableName").metadata["pattern"]
    for fn in plan.resources("aws_lambda_function"):
        env = fn.get("environment", 0, "variables")
        if env is UNKNOWN or not isinstance(env, dict):
            continue
        size = sum(len(k.encode()) + len(str(v).encode()) for k, v in env.items())
        bad_names = [k for k in env if not re.fullmatch(pattern, k)]
        reserved = sorted(set(env) & LAMBDA_RESERVED_ENV)
        if size > 4096:
            yield fn.address, f"environment is {size} bytes, over Lambda's 4 KB"
        elif bad_names:
            yield fn.address, f"environment names {bad_names} do not match {pattern}"
        elif reserved:
            yield fn.address, f"environment sets reserved variables {reserved}: the runtime owns them"
        else:
            yield fn.address, None


def invoke_budget_s(connect: float, read: float, attempts: int) -> float:
    """The invoker's worst case (functions/invoker/handler.py invoke_budget_s; Terraform's precondition)."""
    return attempts * (connect + read) + sum(min(2**i, 20) for i in range(attempts - 1))


@rule(
    "LAMBDA-INVOKE-BUDGET",
    "A function that calls a SageMaker endpoint (ENDPOINT_NAME) declares its invoke budget (INVOKE_*) and "
    "finishes its worst case (attempts x (connect + read) + botocore's retry backoff, + 1 s of own work) "
    "before its own timeout, so it answers its 504 instead of being killed.",
    "https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html and " + LAMBDA_QUOTAS,
)
def _lambda_invoke_budget(plan: Plan) -> Check:
    for fn in plan.resources("aws_lambda_function"):
        env, timeout = fn.get("environment", 0, "variables"), fn.get("timeout")
        if not isinstance(env, dict) or "ENDPOINT_NAME" not in env or not isinstance(timeout, int):
            continue
        if "INVOKE_READ_TIMEOUT" not in env:
            yield (
                fn.address,
                (
                    f"calls endpoint {env['ENDPOINT_NAME']!r} but its environment declares no invoke budget "
                    f"(INVOKE_CONNECT_TIMEOUT, INVOKE_READ_TIMEOUT, INVOKE_MAX_ATTEMPTS): the handler's built-in "
                    f"defaults cannot be checked against the {timeout} s timeout"
                ),
            )
            continue
        connect, read = float(env.get("INVOKE_CONNECT_TIMEOUT", 2)), float(env["INVOKE_READ_TIMEOUT"])
        attempts = int(env.get("INVOKE_MAX_ATTEMPTS", 1))
        budget = invoke_budget_s(connect, read, attempts)
        if budget + 1 > timeout:
            yield (
                fn.address,
                (
                    f"invoke budget {attempts} x ({connect:g} s + {read:g} s) + backoff = {budget:g} s, plus 1 s of "
                    f"handler work, exceeds the function timeout {timeout} s: Lambda kills the handler before its 504"
                ),
            )
        else:
            yield fn.address, None


# -- API Gateway (HTTP APIs) --------------------------------------------------------------

HTTP_API_QUOTAS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html"


@rule(
    "APIGW-INTEGRATION",
    "An HTTP API integration times out after 50-30,000 ms (30 s: the maximum and the default); a "
    "Lambda proxy integration uses payload format 1.0 or 2.0.",
    HTTP_API_QUOTAS,
)
def _apigw_integration(plan: Plan) -> Check:
    shape = _member("apigatewayv2", "CreateIntegration", "TimeoutInMillis")
    for integ in plan.resources("aws_apigatewayv2_integration"):
        ms = integ.get("timeout_milliseconds")
        if isinstance(ms, int) and not shape.metadata["min"] <= ms <= shape.metadata["max"]:
            yield integ.address, f"timeout_milliseconds = {ms}: HTTP APIs allow 50-30000"
        elif integ.get("integration_type") == "AWS_PROXY" and integ.get("payload_format_version") not in ("1.0", "2.0"):
            yield integ.address, f"payload_format_version {integ.get('payload_format_version')!r}: 1.0 or 2.0"
        else:
            yield integ.address, None


@rule(
    "APIGW-LAMBDA-TIMEOUT",
    "A Lambda behind an HTTP API times out before the integration does (else the API answers a bare 503 "
    "instead of the function's own error), leaving a second for the function's cold start.",
    HTTP_API_QUOTAS,
)
def _apigw_lambda_timeout(plan: Plan) -> Check:
    integrations = [
        i for i in plan.resources("aws_apigatewayv2_integration") if i.get("integration_type") == "AWS_PROXY"
    ]
    functions = plan.resources("aws_lambda_function")
    for integ in integrations:
        ms = integ.get("timeout_milliseconds")
        limit_s = ms / 1000 if isinstance(ms, int) else 30.0  # unset: the HTTP API default, 30 s
        uri = integ.get("integration_uri")
        named = re.search(r":function:([^/:]+)", uri) if isinstance(uri, str) else None
        targets = [f for f in functions if named and f.get("function_name") == named.group(1)]
        for fn in targets or functions:  # uri unknown at plan: hold every function to it
            timeout = fn.get("timeout")
            if isinstance(timeout, int) and timeout + 1 > limit_s:
                yield (
                    fn.address,
                    (
                        f"timeout {timeout} s does not leave 1 s under the HTTP API integration timeout "
                        f"({limit_s:g} s) of {integ.address}: the API would answer 503 before the function's own error"
                    ),
                )
            else:
                yield fn.address, None


@rule(
    "APIGW-THROTTLING",
    "A stage's throttling stays within the account quota (10,000 requests/s, burst 5,000) and lets "
    "requests through (rate > 0, burst >= 1).",
    HTTP_API_QUOTAS,
)
def _apigw_throttling(plan: Plan) -> Check:
    for stage in plan.resources("aws_apigatewayv2_stage"):
        for s in _as_list(stage.get("default_route_settings")):
            rate, burst = s.get("throttling_rate_limit"), s.get("throttling_burst_limit")
            if isinstance(rate, (int, float)) and not 0 < rate <= 10000:
                yield stage.address, f"throttling_rate_limit = {rate}: must be above 0 and at most 10,000"
            elif isinstance(burst, int) and not 1 <= burst <= 5000:
                yield stage.address, f"throttling_burst_limit = {burst}: must be 1-5,000"
            else:
                yield stage.address, None
