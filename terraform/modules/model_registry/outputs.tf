output "group_name" {
  description = "Name of the model package group."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "group_arn" {
  description = "ARN of the model package group."
  value       = aws_sagemaker_model_package_group.this.arn
}
