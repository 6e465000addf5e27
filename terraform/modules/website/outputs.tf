output "bucket_name" {
  description = "Name of the website bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the website bucket."
  value       = aws_s3_bucket.this.arn
}

output "website_endpoint" {
  description = "Host name of the S3 website endpoint."
  value       = aws_s3_bucket_website_configuration.this.website_endpoint
}

output "website_url" {
  description = "URL of the site (S3 website endpoints serve plain HTTP)."
  value       = "http://${aws_s3_bucket_website_configuration.this.website_endpoint}"
}

output "origin" {
  description = "Browser origin of the site, for CORS (scheme and host, no path, no trailing slash)."
  value       = "http://${aws_s3_bucket_website_configuration.this.website_endpoint}"
}

output "uploaded_keys" {
  description = "Object keys uploaded (site files and config.js)."
  value       = concat(sort(tolist(local.site_files)), var.upload ? ["config.js"] : [])
}

output "config_js" {
  description = "Content of the generated config.js (null when nothing is uploaded)."
  value       = local.config_js
}
