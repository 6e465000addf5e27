# The page over HTTPS: CloudFront with origin access control in front of a private
# bucket, the security headers of web/security_headers.json, and POST /predict served by the
# same distribution (a second origin: the HTTP API), so the page and its API share one origin.

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
    api                   = { domain_name = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com" }
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
      one([for o in aws_cloudfront_distribution.this.origin : o if o.origin_id == "s3-site"]).origin_access_control_id == aws_cloudfront_origin_access_control.this.id &&
      one([for o in aws_cloudfront_distribution.this.origin : o if o.origin_id == "s3-site"]).domain_name == "churn-bucket-20250101000000000000000001.s3.us-east-1.amazonaws.com" &&
      aws_cloudfront_distribution.this.default_cache_behavior[0].target_origin_id == "s3-site"
    )
    error_message = "The page's origin must be the bucket's REST endpoint (not a website endpoint), reached through the origin access control."
  }

  assert {
    condition = (
      length(aws_cloudfront_distribution.this.origin) == 2 &&
      output.api_origin.domain_name == "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com" &&
      coalesce(output.api_origin.origin_access_control_id, "none") == "none" &&
      length(output.api_origin.s3_origin_config) == 0
    )
    error_message = "The second origin must be the HTTP API's execute-api host, a custom origin (no OAC, no S3 config)."
  }

  assert {
    condition = (
      output.api_origin.custom_origin_config[0].origin_protocol_policy == "https-only" &&
      toset(output.api_origin.custom_origin_config[0].origin_ssl_protocols) == toset(["TLSv1.2"]) &&
      output.api_origin.custom_origin_config[0].https_port == 443 &&
      output.api_origin.custom_origin_config[0].origin_read_timeout == 30
    )
    error_message = "CloudFront must reach the API over HTTPS only, TLS 1.2, port 443, waiting the API's 30 s."
  }

  assert {
    condition = (
      length(aws_cloudfront_distribution.this.ordered_cache_behavior) == 1 &&
      output.api_cache_behavior.path_pattern == "/predict" &&
      output.api_cache_behavior.target_origin_id == output.api_origin.origin_id
    )
    error_message = "One ordered cache behavior must send exactly /predict to the API origin."
  }

  assert {
    condition = (
      toset(output.api_cache_behavior.allowed_methods) == toset(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]) &&
      toset(output.api_cache_behavior.cached_methods) == toset(["GET", "HEAD"])
    )
    error_message = "/predict must allow CloudFront's full method set (the only one with POST) and cache at most GET/HEAD."
  }

  assert {
    condition = (
      output.api_cache_behavior.cache_policy_id == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" &&
      output.api_cache_behavior.origin_request_policy_id == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    )
    error_message = "/predict must use the managed CachingDisabled cache policy and AllViewerExceptHostHeader origin request policy."
  }

  assert {
    condition = (
      output.api_cache_behavior.viewer_protocol_policy == "https-only" &&
      output.api_cache_behavior.response_headers_policy_id == aws_cloudfront_distribution.this.default_cache_behavior[0].response_headers_policy_id
    )
    error_message = "/predict must be HTTPS only and carry the page's response headers policy."
  }

  assert {
    condition     = output.api_url == output.website_url
    error_message = "The API's base URL must be the page's own origin."
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
      jsondecode(file("../web/security_headers.json"))["Content-Security-Policy"] &&
      strcontains(aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].content_security_policy[0].content_security_policy, "; connect-src 'self';") &&
      !strcontains(aws_cloudfront_response_headers_policy.this[0].security_headers_config[0].content_security_policy[0].content_security_policy, "execute-api")
    )
    error_message = "The CSP must be the file's, its connect-src 'self' alone (the API is on the page's origin): no API host, no wildcard."
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

  assert {
    condition     = jsondecode(trimsuffix(trimprefix(aws_s3_object.config[0].content, "window.CHURN_CONFIG = "), ";")).apiUrl == ""
    error_message = "config.js's apiUrl must be empty: the page posts to /predict on its own origin."
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
    api                        = { domain_name = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com" }
    security_headers_path      = "../web/security_headers.json"
    response_headers_policy_id = "67f7725c-6f97-4210-82d7-5512b31e9d03"
  }

  assert {
    condition = (
      length(aws_cloudfront_response_headers_policy.this) == 0 &&
      aws_cloudfront_distribution.this.default_cache_behavior[0].response_headers_policy_id == "67f7725c-6f97-4210-82d7-5512b31e9d03" &&
      output.api_cache_behavior.response_headers_policy_id == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    )
    error_message = "A given policy ID must be attached as is, to the page and to /predict, and no policy created."
  }
}

# Before a model exists there is no API: one origin (the bucket), no /predict behavior.
run "website_without_an_api_has_no_api_path" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "tests/fixtures/web"
    upload                = false
    security_headers_path = "../web/security_headers.json"
  }

  assert {
    condition = (
      length(aws_cloudfront_distribution.this.origin) == 1 &&
      length(aws_cloudfront_distribution.this.ordered_cache_behavior) == 0 &&
      output.api_origin == null && output.api_cache_behavior == null && output.api_url == null
    )
    error_message = "Without an API the distribution must have the bucket's origin alone and no API behavior."
  }
}

# Each of var.api's three validations, on its own (one run per validation: a weakened one fails its run).
run "website_rejects_an_api_url_as_domain_name" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "tests/fixtures/web"
    upload                = false
    api                   = { domain_name = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/", path = "/predict", read_timeout_s = 30 }
    security_headers_path = "../web/security_headers.json"
  }

  expect_failures = [var.api] # a URL, not a host name
}

run "website_rejects_a_wildcard_api_path" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "tests/fixtures/web"
    upload                = false
    api                   = { domain_name = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", path = "/predict/*", read_timeout_s = 30 }
    security_headers_path = "../web/security_headers.json"
  }

  expect_failures = [var.api] # one exact path, not a pattern
}

run "website_rejects_an_api_timeout_over_cloudfronts" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "tests/fixtures/web"
    upload                = false
    api                   = { domain_name = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", path = "/predict", read_timeout_s = 121 }
    security_headers_path = "../web/security_headers.json"
  }

  expect_failures = [var.api] # CloudFront waits 1-120 s
}

run "website_refuses_a_csp_placeholder" {
  command = plan

  module {
    source = "./modules/website"
  }

  variables {
    name                  = "churn-web"
    bucket_prefix         = "churn-web-"
    web_dir               = "tests/fixtures/web"
    upload                = false
    security_headers_path = "tests/fixtures/security_headers_placeholder.json"
  }

  expect_failures = [aws_cloudfront_response_headers_policy.this]
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

# The whole root with a model: the distribution serves /predict from the HTTP API, so the page
# calls its own origin; no CORS anywhere, and nothing points from the API back to the page.
run "stack_serves_predict_from_the_page_origin" {
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
    condition = (
      module.website.api_origin.domain_name == "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com" &&
      module.website.api_cache_behavior.path_pattern == "/predict" &&
      module.website.api_cache_behavior.path_pattern == split(" ", module.http_api[0].route_key)[1]
    )
    error_message = "The distribution must send the API's route path (/predict) to this stack's HTTP API."
  }

  assert {
    condition     = module.website.api_origin.custom_origin_config[0].origin_read_timeout == 30
    error_message = "CloudFront must wait the HTTP API's full 30 s integration timeout, so the API's own error reaches the page."
  }

  assert {
    condition     = output.api_url == output.website_url && output.predict_url == "https://d111111abcdef8.cloudfront.net/predict"
    error_message = "api_url must be the page's origin and predict_url its /predict: the path users take."
  }

  assert {
    condition     = output.execute_api_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    error_message = "execute_api_url must be the HTTP API's own endpoint."
  }

  assert {
    condition     = length(module.http_api[0].cors_allow_origins) == 0
    error_message = "The HTTP API must have no CORS configuration: the page calls it on its own origin."
  }

  assert {
    condition     = !contains(keys(module.invoker[0].environment), "ALLOWED_ORIGIN")
    error_message = "The Lambda must get no ALLOWED_ORIGIN: it sends no CORS headers."
  }

  assert {
    condition     = module.website.response_headers_policy_id == "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" && module.website.api_cache_behavior.response_headers_policy_id == module.website.response_headers_policy_id
    error_message = "By default the stack must create its own response headers policy and attach it to the page and to /predict."
  }

  assert {
    condition     = strcontains(module.website.security_headers["Content-Security-Policy"], "; connect-src 'self';")
    error_message = "The CSP's connect-src must be 'self' alone: no HTTP API host and no wildcard."
  }

  assert {
    condition     = jsondecode(trimsuffix(trimprefix(module.website.config_js, "window.CHURN_CONFIG = "), ";")).apiUrl == ""
    error_message = "config.js's apiUrl must be empty: the page calls /predict on its own origin."
  }
}
