locals {
  environment = {
    ENDPOINT_NAME   = var.endpoint_name
    DECISION_CUTOFF = tostring(var.decision_cutoff)
    ALLOWED_ORIGIN  = var.allowed_origin
  }
}

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
  #checkov:skip=CKV_AWS_173: the environment holds no secrets (endpoint name, cutoff, origin)
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
}
