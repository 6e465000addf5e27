locals {
  # Before training there is no model: create only what training needs.
  deploy = var.model_data_url != null
  # The monitoring module exists with a model and monitoring on (its alarms guard the endpoint's updates).
  monitoring = local.deploy && var.monitoring_enabled
  web_dir    = var.web_dir != null ? var.web_dir : "${path.module}/../web"

  # API Gateway HTTP APIs wait at most 30 s for an integration (a fixed quota).
  http_api_integration_timeout_s = 30

  # The invoke budget lambda_timeout_s must hold (its validation), as modules/invoker computes it:
  # every attempt to its timeouts, plus botocore's standard backoff (2^(n-1) s, at most 20 s).
  invoke_backoff_s = sum(concat([0], [for i in range(var.invoke_max_attempts - 1) : min(pow(2, i), 20)]))
  invoke_budget_s  = var.invoke_max_attempts * (var.invoke_connect_timeout_s + var.invoke_read_timeout_s) + local.invoke_backoff_s
}

module "data_bucket" {
  source = "./modules/data_bucket"

  bucket_prefix = "${var.name_prefix}-data-"
  force_destroy = var.force_destroy
}

# Stage 1 (apply-base) creates it with the bucket: training registers its model there.
module "model_registry" {
  source = "./modules/model_registry"

  name = var.name_prefix
}

module "website" {
  source = "./modules/website"

  name                = "${var.name_prefix}-web"
  bucket_prefix       = "${var.name_prefix}-web-"
  web_dir             = local.web_dir
  upload              = local.deploy
  feature_schema_path = var.feature_schema_path

  # The distribution serves POST /predict too (a second origin: the HTTP API), so the page
  # calls its own origin: its CSP says connect-src 'self', the API needs no CORS, and the
  # dependencies run one way (distribution -> API -> Lambda -> endpoint). CloudFront waits as
  # long as the API may take, so the API's own answer (a 504 at worst) reaches the page.
  api = local.deploy ? {
    domain_name    = module.http_api[0].domain_name
    path           = split(" ", module.http_api[0].route_key)[1]
    read_timeout_s = local.http_api_integration_timeout_s
  } : null
  security_headers_path      = "${path.module}/../web/security_headers.json"
  response_headers_policy_id = var.website_response_headers_policy_id
  price_class                = var.website_price_class
  wait_for_deployment        = var.website_wait_for_deployment
}

module "endpoint" {
  source = "./modules/endpoint"

  name_prefix       = var.name_prefix
  data_bucket_arn   = module.data_bucket.bucket_arn
  data_bucket_name  = module.data_bucket.bucket_name
  model_data_url    = var.model_data_url
  image_uri         = var.image_uri
  model_package_arn = var.model_package_arn
  mode              = var.endpoint_mode

  container_environment = var.model_environment
  enable_data_capture   = var.enable_data_capture

  serverless_memory_mb       = var.serverless_memory_mb
  serverless_max_concurrency = var.serverless_max_concurrency

  instance_type             = var.instance_type
  instance_count            = var.instance_count
  autoscaling_max_instances = var.autoscaling_max_instances

  # Guarded updates roll back on the stack's own alarms (none when monitoring is off).
  rollback_alarm_names       = local.monitoring ? module.monitoring[0].rollback_alarm_names : []
  rollout_wait_interval_s    = var.rollout_wait_interval_s
  rollout_canary_instances   = var.rollout_canary_instances
  rollout_termination_wait_s = var.rollout_termination_wait_s
}

module "invoker" {
  source = "./modules/invoker"
  count  = local.deploy ? 1 : 0

  function_name      = "${var.name_prefix}-invoker"
  zip_path           = var.lambda_zip_path
  zip_sha256         = var.lambda_zip_sha256
  handler            = var.lambda_handler
  endpoint_name      = module.endpoint.endpoint_name
  endpoint_arn       = module.endpoint.endpoint_arn
  decision_cutoff    = var.decision_cutoff
  model_version      = var.model_version
  model_approved_at  = var.model_approved_at
  timeout_s          = var.lambda_timeout_s
  memory_mb          = var.lambda_memory_mb
  log_retention_days = var.log_retention_days

  # The invoke budget (the handler reads these from its environment).
  caller_timeout_s         = local.http_api_integration_timeout_s
  invoke_connect_timeout_s = var.invoke_connect_timeout_s
  invoke_read_timeout_s    = var.invoke_read_timeout_s
  invoke_max_attempts      = var.invoke_max_attempts
}

module "http_api" {
  source = "./modules/http_api"
  count  = local.deploy ? 1 : 0

  name                   = "${var.name_prefix}-api"
  lambda_function_name   = module.invoker[0].function_name
  lambda_invoke_arn      = module.invoker[0].invoke_arn
  throttling_rate_limit  = var.throttle_rate_limit
  throttling_burst_limit = var.throttle_burst_limit
  log_retention_days     = var.log_retention_days
}

module "monitoring" {
  source = "./modules/monitoring"
  count  = local.monitoring ? 1 : 0

  name_prefix   = var.name_prefix
  function_name = module.invoker[0].function_name
  api_id        = module.http_api[0].api_id
  endpoint_name = module.endpoint.endpoint_name
  alarm_email   = var.alarm_email

  # From the bundle's metrics.json through build/model.auto.tfvars.json (null: no drift alarm).
  expected_flagged_share    = var.expected_flagged_share
  flagged_share_band        = var.flagged_share_band
  flagged_share_min_records = var.flagged_share_min_records
}
