data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  # The stack's state key is <name_prefix>/terraform.tfstate (Makefile STATE_KEY); the
  # lock file S3-native locking writes beside it is <key>.tflock.
  state_key_prefix = "${var.name_prefix}/"
}

# Not named "<name_prefix>-…": the deploy role may manage every "<name_prefix>-*" bucket,
# and must not be able to delete or repolicy the bucket holding the state.
resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18: access logs need another bucket; CloudTrail records who changed the state bucket
  #checkov:skip=CKV_AWS_144: cross-region replication doubles the cost; versioning already keeps every state
  #checkov:skip=CKV2_AWS_62: nothing consumes event notifications of the state bucket
  bucket_prefix = "tfstate-${var.name_prefix}-"
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# The backend docs ask for versioning so a state can be recovered:
# https://developer.hashicorp.com/terraform/language/backend/s3
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-KMS with the AWS managed key: the state holds secrets-adjacent values (ARNs, the
# page's config); no key to pay for, and the deploy role's S3 rights are enough to use it.
resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {
      prefix = ""
    }

    noncurrent_version_expiration {
      noncurrent_days = var.state_noncurrent_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}
