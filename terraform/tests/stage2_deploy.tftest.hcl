# With a model: the whole stack, wired together.

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
  decision_cutoff     = 0.3
}

run "serverless_stack" {
  command = plan

  assert {
    condition     = output.endpoint_name == "churn-serverless"
    error_message = "The endpoint must be named after name_prefix and its mode."
  }

  assert {
    condition     = module.invoker[0].environment.ENDPOINT_NAME == module.endpoint.endpoint_name
    error_message = "The Lambda's ENDPOINT_NAME must be the endpoint's name."
  }

  assert {
    condition     = module.invoker[0].environment.DECISION_CUTOFF == "0.3"
    error_message = "The Lambda's DECISION_CUTOFF must be decision_cutoff."
  }

  assert {
    condition = (
      module.invoker[0].environment.INVOKE_CONNECT_TIMEOUT == "2" &&
      module.invoker[0].environment.INVOKE_READ_TIMEOUT == "10" &&
      module.invoker[0].environment.INVOKE_MAX_ATTEMPTS == "2"
    )
    error_message = "The Lambda's invoke budget (INVOKE_*) must come from the invoke_* variables."
  }

  assert {
    condition     = !contains(keys(module.invoker[0].environment), "ALLOWED_ORIGIN")
    error_message = "The Lambda must get no ALLOWED_ORIGIN: the page calls it on its own origin, so no CORS."
  }

  assert {
    condition     = output.lambda_name == "churn-invoker"
    error_message = "lambda_name must be the invoker's name."
  }

  assert {
    condition     = output.api_url == "https://d111111abcdef8.cloudfront.net" && output.predict_url == "${output.api_url}/predict"
    error_message = "api_url must be the page's origin (CloudFront serves /predict) and predict_url its /predict route."
  }

  assert {
    condition     = output.execute_api_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    error_message = "execute_api_url must be the HTTP API's own base URL."
  }

  assert {
    condition     = output.website_url == "https://d111111abcdef8.cloudfront.net"
    error_message = "website_url must be the CloudFront distribution's https URL."
  }

  assert {
    condition     = module.http_api[0].route_key == "POST /predict"
    error_message = "The API must route POST /predict."
  }

  assert {
    condition     = module.http_api[0].lambda_permission_source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/predict"
    error_message = "The Lambda permission must be scoped to this API's POST /predict."
  }

  assert {
    condition = module.website.config_js == format("window.CHURN_CONFIG = %s;", jsonencode({
      apiUrl = ""
      schema = jsondecode(file("tests/fixtures/feature_schema.json"))
    }))
    error_message = "config.js must be exactly window.CHURN_CONFIG = {apiUrl: \"\" (the page's own origin), schema};"
  }

  assert {
    condition     = join(",", module.website.uploaded_keys) == "app.js,index.html,style.css,config.js"
    error_message = "Every web file must be uploaded once, and config.js generated (the local config.js skipped)."
  }

  assert {
    condition     = length(module.endpoint.production_variants) == 1 && module.endpoint.production_variants[0].serverless_config[0].memory_size_in_mb == 2048 && module.endpoint.production_variants[0].serverless_config[0].max_concurrency == 5
    error_message = "Serverless mode must give one variant with 2048 MB and concurrency 5."
  }

  assert {
    condition     = module.endpoint.production_variants[0].instance_type == null && module.endpoint.production_variants[0].initial_instance_count == null
    error_message = "A serverless variant has no instance type or count."
  }

  assert {
    condition     = module.endpoint.image_uri == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
    error_message = "Without image_uri the prebuilt sagemaker-xgboost:3.0-5 image is used."
  }

  assert {
    condition     = can(regex("^churn-model-[0-9a-f]{8}$", module.endpoint.model_name))
    error_message = "The model name must be derived from the artifact."
  }
}

run "script_mode_environment_reaches_the_model" {
  command = plan

  variables {
    model_environment = { SAGEMAKER_PROGRAM = "inference.py", SAGEMAKER_SUBMIT_DIRECTORY = "/opt/ml/model/code" }
  }

  assert {
    condition     = module.endpoint.model_environment == tomap({ SAGEMAKER_PROGRAM = "inference.py", SAGEMAKER_SUBMIT_DIRECTORY = "/opt/ml/model/code" })
    error_message = "The model's container must run the archive's code/inference.py (script mode)."
  }

  assert {
    condition     = output.model_name != run.serverless_stack.model_name
    error_message = "A new container environment must give a new model name (a model cannot be updated)."
  }
}

run "new_artifact_renames_model" {
  command = plan

  variables {
    model_data_url = "s3://churn-bucket-20250101000000000000000001/models/run-2/model.tar.gz"
  }

  assert {
    condition     = output.model_name != run.serverless_stack.model_name && can(regex("^churn-model-[0-9a-f]{8}$", output.model_name))
    error_message = "A new artifact must give a new model name."
  }
}

run "realtime_stack" {
  command = plan

  variables {
    endpoint_mode       = "realtime"
    instance_type       = "ml.m5.xlarge"
    instance_count      = 2
    enable_data_capture = true
    image_uri           = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:3.0-5"
  }

  assert {
    condition     = output.endpoint_name == "churn-rt-m5-xlarge" && output.endpoint_name != run.serverless_stack.endpoint_name
    error_message = "Switching mode must give a new endpoint name (SageMaker cannot update an endpoint between serverless and realtime)."
  }

  assert {
    condition     = module.invoker[0].environment.ENDPOINT_NAME == "churn-rt-m5-xlarge"
    error_message = "The Lambda's ENDPOINT_NAME must follow the new endpoint."
  }

  assert {
    condition     = output.model_name != run.serverless_stack.model_name
    error_message = "Realtime mode isolates the model: a new model name."
  }

  assert {
    condition     = module.endpoint.production_variants[0].instance_type == "ml.m5.xlarge" && module.endpoint.production_variants[0].initial_instance_count == 2
    error_message = "Realtime mode must use instance_type and instance_count."
  }

  assert {
    condition     = length(module.endpoint.production_variants[0].serverless_config) == 0
    error_message = "A realtime variant has no serverless_config."
  }

  assert {
    condition     = module.endpoint.image_uri == "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:3.0-5"
    error_message = "image_uri must override the prebuilt image."
  }
}

# make deploy-model: the model is created from the registry version itself, not from a copy of
# its container's fields; a new version is a new model (name), hence a new endpoint configuration.
run "model_from_a_registry_version" {
  command = plan

  variables {
    model_package_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/2"
  }

  assert {
    condition = (
      module.endpoint.model_container.model_package_name == var.model_package_arn &&
      module.endpoint.model_container.image == null &&
      module.endpoint.model_container.model_data_url == null &&
      module.endpoint.model_container.environment == null
    )
    error_message = "With model_package_arn, the model's container must name the package and nothing it holds."
  }

  assert {
    condition     = module.endpoint.model_name != run.serverless_stack.model_name
    error_message = "A registry version must give its own model name (a new endpoint configuration, an update in place)."
  }
}
