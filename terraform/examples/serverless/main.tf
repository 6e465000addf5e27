# A serverless endpoint behind the prediction API: the modules of ../../modules composed
# without the website (the root module, terraform/, adds it and serves the API from the page's
# own origin through CloudFront). Pay per request; the first request after an idle spell waits
# for a cold start. Callers here are servers (curl, scripts/smoke.py); a browser page on another
# origin needs allowed_origin, which turns on CORS for that one origin.

provider "aws" {
  region = var.region
}

module "data_bucket" {
  source = "../../modules/data_bucket"

  bucket_prefix = "${var.name_prefix}-data-"
}

module "endpoint" {
  source = "../../modules/endpoint"

  name_prefix      = var.name_prefix
  data_bucket_arn  = module.data_bucket.bucket_arn
  data_bucket_name = module.data_bucket.bucket_name
  model_data_url   = var.model_data_url

  mode                       = "serverless"
  serverless_memory_mb       = 2048
  serverless_max_concurrency = 5
}

module "invoker" {
  source = "../../modules/invoker"

  function_name   = "${var.name_prefix}-invoker"
  zip_path        = var.lambda_zip_path
  zip_sha256      = var.lambda_zip_sha256
  endpoint_name   = module.endpoint.endpoint_name
  endpoint_arn    = module.endpoint.endpoint_arn
  decision_cutoff = var.decision_cutoff
  allowed_origin  = var.allowed_origin
}

module "http_api" {
  source = "../../modules/http_api"

  name                 = "${var.name_prefix}-api"
  lambda_function_name = module.invoker.function_name
  lambda_invoke_arn    = module.invoker.invoke_arn
  allow_origins        = var.allowed_origin == null ? [] : [var.allowed_origin]
}
