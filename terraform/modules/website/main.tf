locals {
  site_files = var.upload ? toset([
    for f in fileset(var.web_dir, "**") : f if f != "config.js"
  ]) : toset([])

  config_js = var.upload ? format("window.CHURN_CONFIG = %s;", jsonencode({
    apiUrl = var.api_url
    schema = var.feature_schema_path == null ? null : jsondecode(file(var.feature_schema_path))
  })) : null
}

# Public static website: objects are world-readable through the bucket policy;
# ACLs stay disabled and blocked.
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18: access logging needs a second log bucket; the site is generated, public content
  #checkov:skip=CKV_AWS_144: cross-region replication is pointless for content rebuilt by every apply
  #checkov:skip=CKV_AWS_145: S3 website hosting cannot serve SSE-KMS objects to anonymous readers; SSE-S3 is used
  #checkov:skip=CKV_AWS_21: versioning is pointless for content rebuilt from the repository by every apply
  #checkov:skip=CKV2_AWS_61: no lifecycle needed: objects are managed by Terraform and not versioned
  #checkov:skip=CKV2_AWS_62: no consumer of S3 event notifications in this project
  #checkov:skip=CKV2_AWS_6: the public access block exists but must allow the public-read bucket policy of a website
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
  #checkov:skip=CKV_AWS_54: a public website needs a public bucket policy
  #checkov:skip=CKV_AWS_56: a public website needs a public bucket policy
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = false
  restrict_public_buckets = false
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_website_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  index_document {
    suffix = var.index_document
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "PublicReadObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  # The public policy is refused while the bucket still blocks public policies.
  depends_on = [aws_s3_bucket_public_access_block.this, aws_s3_bucket_ownership_controls.this]
}

resource "aws_s3_object" "site" {
  for_each = local.site_files

  bucket       = aws_s3_bucket.this.id
  key          = each.value
  source       = "${var.web_dir}/${each.value}"
  etag         = filemd5("${var.web_dir}/${each.value}")
  content_type = lookup(var.content_types, lower(element(reverse(split(".", each.value)), 0)), "application/octet-stream")

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}

resource "aws_s3_object" "config" {
  count = var.upload ? 1 : 0

  bucket        = aws_s3_bucket.this.id
  key           = "config.js"
  content       = local.config_js
  etag          = md5(local.config_js)
  content_type  = "text/javascript; charset=utf-8"
  cache_control = "no-cache"

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]

  lifecycle {
    precondition {
      condition     = var.feature_schema_path != null
      error_message = "feature_schema_path must be set when the site is uploaded (config.js embeds the feature schema)."
    }
  }
}
