locals {
  # Set only for tests against a local AWS emulator (moto server).
  custom_endpoint = var.aws_endpoint_url != null
}

provider "aws" {
  region = var.region

  skip_credentials_validation = local.custom_endpoint
  skip_requesting_account_id  = local.custom_endpoint
  skip_metadata_api_check     = local.custom_endpoint
  s3_use_path_style           = local.custom_endpoint

  dynamic "endpoints" {
    for_each = local.custom_endpoint ? [var.aws_endpoint_url] : []

    content {
      apigateway             = endpoints.value
      apigatewayv2           = endpoints.value
      applicationautoscaling = endpoints.value
      cloudfront             = endpoints.value
      cloudwatch             = endpoints.value
      ecr                    = endpoints.value
      iam                    = endpoints.value
      kms                    = endpoints.value
      lambda                 = endpoints.value
      logs                   = endpoints.value
      s3                     = endpoints.value
      sagemaker              = endpoints.value
      sns                    = endpoints.value
      sts                    = endpoints.value
    }
  }

  default_tags {
    tags = merge({ Project = var.name_prefix, ManagedBy = "terraform" }, var.tags)
  }
}
