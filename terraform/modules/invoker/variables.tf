variable "function_name" {
  description = "Name of the Lambda function (also names its role and log group)."
  type        = string
}

variable "zip_path" {
  description = "Path of the deployment package (zip built outside Terraform)."
  type        = string
  nullable    = false
}

variable "zip_sha256" {
  description = "Base64-encoded SHA-256 of the zip; a change redeploys the code."
  type        = string
  nullable    = false
}

variable "handler" {
  description = "Handler of the function, module.function inside the zip."
  type        = string
  default     = "handler.handler"
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"
}

variable "endpoint_name" {
  description = "Name of the SageMaker endpoint the function invokes (env ENDPOINT_NAME)."
  type        = string
}

variable "endpoint_arn" {
  description = "ARN of that endpoint: the only resource the function may invoke."
  type        = string
}

variable "decision_cutoff" {
  description = "Probability at or above which a customer is predicted to churn (env DECISION_CUTOFF)."
  type        = number
}

variable "model_version" {
  description = "Model registry version of the deployed model, a decimal string such as \"3\" (env MODEL_VERSION, with MODEL_APPROVED_AT). Empty: the model is not from the registry, and neither variable is set. The root module validates both."
  type        = string
  default     = ""
  nullable    = false
}

variable "model_approved_at" {
  description = "When that version was approved, RFC 3339 UTC such as \"2026-12-06T21:04:05Z\" (env MODEL_APPROVED_AT). Empty exactly when model_version is."
  type        = string
  default     = ""
  nullable    = false
}

variable "allowed_origin" {
  description = "Browser origin of a page on another origin that may call the API (env ALLOWED_ORIGIN: the handler's CORS headers). Null: no CORS headers (a page on the API's own origin needs none)."
  type        = string
  default     = null
}

variable "timeout_s" {
  description = "Timeout of the function, seconds: above the invoke budget (invoke_* variables) plus handler_overhead_s, below caller_timeout_s."
  type        = number
  default     = 28
}

variable "caller_timeout_s" {
  description = "How long the caller waits for the function, seconds: the HTTP API's integration timeout (30 s, its maximum)."
  type        = number
  default     = 30
}

variable "handler_overhead_s" {
  description = "Seconds the handler needs besides the endpoint call (parse, encode, answer), kept free inside timeout_s."
  type        = number
  default     = 1
}

variable "invoke_connect_timeout_s" {
  description = "Connect timeout of each InvokeEndpoint attempt, seconds (env INVOKE_CONNECT_TIMEOUT)."
  type        = number
  default     = 2
}

variable "invoke_read_timeout_s" {
  description = "Read timeout of each InvokeEndpoint attempt, seconds (env INVOKE_READ_TIMEOUT): long enough for a serverless cold start."
  type        = number
  default     = 10
}

variable "invoke_max_attempts" {
  description = "InvokeEndpoint attempts, the first included (env INVOKE_MAX_ATTEMPTS; botocore standard retry mode)."
  type        = number
  default     = 2
}

variable "memory_mb" {
  description = "Memory of the function, MB."
  type        = number
  default     = 256
}

variable "log_retention_days" {
  description = "Retention of the function's log group, days."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Tags added to the resources."
  type        = map(string)
  default     = {}
}
