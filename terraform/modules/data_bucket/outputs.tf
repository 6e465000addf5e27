output "bucket_name" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.this.arn
}

output "policy_json" {
  description = "Bucket policy (JSON) that denies every request not made over TLS."
  value       = aws_s3_bucket_policy.this.policy
}
