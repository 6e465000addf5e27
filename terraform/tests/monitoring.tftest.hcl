# The monitoring module: dashboard, alarms, topic; and its wiring with the tfvars handoff.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:us-east-1:123456789012:churn-alarms"
    }
  }
}

run "dashboard_and_alarms" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    name_prefix            = "churn"
    function_name          = "churn-invoker"
    api_id                 = "a1b2c3d4e5"
    endpoint_name          = "churn-endpoint"
    expected_flagged_share = 0.14
    flagged_share_band     = [0.07, 0.28]
  }

  # Every AWS/SageMaker metric the module graphs or alarms on must be one SageMaker publishes, so a
  # misspelt name (the dashboard once graphed "ModelError", which does not exist) fails here instead of
  # drawing an empty graph. The names: SageMaker developer guide, "Amazon SageMaker AI metrics in Amazon
  # CloudWatch" (monitoring-cloudwatch), tables "Endpoint invocation metrics" and "Multi-model endpoint
  # model loading metrics", both in the AWS/SageMaker namespace with EndpointName + VariantName.
  assert {
    condition = length(setsubtract(
      toset(concat(
        flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [for row in w.properties.metrics : row[1] if try(row[0] == "AWS/SageMaker", false)]]),
        [for a in [aws_cloudwatch_metric_alarm.api_5xx, aws_cloudwatch_metric_alarm.lambda_errors, aws_cloudwatch_metric_alarm.lambda_throttles, aws_cloudwatch_metric_alarm.endpoint_errors, aws_cloudwatch_metric_alarm.flagged_share[0]] : a.metric_name if a.namespace == "AWS/SageMaker"],
        flatten([for a in [aws_cloudwatch_metric_alarm.api_5xx, aws_cloudwatch_metric_alarm.lambda_errors, aws_cloudwatch_metric_alarm.lambda_throttles, aws_cloudwatch_metric_alarm.endpoint_errors, aws_cloudwatch_metric_alarm.flagged_share[0]] : [for q in a.metric_query : q.metric[0].metric_name if try(q.metric[0].namespace == "AWS/SageMaker", false)]]),
      )),
      toset([
        "ConcurrentRequestsPerCopy", "ConcurrentRequestsPerModel", "Invocation4XXErrors", "Invocation5XXErrors", "InvocationModelErrors",
        "Invocations", "InvocationsPerCopy", "InvocationsPerInstance", "ModelLatency", "ModelSetupTime", "OverheadLatency",
        "ModelLoadingWaitTime", "ModelUnloadingTime", "ModelDownloadingTime", "ModelLoadingTime", "ModelCacheHit",
      ]),
    )) == 0
    error_message = "Every AWS/SageMaker metric name on the dashboard and in the alarms must be one SageMaker publishes (monitoring-cloudwatch: endpoint invocation and multi-model loading metrics)."
  }

  assert {
    condition = contains(
      flatten([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [for row in w.properties.metrics : row[1] if try(row[0] == "AWS/SageMaker", false) && try(slice(row, 2, 6) == ["EndpointName", "churn-endpoint", "VariantName", "AllTraffic"], false)]]),
      "InvocationModelErrors",
    )
    error_message = "The dashboard must graph the endpoint's InvocationModelErrors (EndpointName + VariantName): the check above must not pass on an empty list."
  }

  assert {
    condition     = can(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets)
    error_message = "The dashboard body must be valid JSON with widgets."
  }

  assert {
    condition = alltrue([
      for name in ["churn-invoker", "a1b2c3d4e5", "churn-endpoint", "AllTraffic", "Churn/Invoker", "ModelSetupTime", "ScoreDecile9", "Flagged", "5xx", "Throttles", "ConcurrentExecutions"] :
      strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "\"${name}\"")
    ])
    error_message = "The dashboard must graph our function, API, endpoint (with cold starts) and the EMF metrics."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) == 10 && alltrue([for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : w.properties.region == "us-east-1" && length(w.properties.metrics) > 0])
    error_message = "Every widget must name its region and at least one metric."
  }

  assert {
    condition = alltrue([
      for a in [aws_cloudwatch_metric_alarm.api_5xx, aws_cloudwatch_metric_alarm.lambda_errors, aws_cloudwatch_metric_alarm.lambda_throttles, aws_cloudwatch_metric_alarm.endpoint_errors, aws_cloudwatch_metric_alarm.flagged_share[0]] :
      a.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:churn-alarms"]) && a.ok_actions == a.alarm_actions && a.treat_missing_data == "notBreaching"
    ])
    error_message = "Every alarm must notify the module's SNS topic (alarm and OK) and treat no traffic as OK."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.lambda_errors.namespace == "AWS/Lambda" && aws_cloudwatch_metric_alarm.lambda_errors.metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.lambda_errors.dimensions.FunctionName == "churn-invoker" &&
      aws_cloudwatch_metric_alarm.lambda_errors.threshold == 1 && aws_cloudwatch_metric_alarm.lambda_errors.period == 300 &&
      aws_cloudwatch_metric_alarm.lambda_throttles.metric_name == "Throttles" && aws_cloudwatch_metric_alarm.lambda_throttles.threshold == 1 &&
      aws_cloudwatch_metric_alarm.lambda_throttles.period == 300
    )
    error_message = "The Lambda alarms must watch Errors and Throttles of our function, threshold 1 per 300 s."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.api_5xx.threshold == 5 && aws_cloudwatch_metric_alarm.api_5xx.comparison_operator == "GreaterThanThreshold" &&
      strcontains(one([for q in aws_cloudwatch_metric_alarm.api_5xx.metric_query : q.expression if q.return_data == true]), "100 * errors / requests") &&
      alltrue([for q in aws_cloudwatch_metric_alarm.api_5xx.metric_query : length(q.metric) == 0 ? true : (q.metric[0].namespace == "AWS/ApiGateway" && q.metric[0].dimensions.ApiId == "a1b2c3d4e5" && q.metric[0].period == 300 && contains(["5xx", "Count"], q.metric[0].metric_name))])
    )
    error_message = "The 5xx alarm must be the API's 5xx share of Count, in percent, over 300 s, above 5."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.endpoint_errors.threshold == 1 &&
      toset([for q in aws_cloudwatch_metric_alarm.endpoint_errors.metric_query : q.metric[0].metric_name if length(q.metric) > 0]) == toset(["Invocation4XXErrors", "Invocation5XXErrors", "InvocationModelErrors"]) &&
      alltrue([for q in aws_cloudwatch_metric_alarm.endpoint_errors.metric_query : length(q.metric) == 0 ? true : (q.metric[0].dimensions.EndpointName == "churn-endpoint" && q.metric[0].dimensions.VariantName == "AllTraffic" && q.metric[0].period == 300)])
    )
    error_message = "The endpoint alarm must add our endpoint's invocation 4xx and 5xx errors over 300 s."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.flagged_share[0].threshold == 1 &&
      strcontains(one([for q in aws_cloudwatch_metric_alarm.flagged_share[0].metric_query : q.expression if q.return_data == true]), "(records >= 100) AND ((flagged / records < 0.07) OR (flagged / records > 0.28))") &&
      alltrue([for q in aws_cloudwatch_metric_alarm.flagged_share[0].metric_query : length(q.metric) == 0 ? true : (q.metric[0].namespace == "Churn/Invoker" && q.metric[0].period == 3600 && q.metric[0].stat == "Sum" && q.metric[0].dimensions == tomap({ FunctionName = "churn-invoker", EndpointName = "churn-endpoint" }))])
    )
    error_message = "The drift alarm must compare the hourly Flagged/Records share of our EMF metrics with the band [0.07, 0.28]."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "No email subscription without alarm_email."
  }

  # The rollback alarm names are built from name_prefix (the endpoint cannot wait for the alarms
  # that watch it); they must be the names of the alarms created here, read back from them.
  assert {
    condition     = output.rollback_alarm_names == tolist([aws_cloudwatch_metric_alarm.endpoint_errors.alarm_name, aws_cloudwatch_metric_alarm.api_5xx.alarm_name])
    error_message = "rollback_alarm_names must name this module's endpoint-errors and API 5xx alarms."
  }
}

run "no_band_no_drift_alarm_and_email_subscription" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    name_prefix   = "churn"
    function_name = "churn-invoker"
    api_id        = "a1b2c3d4e5"
    endpoint_name = "churn-endpoint"
    alarm_email   = "ops@example.com"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.flagged_share) == 0 && !strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "annotations")
    error_message = "Without the handoff's band there is no drift alarm and no band on the dashboard."
  }

  assert {
    condition     = aws_sns_topic_subscription.email[0].protocol == "email" && aws_sns_topic_subscription.email[0].endpoint == "ops@example.com"
    error_message = "alarm_email must subscribe that address to the topic."
  }
}

run "bad_band_is_rejected" {
  command = plan

  module {
    source = "./modules/monitoring"
  }

  variables {
    name_prefix            = "churn"
    function_name          = "churn-invoker"
    api_id                 = "a1b2c3d4e5"
    endpoint_name          = "churn-endpoint"
    expected_flagged_share = 0.14
    flagged_share_band     = [0.3, 0.1]
  }

  expect_failures = [var.flagged_share_band]
}

run "root_wires_the_handoff_band" {
  command = plan

  variables {
    web_dir                = "tests/fixtures/web"
    model_data_url         = "s3://churn-bucket-20250101000000000000000001/models/run-1/model.tar.gz"
    feature_schema_path    = "tests/fixtures/feature_schema.json"
    lambda_zip_path        = "/tmp/invoker.zip"
    lambda_zip_sha256      = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    decision_cutoff        = 0.3
    expected_flagged_share = 0.125
    flagged_share_band     = [0.0625, 0.25]
  }

  assert {
    condition     = strcontains(one([for q in module.monitoring[0].flagged_share_alarm_queries : q.expression if q.return_data == true]), "flagged / records < 0.0625) OR (flagged / records > 0.25)")
    error_message = "The drift alarm's band must be the handoff's flagged_share_band."
  }

  assert {
    condition     = module.monitoring[0].alarm_dimensions.function_name == output.lambda_name && module.monitoring[0].alarm_dimensions.endpoint_name == output.endpoint_name && module.monitoring[0].alarm_dimensions.api_id == "a1b2c3d4e5"
    error_message = "The alarms must watch the stack's own function, endpoint and API."
  }

  assert {
    condition     = output.alarm_topic_arn == "arn:aws:sns:us-east-1:123456789012:churn-alarms" && endswith(output.monitoring_dashboard_url, "#dashboards/dashboard/churn-service") && output.metric_namespace == "Churn/Invoker"
    error_message = "The root must output the topic, the dashboard URL and the metric namespace."
  }
}

run "monitoring_can_be_switched_off" {
  command = plan

  variables {
    web_dir             = "tests/fixtures/web"
    model_data_url      = "s3://churn-bucket-20250101000000000000000001/models/run-1/model.tar.gz"
    feature_schema_path = "tests/fixtures/feature_schema.json"
    lambda_zip_path     = "/tmp/invoker.zip"
    lambda_zip_sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    monitoring_enabled  = false
  }

  assert {
    condition     = length(module.monitoring) == 0
    error_message = "monitoring_enabled = false must create no monitoring resource."
  }
}
