# Realistic values for the computed attributes the configuration reads, so
# ARNs, URLs and policy documents look like the real ones under a mock provider.

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform"
    user_id    = "AIDAEXAMPLEUSERID0001"
  }
}

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_sagemaker_prebuilt_ecr_image" {
  defaults = {
    registry_id   = "683313688378"
    registry_path = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    id                          = "churn-bucket-20250101000000000000000001"
    bucket                      = "churn-bucket-20250101000000000000000001"
    arn                         = "arn:aws:s3:::churn-bucket-20250101000000000000000001"
    bucket_regional_domain_name = "churn-bucket-20250101000000000000000001.s3.us-east-1.amazonaws.com"
  }
}

mock_resource "aws_cloudfront_distribution" {
  defaults = {
    id          = "E2EXAMPLE0CF01"
    arn         = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE0CF01"
    domain_name = "d111111abcdef8.cloudfront.net"
  }
}

mock_resource "aws_cloudfront_origin_access_control" {
  defaults = {
    id = "E3EXAMPLEOAC01"
  }
}

mock_resource "aws_cloudfront_response_headers_policy" {
  defaults = {
    id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/churn-role"
  }
}

mock_resource "aws_sagemaker_endpoint" {
  defaults = {
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint"
  }
}

mock_resource "aws_sagemaker_model" {
  defaults = {
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model/churn-model"
  }
}

mock_resource "aws_sagemaker_endpoint_configuration" {
  defaults = {
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/churn-config"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/churn-invoker"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:churn-invoker"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:churn-invoker/invocations"
  }
}

mock_resource "aws_apigatewayv2_api" {
  defaults = {
    id            = "a1b2c3d4e5"
    api_endpoint  = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
  }
}

mock_resource "aws_apigatewayv2_integration" {
  defaults = {
    id = "int1234"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:us-east-1:123456789012:churn-alarms"
  }
}
