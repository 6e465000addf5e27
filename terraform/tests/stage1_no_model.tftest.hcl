# Before a model exists: only the two buckets and the SageMaker role.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then
}

variables {
  web_dir = "tests/fixtures/web"
}

run "no_model_creates_buckets_and_role_only" {
  command = plan

  assert {
    condition     = output.endpoint_name == null && output.lambda_name == null && output.api_url == null && output.predict_url == null && output.execute_api_url == null
    error_message = "Without model_data_url there must be no endpoint, Lambda or API."
  }

  assert {
    condition     = module.website.api_origin == null && module.website.api_cache_behavior == null
    error_message = "Without a model the distribution must have no API origin and no /predict behavior."
  }

  assert {
    condition     = length(module.invoker) == 0 && length(module.http_api) == 0
    error_message = "The invoker and HTTP API modules must not be instantiated without a model."
  }

  assert {
    condition     = module.endpoint.model_name == null && module.endpoint.endpoint_configuration_name == null
    error_message = "No SageMaker model or endpoint configuration without a model."
  }

  assert {
    condition     = length(module.website.uploaded_keys) == 0 && module.website.config_js == null
    error_message = "The website bucket must stay empty until a model exists."
  }

  assert {
    condition     = output.data_bucket != null && output.website_bucket != null
    error_message = "Both buckets must be created before training."
  }

  assert {
    condition     = output.model_package_group == "churn" && module.model_registry.group_name == var.name_prefix
    error_message = "The model package group must exist before training (training registers in it), named exactly name_prefix: the deploy role's policy names that group."
  }

  assert {
    condition     = startswith(output.sagemaker_role_arn, "arn:aws:iam::")
    error_message = "The SageMaker role must exist before training."
  }

  assert {
    condition = anytrue([
      for c in module.endpoint.assume_role_conditions : c.variable == "aws:SourceAccount" && c.values == tolist(["123456789012"])
    ])
    error_message = "The SageMaker role used by training must trust SageMaker only on behalf of this account (aws:SourceAccount)."
  }

  assert {
    condition     = output.training_data_s3_prefix == "s3://${output.data_bucket}/data/" && output.artifact_s3_prefix == "s3://${output.data_bucket}/models/"
    error_message = "Training prefixes must point into the data bucket."
  }
}
