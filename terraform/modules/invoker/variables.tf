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

variable "allowed_origin" {
  description = "Browser origin allowed to call the API (env ALLOWED_ORIGIN)."
  type        = string
}

variable "timeout_s" {
  description = "Timeout of the function, seconds."
  type        = number
  default     = 15
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
