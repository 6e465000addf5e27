output "api_url" {
  description = "Base URL of the prediction API as the page calls it: the website's origin, where CloudFront sends /predict to the HTTP API (POST api_url + \"/predict\"); null before a model exists."
  value       = module.website.api_url
}

output "predict_url" {
  description = "Full URL of the prediction route through CloudFront (the page's path); null before a model exists."
  value       = local.deploy ? "${module.website.api_url}${module.website.api_cache_behavior.path_pattern}" : null
}

output "execute_api_url" {
  description = "The HTTP API's own default endpoint (https://<id>.execute-api.<region>.amazonaws.com), which CloudFront calls; it answers direct callers too, under the same stage throttle. Null before a model exists."
  value       = one(module.http_api[*].api_url)
}

output "website_url" {
  description = "HTTPS URL of the web page: the CloudFront distribution (its objects are uploaded once a model exists)."
  value       = module.website.website_url
}

output "website_distribution_id" {
  description = "ID of the CloudFront distribution in front of the website bucket."
  value       = module.website.distribution_id
}

output "website_bucket" {
  description = "Name of the website bucket."
  value       = module.website.bucket_name
}

output "endpoint_name" {
  description = "Name of the SageMaker endpoint; null before a model exists."
  value       = module.endpoint.endpoint_name
}

output "endpoint_configuration_name" {
  description = "The endpoint configuration Terraform last applied; after a deploy, the endpoint must run it (python -m ml.sagemaker.rollout_check compares). Null before a model exists."
  value       = module.endpoint.endpoint_configuration_name
}

output "rollback_alarm_names" {
  description = "The alarms that roll a guarded endpoint update back (empty: serverless, or monitoring off)."
  value       = module.endpoint.rollback_alarm_names
}

output "data_bucket" {
  description = "Name of the private data bucket (training data under data/, artifacts under models/)."
  value       = module.data_bucket.bucket_name
}

output "model_package_group" {
  description = "Name of the SageMaker model package group that training and make publish register versions in."
  value       = module.model_registry.group_name
}

output "sagemaker_role_arn" {
  description = "ARN of the SageMaker execution role (training jobs and the endpoint)."
  value       = module.endpoint.role_arn
}

output "lambda_name" {
  description = "Name of the Lambda invoker; null before a model exists."
  value       = one(module.invoker[*].function_name)
}

output "training_data_s3_prefix" {
  description = "S3 URL prefix where training data goes (the role may read it)."
  value       = module.endpoint.training_data_s3_prefix
}

output "artifact_s3_prefix" {
  description = "S3 URL prefix where training writes model artifacts (the role may read and write it)."
  value       = module.endpoint.artifact_s3_prefix
}

output "model_name" {
  description = "Name of the SageMaker model (changes with each new artifact); null before a model exists."
  value       = module.endpoint.model_name
}

output "monitoring_dashboard_url" {
  description = "Console URL of the CloudWatch dashboard; null when monitoring is off or before a model exists."
  value       = one(module.monitoring[*].dashboard_url)
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify; null when monitoring is off or before a model exists."
  value       = one(module.monitoring[*].topic_arn)
}

output "metric_namespace" {
  description = "CloudWatch namespace of the invoker's EMF metrics (python -m ml drift reads it); null when monitoring is off."
  value       = one(module.monitoring[*].metric_namespace)
}

output "model_package_arn" {
  description = "The model registry version the endpoint's model was created from (null when made from image_uri and model_data_url, or before a model exists)."
  value       = var.model_package_arn
}
