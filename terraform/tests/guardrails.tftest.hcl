# Deployment guardrails: how a new model reaches a live endpoint (blue/green UpdateEndpoint with
# baking and auto-rollback), per mode and fleet size, and which alarms guard it.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then
}

variables {
  name_prefix      = "churn"
  data_bucket_arn  = "arn:aws:s3:::churn-data"
  data_bucket_name = "churn-data"
  model_data_url   = "s3://churn-data/models/run-1/model.tar.gz"
}

run "one_instance_shifts_all_at_once_then_bakes" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    mode                 = "realtime"
    rollback_alarm_names = ["churn-endpoint-errors", "churn-api-5xx-rate"]
  }

  assert {
    condition     = one(one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).traffic_routing_configuration).type == "ALL_AT_ONCE"
    error_message = "One instance cannot hold a canary of at most half the fleet: the traffic must shift all at once."
  }

  assert {
    condition     = length(one(one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).traffic_routing_configuration).canary_size) == 0
    error_message = "An all-at-once shift has no canary size."
  }

  assert {
    condition = (
      one(one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).traffic_routing_configuration).wait_interval_in_seconds == 600 &&
      one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).termination_wait_in_seconds == 600 &&
      one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).maximum_execution_timeout_in_seconds == 2400
    )
    error_message = "Default guardrail: 600 s baking after the shift, 600 s final baking, and a 2400 s timeout (the waits plus 1200 s for the new fleet)."
  }

  assert {
    condition     = toset([for a in one(one(aws_sagemaker_endpoint.this[0].deployment_config).auto_rollback_configuration).alarms : a.alarm_name]) == toset(["churn-endpoint-errors", "churn-api-5xx-rate"])
    error_message = "The update must roll back on exactly the alarms given."
  }

  assert {
    condition     = aws_sagemaker_endpoint.this[0].name == "churn-rt-m5-large"
    error_message = "A guarded realtime endpoint keeps the plain realtime name."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.this.statement : toset(s.resources) if contains(s.actions, "cloudwatch:DescribeAlarms")] == [toset([
      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-endpoint-errors",
      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-api-5xx-rate",
    ])]
    error_message = "The execution role must be able to describe the rollback alarms (SageMaker reads them with it), and no other alarm."
  }

  assert {
    condition     = output.rollback_alarm_names == tolist(["churn-endpoint-errors", "churn-api-5xx-rate"])
    error_message = "rollback_alarm_names must be what the deployment config names."
  }
}

run "two_instances_start_with_a_one_instance_canary" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    mode                       = "realtime"
    instance_count             = 2
    rollback_alarm_names       = ["churn-endpoint-errors", "churn-api-5xx-rate"]
    rollout_wait_interval_s    = 300
    rollout_termination_wait_s = 900
  }

  assert {
    condition     = one(one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).traffic_routing_configuration).type == "CANARY"
    error_message = "A fleet of two holds a one-instance canary: the update starts with it."
  }

  assert {
    condition     = one(one(one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).traffic_routing_configuration).canary_size) == { type = "INSTANCE_COUNT", value = 1 }
    error_message = "The canary is rollout_canary_instances whole instances."
  }

  assert {
    condition = (
      one(one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).traffic_routing_configuration).wait_interval_in_seconds == 300 &&
      one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).termination_wait_in_seconds == 900 &&
      one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).maximum_execution_timeout_in_seconds == 2400
    )
    error_message = "The waits are the variables', and the timeout covers them plus the new fleet's start."
  }
}

run "a_canary_bigger_than_half_the_fleet_shifts_all_at_once" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    mode                     = "realtime"
    instance_count           = 3
    rollout_canary_instances = 2
    rollback_alarm_names     = ["churn-endpoint-errors"]
  }

  assert {
    condition     = one(one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).traffic_routing_configuration).type == "ALL_AT_ONCE"
    error_message = "Two of three instances is more than half: no canary."
  }
}

run "serverless_has_no_guardrails" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    rollback_alarm_names = ["churn-endpoint-errors", "churn-api-5xx-rate"]
  }

  assert {
    condition     = length(aws_sagemaker_endpoint.this[0].deployment_config) == 0 && output.deployment_config == null && length(output.rollback_alarm_names) == 0
    error_message = "Deployment guardrails apply to real-time and asynchronous endpoints only: a serverless endpoint gets none."
  }

  assert {
    condition     = !anytrue([for s in data.aws_iam_policy_document.this.statement : contains(s.actions, "cloudwatch:DescribeAlarms")])
    error_message = "Without guardrails the role reads no alarms."
  }

  assert {
    condition     = aws_sagemaker_endpoint.this[0].name == "churn-serverless"
    error_message = "The serverless endpoint's name does not depend on the alarms."
  }
}

run "realtime_without_alarms_is_unguarded_under_another_name" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    mode = "realtime"
  }

  assert {
    condition     = length(aws_sagemaker_endpoint.this[0].deployment_config) == 0
    error_message = "Without alarms a baking period watches nothing: no deployment config."
  }

  assert {
    condition     = aws_sagemaker_endpoint.this[0].name == "churn-rt-m5-large-unguarded" && aws_sagemaker_endpoint.this[0].name != run.one_instance_shifts_all_at_once_then_bakes.endpoint_name
    error_message = "The provider replaces an endpoint whose rollback alarms change: guarded and unguarded endpoints need different names (a replacement under the same name fails)."
  }
}

run "rejects_waits_longer_than_the_providers_update_wait" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    mode                       = "realtime"
    rollback_alarm_names       = ["churn-endpoint-errors"]
    rollout_wait_interval_s    = 1200
    rollout_termination_wait_s = 601 # 1200 + 601 + 1200 for the new fleet + 600 to roll back > 3600
  }

  expect_failures = [aws_sagemaker_endpoint.this]
}

run "accepts_waits_that_just_fit" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    mode                       = "realtime"
    rollback_alarm_names       = ["churn-endpoint-errors"]
    rollout_wait_interval_s    = 1200
    rollout_termination_wait_s = 600 # 1200 + 600 + 1200 + 600 = 3600
  }

  assert {
    condition     = one(one(aws_sagemaker_endpoint.this[0].deployment_config).blue_green_update_policy).maximum_execution_timeout_in_seconds == 3000
    error_message = "The timeout is the waits plus 1200 s for the new fleet."
  }
}

# The stack: its guarded updates roll back on its own endpoint-errors and API 5xx alarms.

run "stack_rolls_back_on_its_own_alarms" {
  command = plan

  variables {
    web_dir             = "tests/fixtures/web"
    model_data_url      = "s3://churn-bucket-20250101000000000000000001/models/run-1/model.tar.gz"
    feature_schema_path = "tests/fixtures/feature_schema.json"
    lambda_zip_path     = "/tmp/invoker.zip"
    lambda_zip_sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    endpoint_mode       = "realtime"
  }

  # alarm_names reads each name back from its alarm resource: the names the endpoint was given
  # (built from name_prefix, to avoid a cycle) must be alarms the stack creates.
  assert {
    condition     = toset(output.rollback_alarm_names) == toset([module.monitoring[0].alarm_names.endpoint_errors, module.monitoring[0].alarm_names.api_5xx])
    error_message = "The rollback alarms must be the stack's endpoint-errors and API 5xx alarms, as they exist."
  }

  assert {
    condition     = toset([for a in one(module.endpoint.deployment_config.auto_rollback_configuration).alarms : a.alarm_name]) == toset(output.rollback_alarm_names)
    error_message = "The endpoint's deployment config must name exactly those alarms."
  }

  assert {
    condition     = output.endpoint_name == "churn-rt-m5-large"
    error_message = "The stack's guarded realtime endpoint keeps its name."
  }
}

run "stack_without_monitoring_is_unguarded" {
  command = plan

  variables {
    web_dir             = "tests/fixtures/web"
    model_data_url      = "s3://churn-bucket-20250101000000000000000001/models/run-1/model.tar.gz"
    feature_schema_path = "tests/fixtures/feature_schema.json"
    lambda_zip_path     = "/tmp/invoker.zip"
    lambda_zip_sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    endpoint_mode       = "realtime"
    monitoring_enabled  = false
  }

  assert {
    condition     = length(output.rollback_alarm_names) == 0 && module.endpoint.deployment_config == null
    error_message = "With monitoring off there are no alarms to roll back on: no guardrails."
  }

  assert {
    condition     = output.endpoint_name == "churn-rt-m5-large-unguarded" && module.invoker[0].environment.ENDPOINT_NAME == output.endpoint_name
    error_message = "Switching monitoring off gives the endpoint a new name, and the Lambda follows it."
  }
}
