# Each module on its own: the properties that are easy to get wrong.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then
}

run "data_bucket_is_private_encrypted_versioned" {
  command = plan

  module {
    source = "./modules/data_bucket"
  }

  variables {
    bucket_prefix = "churn-data-"
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "The data bucket must block every kind of public access."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "The data bucket must be versioned."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "The data bucket must be encrypted with SSE-KMS."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.this.statement :
      s.effect == "Deny" && contains(s.actions, "s3:*") && anytrue([
        for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")
      ])
    ])
    error_message = "The bucket policy must deny requests not made over TLS."
  }

  assert {
    condition = (
      one(aws_s3_bucket_lifecycle_configuration.this.rule).noncurrent_version_expiration[0].noncurrent_days == 30 &&
      one(aws_s3_bucket_lifecycle_configuration.this.rule).abort_incomplete_multipart_upload[0].days_after_initiation == 7
    )
    error_message = "Old versions must expire and incomplete uploads be aborted."
  }
}

# The website module (private bucket behind CloudFront) is tested in website.tftest.hcl.

run "invoker_may_only_invoke_its_endpoint" {
  command = plan

  module {
    source = "./modules/invoker"
  }

  variables {
    function_name   = "churn-invoker"
    zip_path        = "/tmp/invoker.zip"
    zip_sha256      = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    endpoint_name   = "churn-endpoint"
    endpoint_arn    = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint"
    decision_cutoff = 0.42
    allowed_origin  = "https://site.example" # a page on another origin (the root passes none)
  }

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.this.statement : [for a in s.actions : a if startswith(a, "sagemaker:")]
    ])) == toset(["sagemaker:InvokeEndpoint"])
    error_message = "The only SageMaker action of the Lambda must be InvokeEndpoint."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      toset(s.resources) == toset(["arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint"])
      if anytrue([for a in s.actions : startswith(a, "sagemaker:")])
    ])
    error_message = "InvokeEndpoint must be granted on exactly the endpoint's ARN."
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.this.statement : [for r in s.resources : r != "*"]
    ]))
    error_message = "No statement of the Lambda policy may use Resource *."
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      ENDPOINT_NAME          = "churn-endpoint"
      DECISION_CUTOFF        = "0.42"
      ALLOWED_ORIGIN         = "https://site.example"
      INVOKE_CONNECT_TIMEOUT = "2"
      INVOKE_READ_TIMEOUT    = "10"
      INVOKE_MAX_ATTEMPTS    = "2"
    })
    error_message = "The Lambda environment must hold ENDPOINT_NAME, DECISION_CUTOFF, the given ALLOWED_ORIGIN and the invoke budget (INVOKE_*)."
  }

  assert {
    condition     = aws_lambda_function.this.timeout == 28 && aws_lambda_function.this.timeout > 2 * (2 + 10) + 1 + 1 && aws_lambda_function.this.timeout < 30
    error_message = "The Lambda timeout (28 s) must exceed the invoke budget (2 x (2 + 10) s + 1 s backoff) plus 1 s, and stay under the HTTP API's 30 s."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.assume.statement :
      anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && c.test == "StringEquals" && c.values == tolist(["123456789012"])])
    ])
    error_message = "The Lambda role's trust policy must require aws:SourceAccount (confused deputy)."
  }

  assert {
    condition     = aws_lambda_function.this.source_code_hash == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" && aws_lambda_function.this.handler == "handler.handler" && startswith(aws_lambda_function.this.runtime, "python3.1")
    error_message = "Code hash, handler and runtime must come from the variables."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/churn-invoker" && aws_cloudwatch_log_group.this.retention_in_days == 14
    error_message = "The Lambda must log to its own log group with a retention."
  }
}

run "invoker_rejects_budget_over_timeout" {
  command = plan

  module {
    source = "./modules/invoker"
  }

  variables {
    function_name   = "churn-invoker"
    zip_path        = "/tmp/invoker.zip"
    zip_sha256      = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    endpoint_name   = "churn-endpoint"
    endpoint_arn    = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint"
    decision_cutoff = 0.42
    timeout_s       = 15 # the old default: 2 x (2 + 10) + 1 + 1 = 26 s does not fit
  }

  expect_failures = [aws_lambda_function.this]
}

run "invoker_rejects_timeout_at_the_api_limit" {
  command = plan

  module {
    source = "./modules/invoker"
  }

  variables {
    function_name   = "churn-invoker"
    zip_path        = "/tmp/invoker.zip"
    zip_sha256      = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    endpoint_name   = "churn-endpoint"
    endpoint_arn    = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint"
    decision_cutoff = 0.42
    timeout_s       = 30 # the budget fits, but the HTTP API gives up at 30 s
  }

  expect_failures = [aws_lambda_function.this]
}

run "http_api_cors_throttling_permission" {
  command = plan

  module {
    source = "./modules/http_api"
  }

  variables {
    name                   = "churn-api"
    lambda_function_name   = "churn-invoker"
    lambda_invoke_arn      = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:churn-invoker/invocations"
    allow_origins          = ["https://site.example"]
    throttling_rate_limit  = 7
    throttling_burst_limit = 11
  }

  assert {
    condition     = toset(aws_apigatewayv2_api.this.cors_configuration[0].allow_origins) == toset(["https://site.example"])
    error_message = "CORS, when asked for (a page on another origin), must allow the given origin only."
  }

  assert {
    condition     = output.domain_name == "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    error_message = "domain_name must be the API endpoint's host alone (what a CloudFront origin takes)."
  }

  assert {
    condition     = toset(aws_apigatewayv2_api.this.cors_configuration[0].allow_methods) == toset(["POST", "OPTIONS"]) && toset(aws_apigatewayv2_api.this.cors_configuration[0].allow_headers) == toset(["content-type"])
    error_message = "CORS must allow POST/OPTIONS and the content-type header."
  }

  assert {
    condition     = aws_apigatewayv2_stage.this.default_route_settings[0].throttling_rate_limit == 7 && aws_apigatewayv2_stage.this.default_route_settings[0].throttling_burst_limit == 11
    error_message = "The stage must be throttled with the given limits."
  }

  assert {
    condition     = aws_apigatewayv2_stage.this.name == "$default" && aws_apigatewayv2_stage.this.auto_deploy
    error_message = "The $default stage must auto-deploy."
  }

  assert {
    condition     = length(aws_apigatewayv2_stage.this.access_log_settings) == 1 && aws_cloudwatch_log_group.this.retention_in_days == 14
    error_message = "Access logs must go to a log group with a retention."
  }

  assert {
    condition     = aws_apigatewayv2_integration.this.integration_type == "AWS_PROXY" && aws_apigatewayv2_integration.this.payload_format_version == "2.0"
    error_message = "The route must be a Lambda proxy integration with payload 2.0."
  }

  assert {
    condition     = aws_apigatewayv2_route.this.route_key == "POST /predict"
    error_message = "The route must be POST /predict."
  }

  assert {
    condition     = startswith(aws_lambda_permission.this.source_arn, "${aws_apigatewayv2_api.this.execution_arn}/") && aws_lambda_permission.this.principal == "apigateway.amazonaws.com"
    error_message = "The Lambda permission must be scoped to this API's execution ARN."
  }
}

run "endpoint_role_least_privilege" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix      = "churn"
    data_bucket_arn  = "arn:aws:s3:::churn-data"
    data_bucket_name = "churn-data"
    model_data_url   = "s3://churn-data/models/run-1/model.tar.gz"
  }

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.this.statement : s.resources if contains(s.actions, "s3:GetObject")
    ])) == toset(["arn:aws:s3:::churn-data/data/*", "arn:aws:s3:::churn-data/models/*", "arn:aws:s3:::churn-data/models/run-1/model.tar.gz"])
    error_message = "The role may read the training data, the artifacts and the model object only."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      toset(s.resources) == toset(["arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"])
      if contains(s.actions, "ecr:BatchGetImage")
    ])
    error_message = "Image pulls must be limited to the image's repository."
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.this.statement : [
        for r in s.resources : r != "*" || toset(s.actions) == toset(["ecr:GetAuthorizationToken"]) || toset(s.actions) == toset(["cloudwatch:PutMetricData"])
      ]
    ]))
    error_message = "Resource * is only allowed for ecr:GetAuthorizationToken and cloudwatch:PutMetricData."
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this[0].name_prefix == "churn-" && aws_sagemaker_endpoint.this[0].name == "churn-serverless"
    error_message = "The endpoint configuration must use name_prefix (rolled with create_before_destroy); the endpoint's name carries its mode."
  }

  assert {
    condition     = !aws_sagemaker_model.this[0].enable_network_isolation && aws_sagemaker_model.this[0].primary_container[0].model_data_url == "s3://churn-data/models/run-1/model.tar.gz"
    error_message = "A serverless endpoint's model must not ask for network isolation (serverless endpoints do not support it: CreateEndpoint fails)."
  }

  assert {
    condition     = length(aws_sagemaker_endpoint_configuration.this[0].data_capture_config) == 0
    error_message = "A serverless endpoint configuration has no data capture."
  }

  assert {
    condition     = aws_sagemaker_model.this[0].execution_role_arn == "arn:aws:iam::123456789012:role/churn-sagemaker"
    error_message = "The model runs as the module's role (ARN built from account, path and name)."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.assume.statement :
      anytrue([for c in s.condition : c.variable == "aws:SourceAccount" && c.test == "StringEquals" && c.values == tolist(["123456789012"])])
    ])
    error_message = "The SageMaker role's trust policy must require aws:SourceAccount (confused deputy)."
  }

  assert {
    condition     = length(aws_appautoscaling_target.this) == 0 && length(aws_appautoscaling_policy.this) == 0
    error_message = "Serverless mode has no autoscaling resources."
  }
}

run "endpoint_realtime_autoscaling_and_capture" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix               = "churn"
    data_bucket_arn           = "arn:aws:s3:::churn-data"
    data_bucket_name          = "churn-data"
    model_data_url            = "s3://churn-data/models/run-1/model.tar.gz"
    mode                      = "realtime"
    instance_count            = 1
    autoscaling_max_instances = 3
    enable_data_capture       = true
    rollback_alarm_names      = ["churn-endpoint-errors", "churn-api-5xx-rate"] # as the stack guards it
  }

  assert {
    condition     = aws_appautoscaling_target.this[0].max_capacity == 3 && aws_appautoscaling_target.this[0].resource_id == "endpoint/churn-rt-m5-large/variant/AllTraffic"
    error_message = "Autoscaling must target the endpoint's variant up to autoscaling_max_instances."
  }

  assert {
    condition     = aws_sagemaker_model.this[0].enable_network_isolation
    error_message = "A realtime endpoint's model runs in network isolation."
  }

  assert {
    condition     = aws_sagemaker_endpoint.this[0].name == "churn-rt-m5-large"
    error_message = "A realtime endpoint's name carries the mode and the instance type."
  }

  assert {
    condition     = aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "SageMakerVariantInvocationsPerInstance"
    error_message = "Autoscaling must track invocations per instance."
  }

  assert {
    condition     = aws_sagemaker_endpoint_configuration.this[0].data_capture_config[0].destination_s3_uri == "s3://churn-data/capture/"
    error_message = "Data capture must write to the data bucket."
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.this.statement : s.resources if contains(s.actions, "s3:PutObject")]), "arn:aws:s3:::churn-data/capture/*")
    error_message = "The role must be allowed to write captured data."
  }
}

run "endpoint_rejects_capture_in_serverless_mode" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix         = "churn"
    data_bucket_arn     = "arn:aws:s3:::churn-data"
    data_bucket_name    = "churn-data"
    model_data_url      = "s3://churn-data/models/run-1/model.tar.gz"
    enable_data_capture = true
  }

  expect_failures = [aws_sagemaker_endpoint_configuration.this]
}

# Defect 2: every argument of aws_sagemaker_model forces a replacement, created before the old
# model is destroyed, so every input must change the model's name. One run per input.

run "model_name_base" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix      = "churn"
    data_bucket_arn  = "arn:aws:s3:::churn-data"
    data_bucket_name = "churn-data"
    model_data_url   = "s3://churn-data/models/run-1/model.tar.gz"
  }

  assert {
    condition     = can(regex("^churn-model-[0-9a-f]{8}$", aws_sagemaker_model.this[0].name))
    error_message = "The model name is the prefix and 8 hex digits of the request's hash."
  }
}

run "model_name_follows_model_data_url" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix      = "churn"
    data_bucket_arn  = "arn:aws:s3:::churn-data"
    data_bucket_name = "churn-data"
    model_data_url   = "s3://churn-data/models/run-2/model.tar.gz"
  }

  assert {
    condition     = aws_sagemaker_model.this[0].name != run.model_name_base.model_name
    error_message = "A new model_data_url must give a new model name."
  }
}

run "model_name_follows_image" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix      = "churn"
    data_bucket_arn  = "arn:aws:s3:::churn-data"
    data_bucket_name = "churn-data"
    model_data_url   = "s3://churn-data/models/run-1/model.tar.gz"
    image_uri        = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
  }

  assert {
    condition     = aws_sagemaker_model.this[0].name != run.model_name_base.model_name
    error_message = "A new image must give a new model name."
  }
}

run "model_name_follows_network_isolation" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix      = "churn"
    data_bucket_arn  = "arn:aws:s3:::churn-data"
    data_bucket_name = "churn-data"
    model_data_url   = "s3://churn-data/models/run-1/model.tar.gz"
    mode             = "realtime" # isolation on: the only input that changes
  }

  assert {
    condition     = aws_sagemaker_model.this[0].enable_network_isolation && aws_sagemaker_model.this[0].name != run.model_name_base.model_name
    error_message = "Turning network isolation on (realtime mode) must give a new model name."
  }
}

run "model_name_follows_execution_role" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  override_data {
    target = data.aws_caller_identity.this
    values = {
      account_id = "210987654321"
    }
  }

  variables {
    name_prefix      = "churn"
    data_bucket_arn  = "arn:aws:s3:::churn-data"
    data_bucket_name = "churn-data"
    model_data_url   = "s3://churn-data/models/run-1/model.tar.gz"
  }

  assert {
    condition     = aws_sagemaker_model.this[0].execution_role_arn == "arn:aws:iam::210987654321:role/churn-sagemaker" && aws_sagemaker_model.this[0].name != run.model_name_base.model_name
    error_message = "A new execution role ARN must give a new model name."
  }
}

run "model_name_follows_container_environment" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix           = "churn"
    data_bucket_arn       = "arn:aws:s3:::churn-data"
    data_bucket_name      = "churn-data"
    model_data_url        = "s3://churn-data/models/run-1/model.tar.gz"
    container_environment = { SAGEMAKER_MODEL_SERVER_WORKERS = "2" }
  }

  assert {
    condition     = aws_sagemaker_model.this[0].primary_container[0].environment == tomap({ SAGEMAKER_MODEL_SERVER_WORKERS = "2" }) && aws_sagemaker_model.this[0].name != run.model_name_base.model_name
    error_message = "A new container environment must give a new model name."
  }
}

run "model_name_is_stable" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix      = "churn"
    data_bucket_arn  = "arn:aws:s3:::churn-data"
    data_bucket_name = "churn-data"
    model_data_url   = "s3://churn-data/models/run-1/model.tar.gz"
    tags             = { Owner = "team" } # tags update in place: no new model
  }

  assert {
    condition     = aws_sagemaker_model.this[0].name == run.model_name_base.model_name
    error_message = "The same inputs must give the same model name (no needless replacement)."
  }
}

# Defects 3 and 7: the endpoint's name carries what SageMaker cannot update in place.

run "endpoint_name_follows_instance_type" {
  command = plan

  module {
    source = "./modules/endpoint"
  }

  variables {
    name_prefix          = "churn"
    data_bucket_arn      = "arn:aws:s3:::churn-data"
    data_bucket_name     = "churn-data"
    model_data_url       = "s3://churn-data/models/run-1/model.tar.gz"
    mode                 = "realtime"
    instance_type        = "ml.m5.xlarge"
    rollback_alarm_names = ["churn-endpoint-errors", "churn-api-5xx-rate"] # as the stack guards it
  }

  assert {
    condition     = aws_sagemaker_endpoint.this[0].name == "churn-rt-m5-xlarge" && aws_appautoscaling_target.this[0].resource_id == "endpoint/churn-rt-m5-xlarge/variant/AllTraffic"
    error_message = "A new instance type must give a new endpoint (and scalable target): SageMaker rejects an in-place instance type change while autoscaling is registered."
  }
}
