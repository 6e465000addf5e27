output "role_arn" {
  description = "ARN of the SageMaker execution role (endpoint and training jobs)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the SageMaker execution role."
  value       = aws_iam_role.this.name
}

output "image_uri" {
  description = "Inference image used by the model."
  value       = local.image
}

output "model_name" {
  description = "Name of the SageMaker model (null before a model exists)."
  value       = one(aws_sagemaker_model.this[*].name)
}

output "endpoint_configuration_name" {
  description = "Name of the endpoint configuration (null before a model exists)."
  value       = one(aws_sagemaker_endpoint_configuration.this[*].name)
}

output "endpoint_name" {
  description = "Name of the SageMaker endpoint (null before a model exists)."
  value       = one(aws_sagemaker_endpoint.this[*].name)
}

output "endpoint_arn" {
  description = "ARN of the SageMaker endpoint (null before a model exists)."
  value       = one(aws_sagemaker_endpoint.this[*].arn)
}

output "production_variants" {
  description = "Production variants of the endpoint configuration (empty before a model exists)."
  value       = flatten(aws_sagemaker_endpoint_configuration.this[*].production_variants)
}

output "training_data_s3_prefix" {
  description = "S3 URL prefix under which training jobs read their data."
  value       = "s3://${var.data_bucket_name}/${var.training_data_prefix}"
}

output "artifact_s3_prefix" {
  description = "S3 URL prefix under which training jobs write model artifacts."
  value       = "s3://${var.data_bucket_name}/${var.artifact_prefix}"
}

output "assume_role_conditions" {
  description = "Conditions of the role's trust policy (the confused-deputy guard: aws:SourceAccount)."
  value       = flatten([for s in data.aws_iam_policy_document.assume.statement : s.condition])
}

output "model_environment" {
  description = "Environment of the model's container (script mode: SAGEMAKER_PROGRAM, SAGEMAKER_SUBMIT_DIRECTORY); null without a model."
  value       = local.create ? aws_sagemaker_model.this[0].primary_container[0].environment : null
}

output "rollback_alarm_names" {
  description = "Alarms whose firing rolls a guarded update back, as the endpoint's deployment config names them (empty: no guardrails)."
  value       = local.rollback_alarms
}

output "deployment_config" {
  description = "The endpoint's deployment guardrails (blue/green traffic routing, baking, auto-rollback); null without them."
  value       = try(one(aws_sagemaker_endpoint.this[0].deployment_config), null)
}

output "model_container" {
  description = "The model's primary container as requested: model_package_name when it is made from a registry version, else image and model_data_url (null before a model exists)."
  value       = one(aws_sagemaker_model.this[*].primary_container[0])
}
