# Which model answers: model_version and model_approved_at reach the Lambda as MODEL_VERSION and
# MODEL_APPROVED_AT (only for a model from the registry), and bad values are refused at plan.
#
# The cross-variable validation of model_approved_at reads model_version, and terraform skips a
# validation whose inputs failed theirs: each kind of bad value gets a run of its own.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then
}

variables {
  web_dir             = "tests/fixtures/web"
  model_data_url      = "s3://churn-bucket-20250101000000000000000001/models/run-1/model.tar.gz"
  feature_schema_path = "tests/fixtures/feature_schema.json"
  lambda_zip_path     = "/tmp/invoker.zip"
  lambda_zip_sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
}

run "a_registered_model_reaches_the_lambda" {
  command = plan

  variables {
    model_version     = "3"
    model_approved_at = "2026-12-06T21:04:05Z"
  }

  assert {
    condition     = module.invoker[0].environment.MODEL_VERSION == "3" && module.invoker[0].environment.MODEL_APPROVED_AT == "2026-12-06T21:04:05Z"
    error_message = "The Lambda's MODEL_VERSION and MODEL_APPROVED_AT must be model_version and model_approved_at."
  }

  assert {
    condition     = module.invoker[0].environment.ENDPOINT_NAME == module.endpoint.endpoint_name
    error_message = "The model's version must be added to the Lambda's environment, not replace it."
  }
}

run "an_unregistered_model_sets_neither" {
  command = plan

  assert {
    condition     = length(setintersection(keys(module.invoker[0].environment), ["MODEL_VERSION", "MODEL_APPROVED_AT"])) == 0
    error_message = "With model_version empty (the default) the Lambda must get neither MODEL_VERSION nor MODEL_APPROVED_AT: its environment stays as before, and the handler answers null."
  }
}

run "the_invoker_module_sets_both" {
  command = plan

  module {
    source = "./modules/invoker"
  }

  variables {
    function_name     = "churn-invoker"
    zip_path          = "/tmp/invoker.zip"
    zip_sha256        = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    endpoint_name     = "churn-endpoint"
    endpoint_arn      = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint"
    decision_cutoff   = 0.42
    model_version     = "12"
    model_approved_at = "2027-01-31T00:00:00Z"
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      ENDPOINT_NAME          = "churn-endpoint"
      DECISION_CUTOFF        = "0.42"
      INVOKE_CONNECT_TIMEOUT = "2"
      INVOKE_READ_TIMEOUT    = "10"
      INVOKE_MAX_ATTEMPTS    = "2"
      MODEL_VERSION          = "12"
      MODEL_APPROVED_AT      = "2027-01-31T00:00:00Z"
    })
    error_message = "The Lambda environment must hold MODEL_VERSION and MODEL_APPROVED_AT beside its other settings."
  }
}

run "rejects_a_version_that_is_not_a_number_from_1" {
  command = plan

  variables {
    model_version     = "03"
    model_approved_at = "2026-12-06T21:04:05Z"
  }

  expect_failures = [var.model_version]
}

run "rejects_a_version_over_ten_digits" {
  command = plan

  variables {
    model_version     = "12345678901"
    model_approved_at = "2026-12-06T21:04:05Z"
  }

  expect_failures = [var.model_version]
}

run "rejects_an_approval_time_not_in_utc" {
  command = plan

  variables {
    model_version     = "3"
    model_approved_at = "2026-12-06T22:04:05+01:00"
  }

  expect_failures = [var.model_approved_at]
}

run "rejects_an_approval_time_that_is_no_time" {
  command = plan

  variables {
    model_version     = "3"
    model_approved_at = "2026-02-30T21:04:05Z" # the right shape, no such day
  }

  expect_failures = [var.model_approved_at]
}

run "rejects_a_version_without_its_approval_time" {
  command = plan

  variables {
    model_version = "3"
  }

  expect_failures = [var.model_approved_at]
}

run "rejects_an_approval_time_without_a_version" {
  command = plan

  variables {
    model_approved_at = "2026-12-06T21:04:05Z"
  }

  expect_failures = [var.model_approved_at]
}
