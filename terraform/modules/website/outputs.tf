output "bucket_name" {
  description = "Name of the (private) website bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the website bucket."
  value       = aws_s3_bucket.this.arn
}

output "distribution_id" {
  description = "ID of the CloudFront distribution."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "ARN of the CloudFront distribution (the bucket policy's AWS:SourceArn)."
  value       = aws_cloudfront_distribution.this.arn
}

output "origin_access_control_id" {
  description = "ID of the origin access control that signs CloudFront's requests to the bucket."
  value       = aws_cloudfront_origin_access_control.this.id
}

output "response_headers_policy_id" {
  description = "ID of the response headers policy attached to the default cache behavior."
  value       = aws_cloudfront_distribution.this.default_cache_behavior[0].response_headers_policy_id
}

output "security_headers" {
  description = "The headers the created response headers policy sends (from security_headers_path, {api_origin} replaced)."
  value       = merge(local.headers, { "Content-Security-Policy" = local.csp })
}

output "website_url" {
  description = "HTTPS URL of the site (the distribution's domain)."
  value       = local.site_origin
}

output "origin" {
  description = "Browser origin of the site, for CORS (scheme and host, no path, no trailing slash)."
  value       = local.site_origin
}

output "uploaded_keys" {
  description = "Object keys uploaded (site files and config.js)."
  value       = concat(sort(tolist(local.site_files)), var.upload ? ["config.js"] : [])
}

output "config_js" {
  description = "Content of the generated config.js (null when nothing is uploaded)."
  value       = local.config_js
}
