output "api_url" {
  description = "Base URL of the HTTP API: POST a customer to <api_url>/predict."
  value       = module.http_api.api_url
}

output "endpoint_name" {
  description = "Name of the serverless SageMaker endpoint."
  value       = module.endpoint.endpoint_name
}

output "data_bucket" {
  description = "Name of the data bucket (training data and model artifacts)."
  value       = module.data_bucket.bucket_name
}
