locals {
  # The handler's botocore client reads its timeouts and attempts from here (one source).
  # ALLOWED_ORIGIN only for a page on another origin (the handler sends no CORS header without it).
  # MODEL_VERSION and MODEL_APPROVED_AT only for a model from the registry: an unregistered
  # model's environment stays what it was before these existed (no change to plan on upgrade),
  # and the handler reads "absent" as null.
  environment = merge(
    {
      ENDPOINT_NAME          = var.endpoint_name
      DECISION_CUTOFF        = tostring(var.decision_cutoff)
      INVOKE_CONNECT_TIMEOUT = tostring(var.invoke_connect_timeout_s)
      INVOKE_READ_TIMEOUT    = tostring(var.invoke_read_timeout_s)
      INVOKE_MAX_ATTEMPTS    = tostring(var.invoke_max_attempts)
    },
    var.allowed_origin == null ? {} : { ALLOWED_ORIGIN = var.allowed_origin },
    var.model_version == "" ? {} : { MODEL_VERSION = var.model_version, MODEL_APPROVED_AT = var.model_approved_at },
  )

  # Worst case of one InvokeEndpoint call as the handler makes it: every attempt runs to its
  # connect and read timeouts (botocore retries both), and botocore's "standard" retry mode
  # sleeps up to 2^(n-1) s (random jitter, capped at 20 s) before attempt n+1.
  invoke_backoff_s = sum(concat([0], [for i in range(var.invoke_max_attempts - 1) : min(pow(2, i), 20)]))
  invoke_budget_s  = var.invoke_max_attempts * (var.invoke_connect_timeout_s + var.invoke_read_timeout_s) + local.invoke_backoff_s
}

data "aws_caller_identity" "this" {}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158: logs hold request metadata only; the AWS-owned key encrypts them at rest
  #checkov:skip=CKV_AWS_338: retention is a variable (default 14 days) to keep lab costs down
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    # Confused-deputy guard: Lambda may assume the role only on behalf of this account.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.this.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.function_name}-lambda"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "InvokeOneEndpoint"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = [var.endpoint_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.function_name}-lambda"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_50: X-Ray tracing would need extra permissions and cost; logs are enough for this function
  #checkov:skip=CKV_AWS_115: reserved concurrency eats the account's unreserved pool (10 on new accounts); the HTTP API throttles instead
  #checkov:skip=CKV_AWS_116: a dead-letter queue only applies to asynchronous invocation; the HTTP API invokes synchronously
  #checkov:skip=CKV_AWS_117: the function only calls the SageMaker runtime API; a VPC would add NAT or endpoint costs
  #checkov:skip=CKV_AWS_173: the environment holds no secrets (endpoint name, cutoff, origin, model version)
  #checkov:skip=CKV_AWS_272: code signing needs a signing profile; the zip is built and hashed by the project's own pipeline
  function_name    = var.function_name
  role             = aws_iam_role.this.arn
  filename         = var.zip_path
  source_code_hash = var.zip_sha256
  handler          = var.handler
  runtime          = var.runtime
  timeout          = var.timeout_s
  memory_size      = var.memory_mb
  architectures    = ["x86_64"]

  environment {
    variables = local.environment
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]

  lifecycle {
    # The handler answers its own 504 JSON only if its invoke budget ends before the function's
    # timeout, and that before the caller (the HTTP API) gives up and answers a bare 5xx.
    precondition {
      condition     = local.invoke_budget_s + var.handler_overhead_s <= var.timeout_s
      error_message = format("The invoke budget does not fit in the Lambda timeout: %g attempts x (%gs connect + %gs read) + %gs retry backoff = %gs, plus %gs for the handler's own work, is over timeout_s = %gs. Raise timeout_s or lower the invoke timeouts/attempts.", var.invoke_max_attempts, var.invoke_connect_timeout_s, var.invoke_read_timeout_s, local.invoke_backoff_s, local.invoke_budget_s, var.handler_overhead_s, var.timeout_s)
    }

    precondition {
      condition     = var.timeout_s < var.caller_timeout_s
      error_message = format("timeout_s = %gs must be under the caller's timeout (%gs, the HTTP API's integration limit), leaving room for the function's own cold start; otherwise the API answers a bare 503 before the handler's 504.", var.timeout_s, var.caller_timeout_s)
    }
  }
}
