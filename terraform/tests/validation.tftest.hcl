# Every validation rejects a bad value (plan only, mock provider).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  web_dir = "tests/fixtures/web"
}

run "rejects_region" {
  command = plan

  variables {
    region = "useast1"
  }

  expect_failures = [var.region]
}

run "rejects_name_prefix" {
  command = plan

  variables {
    name_prefix = "Churn_Prod"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_aws_endpoint_url" {
  command = plan

  variables {
    aws_endpoint_url = "localhost:5000"
  }

  expect_failures = [var.aws_endpoint_url]
}

run "rejects_log_retention_days" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "rejects_model_data_url" {
  command = plan

  variables {
    model_data_url = "s3://bucket/models/model.tar"
  }

  expect_failures = [var.model_data_url]
}

run "rejects_model_data_url_2" {
  command = plan

  variables {
    model_data_url = "https://bucket.s3.amazonaws.com/model.tar.gz"
  }

  expect_failures = [var.model_data_url]
}

run "rejects_image_uri" {
  command = plan

  variables {
    image_uri = "sagemaker-xgboost:3.0-5"
  }

  expect_failures = [var.image_uri]
}

run "rejects_decision_cutoff" {
  command = plan

  variables {
    decision_cutoff = 1
  }

  expect_failures = [var.decision_cutoff]
}

run "rejects_decision_cutoff_2" {
  command = plan

  variables {
    decision_cutoff = 0
  }

  expect_failures = [var.decision_cutoff]
}

run "rejects_feature_schema_path" {
  command = plan

  variables {
    feature_schema_path = "tests/fixtures/web/index.html"
  }

  expect_failures = [var.feature_schema_path]
}

run "rejects_lambda_zip_path" {
  command = plan

  variables {
    lambda_zip_path = "/tmp/invoker.tar.gz"
  }

  expect_failures = [var.lambda_zip_path]
}

run "rejects_lambda_zip_sha256" {
  command = plan

  variables {
    lambda_zip_sha256 = "0123456789abcdef"
  }

  expect_failures = [var.lambda_zip_sha256]
}

run "rejects_endpoint_mode" {
  command = plan

  variables {
    endpoint_mode = "batch"
  }

  expect_failures = [var.endpoint_mode]
}

run "rejects_serverless_memory_mb" {
  command = plan

  variables {
    serverless_memory_mb = 1536
  }

  expect_failures = [var.serverless_memory_mb]
}

run "rejects_serverless_memory_mb_2" {
  command = plan

  variables {
    serverless_memory_mb = 8192
  }

  expect_failures = [var.serverless_memory_mb]
}

run "rejects_serverless_max_concurrency" {
  command = plan

  variables {
    serverless_max_concurrency = 0
  }

  expect_failures = [var.serverless_max_concurrency]
}

run "rejects_instance_type" {
  command = plan

  variables {
    instance_type = "m5.large"
  }

  expect_failures = [var.instance_type]
}

run "rejects_instance_count" {
  command = plan

  variables {
    instance_count = 0
  }

  expect_failures = [var.instance_count]
}

run "rejects_autoscaling_max_instances" {
  command = plan

  variables {
    autoscaling_max_instances = 1.5
  }

  expect_failures = [var.autoscaling_max_instances]
}

run "rejects_lambda_handler" {
  command = plan

  variables {
    lambda_handler = "handler"
  }

  expect_failures = [var.lambda_handler]
}

run "rejects_lambda_timeout_s" {
  command = plan

  variables {
    lambda_timeout_s = 60
  }

  expect_failures = [var.lambda_timeout_s]
}

run "rejects_lambda_timeout_s_2" {
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

run "rejects_invoke_read_timeout_s" {
  command = plan

  variables {
    invoke_read_timeout_s = 0
  }

  expect_failures = [var.invoke_read_timeout_s]
}

run "rejects_invoke_connect_timeout_s" {
  command = plan

  variables {
    invoke_connect_timeout_s = 30
  }

  expect_failures = [var.invoke_connect_timeout_s]
}

run "rejects_invoke_max_attempts" {
  command = plan

  variables {
    invoke_max_attempts = 0
  }

  expect_failures = [var.invoke_max_attempts]
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

run "rejects_lambda_memory_mb" {
  command = plan

  variables {
    lambda_memory_mb = 64
  }

  expect_failures = [var.lambda_memory_mb]
}

run "rejects_throttle_rate_limit" {
  command = plan

  variables {
    throttle_rate_limit = 0
  }

  expect_failures = [var.throttle_rate_limit]
}

run "rejects_throttle_burst_limit" {
  command = plan

  variables {
    throttle_burst_limit = 0
  }

  expect_failures = [var.throttle_burst_limit]
}

run "accepts_defaults" {
  command = plan
}
