locals {
  site_files = var.upload ? toset([
    for f in fileset(var.web_dir, "**") : f if !contains(var.skip_files, f)
  ]) : toset([])

  # apiUrl "": the page posts to /predict on its own origin, which this distribution routes to
  # the API (var.api). The page needs no API address, so nothing here depends on the API.
  config_js = var.upload ? format("window.CHURN_CONFIG = %s;", jsonencode({
    apiUrl = ""
    schema = var.feature_schema_path == null ? null : jsondecode(file(var.feature_schema_path))
  })) : null

  origin_id     = "s3-site"
  api_origin_id = "http-api"
  site_origin   = "https://${aws_cloudfront_distribution.this.domain_name}"

  # Managed cache policy "CachingOptimized": min TTL 1 s, default 1 day, max 1 year; the
  # origin's Cache-Control wins inside those bounds, so the objects' `no-cache` below
  # means at most 1 s at the edge. moto has no cache-policy API, so no custom policy.
  # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
  caching_optimized_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"

  # The API's path: nothing cached (managed CachingDisabled: every TTL 0), and every viewer
  # header, cookie and query string forwarded except Host (managed AllViewerExceptHostHeader:
  # API Gateway expects its own host name there and answers 403 to the distribution's).
  # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
  # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
  caching_disabled_policy_id       = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  all_viewer_except_host_header_id = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
  all_methods                      = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
  api_origins                      = var.api == null ? [] : [var.api]

  # The page's security headers: web/security_headers.json is their one source (the
  # local stack sends the same file). Keys starting with "_" are comments.
  headers = { for k, v in jsondecode(file(var.security_headers_path)) : k => v if !startswith(k, "_") }
  csp     = local.headers["Content-Security-Policy"]
  hsts    = [for part in split(";", local.headers["Strict-Transport-Security"]) : lower(trimspace(part))]
}

# Private bucket: only this distribution reads it (origin access control + bucket policy).
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18: access logging needs a second log bucket; every object is generated from the repository
  #checkov:skip=CKV_AWS_144: cross-region replication is pointless for content rebuilt by every apply
  #checkov:skip=CKV_AWS_21: versioning is pointless for content rebuilt from the repository by every apply
  #checkov:skip=CKV2_AWS_61: no lifecycle needed: objects are managed by Terraform and not versioned
  #checkov:skip=CKV2_AWS_62: no consumer of S3 event notifications in this project
  #checkov:skip=CKV_AWS_145: SSE-KMS behind OAC needs a customer-managed key whose policy admits CloudFront ($1/month); SSE-S3 encrypts public page files
  bucket_prefix = var.bucket_prefix
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# CloudFront signs every origin request (SigV4); the bucket policy below trusts the
# service principal only with this distribution's ARN as AWS:SourceArn.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
resource "aws_cloudfront_origin_access_control" "this" {
  name                              = var.name
  description                       = "Reads ${var.name}'s private bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "this" {
  count = var.response_headers_policy_id == null ? 1 : 0

  name    = "${var.name}-security-headers"
  comment = "From web/security_headers.json"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.csp
      override                = true
    }

    strict_transport_security {
      access_control_max_age_sec = tonumber(one([for p in local.hsts : trimprefix(p, "max-age=") if startswith(p, "max-age=")]))
      include_subdomains         = contains(local.hsts, "includesubdomains")
      preload                    = contains(local.hsts, "preload")
      override                   = true
    }

    content_type_options {
      override = true
    }

    frame_options {
      frame_option = upper(local.headers["X-Frame-Options"])
      override     = true
    }

    referrer_policy {
      referrer_policy = local.headers["Referrer-Policy"]
      override        = true
    }
  }

  lifecycle {
    precondition {
      # The policy can only switch nosniff on; any other value in the file would be ignored silently.
      condition     = lower(local.headers["X-Content-Type-Options"]) == "nosniff"
      error_message = "X-Content-Type-Options in ${var.security_headers_path} must be nosniff."
    }

    precondition {
      # The page calls its API on its own origin ('self'): nothing fills a placeholder any more.
      condition     = !strcontains(local.csp, "{")
      error_message = "The Content-Security-Policy in ${var.security_headers_path} holds a {placeholder}; nothing replaces it (the API is served from the page's own origin: connect-src 'self')."
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_68: AWS WAF costs $5/month per web ACL plus requests; the page is static and the API throttles
  #checkov:skip=CKV2_AWS_47: no WAF (see CKV_AWS_68), so no Log4j rule set either; the origins are S3 and API Gateway (a Python Lambda), not Java
  #checkov:skip=CKV_AWS_86: access logs need a log bucket with ACLs enabled; CloudFront's free metrics cover a demo
  #checkov:skip=CKV_AWS_310: a failover origin group needs a second, replicated bucket (and a second API)
  #checkov:skip=CKV_AWS_374: no geo restriction: the demo page is for anyone
  #checkov:skip=CKV_AWS_174: the default *.cloudfront.net certificate fixes the viewer TLS policy; a custom one needs a domain and ACM
  #checkov:skip=CKV2_AWS_42: a custom certificate needs a domain name of our own; the default cloudfront.net certificate serves HTTPS
  enabled             = true
  comment             = var.name
  default_root_object = var.index_document
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = var.price_class
  wait_for_deployment = var.wait_for_deployment
  tags                = var.tags

  origin {
    origin_id                = local.origin_id
    domain_name              = aws_s3_bucket.this.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  # The HTTP API, so that the page and its API share one origin: the page's CSP says
  # connect-src 'self' and the API needs no CORS. HTTPS only, TLS 1.2 at least.
  dynamic "origin" {
    for_each = local.api_origins

    content {
      origin_id   = local.api_origin_id
      domain_name = origin.value.domain_name

      custom_origin_config {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = "https-only"
        origin_ssl_protocols   = ["TLSv1.2"]
        origin_read_timeout    = origin.value.read_timeout_s
      }
    }
  }

  default_cache_behavior {
    target_origin_id       = local.origin_id
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    viewer_protocol_policy = "redirect-to-https"
    compress               = true
    cache_policy_id        = local.caching_optimized_policy_id
    # Spelled out, not a local: checkov's CKV2_AWS_32 needs the reference to the policy resource here.
    response_headers_policy_id = var.response_headers_policy_id != null ? var.response_headers_policy_id : aws_cloudfront_response_headers_policy.this[0].id
  }

  # POST needs CloudFront's full method set (its only set with POST). https-only, not a
  # redirect: a client that follows a redirect of a POST resends it as a GET, without its body.
  dynamic "ordered_cache_behavior" {
    for_each = local.api_origins

    content {
      path_pattern               = ordered_cache_behavior.value.path
      target_origin_id           = local.api_origin_id
      allowed_methods            = local.all_methods
      cached_methods             = ["GET", "HEAD"]
      viewer_protocol_policy     = "https-only"
      compress                   = false # CachingDisabled turns compression off anyway; answers are a few hundred bytes
      cache_policy_id            = local.caching_disabled_policy_id
      origin_request_policy_id   = local.all_viewer_except_host_header_id
      response_headers_policy_id = var.response_headers_policy_id != null ? var.response_headers_policy_id : aws_cloudfront_response_headers_policy.this[0].id
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "CloudFrontReadsObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  depends_on = [aws_s3_bucket_public_access_block.this, aws_s3_bucket_ownership_controls.this]
}

# Every object is sent with Cache-Control: no-cache: none is content-hashed, so any of
# them (config.js and index.html above all) may change with an apply. Browsers and the
# edge revalidate with the ETag (a 304), so a stale page lives at most the 1 s minimum
# TTL of the cache policy; no invalidation (and no AWS CLI) is needed after an apply.
resource "aws_s3_object" "site" {
  for_each = local.site_files

  bucket        = aws_s3_bucket.this.id
  key           = each.value
  source        = "${var.web_dir}/${each.value}"
  etag          = filemd5("${var.web_dir}/${each.value}")
  content_type  = lookup(var.content_types, lower(element(reverse(split(".", each.value)), 0)), "application/octet-stream")
  cache_control = var.cache_control

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}

resource "aws_s3_object" "config" {
  count = var.upload ? 1 : 0

  bucket        = aws_s3_bucket.this.id
  key           = "config.js"
  content       = local.config_js
  etag          = md5(local.config_js)
  content_type  = "text/javascript; charset=utf-8"
  cache_control = var.cache_control

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]

  lifecycle {
    precondition {
      condition     = var.feature_schema_path != null
      error_message = "feature_schema_path must be set when the site is uploaded (config.js embeds the feature schema)."
    }
  }
}
