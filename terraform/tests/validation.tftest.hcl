# Every validation rejects a bad value (plan only, mock provider).
#
# Each run sets several variables to bad values and expects exactly those validations to fail:
# terraform test fails the run for any listed variable that did not fail and for any failure
# not listed. Variables whose validations read other variables (enable_data_capture reads
# endpoint_mode; lambda_timeout_s reads the invoke_* budget) get runs of their own: terraform
# skips a validation whose inputs failed theirs, and one bad value could make another fail. Fewer runs: each costs ~1 s of provider start-up.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then
}

variables {
  web_dir = "tests/fixtures/web"
}

run "rejects_a_bad_value_of_each_independent_variable" {
  command = plan

  variables {
    region                     = "useast1"
    name_prefix                = "Churn_Prod"
    aws_endpoint_url           = "localhost:5000"
    log_retention_days         = 10
    model_data_url             = "s3://bucket/models/model.tar"
    image_uri                  = "sagemaker-xgboost:3.0-5"
    decision_cutoff            = 1
    feature_schema_path        = "tests/fixtures/web/index.html"
    lambda_zip_path            = "/tmp/invoker.tar.gz"
    lambda_zip_sha256          = "0123456789abcdef"
    endpoint_mode              = "batch"
    serverless_memory_mb       = 1536
    serverless_max_concurrency = 0
    instance_type              = "m5.large"
    instance_count             = 0
    autoscaling_max_instances  = 1.5
    lambda_handler             = "handler"
    lambda_memory_mb           = 64
    throttle_rate_limit        = 0
    throttle_burst_limit       = 0
    model_environment          = { SAGEMAKER_PROGRAM = "inference.py" } # script mode without its directory
    rollout_wait_interval_s    = 3601
    rollout_canary_instances   = 0
    rollout_termination_wait_s = -1
  }

  expect_failures = [
    var.region,
    var.name_prefix,
    var.aws_endpoint_url,
    var.log_retention_days,
    var.model_data_url,
    var.image_uri,
    var.decision_cutoff,
    var.feature_schema_path,
    var.lambda_zip_path,
    var.lambda_zip_sha256,
    var.endpoint_mode,
    var.serverless_memory_mb,
    var.serverless_max_concurrency,
    var.instance_type,
    var.instance_count,
    var.autoscaling_max_instances,
    var.lambda_handler,
    var.lambda_memory_mb,
    var.throttle_rate_limit,
    var.throttle_burst_limit,
    var.model_environment,
    var.rollout_wait_interval_s,
    var.rollout_canary_instances,
    var.rollout_termination_wait_s,
  ]
}

run "rejects_a_second_kind_of_bad_value" {
  command = plan

  variables {
    model_data_url        = "https://bucket.s3.amazonaws.com/model.tar.gz"
    decision_cutoff       = 0
    serverless_memory_mb  = 8192
    invoke_read_timeout_s = 0
    invoke_max_attempts   = 0
    # whole seconds and instances only
    rollout_wait_interval_s    = 0.5
    rollout_canary_instances   = 1.5
    rollout_termination_wait_s = 3601
  }

  expect_failures = [
    var.model_data_url,
    var.decision_cutoff,
    var.serverless_memory_mb,
    var.invoke_read_timeout_s,
    var.invoke_max_attempts,
    var.rollout_wait_interval_s,
    var.rollout_canary_instances,
    var.rollout_termination_wait_s,
  ]
}

run "rejects_lambda_timeout_s_over_the_http_api_limit" {
  command = plan

  variables {
    lambda_timeout_s = 60
  }

  expect_failures = [var.lambda_timeout_s]
}

run "rejects_lambda_timeout_s_below_the_invoke_budget" {
  command = plan

  variables {
    lambda_timeout_s = 15 # the old default: the invoke budget (2 x (2 + 10) + 1 + 1 = 26 s) does not fit
  }

  expect_failures = [var.lambda_timeout_s]
}

run "rejects_invoke_budget_over_lambda_timeout" {
  command = plan

  variables {
    invoke_read_timeout_s = 12 # 2 x (2 + 12) + 1 + 1 = 30 s > 28 s
  }

  expect_failures = [var.lambda_timeout_s]
}

run "rejects_invoke_connect_timeout_s" {
  command = plan

  variables {
    invoke_connect_timeout_s = 30
  }

  # lambda_timeout_s's budget check reads this invalid value, so terraform skips it
  expect_failures = [var.invoke_connect_timeout_s]
}

run "rejects_data_capture_in_serverless_mode" {
  command = plan

  variables {
    enable_data_capture = true # endpoint_mode stays "serverless"
  }

  expect_failures = [var.enable_data_capture]
}

run "accepts_data_capture_in_realtime_mode" {
  command = plan

  variables {
    endpoint_mode       = "realtime"
    enable_data_capture = true
  }
}
run "accepts_defaults" {
  command = plan
}
