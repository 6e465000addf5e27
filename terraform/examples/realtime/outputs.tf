output "endpoint_name" {
  description = "Name of the realtime SageMaker endpoint (InvokeEndpoint takes it)."
  value       = module.endpoint.endpoint_name
}

output "production_variants" {
  description = "The endpoint configuration's variants (instance type and count)."
  value       = module.endpoint.production_variants
}

output "data_bucket" {
  description = "Name of the data bucket; captured requests land under capture/."
  value       = module.data_bucket.bucket_name
}
