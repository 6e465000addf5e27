output "state_bucket" {
  description = "Name of the state bucket: the repository variable STATE_BUCKET, or `STATE_BUCKET=<this> make init` on a laptop."
  value       = aws_s3_bucket.state.id
}

output "state_key" {
  description = "Key of the stack's state in the bucket (the Makefile's default STATE_KEY for this name_prefix)."
  value       = "${local.state_key_prefix}terraform.tfstate"
}

output "region" {
  description = "Region of the state bucket (the backend's region)."
  value       = var.region
}

output "deploy_role_arn" {
  description = "ARN of the GitHub deploy role: the repository variable AWS_ROLE_ARN. Null without github_repository."
  value       = one(aws_iam_role.deploy[*].arn)
}

output "github_subject" {
  description = "The only OIDC subject the deploy role trusts. Null without github_repository."
  value       = local.github ? local.github_sub : null
}

output "oidc_provider_arn" {
  description = "ARN of the account's GitHub OIDC identity provider (created or looked up). Null without github_repository."
  value       = local.oidc_arn
}
