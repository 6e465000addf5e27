# Dashboard, alarms and their SNS topic for the deployed stack.
# Metric names and dimensions (AWS docs):
#   HTTP API:  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html
#   Lambda:    https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
#   SageMaker: https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html (endpoint invocation
#              metrics; there is no "ModelError") and .../serverless-endpoints-monitoring.html
#   EMF:       https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
# The module creates no log group: the invoker's EMF lines land in the Lambda's own log
# group, whose retention the invoker module sets.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name

  # The invoker's EMF layout. functions/invoker/metrics.py is the source;
  # tests/monitoring/test_layout.py fails when these names drift from it.
  emf = {
    namespace        = "Churn/Invoker"
    requests         = "Requests"
    records          = "Records"
    flagged          = "Flagged"
    handler_latency  = "HandlerLatency"
    endpoint_latency = "EndpointLatency"
    status_classes   = ["Status2xx", "Status4xx", "Status5xx"]
    score_bins       = ["ScoreDecile0", "ScoreDecile1", "ScoreDecile2", "ScoreDecile3", "ScoreDecile4", "ScoreDecile5", "ScoreDecile6", "ScoreDecile7", "ScoreDecile8", "ScoreDecile9"]
  }
  emf_dims = ["FunctionName", var.function_name, "EndpointName", var.endpoint_name]
  api_dims = ["ApiId", var.api_id]
  fn_dims  = ["FunctionName", var.function_name]
  sm_dims  = ["EndpointName", var.endpoint_name, "VariantName", var.variant_name]

  drift_alarm = var.expected_flagged_share != null && var.flagged_share_band != null
  band        = coalesce(var.flagged_share_band, [0, 1])

  alarm_names = {
    api_5xx          = "${var.name_prefix}-api-5xx-rate"
    lambda_errors    = "${var.name_prefix}-lambda-errors"
    lambda_throttles = "${var.name_prefix}-lambda-throttles"
    endpoint_errors  = "${var.name_prefix}-endpoint-errors"
    flagged_share    = "${var.name_prefix}-flagged-share-out-of-band"
  }
}

################################################################################
# Where alarms go
################################################################################

resource "aws_sns_topic" "this" {
  #checkov:skip=CKV_AWS_26: CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and a customer managed key costs more than this lab's alarm texts (names and numbers, no customer data) are worth
  name = "${var.name_prefix}-alarms"
  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email != null ? 1 : 0

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

################################################################################
# Dashboard
################################################################################

locals {
  widget = {
    type   = "metric"
    width  = 12
    height = 6
  }
  widgets = [
    {
      title   = "HTTP API: requests, 4xx, 5xx"
      stat    = "Sum"
      metrics = [for m in ["Count", "4xx", "5xx"] : concat(["AWS/ApiGateway", m], local.api_dims)]
    },
    {
      title   = "HTTP API: latency (p50, p99), ms"
      stat    = "p50"
      metrics = [concat(["AWS/ApiGateway", "Latency"], local.api_dims), concat(["AWS/ApiGateway", "Latency"], local.api_dims, [{ stat = "p99" }]), concat(["AWS/ApiGateway", "IntegrationLatency"], local.api_dims)]
    },
    {
      title   = "Lambda: errors, throttles, concurrency"
      stat    = "Sum"
      metrics = [concat(["AWS/Lambda", "Errors"], local.fn_dims), concat(["AWS/Lambda", "Throttles"], local.fn_dims), concat(["AWS/Lambda", "ConcurrentExecutions"], local.fn_dims, [{ stat = "Maximum" }])]
    },
    {
      title   = "Lambda: duration (p50, p99), ms"
      stat    = "p50"
      metrics = [concat(["AWS/Lambda", "Duration"], local.fn_dims), concat(["AWS/Lambda", "Duration"], local.fn_dims, [{ stat = "p99" }])]
    },
    {
      title   = "Endpoint: invocations and errors"
      stat    = "Sum"
      metrics = [for m in ["Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "InvocationModelErrors"] : concat(["AWS/SageMaker", m], local.sm_dims)]
    },
    {
      title   = "Endpoint: model latency and cold starts (ModelSetupTime), microseconds"
      stat    = "Average"
      metrics = [concat(["AWS/SageMaker", "ModelLatency"], local.sm_dims), concat(["AWS/SageMaker", "ModelSetupTime"], local.sm_dims, [{ stat = "Maximum" }])]
    },
    {
      title = "Flagged share of scored records, percent"
      stat  = "Sum"
      metrics = [
        [{ expression = "IF(r > 0, 100 * f / r, 0)", label = "flagged %", id = "share" }],
        concat([local.emf.namespace, local.emf.records], local.emf_dims, [{ id = "r", visible = false }]),
        concat([local.emf.namespace, local.emf.flagged], local.emf_dims, [{ id = "f", visible = false }]),
      ]
      annotations = local.drift_alarm ? {
        horizontal = [
          { label = "reference (held-out)", value = 100 * var.expected_flagged_share },
          { label = "band low", value = 100 * local.band[0] },
          { label = "band high", value = 100 * local.band[1] },
        ]
      } : null
    },
    {
      title   = "Score deciles (records per tenth of [0, 1])"
      stat    = "Sum"
      stacked = true
      metrics = [for m in local.emf.score_bins : concat([local.emf.namespace, m], local.emf_dims)]
    },
    {
      title   = "Invoker: requests by status class"
      stat    = "Sum"
      metrics = [for m in local.emf.status_classes : concat([local.emf.namespace, m], local.emf_dims)]
    },
    {
      title   = "Invoker: handler and endpoint-call latency (p99), ms"
      stat    = "p99"
      metrics = [for m in [local.emf.handler_latency, local.emf.endpoint_latency] : concat([local.emf.namespace, m], local.emf_dims)]
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name_prefix}-service"
  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.widgets : merge(local.widget, {
        x = (i % 2) * 12
        y = floor(i / 2) * 6
        properties = merge(
          {
            title   = w.title
            region  = local.region
            view    = "timeSeries"
            period  = 300
            stat    = w.stat
            stacked = try(w.stacked, false)
            metrics = w.metrics
          },
          try(w.annotations, null) == null ? {} : { annotations = w.annotations },
        )
      })
    ]
  })
}

################################################################################
# Alarms (missing data is normal: no traffic, no datapoints)
################################################################################

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = local.alarm_names.api_5xx
  alarm_description   = "More than ${var.api_5xx_rate_percent}% of the API's requests answered 5xx in ${var.period_s} s. Runbook: docs/operations.md, Alarms."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.api_5xx_rate_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "5xx share of requests, percent"
    return_data = true
  }

  metric_query {
    id = "errors"

    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "5xx"
      dimensions  = { ApiId = var.api_id }
      period      = var.period_s
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = { ApiId = var.api_id }
      period      = var.period_s
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = local.alarm_names.lambda_errors
  alarm_description   = "The invoker raised or timed out ${var.lambda_errors_threshold}+ times in ${var.period_s} s (the handler answers every error itself, so this is a crash). Runbook: docs/operations.md, Alarms."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = var.period_s
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.lambda_errors_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  alarm_name          = local.alarm_names.lambda_throttles
  alarm_description   = "The invoker was throttled ${var.lambda_throttles_threshold}+ times in ${var.period_s} s (account concurrency exhausted). Runbook: docs/operations.md, Alarms."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = var.period_s
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.lambda_throttles_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "endpoint_errors" {
  alarm_name          = local.alarm_names.endpoint_errors
  alarm_description   = "The endpoint answered ${var.endpoint_errors_threshold}+ invocations with an error in ${var.period_s} s. Runbook: docs/operations.md, Alarms."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.endpoint_errors_threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags

  # InvocationModelErrors also counts what never became an HTTP answer (a container that timed
  # out, reset or answered garbage); it overlaps the 4xx and 5xx counts, hence the larger of the two.
  metric_query {
    id          = "errors"
    expression  = "MAX([FILL(e4, 0) + FILL(e5, 0), FILL(em, 0)])"
    label       = "endpoint errors: 4xx + 5xx, or model errors if more"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { e4 = "Invocation4XXErrors", e5 = "Invocation5XXErrors", em = "InvocationModelErrors" }

    content {
      id = metric_query.key

      metric {
        namespace   = "AWS/SageMaker"
        metric_name = metric_query.value
        dimensions  = { EndpointName = var.endpoint_name, VariantName = var.variant_name }
        period      = var.period_s
        stat        = "Sum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "flagged_share" {
  count = local.drift_alarm ? 1 : 0

  alarm_name          = local.alarm_names.flagged_share
  alarm_description   = "Over ${var.flagged_share_period_s} s with ${var.flagged_share_min_records}+ records, the model flagged a share outside [${local.band[0]}, ${local.band[1]}] (held-out reference ${var.expected_flagged_share}). Runbook: docs/operations.md, Alarms."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags

  metric_query {
    id          = "outside"
    expression  = "IF((records >= ${var.flagged_share_min_records}) AND ((flagged / records < ${local.band[0]}) OR (flagged / records > ${local.band[1]})), 1, 0)"
    label       = "1 when the flagged share is outside the band"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = { records = local.emf.records, flagged = local.emf.flagged }

    content {
      id = metric_query.key

      metric {
        namespace   = local.emf.namespace
        metric_name = metric_query.value
        dimensions  = { FunctionName = var.function_name, EndpointName = var.endpoint_name }
        period      = var.flagged_share_period_s
        stat        = "Sum"
      }
    }
  }
}
