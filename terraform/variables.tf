################################################################################
# General
################################################################################

variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like us-east-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name: lowercase letters, digits and dashes, starting with a letter, 2 to 16 characters."
  type        = string
  default     = "churn"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,14}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-16 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "tags" {
  description = "Extra tags for every resource (added to Project and ManagedBy)."
  type        = map(string)
  default     = {}
}

variable "aws_endpoint_url" {
  description = "Tests only: send every AWS API call to this URL (a moto server) and skip the credential and account checks. Null for real AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be an http(s) URL such as http://127.0.0.1:5000."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the data bucket while it still holds training data and model artifacts."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the Lambda and API access log groups, days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

################################################################################
# Model handoff (build/model.auto.tfvars.json, written by the Makefile)
################################################################################

variable "model_data_url" {
  description = "S3 URL of the trained model.tar.gz. Null (before training) creates only the two buckets and the SageMaker role."
  type        = string
  default     = null

  validation {
    condition     = var.model_data_url == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(.+/)?model\\.tar\\.gz$", var.model_data_url))
    error_message = "model_data_url must be an S3 URL ending in /model.tar.gz, e.g. s3://bucket/models/run-1/model.tar.gz."
  }
}

variable "image_uri" {
  description = "Inference image (ECR URI). Null uses the prebuilt SageMaker XGBoost 3.0-5 image of the region."
  type        = string
  default     = null

  validation {
    condition     = var.image_uri == null || can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.image_uri))
    error_message = "image_uri must be an ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>."
  }
}

variable "model_package_arn" {
  description = "Model registry version the SageMaker model is created from (make deploy-model writes it; SageMaker requires it Approved). Null creates the model from image_uri and model_data_url directly."
  type        = string
  default     = null

  validation {
    condition     = var.model_package_arn == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[a-zA-Z0-9-]{1,63}/[1-9][0-9]*$", var.model_package_arn))
    error_message = "model_package_arn must be a model package version's ARN: arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>."
  }
}

variable "model_environment" {
  description = "Environment of the model container. The training handoff sets SAGEMAKER_PROGRAM and SAGEMAKER_SUBMIT_DIRECTORY: the archive's code/inference.py is served in script mode (explanations)."
  type        = map(string)
  default     = {}

  validation {
    condition     = contains(keys(var.model_environment), "SAGEMAKER_PROGRAM") == contains(keys(var.model_environment), "SAGEMAKER_SUBMIT_DIRECTORY")
    error_message = "model_environment must set both SAGEMAKER_PROGRAM and SAGEMAKER_SUBMIT_DIRECTORY (script mode) or neither."
  }
}

variable "decision_cutoff" {
  description = "Churn probability at or above which the API answers will_churn = true (chosen by evaluation)."
  type        = number
  default     = 0.5

  validation {
    condition     = var.decision_cutoff > 0 && var.decision_cutoff < 1
    error_message = "decision_cutoff must be strictly between 0 and 1."
  }
}

variable "feature_schema_path" {
  description = "Path of feature_schema.json (embedded in the website's config.js). Required when model_data_url is set."
  type        = string
  default     = null

  validation {
    condition     = var.feature_schema_path == null || can(jsondecode(file(var.feature_schema_path)))
    error_message = "feature_schema_path must name a readable JSON file."
  }
}

variable "lambda_zip_path" {
  description = "Path of the invoker's deployment zip (built outside Terraform). Required when model_data_url is set."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_path == null || can(regex("\\.zip$", var.lambda_zip_path))
    error_message = "lambda_zip_path must name a .zip file."
  }
}

variable "lambda_zip_sha256" {
  description = "Base64-encoded SHA-256 of the zip (as `openssl dgst -sha256 -binary | base64` prints it). Required with lambda_zip_path."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_sha256 == null || can(regex("^[A-Za-z0-9+/]{43}=$", var.lambda_zip_sha256))
    error_message = "lambda_zip_sha256 must be a base64-encoded SHA-256 (44 characters ending in '=')."
  }
}

variable "model_version" {
  description = "Model registry version of the deployed model, a decimal string such as \"3\" (the deploy writes it from the model package group). Empty: the model did not come from the registry. The API answers it in every response's model.version (null when empty) and the page shows it."
  type        = string
  default     = ""
  nullable    = false

  validation {
    condition     = var.model_version == "" || can(regex("^[1-9][0-9]{0,9}$", var.model_version))
    error_message = "model_version must be \"\" or a version number from 1, up to 10 digits, such as \"3\"."
  }
}

variable "model_approved_at" {
  description = "When model_version was approved, RFC 3339 UTC to the second such as \"2026-12-06T21:04:05Z\" (the API's model.approved_at). Empty exactly when model_version is empty."
  type        = string
  default     = ""
  nullable    = false

  validation {
    # timeadd also refuses a time of the right shape that is no time (2026-02-30, 24:00:00).
    condition     = var.model_approved_at == "" || (can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", var.model_approved_at)) && can(timeadd(var.model_approved_at, "0s")))
    error_message = "model_approved_at must be \"\" or an RFC 3339 UTC time to the second, such as \"2026-12-06T21:04:05Z\"."
  }

  validation {
    condition     = (var.model_version == "") == (var.model_approved_at == "")
    error_message = "model_version and model_approved_at must both be set (a version from the registry) or both be \"\"."
  }
}

################################################################################
# Endpoint
################################################################################

variable "endpoint_mode" {
  description = "\"serverless\" (pay per request, cold starts) or \"realtime\" (always-on instances with autoscaling). Switching is safe: SageMaker cannot update an endpoint between the two kinds, so the endpoint's name carries the mode (churn-serverless, churn-rt-m5-large); a switch creates the new endpoint (new model and configuration too), points the Lambda's ENDPOINT_NAME and InvokeEndpoint permission at it, then destroys the old one. Both are billed for those minutes."
  type        = string
  default     = "serverless"

  validation {
    condition     = contains(["serverless", "realtime"], var.endpoint_mode)
    error_message = "endpoint_mode must be \"serverless\" or \"realtime\"."
  }
}

variable "serverless_memory_mb" {
  description = "Memory of the serverless endpoint, MB: 1024, 2048, 3072, 4096, 5120 or 6144."
  type        = number
  default     = 2048

  validation {
    condition     = contains([1024, 2048, 3072, 4096, 5120, 6144], var.serverless_memory_mb)
    error_message = "serverless_memory_mb must be one of 1024, 2048, 3072, 4096, 5120, 6144."
  }
}

variable "serverless_max_concurrency" {
  description = "Maximum concurrent invocations of the serverless endpoint (1-200)."
  type        = number
  default     = 5

  validation {
    condition     = var.serverless_max_concurrency >= 1 && var.serverless_max_concurrency <= 200 && floor(var.serverless_max_concurrency) == var.serverless_max_concurrency
    error_message = "serverless_max_concurrency must be a whole number from 1 to 200."
  }
}

variable "instance_type" {
  description = "Instance type of the realtime endpoint. Part of the endpoint's name: changing it creates a new endpoint (and autoscaling target) before the old one goes, because SageMaker rejects an in-place instance type change while autoscaling is registered."
  type        = string
  default     = "ml.m5.large"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be a SageMaker instance type such as ml.m5.large or ml.m5.xlarge."
  }
}

variable "instance_count" {
  description = "Initial (and minimum) instance count of the realtime endpoint."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number of at least 1."
  }
}

variable "autoscaling_max_instances" {
  description = "Maximum instance count of the realtime endpoint under target-tracking autoscaling."
  type        = number
  default     = 2

  validation {
    condition     = var.autoscaling_max_instances >= 1 && floor(var.autoscaling_max_instances) == var.autoscaling_max_instances
    error_message = "autoscaling_max_instances must be a whole number of at least 1."
  }
}

variable "rollout_wait_interval_s" {
  description = "Guarded updates (realtime mode with monitoring on): baking period after each traffic shift, seconds (0-3600). The rollback alarms (the endpoint's errors, the API's 5xx rate) watch the new fleet meanwhile: below their 300 s period they may not fire in time."
  type        = number
  default     = 600

  validation {
    condition     = var.rollout_wait_interval_s >= 0 && var.rollout_wait_interval_s <= 3600 && floor(var.rollout_wait_interval_s) == var.rollout_wait_interval_s
    error_message = "rollout_wait_interval_s must be a whole number of seconds from 0 to 3600 (SageMaker's WaitIntervalInSeconds)."
  }
}

variable "rollout_canary_instances" {
  description = "Guarded updates: instances of the new fleet that take traffic first. A canary is at most half the fleet, so with instance_count below twice this the traffic shifts all at once (still baked and watched)."
  type        = number
  default     = 1

  validation {
    condition     = var.rollout_canary_instances >= 1 && floor(var.rollout_canary_instances) == var.rollout_canary_instances
    error_message = "rollout_canary_instances must be a whole number of at least 1."
  }
}

variable "rollout_termination_wait_s" {
  description = "Guarded updates: final baking period, seconds (0-3600), during which the old fleet stays up after all traffic has shifted. With rollout_wait_interval_s it must leave the update inside the provider's 60-minute wait (the endpoint's precondition adds 20 minutes for the new fleet and 10 for a rollback)."
  type        = number
  default     = 600

  validation {
    condition     = var.rollout_termination_wait_s >= 0 && var.rollout_termination_wait_s <= 3600 && floor(var.rollout_termination_wait_s) == var.rollout_termination_wait_s
    error_message = "rollout_termination_wait_s must be a whole number of seconds from 0 to 3600 (SageMaker's TerminationWaitInSeconds)."
  }
}

variable "enable_data_capture" {
  description = "Capture endpoint requests and responses to the data bucket. Realtime mode only: serverless endpoints do not support data capture."
  type        = bool
  default     = false

  validation {
    condition     = !var.enable_data_capture || var.endpoint_mode == "realtime"
    error_message = "enable_data_capture = true needs endpoint_mode = \"realtime\": serverless endpoints do not support data capture (SageMaker developer guide, Serverless Inference feature exclusions)."
  }
}

################################################################################
# Lambda invoker and HTTP API
################################################################################

variable "lambda_handler" {
  description = "Handler of the invoker inside its zip (module.function)."
  type        = string
  default     = "handler.handler"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_./]*\\.[A-Za-z_][A-Za-z0-9_]*$", var.lambda_handler))
    error_message = "lambda_handler must look like module.function (e.g. handler.handler)."
  }
}

variable "lambda_timeout_s" {
  description = "Timeout of the invoker, seconds. It must exceed the invoke budget (invoke_max_attempts x (invoke_connect_timeout_s + invoke_read_timeout_s) + retry backoff, 25 s by default) plus 1 s for the handler's own work, and stay under the HTTP API's 30 s integration limit (at most 29 s, leaving the function's own cold start room)."
  type        = number
  default     = 28

  validation {
    condition     = var.lambda_timeout_s >= 1 && var.lambda_timeout_s <= 29 && floor(var.lambda_timeout_s) == var.lambda_timeout_s
    error_message = "lambda_timeout_s must be a whole number from 1 to 29 seconds (HTTP API integrations time out at 30)."
  }

  validation {
    condition = local.invoke_budget_s + 1 <= var.lambda_timeout_s
    error_message = format(
      "The invoke budget does not fit in lambda_timeout_s = %gs: %g attempts x (%gs connect + %gs read) + %gs retry backoff + 1s handler work = %gs. Raise lambda_timeout_s (at most 29) or lower invoke_read_timeout_s / invoke_max_attempts.",
      var.lambda_timeout_s, var.invoke_max_attempts, var.invoke_connect_timeout_s, var.invoke_read_timeout_s,
      local.invoke_backoff_s, local.invoke_budget_s + 1,
    )
  }
}

variable "invoke_connect_timeout_s" {
  description = "Connect timeout of each InvokeEndpoint attempt of the invoker, seconds (its env INVOKE_CONNECT_TIMEOUT)."
  type        = number
  default     = 2

  validation {
    condition     = var.invoke_connect_timeout_s >= 1 && var.invoke_connect_timeout_s <= 10
    error_message = "invoke_connect_timeout_s must be from 1 to 10 seconds."
  }
}

variable "invoke_read_timeout_s" {
  description = "Read timeout of each InvokeEndpoint attempt, seconds (env INVOKE_READ_TIMEOUT). 10 s covers a serverless cold start of this small model (seconds, by the published reports; the endpoint's ModelSetupTime metric shows the real figure); a longer one is retried while SageMaker keeps provisioning."
  type        = number
  default     = 10

  validation {
    condition     = var.invoke_read_timeout_s >= 1 && var.invoke_read_timeout_s <= 25
    error_message = "invoke_read_timeout_s must be from 1 to 25 seconds."
  }
}

variable "invoke_max_attempts" {
  description = "InvokeEndpoint attempts of the invoker, the first included (env INVOKE_MAX_ATTEMPTS; botocore retries throttling, 5xx and timeouts)."
  type        = number
  default     = 2

  validation {
    condition     = var.invoke_max_attempts >= 1 && var.invoke_max_attempts <= 5 && floor(var.invoke_max_attempts) == var.invoke_max_attempts
    error_message = "invoke_max_attempts must be a whole number from 1 to 5."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of the invoker, MB."
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "throttle_rate_limit" {
  description = "Steady-state request rate limit of the HTTP API, requests per second."
  type        = number
  default     = 5

  validation {
    condition     = var.throttle_rate_limit > 0 && var.throttle_rate_limit <= 10000
    error_message = "throttle_rate_limit must be above 0 and at most 10000."
  }
}

variable "throttle_burst_limit" {
  description = "Burst limit of the HTTP API, requests."
  type        = number
  default     = 10

  validation {
    condition     = var.throttle_burst_limit >= 1 && var.throttle_burst_limit <= 5000 && floor(var.throttle_burst_limit) == var.throttle_burst_limit
    error_message = "throttle_burst_limit must be a whole number from 1 to 5000."
  }
}

################################################################################
# Monitoring (dashboard, alarms, drift band)
################################################################################

variable "monitoring_enabled" {
  description = "Create the dashboard, the alarms and their SNS topic with the deployed stack."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "Email address the alarm topic notifies (AWS mails a confirmation link first). Null: no subscription; subscribe to the topic_arn output yourself."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null ? true : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address such as ops@example.com."
  }
}

variable "expected_flagged_share" {
  description = "Handoff from metrics.json: share of held-out reference records the model flags at the cutoff. Null (older bundles): no drift alarm."
  type        = number
  default     = null

  validation {
    condition     = var.expected_flagged_share == null ? true : (var.expected_flagged_share >= 0 && var.expected_flagged_share <= 1)
    error_message = "expected_flagged_share must be between 0 and 1."
  }
}

variable "flagged_share_band" {
  description = "Handoff from metrics.json: [low, high] band of the flagged share; the drift alarm fires outside it. Null: no drift alarm."
  type        = list(number)
  default     = null

  validation {
    condition     = var.flagged_share_band == null ? true : try(length(var.flagged_share_band) == 2 && var.flagged_share_band[0] >= 0 && var.flagged_share_band[0] < var.flagged_share_band[1] && var.flagged_share_band[1] <= 1, false)
    error_message = "flagged_share_band must be [low, high] with 0 <= low < high <= 1."
  }
}

variable "flagged_share_min_records" {
  description = "Records an hour needs before the drift alarm judges its flagged share (fewer: the share is noise)."
  type        = number
  default     = 100

  validation {
    condition     = var.flagged_share_min_records >= 1 && floor(var.flagged_share_min_records) == var.flagged_share_min_records
    error_message = "flagged_share_min_records must be a whole number of at least 1."
  }
}

################################################################################
# Website
################################################################################

variable "web_dir" {
  description = "Directory of the web page files. Null means ../web next to this directory; pass an absolute path otherwise."
  type        = string
  default     = null
}

variable "website_response_headers_policy_id" {
  description = "Null (the default) creates the page's response headers policy from web/security_headers.json. An ID attaches that policy instead: the apply test against moto, which has no response-headers-policy API, passes the managed SecurityHeadersPolicy 67f7725c-6f97-4210-82d7-5512b31e9d03."
  type        = string
  default     = null

  validation {
    condition     = var.website_response_headers_policy_id == null || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.website_response_headers_policy_id))
    error_message = "website_response_headers_policy_id must be a policy ID such as 67f7725c-6f97-4210-82d7-5512b31e9d03."
  }
}

variable "website_wait_for_deployment" {
  description = "Wait until CloudFront has deployed the page's distribution to every edge (several minutes on AWS) before apply returns. false returns once CloudFront accepted the change (emulators, quick iterations); make smoke still checks the API."
  type        = bool
  default     = true
}

variable "website_price_class" {
  description = "CloudFront price class of the page: PriceClass_100 (North America and Europe edges, the cheapest), PriceClass_200 or PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.website_price_class)
    error_message = "website_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}
