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
  description = "ID of the response headers policy attached to the default cache behavior (and to the API's path)."
  value       = aws_cloudfront_distribution.this.default_cache_behavior[0].response_headers_policy_id
}

output "security_headers" {
  description = "The headers the created response headers policy sends (from security_headers_path)."
  value       = merge(local.headers, { "Content-Security-Policy" = local.csp })
}

output "website_url" {
  description = "HTTPS URL of the site (the distribution's domain)."
  value       = local.site_origin
}

output "origin" {
  description = "Browser origin of the site (scheme and host, no path, no trailing slash): the page calls its API here, at api.path."
  value       = local.site_origin
}

output "api_url" {
  description = "Base URL of the API as the page calls it: the site's origin (POST api_url + api.path); null without api."
  value       = var.api == null ? null : local.site_origin
}

output "api_origin" {
  description = "The distribution's API origin (origin_id, domain_name, custom_origin_config); null without api."
  value       = one([for o in aws_cloudfront_distribution.this.origin : o if o.origin_id == local.api_origin_id])
}

output "api_cache_behavior" {
  description = "The ordered cache behavior that sends api.path to the API origin; null without api."
  value       = one(aws_cloudfront_distribution.this.ordered_cache_behavior)
}

output "uploaded_keys" {
  description = "Object keys uploaded (site files and config.js)."
  value       = concat(sort(tolist(local.site_files)), var.upload ? ["config.js"] : [])
}

output "config_js" {
  description = "Content of the generated config.js (null when nothing is uploaded)."
  value       = local.config_js
}
