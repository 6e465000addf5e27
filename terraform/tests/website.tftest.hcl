# The page over HTTPS: CloudFront with origin access control in front of a private
# bucket, the security headers of web/security_headers.json, CORS to that origin only.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan # every run is a plan: the mocked values must exist then
}

run "website_private_bucket_behind_cloudfront" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "tests/fixtures/web"
    api_url               = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    api_origin            = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    feature_schema_path   = "tests/fixtures/feature_schema.json"
    security_headers_path = "../web/security_headers.json"
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "The website bucket must block every kind of public access."
  }

  assert {
    condition = (
      aws_cloudfront_origin_access_control.this.origin_access_control_origin_type == "s3" &&
      aws_cloudfront_origin_access_control.this.signing_behavior == "always" &&
      aws_cloudfront_origin_access_control.this.signing_protocol == "sigv4"
    )
    error_message = "The origin access control must sign every request to S3 with SigV4."
  }

  assert {
    condition = (
      one(aws_cloudfront_distribution.this.origin).origin_access_control_id == aws_cloudfront_origin_access_control.this.id &&
      one(aws_cloudfront_distribution.this.origin).domain_name == "churn-bucket-20250101000000000000000001.s3.us-east-1.amazonaws.com"
    )
    error_message = "The only origin must be the bucket's REST endpoint (not a website endpoint), reached through the origin access control."
  }

  assert {
    condition = (
      aws_cloudfront_distribution.this.default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https" &&
      aws_cloudfront_distribution.this.default_cache_behavior[0].compress &&
      aws_cloudfront_distribution.this.default_root_object == "index.html" &&
      toset(aws_cloudfront_distribution.this.default_cache_behavior[0].allowed_methods) == toset(["GET", "HEAD"])
    )
    error_message = "The distribution must redirect HTTP to HTTPS, compress, serve index.html at / and allow GET/HEAD only."
  }

  assert {
    condition     = output.website_url == "https://d111111abcdef8.cloudfront.net" && output.origin == output.website_url
    error_message = "website_url and origin must be the distribution's https URL."
  }

  assert {
    condition = (
      length(data.aws_iam_policy_document.this.statement) == 1 &&
      one(data.aws_iam_policy_document.this.statement).effect == "Allow" &&
      toset(one(data.aws_iam_policy_document.this.statement).actions) == toset(["s3:GetObject"]) &&
      one(data.aws_iam_policy_document.this.statement).resources == toset(["arn:aws:s3:::churn-bucket-20250101000000000000000001/*"])
    )
    error_message = "The bucket policy must hold one statement: s3:GetObject on the objects."
  }

  assert {
    condition = (
      [for p in one(data.aws_iam_policy_document.this.statement).principals : { type = p.type, ids = p.identifiers }] ==
      [{ type = "Service", ids = toset(["cloudfront.amazonaws.com"]) }]
    )
    error_message = "The bucket policy's only principal must be the CloudFront service."
  }

  assert {
    condition = (
      length(one(data.aws_iam_policy_document.this.statement).condition) == 1 &&
      one(one(data.aws_iam_policy_document.this.statement).condition).test == "StringEquals" &&
      one(one(data.aws_iam_policy_document.this.statement).condition).variable == "AWS:SourceArn" &&
      one(one(data.aws_iam_policy_document.this.statement).condition).values == tolist(["arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE0CF01"])
    )
    error_message = "The bucket policy must admit CloudFront only for this distribution (AWS:SourceArn)."
  }

  assert {
    condition     = aws_cloudfront_distribution.this.default_cache_behavior[0].response_headers_policy_id == aws_cloudfront_response_headers_policy.this[0].id
    error_message = "The response headers policy built here must be attached to the default cache behavior."
  }

  assert {
    condition = (
      aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].content_security_policy[0].content_security_policy ==
      replace(jsondecode(file("../web/security_headers.json"))["Content-Security-Policy"], "{api_origin}", "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com") &&
      strcontains(aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].content_security_policy[0].content_security_policy, "connect-src 'self' https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com;")
    )
    error_message = "The CSP must be the file's, with {api_origin} replaced by api_origin in connect-src."
  }

  assert {
    condition = (
      aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].strict_transport_security[0].access_control_max_age_sec == 31536000 &&
      aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].strict_transport_security[0].include_subdomains &&
      !aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].strict_transport_security[0].preload
    )
    error_message = "HSTS must follow the file: max-age=31536000; includeSubDomains, no preload."
  }

  assert {
    condition = (
      length(aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].content_type_options) == 1 &&
      aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].frame_options[0].frame_option == "DENY" &&
      aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].referrer_policy[0].referrer_policy == "strict-origin-when-cross-origin"
    )
    error_message = "nosniff, X-Frame-Options DENY and the file's Referrer-Policy must be sent."
  }

  assert {
    condition = alltrue([
      for h in ["content_security_policy", "strict_transport_security", "content_type_options", "frame_options", "referrer_policy"] :
      aws_cloudfront_response_headers_policy.this[0].security_headers_config[0][h][0].override
    ])
    error_message = "Every security header must override whatever the origin sends."
  }

  assert {
    condition = alltrue(concat(
      [for o in aws_s3_object.site : o.cache_control == "no-cache"],
      [aws_s3_object.config[0].cache_control == "no-cache"],
    ))
    error_message = "Every object (index.html and config.js above all) must be revalidated, never served stale after an apply."
  }

  assert {
    condition     = aws_s3_object.site["index.html"].content_type == "text/html; charset=utf-8" && aws_s3_object.site["style.css"].content_type == "text/css; charset=utf-8" && aws_s3_object.site["app.js"].content_type == "text/javascript; charset=utf-8"
    error_message = "Content types must follow the file extension."
  }

  assert {
    condition     = aws_s3_object.site["index.html"].etag == filemd5("tests/fixtures/web/index.html")
    error_message = "The etag must track the file content so a change re-uploads it."
  }

  assert {
    condition     = !contains(keys(aws_s3_object.site), "config.js") && startswith(aws_s3_object.config[0].content, "window.CHURN_CONFIG = {")
    error_message = "config.js must be generated, never copied from web_dir."
  }

  assert {
    condition     = jsondecode(trimsuffix(trimprefix(aws_s3_object.config[0].content, "window.CHURN_CONFIG = "), ";")).schema.decision.cutoff == 0.3
    error_message = "config.js must embed the feature schema."
  }
}

run "website_never_uploads_the_headers_file" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "../web"
    api_url               = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    api_origin            = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    feature_schema_path   = "tests/fixtures/feature_schema.json"
    security_headers_path = "../web/security_headers.json"
  }

  assert {
    condition     = !contains(keys(aws_s3_object.site), "security_headers.json") && !contains(keys(aws_s3_object.site), "config.js")
    error_message = "web/security_headers.json is CloudFront's input, not a page file: it must not be uploaded."
  }
}

run "website_attaches_a_given_headers_policy" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                       = "churn-web"
    bucket_prefix              = "churn-web-"
    web_dir                    = "tests/fixtures/web"
    upload                     = false
    api_origin                 = "https://*.execute-api.us-east-1.amazonaws.com"
    security_headers_path      = "../web/security_headers.json"
    response_headers_policy_id = "67f7725c-6f97-4210-82d7-5512b31e9d03"
  }

  assert {
    condition     = length(aws_cloudfront_response_headers_policy.this) == 0 && aws_cloudfront_distribution.this.default_cache_behavior[0].response_headers_policy_id == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    error_message = "A given policy ID must be attached as is, and no policy created."
  }
}

run "website_rejects_an_http_api_origin" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "tests/fixtures/web"
    upload                = false
    api_origin            = "http://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/"
    security_headers_path = "../web/security_headers.json"
  }

  expect_failures = [var.api_origin]
}

run "http_api_rejects_a_wildcard_origin" {
  command = plan

  module {
    source = "./modules/http_api"
  }

  variables {
    name                 = "churn-api"
    lambda_function_name = "churn-invoker"
    lambda_invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:churn-invoker/invocations"
    allow_origins        = ["*"]
  }

  expect_failures = [var.allow_origins]
}

# The whole root with a model: the page's origin is the one CORS origin and the Lambda's.
run "stack_cors_is_the_distribution_origin" {
  command = plan

  variables {
    web_dir             = "tests/fixtures/web"
    model_data_url      = "s3://churn-bucket-20250101000000000000000001/models/run-1/model.tar.gz"
    feature_schema_path = "tests/fixtures/feature_schema.json"
    lambda_zip_path     = "/tmp/invoker.zip"
    lambda_zip_sha256   = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }

  assert {
    condition     = output.website_url == "https://d111111abcdef8.cloudfront.net"
    error_message = "website_url must be the distribution's https URL."
  }

  assert {
    condition     = module.http_api[0].cors_allow_origins == toset(["https://d111111abcdef8.cloudfront.net"])
    error_message = "CORS must allow exactly the distribution's https origin."
  }

  assert {
    condition     = module.invoker[0].environment.ALLOWED_ORIGIN == "https://d111111abcdef8.cloudfront.net"
    error_message = "The Lambda's ALLOWED_ORIGIN must be the distribution's https origin."
  }

  assert {
    condition     = module.website.response_headers_policy_id == "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    error_message = "By default the stack must create and attach its own response headers policy."
  }

  assert {
    condition     = strcontains(module.website.security_headers["Content-Security-Policy"], "connect-src 'self' https://*.execute-api.us-east-1.amazonaws.com;")
    error_message = "The CSP's connect-src must admit the region's HTTP API hosts (the API's own host would be a dependency cycle)."
  }
}
